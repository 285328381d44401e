# Whole charging sessions over OCPP 1.6J (4.1 Authorize, 4.7 MeterValues, 4.8
# StartTransaction, 4.9 StatusNotification, 4.10 StopTransaction, 5.11/5.12
# remote start/stop) on the simulator against the development Central System.
from ocpp_rig import TAG, parse_iso, rig_run

SAMPLED = "Energy.Active.Import.Register,Current.Import,Current.Offered,Voltage,Power.Active.Import"


def _energy(mv):
    for sv in mv["sampledValue"]:
        if sv.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register":
            return int(float(sv["value"]))
    raise AssertionError(mv)


def test_local_session_with_card(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.plug_ev(1)
        await rig.advance(1)
        r = await rig.op("rfid", reader=1, id=TAG)
        assert r["result"] in ("pending", "accepted")
        await rig.advance(1)
        assert rig.payloads("Authorize") == [{"idTag": TAG}]
        (start,) = await rig.wait_call("StartTransaction")
        assert start["connectorId"] == 1 and start["idTag"] == TAG and start["meterStart"] == 0
        t_start = parse_iso(start["timestamp"])
        await rig.op("ev", connector=1, state="C", max_current=16, phases=3)
        await rig.advance(1)
        c = await rig.connector(1)
        txid = c["transaction_id"]
        assert c["status"] == "Charging" and c["contactor"] and c["locked"] and c["id_tag"] == TAG
        assert txid in rig.cs.transactions
        # ten minutes of charging: a sampled MeterValues every minute
        await rig.advance(600)
        mvs = [p for p in rig.payloads("MeterValues") if p.get("transactionId") == txid]
        assert len(mvs) == 10
        stamps = [parse_iso(p["meterValue"][0]["timestamp"]) for p in mvs]
        assert [b - a for a, b in zip(stamps, stamps[1:])] == [60] * 9
        assert stamps[0] == t_start + 60
        energies = [_energy(p["meterValue"][0]) for p in mvs]
        assert energies == sorted(energies) and energies[0] > 0
        first = mvs[0]["meterValue"][0]["sampledValue"]
        assert {sv["context"] for sv in first} == {"Sample.Periodic"}
        assert {sv["measurand"] for sv in first} == set(SAMPLED.split(","))
        assert sorted(sv["phase"] for sv in first if sv["measurand"] == "Current.Import") == ["L1", "L2", "L3"]
        # about 11 kW (3 x 16 A x 230 V) for 10 minutes
        assert 1700 < energies[-1] < 2000
        # the same card stops it
        await rig.op("rfid", reader=1, id=TAG)
        await rig.advance(1)
        (stop,) = rig.payloads("StopTransaction")
        assert stop["transactionId"] == txid and stop["reason"] == "Local" and stop["idTag"] == TAG
        assert stop["meterStop"] >= energies[-1]
        assert parse_iso(stop["timestamp"]) >= stamps[-1]
        begin, end = stop["transactionData"]
        assert begin["sampledValue"][0]["context"] == "Transaction.Begin"
        assert int(begin["sampledValue"][0]["value"]) == start["meterStart"]
        assert end["sampledValue"][0]["context"] == "Transaction.End"
        assert int(end["sampledValue"][0]["value"]) == stop["meterStop"]
        assert rig.cs.transactions[txid]["meterStop"] == stop["meterStop"]
        c = await rig.connector(1)
        assert not c["contactor"] and not c["locked"] and c["status"] == "Finishing"
        await rig.op("ev", connector=1, state="A")
        await rig.op("unplug", connector=1)
        await rig.advance(1)
        # the cable is locked while Preparing, before the transaction starts
        assert rig.statuses(1) == ["Available", "Preparing", "SuspendedEV", "Charging",
                                   "Finishing", "Available"]
        # nothing left over: no more meter values, nothing queued
        n = len(rig.calls("MeterValues"))
        await rig.advance(600)
        assert len(rig.calls("MeterValues")) == n
        assert (await rig.status())["ocpp"]["queued"] == 0
    rig_run(tmp_path, body, settings={"MeterValueSampleInterval": "60", "MeterValuesSampledData": SAMPLED})


def test_invalid_card_is_refused(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.plug_ev(1)
        await rig.op("rfid", reader=1, id="BADCARD")
        await rig.advance(2)
        assert rig.payloads("Authorize") == [{"idTag": "BADCARD"}]
        assert rig.calls("StartTransaction") == []
        c = await rig.connector(1)
        assert c["session"] == "Idle" and not c["contactor"]
    rig_run(tmp_path, body, auth_tags={"BADCARD": "Blocked"})


def test_remote_session(tmp_path):
    async def body(rig):
        await rig.start()
        # RemoteStart before the EV is there: authorized, waiting for the EV
        assert await rig.call("RemoteStartTransaction", connectorId=2, idTag="REMOTE1") == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.calls("Authorize") == []          # AuthorizeRemoteTxRequests false
        assert (await rig.connector(2))["status"] == "Preparing"
        await rig.plug_ev(2, state="C")
        await rig.advance(2)
        (start,) = await rig.wait_call("StartTransaction")
        assert start["connectorId"] == 2 and start["idTag"] == "REMOTE1"
        c = await rig.connector(2)
        txid = c["transaction_id"]
        assert c["status"] == "Charging"
        # an unknown transaction cannot be stopped
        assert await rig.call("RemoteStopTransaction", transactionId=txid + 50) == {"status": "Rejected"}
        await rig.advance(120)
        assert await rig.call("RemoteStopTransaction", transactionId=txid) == {"status": "Accepted"}
        await rig.advance(1)
        (stop,) = rig.payloads("StopTransaction")
        assert stop["transactionId"] == txid and stop["reason"] == "Remote"
        assert stop["meterStop"] > start["meterStart"]
        # RemoteStart without a connector: the station picks one (the EV waiting on 1)
        await rig.plug_ev(1)
        await rig.advance(1)
        assert await rig.call("RemoteStartTransaction", idTag="REMOTE2") == {"status": "Accepted"}
        await rig.advance(1)
        starts = await rig.wait_call("StartTransaction", 2)
        assert starts[1]["connectorId"] == 1 and starts[1]["idTag"] == "REMOTE2"
        # AuthorizeRemoteTxRequests true: an Authorize first, and a refused tag does not start
        await rig.call("ChangeConfiguration", key="AuthorizeRemoteTxRequests", value="true")
        await rig.op("ev", connector=2, state="A")
        await rig.op("unplug", connector=2)
        await rig.advance(1)
        await rig.call("RemoteStartTransaction", connectorId=2, idTag="BLOCKED")
        await rig.advance(1)
        assert rig.payloads("Authorize") == [{"idTag": "BLOCKED"}]
        assert (await rig.connector(2))["session"] == "Idle"
        assert len(rig.calls("StartTransaction")) == 2
    rig_run(tmp_path, body, model="dscu", auth_tags={"BLOCKED": "Blocked"})


def test_remote_start_with_charging_profile(tmp_path):
    profile = {"chargingProfileId": 5, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": "Relative",
               "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                   {"startPeriod": 0, "limit": 10.0}, {"startPeriod": 300, "limit": 13.0}]}}

    async def body(rig):
        await rig.start()
        # only a TxProfile may come with a remote start
        bad = dict(profile, chargingProfilePurpose="TxDefaultProfile")
        assert await rig.call("RemoteStartTransaction", connectorId=1, idTag="R1", chargingProfile=bad) == \
            {"status": "Rejected"}
        assert await rig.call("RemoteStartTransaction", connectorId=1, idTag="R1", chargingProfile=profile) == \
            {"status": "Accepted"}
        await rig.plug_ev(1, state="C")
        await rig.advance(31)                         # past NominalPeriod
        c = await rig.connector(1)
        assert c["status"] == "Charging" and c["offered_a"] == 10.0 and c["current_a"] == [10.0] * 3
        await rig.advance(300)
        assert (await rig.connector(1))["offered_a"] == 13.0
        # the profile belongs to the transaction: gone when it ends
        txid = c["transaction_id"]
        await rig.call("RemoteStopTransaction", transactionId=txid)
        await rig.advance(1)
        conf = await rig.call("GetCompositeSchedule", connectorId=1, duration=600)
        assert all(p["limit"] == 16.0 for p in conf["chargingSchedule"]["chargingSchedulePeriod"])
    rig_run(tmp_path, body, settings={"SmartChargingEnabled": "true"})


def _clock_values(rig):
    """Timestamps of the Sample.Clock meter values the Central System received."""
    out = []
    for p in rig.payloads("MeterValues"):
        for mv in p["meterValue"]:
            if any(sv.get("context") == "Sample.Clock" for sv in mv["sampledValue"]):
                out.append(parse_iso(mv["timestamp"]))
    return out


def test_clock_aligned_values_from_midnight_and_none_at_boot(tmp_path):
    async def body(rig):
        # this Central System's clock is the rig's: midnight at the start, and
        # two hours later while the station is off
        rig.cs.clock = lambda: rig.vnow
        await rig.start()
        t0 = rig.vnow
        assert t0 % 86400 == 0                          # the rig starts at midnight
        await rig.advance(1000)
        assert _clock_values(rig) == [t0 + 900]
        await rig.stop()
        # off for two hours and a bit: the restarted station learns the time from
        # BootNotification.conf; the boundaries it slept through are not sent
        rig.vnow += 7207
        await rig.start()
        await rig.advance(5)
        boot = rig.vnow
        assert _clock_values(rig) == [t0 + 900]
        await rig.advance(900)
        got = _clock_values(rig)
        assert got == [t0 + 900, (boot // 900 + 1) * 900]
        assert all(t % 900 == 0 for t in got)
    rig_run(tmp_path, body, settings={"ClockAlignedDataInterval": "900"})


def test_stop_transaction_carries_stop_txn_data(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await rig.advance(600)
        await rig.op("rfid", reader=1, id=TAG)
        await rig.advance(1)
        (stop,) = rig.payloads("StopTransaction")
        assert stop["transactionId"] == txid
        data = stop["transactionData"]
        ctx = [mv["sampledValue"][0]["context"] for mv in data]
        assert ctx[0] == "Transaction.Begin" and ctx[-1] == "Transaction.End"
        # about 600 s from t0 + 3: samples every 120 s, boundaries t0 + 300, t0 + 600
        assert ctx.count("Sample.Periodic") == 5 and ctx.count("Sample.Clock") == 2
        periodic = [mv for mv in data if mv["sampledValue"][0]["context"] == "Sample.Periodic"]
        assert {sv["measurand"] for mv in periodic for sv in mv["sampledValue"]} == \
            {"Energy.Active.Import.Register", "Current.Import"}
        for clock in [mv for mv in data if mv["sampledValue"][0]["context"] == "Sample.Clock"]:
            assert parse_iso(clock["timestamp"]) % 300 == 0
            assert [sv["measurand"] for sv in clock["sampledValue"]] == ["Energy.Active.Import.Register"]
        energies = [_energy(mv) for mv in data]
        assert energies == sorted(energies) and energies[-1] == stop["meterStop"]
        # the transaction's MeterValues carry MeterValuesSampledData, not StopTxnSampledData
        mvs = [p for p in rig.payloads("MeterValues") if p.get("transactionId") == txid]
        assert len(mvs) == 5
        assert {sv["measurand"] for p in mvs for sv in p["meterValue"][0]["sampledValue"]} == \
            {"Voltage"}
    rig_run(tmp_path, body, settings={
        "MeterValueSampleInterval": "120", "MeterValuesSampledData": "Voltage",
        "StopTxnSampledData": "Energy.Active.Import.Register,Current.Import",
        "ClockAlignedDataInterval": "300", "MeterValuesAlignedData": "",
        "StopTxnAlignedData": "Energy.Active.Import.Register"})


def test_remote_start_on_unknown_connector_is_rejected(tmp_path):
    # OCTT TC_027: connectorId 0 or one the station does not have is a valid
    # request (the JSON schema allows any integer) that is Rejected, not a
    # CALLERROR; nothing starts
    async def body(rig):
        await rig.start()
        await rig.plug_ev(1)
        await rig.advance(1)
        for cid in (0, 2, -1, 99):
            assert await rig.call("RemoteStartTransaction", connectorId=cid, idTag="REMOTE1") == \
                {"status": "Rejected"}, cid
        await rig.advance(2)
        assert rig.calls("StartTransaction") == []
        assert (await rig.connector(1))["session"] == "Idle"
        assert await rig.call("RemoteStartTransaction", connectorId=1, idTag="REMOTE1") == \
            {"status": "Accepted"}
        await rig.advance(2)
        (start,) = await rig.wait_call("StartTransaction")
        assert start["connectorId"] == 1
    rig_run(tmp_path, body, model="sscu")


def test_remote_start_connector_3_on_dscu_is_rejected(tmp_path):
    async def body(rig):
        await rig.start()
        assert await rig.call("RemoteStartTransaction", connectorId=3, idTag="R") == {"status": "Rejected"}
        assert await rig.call("RemoteStartTransaction", connectorId=0, idTag="R") == {"status": "Rejected"}
        await rig.advance(1)
        assert [(await rig.connector(n))["session"] for n in (1, 2)] == ["Idle", "Idle"]
    rig_run(tmp_path, body, model="dscu")


def test_start_transaction_waits_for_the_lock_and_a_lock_failure_faults(tmp_path):
    # OCTT TC_024: with a lock fitted the StartTransaction is sent once the
    # cable is locked; a lock that fails first gives Faulted with errorCode
    # ConnectorLockFailure and no transaction
    async def body(rig):
        await rig.start()
        await rig.plug_ev(1)
        await rig.advance(1)
        await rig.op("fault", name="lock_stuck", active=True)
        await rig.op("rfid", reader=1, id=TAG)
        await rig.advance(10)
        assert rig.calls("StartTransaction") == []
        c = await rig.connector(1)
        assert c["status"] == "Faulted" and c["error_code"] == "ConnectorLockFailure"
        assert c["lock"] == "unlocked" and c["session"] == "Idle" and not c["contactor"]
        sn = [p for p in rig.payloads("StatusNotification") if p["connectorId"] == 1]
        assert sn[-1]["status"] == "Faulted" and sn[-1]["errorCode"] == "ConnectorLockFailure", sn
        assert "Charging" not in [p["status"] for p in sn]
        # the EV leaves, the lock works again: the next session starts locked
        await rig.op("ev", connector=1, state="A")
        assert (await rig.op("unplug", connector=1))["removed"] is True
        await rig.op("fault", name="lock_stuck", active=False)
        await rig.advance(5)
        assert (await rig.connector(1))["status"] == "Available"
        await rig.card_start(1)
        (start,) = rig.payloads("StartTransaction")
        c = await rig.connector(1)
        assert c["status"] == "Charging" and c["lock"] == "locked"
    rig_run(tmp_path, body)


def test_invalid_start_conf_with_zero_max_energy_only_suspends(tmp_path):
    # StopTransactionOnInvalidId false, MaxEnergyOnInvalidId 0: no energy
    # after the invalidation, the transaction stays open (OCPP 1.6 3.5.4)
    async def body(rig):
        await rig.start()
        rig.cs.start_tags = {TAG: "Invalid"}
        await rig.plug_ev(1)
        await rig.op("rfid", reader=1, id=TAG)
        await rig.op("ev", connector=1, state="C", max_current=16, phases=3)
        await rig.advance(60)
        c = await rig.connector(1)
        assert c["status"] == "SuspendedEVSE" and not c["contactor"] and c["locked"]
        assert isinstance(c["transaction_id"], int) and rig.calls("StopTransaction") == []
        (start,) = rig.payloads("StartTransaction")
        assert c["energy_wh"] - start["meterStart"] < 1
    rig_run(tmp_path, body, settings={"StopTransactionOnInvalidId": "false",
                                      "MaxEnergyOnInvalidId": "0"})
