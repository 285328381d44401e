# Warnings reach the Central System (services/warnings.py): temperature
# derating as HighTemperature, a bouncing sensor input, the IOCU's pulse
# warnings, and with DetailedWarningMessages a limit the connector cannot
# deliver. What a Central System sees: StatusNotifications.
from evse.iocu.events import EV_PLUG
from session_rig import Rig
from test_conditions import CS
from evsesim import simdrive


def sn(r, cid):
    return [p for p in r.calls("StatusNotification") if p["connectorId"] == cid]


def charging(**cfg):
    r = Rig(TaglessCharging=True, **cfg)
    r.online(CS())
    r.plug(1)
    r.ev(1, "C")
    r.run(5)
    assert r.st.status_report.name(1) == "Charging"
    return r


def test_derating_is_reported_as_high_temperature_and_cleared():
    r = charging(TempLowerOffsetDegrees=55, TempLowerOffsetLimit=10)
    r.board.io.set_temperature_dc(600)          # 60 C
    r.run(5)
    last = sn(r, 0)[-1]
    assert last["errorCode"] == "HighTemperature" and last["info"] == "derating to 10 A"
    assert last["status"] == "Available"        # a warning: the status stays
    assert r.board.connectors[0].ev_current_da() <= 100
    r.board.io.set_temperature_dc(400)
    r.run(5)
    last = sn(r, 0)[-1]
    assert last["errorCode"] == "NoError" and last["info"] == "cleared HighTemperature"


def test_detailed_warning_messages_add_the_temperature():
    r = charging(TempLowerOffsetDegrees=55, TempLowerOffsetLimit=10, DetailedWarningMessages=True)
    r.board.io.set_temperature_dc(610)
    r.run(5)
    assert sn(r, 0)[-1]["info"] == "derating to 10 A at 61 C"


def test_a_bouncing_sensor_input_is_reported_until_it_settles():
    r = Rig()
    r.online(CS())
    for i in range(12):
        r.board.io.set_input(1, (i + 1) % 2)
        r.run(0.1)
    last = sn(r, 0)[-1]
    assert last["errorCode"] == "OtherError" and last["vendorErrorCode"] == "ERR_EXT_SENS1_BOUNCED"
    assert last["status"] == "Available"
    r.run(61)                                   # the input is frozen for 60 s
    last = sn(r, 0)[-1]
    assert last["errorCode"] == "NoError" and "ERR_EXT_SENS1_BOUNCED" in last["info"]


def test_iocu_pulse_warning_reaches_the_central_system():
    r = charging()
    for _ in range(100):                        # more events than the ring holds
        r.st.events.push(1, EV_PLUG, 1)
    r.run(1)
    w = [p for p in sn(r, 0) if p.get("vendorErrorCode") == "ERR_TX_BUFFER_OVERFLOW"]
    assert len(w) == 1 and w[0]["errorCode"] == "InternalError" and w[0]["info"] == "IOCU"
    assert any("ERR_TX_BUFFER_OVERFLOW" in e for e in r.st.error_log.lines())


def _low_profile(r):
    prof = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute", "chargingSchedule": {
                "chargingRateUnit": "A", "startSchedule": "2025-01-01T00:00:00Z",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3.0}]}}
    assert r.st.energy.set_charging_profile(1, prof) == "Accepted"
    r.run(60)


def test_detailed_warning_for_a_limit_the_connector_cannot_deliver():
    r = charging(SmartChargingEnabled=True, DetailedWarningMessages=True, NominalPeriod=30)
    _low_profile(r)
    w = [p for p in sn(r, 1) if p.get("vendorErrorCode") == "PROFILE_NOT_DELIVERABLE"]
    assert w and w[-1]["info"] == "limit 3.0 A below 6 A: paused"
    r2 = charging(SmartChargingEnabled=True, NominalPeriod=30)   # not detailed: nothing
    _low_profile(r2)
    assert [p for p in sn(r2, 1) if p.get("vendorErrorCode") == "PROFILE_NOT_DELIVERABLE"] == []


def test_heartbeat_loss_stops_the_running_session():
    # manual 8.5 ERR_HEARTBEAT: running sessions are stopped, the station is Faulted
    r = Rig(TaglessCharging=True)
    r.online(CS())
    r.plug(1)
    r.ev(1, "C")
    r.run(5)
    assert len(r.calls("StartTransaction")) == 1
    simdrive.fault(r.st, "heartbeat", True)
    r.run(10)
    stops = r.calls("StopTransaction")
    assert len(stops) == 1 and stops[0]["reason"] == "Other"
    assert sn(r, 0)[-1]["status"] == "Faulted"
    assert sn(r, 0)[-1]["vendorErrorCode"] == "ERR_HEARTBEAT"
    assert not r.board.connectors[0].contacts_closed()


def test_serial_number_and_mac_come_from_the_board_into_boot_notification():
    r = Rig()
    b = r.board
    assert r.st.config.get("SerialNumber") == b.serial_number() != ""
    assert r.st.config.get("MACAddress") == b.mac_address() and b.mac_address().startswith("02:00:")
    p = r.st.ocpp.boot_payload()
    assert p["chargePointSerialNumber"] == p["chargeBoxSerialNumber"] == b.serial_number()
