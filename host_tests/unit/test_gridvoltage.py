# Grid voltage supervision (evse.services.gridvoltage; manual 4.4
# OverVoltageLimit, UnderVoltageLimit, VoltageLimitCheckInterval,
# VoltageLimitMaxSequentialStatusNotification, L1Active..L3Active): what the
# Central System receives on connectorId 0. Both runtimes.
from session_rig import Rig
from evsesim import simdrive


class CS:
    def answer(self, action, payload):
        if action == "Heartbeat":
            return {"currentTime": "2026-01-01T00:00:00Z"}
        return {}


def grid_reports(r):
    return [p for p in r.calls("StatusNotification") if p["connectorId"] == 0]


def rig(**kw):
    cfg = {"VoltageLimitCheckInterval": 10, "VoltageLimitMaxSequentialStatusNotification": 3}
    cfg.update(kw)
    r = Rig("dscu", **cfg)
    r.online(CS())
    r.run(1)
    return r


def test_over_voltage_reported_n_times_then_cleared_by_one_good_value():
    r = rig()
    n0 = len(grid_reports(r))
    simdrive.grid(r.st, [230, 270, 230])
    r.run(65)                                     # six checks
    got = grid_reports(r)[n0:]
    assert [(p["status"], p["errorCode"], p.get("info")) for p in got] == \
        [("Available", "OverVoltage", "L2 270 V")] * 3, got
    assert r.st.status()["station"]["error_code"] == "OverVoltage"
    assert r.status(1) == "Available"             # a warning: nothing is blocked
    simdrive.grid(r.st, [230, 230, 230])
    r.run(10)
    last = grid_reports(r)[-1]
    assert last["errorCode"] == "NoError" and last["info"] == "cleared OverVoltage", last
    assert len(grid_reports(r)) == n0 + 4
    # the limiter was reset: a new bad run counts from 1 again
    simdrive.grid(r.st, [180, 230, 230])
    r.run(20)
    got = grid_reports(r)[n0 + 4:]
    assert [(p["errorCode"], p.get("info")) for p in got] == [("UnderVoltage", "L1 180 V")] * 2, got


def test_kind_change_and_worst_phase():
    r = rig(VoltageLimitMaxSequentialStatusNotification=1)
    n0 = len(grid_reports(r))
    simdrive.grid(r.st, [200, 190, 230])               # both under: the worst is named
    r.run(30)
    simdrive.grid(r.st, [260, 190, 230])               # over wins over under
    r.run(30)
    got = [(p["errorCode"], p.get("info")) for p in grid_reports(r)[n0:]]
    assert got == [("UnderVoltage", "L2 190 V"), ("OverVoltage", "L1 260 V")], got


def test_inactive_phases_limits_and_interval_off():
    r = rig(L2Active=False, L3Active=False, OverVoltageLimit=280)
    n0 = len(grid_reports(r))
    simdrive.grid(r.st, [270, 0, 0])                    # L2/L3 not installed: not looked at
    r.run(30)
    assert grid_reports(r)[n0:] == []
    simdrive.grid(r.st, [281])
    r.run(10)
    assert [p["errorCode"] for p in grid_reports(r)[n0:]] == ["OverVoltage"]
    r2 = rig(VoltageLimitCheckInterval=0)
    simdrive.grid(r2.st, [300, 300, 300])
    r2.run(700)
    assert [p for p in grid_reports(r2) if p["errorCode"] != "NoError"] == []
    r3 = rig(VoltageLimitMaxSequentialStatusNotification=0)
    simdrive.grid(r3.st, [300, 300, 300])
    r3.run(60)
    assert [p for p in grid_reports(r3) if p["errorCode"] != "NoError"] == []


def test_checked_every_interval_only():
    r = rig(VoltageLimitCheckInterval=600, VoltageLimitMaxSequentialStatusNotification=5)
    n0 = len(grid_reports(r))
    simdrive.grid(r.st, [270, 230, 230])
    r.run(500)
    assert grid_reports(r)[n0:] == []
    r.run(1300)                                   # checks at 600, 1200, 1800 s
    assert len(grid_reports(r)[n0:]) == 3
