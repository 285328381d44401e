# The MCU step allocates nothing in steady state (docs/design-notes.md, "The
# safety tick"; docs/memory.md): idle and charging, one connector (SSCU) and
# two (DSCU), with nothing happening but time passing. The heap is counted
# with gc.mem_alloc on the MicroPython Unix port (GC off over the window);
# CPython runs the same steps and checks the station's state.
import gc

from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.station import Station
import support
from support import tmpdir


def build(model, extra=()):
    n = 1 if model == "sscu" else 2
    board = SimBoard(n, tmpdir("mcualloc"), True)
    cfg = Config(board.storage, model=model)
    cfg.change("TaglessCharging", "true")
    cfg.change("OfflineMode", "true")
    for k, v in extra:
        cfg.change(k, v)
    cfg = Config(board.storage, model=model)
    return board, Station(board, cfg, model)


def run(board, st, ms):
    for _ in range(ms // 10):
        st.step()
        board.clock.advance_ms(10)


def per_step(board, st, steps=100, every_ms=10):
    """Bytes allocated per MCU step (mcu_step + the loop's next_deadline_ms)
    over `steps` steps `every_ms` apart; 0 on CPython (not measured)."""
    st.mcu_step()
    st.next_deadline_ms(False)
    if support.IS_MICROPYTHON:
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
    for _ in range(steps):
        board.clock.advance_ms(every_ms)
        st.mcu_step()
        st.next_deadline_ms(False)
    if support.IS_MICROPYTHON:
        a1 = gc.mem_alloc()
        gc.enable()
        return (a1 - a0) // steps
    return 0


def check(model, extra=()):
    board, st = build(model, extra)
    if extra:
        assert st.sensors.active == [False] * 5     # the sensor service runs in the step
    run(board, st, 3000)
    assert st.status()["connectors"][0]["status"] == "Available"
    idle = (per_step(board, st), per_step(board, st, 20, 1000))
    board.connectors[0].plug(32)
    board.connectors[0].set_ev("C", 16, 3, True)
    run(board, st, 5000)
    c = st.status()["connectors"][0]
    assert c["status"] == "Charging" and c["contactor"] and c["offered_a"] == 16.0
    charging = (per_step(board, st), per_step(board, st, 20, 1000))
    assert st.status()["connectors"][0]["status"] == "Charging"
    assert idle == (0, 0) and charging == (0, 0), (model, idle, charging)


def test_mcu_step_allocates_nothing_sscu():
    check("sscu")


def test_mcu_step_allocates_nothing_dscu():
    check("dscu")


def test_mcu_step_allocates_nothing_with_a_sensor_configured():
    # an external sensor makes the sensor service part of every step
    check("sscu", (("ExternalSensor1Type", "2"),))


def test_mcu_step_allocates_nothing_with_smart_charging():
    # SmartChargingEnabled with a TxDefaultProfile: the energy step asks the
    # smart charging service every step; its answers are cached until the
    # schedule's next change (SmartCharging.step_da)
    board, st = build("dscu", (("SmartChargingEnabled", "true"),))
    prof = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": "2020-01-01T00:00:00Z",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}}
    assert st.energy.set_charging_profile(0, prof) == "Accepted"
    run(board, st, 3000)
    idle = (per_step(board, st), per_step(board, st, 20, 1000))
    for cio in board.connectors:
        cio.plug(32)
        cio.set_ev("C", 16, 3, True)
    run(board, st, 40000)       # past NominalPeriod (30 s): the profile's 10 A
    got = [(c["status"], c["offered_a"]) for c in st.status()["connectors"]]
    assert got == [("Charging", 10.0), ("Charging", 10.0)], got
    charging = (per_step(board, st), per_step(board, st, 20, 1000))
    assert [c["offered_a"] for c in st.status()["connectors"]] == [10.0, 10.0]
    assert idle == (0, 0) and charging == (0, 0), (idle, charging)
