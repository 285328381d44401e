# The Central System -> charge point operations of OCPP 1.6 (chapter 5), each
# with an observable effect, on the simulator (MicroPython Unix port, virtual
# clock) against the development Central System. RemoteStart/Stop are in
# test_ocpp_session.py, GetDiagnostics/UpdateFirmware/Reset in
# test_ocpp_firmware.py.
import asyncio

import pytest

from csms import CallErrorReply
from ocpp_rig import TAG, iso, rig_run


# ---- ChangeConfiguration / GetConfiguration -------------------------------------------------
def test_change_and_get_configuration(tmp_path):
    async def body(rig):
        await rig.start()
        call = rig.call
        # Accepted, and in effect: the sampled meter values of the next transaction
        assert await call("ChangeConfiguration", key="MeterValueSampleInterval", value="60") == \
            {"status": "Accepted"}
        assert await rig.config("MeterValueSampleInterval") == "60"
        # Rejected: out of range, not a number, read-only
        for key, value in (("MeterValueSampleInterval", "-5"), ("HeartbeatInterval", "abc"),
                           ("Model", "x"), ("SupportedFeatureProfiles", "Core")):
            assert await call("ChangeConfiguration", key=key, value=value) == {"status": "Rejected"}, key
        assert await rig.config("MeterValueSampleInterval") == "60"
        # RebootRequired: stored, active after the next boot
        assert await call("ChangeConfiguration", key="WebSocketPingInterval", value="120") == \
            {"status": "RebootRequired"}
        # NotSupported: unknown key
        assert await call("ChangeConfiguration", key="NoSuchKey", value="1") == {"status": "NotSupported"}

        # GetConfiguration: some keys, with an unknown one
        conf = await call("GetConfiguration", key=["MeterValueSampleInterval", "NoSuchKey",
                                                  "ChargePointVendor"])
        got = {k["key"]: k for k in conf["configurationKey"]}
        assert got["MeterValueSampleInterval"] == {"key": "MeterValueSampleInterval",
                                                   "readonly": False, "value": "60"}
        assert conf["unknownKey"] == ["NoSuchKey"]
        assert got["ChargePointVendor"]["readonly"] is False      # manual: reboot required
        conf = await call("GetConfiguration", key=["Model"])
        assert conf["configurationKey"][0]["readonly"] is True
        # only unknown keys
        conf = await call("GetConfiguration", key=["Nope1", "Nope2"])
        assert conf.get("configurationKey", []) == [] and conf["unknownKey"] == ["Nope1", "Nope2"]
        # all keys: every one once, none unknown
        conf = await call("GetConfiguration")
        keys = [k["key"] for k in conf["configurationKey"]]
        assert len(keys) == len(set(keys)) > 50
        assert "unknownKey" not in conf or conf["unknownKey"] == []
        assert {"HeartBeatInterval", "MeterValueSampleInterval", "LocalManagementPassword",
                "WebSocketPingInterval", "NumberOfConnectors"} <= set(keys)
        pw_all = [k["value"] for k in conf["configurationKey"] if k["key"] == "LocalManagementPassword"][0]
        # the configured (pending) value of a reboot key is what GetConfiguration shows
        assert [k["value"] for k in conf["configurationKey"] if k["key"] == "WebSocketPingInterval"] == ["120"]
        # LocalManagementPassword rotates on each read (manual 3.20)
        pws = []
        for _ in range(3):
            conf = await call("GetConfiguration", key=["LocalManagementPassword"])
            pws.append(conf["configurationKey"][0]["value"])
        assert len(set(pws + [pw_all])) == 4
        assert all(pw and len(pw) >= 8 for pws_ in [pws] for pw in pws_)
        assert await rig.config("LocalManagementPassword") == pws[-1]
    rig_run(tmp_path, body, model="dscu")


