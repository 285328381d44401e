# Sensor scenarios (manual chapter 5) on a real station with the simulated
# board and a virtual clock; the OCPP link stays offline, so what the station
# would send is read from its queues.
from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.iocu import errors as E
from evse.services.sensors import order
from evse.services.session import TX, FINISHING
from evse.station import Station
from support import tmpdir

TILT_TRIGGER = ('[[3, "StatusNotification"], [1, "StopTransaction"], [0, "UnlockConnector"], '
                '[2, "SetError"], [0, "ClearError"], [0, "HardReset"], [0, "SetLEDIntensityLow"], '
                '[0, "SetLEDIntensityHigh"]]')
RECOVER = ('[[2, "StatusNotification"], [0, "StopTransaction"], [0, "UnlockConnector"], '
           '[0, "SetError"], [1, "ClearError"], [0, "HardReset"], [0, "SetLEDIntensityLow"], '
           '[0, "SetLEDIntensityHigh"]]')


def build(settings, model="sscu"):
    board = SimBoard(1 if model == "sscu" else 2, tmpdir("sensors"), True)
    cfg = Config(board.storage, model=model)
    for k, v in settings:
        assert cfg.change(k, v) in ("Accepted", "RebootRequired"), k
    cfg = Config(board.storage, model=model)      # reboot-required keys now active
    st = Station(board, cfg, model)
    st.step()
    return board, st


def run(board, st, ms):
    while ms > 0:
        st.step()
        d = max(1, min(st.next_deadline_ms(), ms, 10))
        board.clock.advance_ms(d)
        ms -= d
    st.step()


def charging(board, st):
    board.connectors[0].plug(32)
    board.connectors[0].set_ev("B", 16, 3, True)
    run(board, st, 1000)
    board.connectors[0].set_ev("C", 16, 3, True)
    run(board, st, 1000)
    assert st.connectors[0].contactor_closed


def statuses(st):
    return [item[1] for item in st.ocpp.queue if item[0] == "StatusNotification"]


def test_order_by_priority_zero_skipped():
    acts = [[3, "StatusNotification"], [1, "StopTransaction"], [0, "UnlockConnector"],
            [2, "SetError"], [0, "ClearError"], [0, "HardReset"], [3, "SetLEDIntensityLow"],
            [0, "SetLEDIntensityHigh"]]
    assert order(acts) == ["StopTransaction", "SetError", "StatusNotification", "SetLEDIntensityLow"]


def test_tilt_stops_charging_sets_error_and_notifies():
    board, st = build([("TaglessCharging", "true"), ("ExternalSensor1Type", "1"),
                       ("ExternalSensor1NormallyOpen", "true"),
                       ("ExternalSensor1TriggerActions", TILT_TRIGGER),
                       ("ExternalSensor1RecoverActions", RECOVER)])
    board.io.set_input(1, 1)          # normally open: High/Open = normal
    run(board, st, 500)
    charging(board, st)
    board.io.set_input(1, 0)          # tilted
    run(board, st, 500)
    s = st.sessions[0]
    assert s.state == FINISHING and s.stop_reason == "EmergencyStop"
    c = st.connectors[0]
    assert not c.contactor_closed and c.active(E.ERR_EXTERNAL)
    assert st.status()["connectors"][0]["status"] == "Faulted"
    assert st.status()["connectors"][0]["led"]["color"] == "RED"
    sn = [p for p in statuses(st) if p.get("info") == "TILT"]
    assert sn and sn[-1]["errorCode"] == "OtherError" and sn[-1]["connectorId"] == 0
    stops = [e for e in st.journal.entries() if e[1] == "StopTransaction"]
    assert stops[-1][4]["reason"] == "EmergencyStop"
    # back upright: ClearError then StatusNotification "TILT recovered"
    board.io.set_input(1, 1)
    run(board, st, 3000)
    assert not c.active(E.ERR_EXTERNAL)
    assert any(p.get("info") == "TILT recovered" for p in statuses(st))


def test_normally_closed_light_sensor_dims_leds():
    dim = ('[[0, "StatusNotification"], [0, "StopTransaction"], [0, "UnlockConnector"], '
           '[0, "SetError"], [0, "ClearError"], [0, "HardReset"], [1, "SetLEDIntensityLow"], '
           '[0, "SetLEDIntensityHigh"]]')
    bright = dim.replace('[1, "SetLEDIntensityLow"], [0, "SetLEDIntensityHigh"]',
                         '[0, "SetLEDIntensityLow"], [1, "SetLEDIntensityHigh"]')
    board, st = build([("ExternalSensor2Type", "4"), ("ExternalSensor2NormallyOpen", "false"),
                       ("ExternalSensor2TriggerActions", dim), ("ExternalSensor2RecoverActions", bright),
                       ("LEDIntensityLow", "1"), ("LEDIntensityHigh", "5")])
    run(board, st, 200)
    board.io.set_input(2, 1)          # normally closed: Low = normal, High = dark
    run(board, st, 500)
    assert st.indicators.led_state(0)["intensity"] == 1
    board.io.set_input(2, 0)
    run(board, st, 500)
    assert st.indicators.led_state(0)["intensity"] == 5


