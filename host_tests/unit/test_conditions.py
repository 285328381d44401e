# MCU-side conditions in StatusNotification (services/conditions.py): the
# highest-priority active condition fills errorCode/vendorErrorCode/info, a
# blocking one makes the connector Faulted and stops energy, clearing it
# reports NoError "cleared ...".
from evse.services.conditions import Conditions, PRIO_FAILURE, PRIO_WARNING
from session_rig import Rig


class CS:
    def answer(self, action, payload):
        if action == "StartTransaction":
            return {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}
        if action in ("Authorize",):
            return {"idTagInfo": {"status": "Accepted"}}
        if action == "StopTransaction":
            return {}
        if action == "Heartbeat":
            return {"currentTime": "2026-01-01T00:00:00Z"}
        return {}


def test_top_condition_by_priority_then_name():
    c = Conditions(2)
    assert c.top(1) is None
    assert c.set(1, "temp", "HighTemperature", "", "derating", PRIO_WARNING)
    assert not c.set(1, "temp", "HighTemperature", "", "derating", PRIO_WARNING)
    assert c.set(1, "overcurrent", "OverCurrentFailure", "", "EV 20 A > 16 A", PRIO_FAILURE, True)
    assert c.top(1) == ("OverCurrentFailure", "", "EV 20 A > 16 A")
    assert c.blocks(1) and not c.blocks(2)
    assert c.clear(1, "overcurrent") and not c.clear(1, "overcurrent")
    assert c.top(1) == ("HighTemperature", "", "derating")
    c.set(0, "grid", "OverVoltage", "", "L1 270 V", PRIO_WARNING, True)
    assert c.blocks(2)                   # a station-wide blocking condition
    assert c.names(1) == ["temp"]


def test_station_reports_conditions_and_blocking_stops_energy():
    r = Rig(TaglessCharging=True)
    r.online(CS())
    r.plug(1)
    r.ev(1, "C")
    r.run(5)
    st = r.st
    assert st.status_report.name(1) == "Charging"
    st.conditions.set(1, "test", "OtherError", "X1", "test warning")
    r.run(1)
    last = r.calls("StatusNotification")[-1]
    assert last["connectorId"] == 1 and last["status"] == "Charging"
    assert last["errorCode"] == "OtherError" and last["vendorErrorCode"] == "X1"
    st.conditions.set(1, "test", "OverCurrentFailure", "", "too much", PRIO_FAILURE, True)
    r.run(2)
    last = r.calls("StatusNotification")[-1]
    assert last["status"] == "Faulted" and last["errorCode"] == "OverCurrentFailure"
    assert r.board.connectors[0].contacts_closed() is False
    st.conditions.clear(1, "test")
    r.run(5)
    after = [p for p in r.calls("StatusNotification") if p["connectorId"] == 1]
    assert after[-1]["errorCode"] == "NoError", after
    cleared = [p for p in after if p.get("info") == "cleared OverCurrentFailure"]
    assert cleared and cleared[0]["status"] != "Faulted", after