def test_ocpp_key_names_reach_the_manuals_keys(tmp_path):
    """A generic Central System uses the OCPP 1.6 chapter 9 names: it finds them in
    the full list, reads them under its own spelling, and changes the one value
    the manual's name reports too."""
    async def body(rig):
        await rig.start()
        call = rig.call
        full = (await call("GetConfiguration"))["configurationKey"]
        got = {k["key"]: k for k in full}
        for ocpp, manual in (("HeartbeatInterval", "HeartBeatInterval"),
                             ("AuthorizationCacheEnabled", "AuthorisationCacheEnabled"),
                             ("ChargeProfileMaxStackLevel", "ChargingProfileMaxStackLevel"),
                             ("ChargingScheduleMaxPeriods", "ChargingSchedulesMaxPeriods")):
            assert got[ocpp]["value"] == got[manual]["value"], ocpp
            assert got[ocpp]["readonly"] == got[manual]["readonly"], ocpp
        for key, ro in (("StopTxnSampledData", False), ("StopTxnAlignedData", False),
                        ("StopTxnSampledDataMaxLength", True), ("StopTxnAlignedDataMaxLength", True),
                        ("SupportedFeatureProfiles", True), ("NumberOfConnectors", True),
                        ("GetConfigurationMaxKeys", True), ("ResetRetries", False),
                        ("ConnectorPhaseRotation", True), ("MeterValuesAlignedData", False)):
            assert got[key]["readonly"] is ro, key
        assert await call("ChangeConfiguration", key="HeartbeatInterval", value="450") == \
            {"status": "Accepted"}
        conf = await call("GetConfiguration", key=["HeartbeatInterval", "HeartBeatInterval",
                                                  "ChargeProfileMaxStackLevel"])
        assert conf["configurationKey"] == [
            {"key": "HeartbeatInterval", "readonly": False, "value": "450"},
            {"key": "ChargeProfileMaxStackLevel", "readonly": True, "value": "6"}]
        conf = await call("GetConfiguration", key=["HeartBeatInterval"])
        assert conf["configurationKey"] == [{"key": "HeartBeatInterval", "readonly": False,
                                             "value": "450"}]
        assert await call("ChangeConfiguration", key="AuthorizationCacheEnabled", value="false") == \
            {"status": "Accepted"}
        assert await rig.config("AuthorisationCacheEnabled") == "false"
        assert await call("ChangeConfiguration", key="ChargingScheduleMaxPeriods", value="5") == \
            {"status": "Rejected"}
        assert await call("ChangeConfiguration", key="StopTxnSampledData",
                          value="Energy.Active.Import.Register,Current.Import") == {"status": "Accepted"}
        assert await call("ChangeConfiguration", key="StopTxnAlignedData", value="SoC") == \
            {"status": "Rejected"}
    rig_run(tmp_path, body, model="sscu")


def test_change_configuration_survives_restart(tmp_path):
    async def body(rig):
        await rig.start()
        assert (await rig.call("ChangeConfiguration", key="ConnectionTimeOut", value="77"))["status"] == "Accepted"
        assert (await rig.call("ChangeConfiguration", key="WebSocketPingInterval", value="99"))["status"] == \
            "RebootRequired"
        rig.settings.pop("WebSocketPingInterval")
        await rig.stop()
        await rig.start()
        conf = await rig.call("GetConfiguration", key=["ConnectionTimeOut", "WebSocketPingInterval"])
        assert {k["key"]: k["value"] for k in conf["configurationKey"]} == \
            {"ConnectionTimeOut": "77", "WebSocketPingInterval": "99"}
    rig_run(tmp_path, body)


# ---- ChangeAvailability ----------------------------------------------------------------------
def test_change_availability_connector_and_station(tmp_path):
    async def body(rig):
        await rig.start()
        assert await rig.call("ChangeAvailability", connectorId=2, type="Inoperative") == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(2)[-1] == "Unavailable"
        assert (await rig.connector(2))["status"] == "Unavailable"
        assert (await rig.connector(1))["status"] == "Available"
        # a card on an unavailable connector does not start anything there
        await rig.plug_ev(2)
        await rig.op("rfid", reader=2, id=TAG)
        await rig.advance(2)
        assert rig.calls("StartTransaction") == []
        # station-wide: everything Unavailable, connector 0 included
        assert await rig.call("ChangeAvailability", connectorId=0, type="Inoperative") == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(0)[-1] == "Unavailable" and rig.statuses(1)[-1] == "Unavailable"
        # back to Operative
        assert await rig.call("ChangeAvailability", connectorId=0, type="Operative") == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(0)[-1] == "Available" and rig.statuses(1)[-1] == "Available"
        assert rig.statuses(2)[-1] == "Preparing"       # the EV waiting there
        # connector out of range
        with pytest.raises(CallErrorReply) as e:
            await rig.call("ChangeAvailability", connectorId=3, type="Operative")
        assert e.value.code == "PropertyConstraintViolation"
    rig_run(tmp_path, body, model="dscu")