def test_unused_sensor_type_zero_does_nothing():
    board, st = build([("TaglessCharging", "true"), ("ExternalSensor1TriggerActions", TILT_TRIGGER)])
    charging(board, st)
    board.io.set_input(1, 0)
    run(board, st, 500)
    board.io.set_input(1, 1)
    run(board, st, 500)
    assert st.sessions[0].state == TX and st.connectors[0].contactor_closed


def test_other_type_uses_the_configured_name():
    board, st = build([("ExternalSensor2Type", "99"), ("ExternalSensor2Name", "MySensor"),
                       ("ExternalSensor2NormallyOpen", "false"),
                       ("ExternalSensor2TriggerActions", TILT_TRIGGER)])
    run(board, st, 200)
    board.io.set_input(2, 1)
    run(board, st, 500)
    assert any(p.get("info") == "MySensor" for p in statuses(st))


def test_voltage_sensor_scenario_on_low_vbuff():
    board, st = build([("TaglessCharging", "true"), ("VoltageSensorVCCBuffTriggerActions", TILT_TRIGGER),
                       ("VoltageSensorVCCBuffRecoverActions", RECOVER)])
    charging(board, st)
    board.io.set_supply_mv(2, 9000)   # servo buffer collapsed
    run(board, st, 1000)
    assert st.sessions[0].stop_reason == "EmergencyStop"
    assert any(p.get("info") == "VCCBUFF" for p in statuses(st))
    board.io.set_supply_mv(2, 12000)
    run(board, st, 3000)
    assert any(p.get("info") == "VCCBUFF recovered" for p in statuses(st))


def test_sensor_hard_reset_stops_with_reason_reboot():
    reset = ('[[0, "StatusNotification"], [0, "StopTransaction"], [0, "UnlockConnector"], '
             '[0, "SetError"], [0, "ClearError"], [1, "HardReset"], [0, "SetLEDIntensityLow"], '
             '[0, "SetLEDIntensityHigh"]]')
    board, st = build([("TaglessCharging", "true"), ("ExternalSensor1Type", "6"),
                       ("ExternalSensor1NormallyOpen", "true"), ("ExternalSensor1TriggerActions", reset)])
    board.io.set_input(1, 1)
    run(board, st, 500)
    charging(board, st)
    board.io.set_input(1, 0)          # the button
    run(board, st, 500)
    assert st.reboot_request == "Hard"
    stops = [e for e in st.journal.entries() if e[1] == "StopTransaction"]
    assert stops[-1][4]["reason"] == "Reboot"


def build_wired(settings, level):
    """A station whose sensor input reads `level` from power-on (a real
    board's input is at its level before the firmware starts)."""
    board = SimBoard(1, tmpdir("sensors"), True)
    board.io.set_input(1, level)
    cfg = Config(board.storage, model="sscu")
    for k, v in settings:
        assert cfg.change(k, v) in ("Accepted", "RebootRequired"), k
    st = Station(board, Config(board.storage, model="sscu"), "sscu")
    return board, st


MANUAL_TILT = [("ExternalSensor1Type", "1"), ("ExternalSensor1NormallyOpen", "true"),
               ("ExternalSensor1TriggerActions", TILT_TRIGGER)]


def test_normally_open_sensor_at_rest_does_not_trigger_at_boot():
    # manual 5.9.1: the tilt sensor's contact is High/Open at rest; the first
    # steps after boot come before the input's first debounced reading
    board, st = build_wired(MANUAL_TILT, 1)
    for _ in range(50):
        st.step()
        board.clock.advance_ms(5)
    assert st.sensors.log == []
    assert not [p for p in statuses(st) if p.get("info") == "TILT"]
    assert st.status()["connectors"][0]["status"] == "Available"


def test_sensor_already_triggered_at_boot_acts_after_its_first_reading():
    board, st = build_wired(MANUAL_TILT, 0)      # tilted while powered off
    st.step()
    assert st.status()["connectors"][0]["status"] == "Available"   # not yet read
    run(board, st, 500)
    assert st.sensors.log[-1][:2] == ("TILT", "trigger")
    assert st.status()["connectors"][0]["status"] == "Faulted"