def test_change_availability_scheduled_during_transaction(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        assert await rig.call("ChangeAvailability", connectorId=1, type="Inoperative") == \
            {"status": "Scheduled"}
        await rig.advance(30)
        c = await rig.connector(1)
        assert c["status"] == "Charging" and c["transaction_id"] == txid
        # applied when the transaction ends
        assert await rig.call("RemoteStopTransaction", transactionId=txid) == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.payloads("StopTransaction")[0]["reason"] == "Remote"
        await rig.op("ev", connector=1, state="A")
        await rig.op("unplug", connector=1)
        await rig.advance(2)
        assert (await rig.connector(1))["status"] == "Unavailable"
        assert rig.statuses(1)[-1] == "Unavailable"
        # persists over a restart (a power cycle of the simulator)...
        await rig.stop()
        await rig.start()
        assert (await rig.connector(1))["status"] == "Unavailable"
        assert rig.statuses(1)[-1] == "Unavailable"
        # ...and over a Reset
        assert await rig.call("Reset", type="Soft") == {"status": "Accepted"}
        await rig.wait_call("BootNotification", 3)
        await rig.advance(1)
        assert (await rig.connector(1))["status"] == "Unavailable"
        assert await rig.call("ChangeAvailability", connectorId=1, type="Operative") == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(1)[-1] == "Available"
    rig_run(tmp_path, body)


# ---- Authorization: ClearCache, SendLocalList, GetLocalListVersion ----------------------------
def test_clear_cache(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.op("rfid", reader=1, id="CARD1")      # no EV: authorization only
        await rig.advance(1)
        assert rig.payloads("Authorize") == [{"idTag": "CARD1"}]
        await rig.op("rfid", reader=1, id="CARD1")      # cancels it (same card)
        await rig.advance(5)
        # accepted from the cache now: no Authorize.req
        r = await rig.op("rfid", reader=1, id="CARD1")
        assert r["result"] == "accepted"
        await rig.advance(1)
        assert len(rig.calls("Authorize")) == 1
        await rig.op("rfid", reader=1, id="CARD1")
        await rig.advance(5)
        assert await rig.call("ClearCache") == {"status": "Accepted"}
        await rig.op("rfid", reader=1, id="CARD1")
        await rig.advance(1)
        assert len(rig.calls("Authorize")) == 2
        # disabled cache: no cache lookups, every card goes to the Central System
        await rig.op("rfid", reader=1, id="CARD1")
        await rig.advance(5)
        await rig.call("ChangeConfiguration", key="AuthorizationCacheEnabled", value="false")
        await rig.op("rfid", reader=1, id="CARD1")
        await rig.advance(1)
        assert len(rig.calls("Authorize")) == 3
    rig_run(tmp_path, body)


def test_send_local_list_and_version(tmp_path):
    async def body(rig):
        await rig.start()
        rig.cs.auth_default = "Invalid"       # the Central System knows nobody
        # LocalAuthListEnabled false: NotSupported
        assert await rig.call("SendLocalList", listVersion=1, updateType="Full",
                              localAuthorizationList=[]) == {"status": "NotSupported"}
        await rig.call("ChangeConfiguration", key="LocalAuthListEnabled", value="true")
        assert await rig.call("GetLocalListVersion") == {"listVersion": 0}
        full = [{"idTag": "LA", "idTagInfo": {"status": "Accepted"}},
                {"idTag": "LB", "idTagInfo": {"status": "Blocked"}}]
        assert await rig.call("SendLocalList", listVersion=3, updateType="Full",
                              localAuthorizationList=full) == {"status": "Accepted"}
        assert await rig.call("GetLocalListVersion") == {"listVersion": 3}
        # local list entries decide without Authorize.req (LocalPreAuthorize)
        assert (await rig.op("rfid", reader=1, id="LB"))["result"] == "rejected"
        assert (await rig.op("rfid", reader=1, id="LA"))["result"] == "accepted"
        await rig.advance(1)
        assert rig.calls("Authorize") == []
        await rig.op("rfid", reader=1, id="LA")          # cancel
        await rig.advance(5)
        # Differential: add LC, delete LA; an old version is a VersionMismatch
        diff = [{"idTag": "LC", "idTagInfo": {"status": "Accepted"}}, {"idTag": "LA"}]
        assert await rig.call("SendLocalList", listVersion=3, updateType="Differential",
                              localAuthorizationList=diff) == {"status": "VersionMismatch"}
        assert await rig.call("SendLocalList", listVersion=4, updateType="Differential",
                              localAuthorizationList=diff) == {"status": "Accepted"}
        assert await rig.call("GetLocalListVersion") == {"listVersion": 4}
        assert (await rig.op("rfid", reader=1, id="LC"))["result"] == "accepted"
        await rig.op("rfid", reader=1, id="LC")          # cancel
        await rig.advance(5)
        assert rig.calls("Authorize") == []
        # LA is gone from the list: the Central System is asked (and says Invalid)
        await rig.op("rfid", reader=1, id="LA")
        await rig.advance(1)
        assert rig.payloads("Authorize") == [{"idTag": "LA"}]
        assert (await rig.connector(1))["id_tag"] is None
        # survives a restart; a Full empty list empties it
        await rig.stop()
        await rig.start()
        assert await rig.call("GetLocalListVersion") == {"listVersion": 4}
        assert await rig.call("SendLocalList", listVersion=5, updateType="Full",
                              localAuthorizationList=[]) == {"status": "Accepted"}
        # 5.10: listVersion 0 means an empty list
        assert await rig.call("GetLocalListVersion") == {"listVersion": 0}
        await rig.op("rfid", reader=1, id="LC")
        await rig.advance(1)
        assert rig.payloads("Authorize")[-1] == {"idTag": "LC"}
    rig_run(tmp_path, body)


# ---- Reservation -------------------------------------------------------------------------------
def test_reserve_now_and_cancel_reservation(tmp_path):
    async def body(rig):
        await rig.start()
        t0 = rig.vnow
        assert await rig.call("ReserveNow", connectorId=1, expiryDate=iso(t0 + 600), idTag="RES1",
                              reservationId=7) == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(1)[-1] == "Reserved"
        # connector 2 is free; connector 1 is taken for another reservation id
        assert await rig.call("ReserveNow", connectorId=1, expiryDate=iso(t0 + 600), idTag="RES2",
                              reservationId=8) == {"status": "Occupied"}
        # another card does not get the reserved connector (reader 1 serves connector 1)
        await rig.plug_ev(1)
        r = await rig.op("rfid", reader=1, id="OTHER")
        await rig.advance(2)
        assert rig.calls("StartTransaction") == [], r
        assert (await rig.connector(1))["session"] == "Idle"
        # the reserving card does, and the StartTransaction names the reservation
        await rig.op("rfid", reader=1, id="RES1")
        await rig.advance(2)
        (start,) = await rig.wait_call("StartTransaction")
        assert start["idTag"] == "RES1" and start["reservationId"] == 7
        # the reservation ended with the start: nothing to cancel
        assert await rig.call("CancelReservation", reservationId=7) == {"status": "Rejected"}
        # a second reservation, cancelled: connector 2 Reserved then Available
        assert await rig.call("ReserveNow", connectorId=2, expiryDate=iso(rig.vnow + 600), idTag="RES2",
                              reservationId=9) == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(2)[-1] == "Reserved"
        assert await rig.call("CancelReservation", reservationId=9) == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(2)[-1] == "Available"
        assert await rig.call("CancelReservation", reservationId=12345) == {"status": "Rejected"}
        # a reservation expires by itself
        assert await rig.call("ReserveNow", connectorId=2, expiryDate=iso(rig.vnow + 120), idTag="RES3",
                              reservationId=10) == {"status": "Accepted"}
        await rig.advance(100)
        assert (await rig.connector(2))["status"] == "Reserved"
        await rig.advance(30)
        assert (await rig.connector(2))["status"] == "Available"
        assert rig.statuses(2)[-1] == "Available"
        assert await rig.call("CancelReservation", reservationId=10) == {"status": "Rejected"}
    rig_run(tmp_path, body, model="dscu", settings={"RFIDReader2Enabled": "true"})


# ---- DataTransfer -------------------------------------------------------------------------------
def test_data_transfer_unknown_vendor(tmp_path):
    async def body(rig):
        await rig.start()
        assert await rig.call("DataTransfer", vendorId="com.example", messageId="x", data="y") == \
            {"status": "UnknownVendorId"}
    rig_run(tmp_path, body)


# ---- UnlockConnector -----------------------------------------------------------------------------
async def unlock(rig, cid=1, rounds=20):
    """UnlockConnector, answered once the lock has moved (5.18): virtual time
    has to pass meanwhile, so advance in small steps until the answer is in."""
    task = asyncio.ensure_future(rig.call("UnlockConnector", connectorId=cid))
    for _ in range(rounds):
        await asyncio.sleep(0.02)
        if task.done():
            break
        await rig.advance(0.5)
    assert task.done(), "no UnlockConnector.conf after %s virtual seconds" % (rounds * 0.5)
    return task.result()


def test_unlock_connector(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        c = await rig.connector(1)
        assert c["locked"] and c["contactor"] and c["lock"] == "locked"
        assert await unlock(rig) == {"status": "Unlocked"}
        await rig.advance(3)
        c = await rig.connector(1)
        assert not c["locked"] and not c["contactor"] and c["transaction_id"] is None
        assert c["lock"] == "unlocked"
        (stop,) = rig.payloads("StopTransaction")
        assert stop["transactionId"] == txid and stop["reason"] == "UnlockCommand"
        # the cable can be taken now
        await rig.op("ev", connector=1, state="A")
        assert (await rig.op("unplug", connector=1))["removed"] is True
        # no such connector: NotSupported (errata 3.87)
        assert await rig.call("UnlockConnector", connectorId=2) == {"status": "NotSupported"}
    rig_run(tmp_path, body)


def test_unlock_connector_stuck_lock_fails_until_it_releases(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.card_start(1)
        await rig.op("fault", name="lock_stuck", active=True)
        # the lock cannot move: still engaged after the attempts
        assert await unlock(rig) == {"status": "UnlockFailed"}
        c = await rig.connector(1)
        assert c["lock"] == "failed" and c["transaction_id"] is None
        assert c["error_code"] == "ConnectorLockFailure"
        assert (await rig.op("unplug", connector=1))["removed"] is False
        # freed: the next UnlockConnector tries again and succeeds
        await rig.op("fault", name="lock_stuck", active=False)
        assert await unlock(rig) == {"status": "Unlocked"}
        assert (await rig.connector(1))["lock"] == "unlocked"
        await rig.op("ev", connector=1, state="A")
        assert (await rig.op("unplug", connector=1))["removed"] is True
    rig_run(tmp_path, body)


def test_unlock_connector_without_lock_not_supported(tmp_path):
    async def body(rig):
        await rig.start()
        assert (await rig.connector(1))["lock"] == "none"
        assert await rig.call("UnlockConnector", connectorId=1) == {"status": "NotSupported"}
    rig_run(tmp_path, body, settings={"FlexConnectorWithActuator": "false"})


# ---- Smart charging: SetChargingProfile, GetCompositeSchedule, ClearChargingProfile ------------
def _profile(pid, purpose, limit, stack=0, kind="Relative", **extra):
    p = {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
         "chargingProfileKind": kind,
         "chargingSchedule": {"chargingRateUnit": "A",
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}}
    p.update(extra)
    return p


def test_smart_charging_profiles(tmp_path):
    async def body(rig):
        await rig.start()
        call = rig.call
        # a default profile for connector 1, before any transaction
        assert await call("SetChargingProfile", connectorId=1,
                          csChargingProfiles=_profile(11, "TxDefaultProfile", 10.0)) == {"status": "Accepted"}
        txid = await rig.card_start(1)
        c = await rig.connector(1)
        assert c["offered_a"] == 16.0 and c["duty"] == 26.7    # NominalPeriod: nominal rate first
        await rig.advance(31)
        c = await rig.connector(1)
        assert c["offered_a"] == 10.0 and c["duty"] == 16.7 and c["status"] == "Charging"
        assert c["current_a"] == [10.0, 10.0, 10.0]
        conf = await call("GetCompositeSchedule", connectorId=1, duration=600, chargingRateUnit="A")
        assert conf["status"] == "Accepted" and conf["connectorId"] == 1
        periods = conf["chargingSchedule"]["chargingSchedulePeriod"]
        assert conf["chargingSchedule"]["chargingRateUnit"] == "A"
        assert periods[-1]["limit"] == 10.0
        # a TxProfile for the running transaction beats the default
        assert await call("SetChargingProfile", connectorId=1, csChargingProfiles=_profile(
            12, "TxProfile", 8.0, stack=1, transactionId=txid)) == {"status": "Accepted"}
        await rig.advance(1)
        assert (await rig.connector(1))["offered_a"] == 8.0
        # a TxProfile for another transaction is Rejected
        assert await call("SetChargingProfile", connectorId=1, csChargingProfiles=_profile(
            13, "TxProfile", 8.0, transactionId=txid + 100)) == {"status": "Rejected"}
        # the station maximum caps everything
        assert await call("SetChargingProfile", connectorId=0, csChargingProfiles=_profile(
            14, "ChargePointMaxProfile", 6.0, kind="Absolute")) == {"status": "Accepted"}
        await rig.advance(1)
        c = await rig.connector(1)
        assert c["offered_a"] == 6.0 and c["duty"] == 10.0
        conf = await call("GetCompositeSchedule", connectorId=0, duration=300)
        assert conf["status"] == "Accepted"
        assert conf["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 6.0
        # ClearChargingProfile by id, by purpose; unknown -> Unknown
        assert await call("ClearChargingProfile", id=14) == {"status": "Accepted"}
        await rig.advance(1)
        assert (await rig.connector(1))["offered_a"] == 8.0
        assert await call("ClearChargingProfile", connectorId=1, chargingProfilePurpose="TxProfile") == \
            {"status": "Accepted"}
        await rig.advance(1)
        assert (await rig.connector(1))["offered_a"] == 10.0
        assert await call("ClearChargingProfile", id=999) == {"status": "Unknown"}
        assert await call("ClearChargingProfile") == {"status": "Accepted"}       # everything
        await rig.advance(1)
        c = await rig.connector(1)
        assert c["offered_a"] == 16.0 and c["duty"] == 26.7
        # 5.7: an unknown connector is Rejected
        assert await call("GetCompositeSchedule", connectorId=5, duration=60) == {"status": "Rejected"}
        # the meter values follow the offered current
        await rig.call("RemoteStopTransaction", transactionId=txid)
        await rig.advance(1)
        assert rig.payloads("StopTransaction")[0]["reason"] == "Remote"
    rig_run(tmp_path, body, settings={"SmartChargingEnabled": "true"})


def test_composite_schedule_is_what_flows_without_smart_charging(tmp_path):
    """SmartChargingEnabled false: the EV charges at NominalAmperage (manual), and
    GetCompositeSchedule reports that rate, then the cable's when it is lower."""
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await rig.advance(60)
        c = await rig.connector(1)
        assert c["offered_a"] == 10.0 and c["current_a"] == [10.0, 10.0, 10.0]
        conf = await rig.call("GetCompositeSchedule", connectorId=1, duration=600)
        assert conf["status"] == "Accepted"
        assert conf["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 10.0}]
        offered = [sv for p in rig.payloads("MeterValues") if p.get("transactionId") == txid
                   for sv in p["meterValue"][0]["sampledValue"] if sv["measurand"] == "Current.Offered"]
        assert offered and offered[-1]["value"] == "10.0"
        assert await rig.call("ChangeConfiguration", key="NominalAmperage", value="20") == \
            {"status": "Accepted"}
        await rig.advance(1)
        c = await rig.connector(1)
        assert c["offered_a"] == 16.0           # MaxCurrentConnection
        conf = await rig.call("GetCompositeSchedule", connectorId=1, duration=600)
        assert conf["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 16.0}]
    rig_run(tmp_path, body, settings={"NominalAmperage": "10", "MeterValueSampleInterval": "30",
                                      "MeterValuesSampledData": "Current.Offered"})


def test_set_charging_profile_not_supported_when_disabled(tmp_path):
    async def body(rig):
        await rig.start()
        assert await rig.call("SetChargingProfile", connectorId=1, csChargingProfiles=_profile(
            1, "TxDefaultProfile", 10.0)) == {"status": "NotSupported"}
    rig_run(tmp_path, body)


# ---- TriggerMessage ------------------------------------------------------------------------------
def test_trigger_message_each_kind(tmp_path):
    async def body(rig):
        await rig.start()
        call = rig.call

        async def trigger(what, **kw):
            n = len(rig.calls())
            assert await call("TriggerMessage", requestedMessage=what, **kw) == {"status": "Accepted"}
            await rig.advance(0)
            return [r for r in rig.calls()[n:]]

        # errata 3.35: once accepted, a BootNotification trigger is rejected
        assert await call("TriggerMessage", requestedMessage="BootNotification") == {"status": "Rejected"}
        got = await trigger("Heartbeat")
        assert [r.action for r in got] == ["Heartbeat"]
        got = await trigger("DiagnosticsStatusNotification")
        assert [(r.action, r.payload) for r in got] == [("DiagnosticsStatusNotification", {"status": "Idle"})]
        got = await trigger("FirmwareStatusNotification")
        assert [(r.action, r.payload) for r in got] == [("FirmwareStatusNotification", {"status": "Idle"})]
        got = await trigger("StatusNotification", connectorId=2)
        assert [(r.action, r.payload["connectorId"], r.payload["status"]) for r in got] == \
            [("StatusNotification", 2, "Available")]
        got = await trigger("StatusNotification")
        assert sorted(r.payload["connectorId"] for r in got if r.action == "StatusNotification") == [0, 1, 2]
        got = await trigger("MeterValues", connectorId=1)
        assert [r.action for r in got] == ["MeterValues"]
        mv = got[0].payload
        assert mv["connectorId"] == 1 and "transactionId" not in mv
        assert {sv["context"] for sv in mv["meterValue"][0]["sampledValue"]} == {"Trigger"}
        # during a transaction the triggered MeterValues carry its id
        txid = await rig.card_start(1)
        await rig.advance(60)
        got = await trigger("MeterValues", connectorId=1)
        (mv,) = [r.payload for r in got if r.action == "MeterValues"]
        assert mv["transactionId"] == txid
        e = [sv for sv in mv["meterValue"][0]["sampledValue"]
             if sv["measurand"] == "Energy.Active.Import.Register"]
        assert int(e[0]["value"]) > 0
        # a connector that does not exist: Rejected where it matters, ignored where not
        assert await call("TriggerMessage", requestedMessage="StatusNotification", connectorId=3) == \
            {"status": "Rejected"}
        got = await trigger("Heartbeat", connectorId=3)
        assert [r.action for r in got] == ["Heartbeat"]
    rig_run(tmp_path, body, model="dscu", settings={"RFIDReader2Enabled": "true"})


def test_charge_point_data_transfer(tmp_path):
    """CP -> Central System DataTransfer (OCPP 4.3), through the simulator's
    datatransfer extension op; refused (not queued) while offline."""
    async def body(rig):
        await rig.start()
        r = await rig.op("datatransfer", vendor_id="com.example.evse", message_id="Hello", data="{\"x\":1}")
        assert r["queued"] is True
        await rig.advance(1)
        (p,) = rig.payloads("DataTransfer")
        assert p == {"vendorId": "com.example.evse", "messageId": "Hello", "data": "{\"x\":1}"}
        bad = await rig.request({"op": "datatransfer", "vendor_id": ""})
        assert bad["ok"] is False
    rig_run(tmp_path, body)
