# MCU step benchmark: heap bytes per MCU step (Station.mcu_step plus the MCU
# loop's next_deadline_ms) beside the safety core's tick (Station.safety_tick)
# on the whole station, idle and charging, SSCU and DSCU, on the MicroPython
# Unix port (gc.mem_alloc deltas with the GC off; never timed). The MCU loop
# runs at most once a second without an event; the 10 ms column is what a
# busier loop would cost, the 300 s column includes what comes by itself
# (a MeterValues sample every 180 s, energy register saves while charging).
#
#   MICROPYPATH=.frozen:firmware micropython tools/bench_mcu.py
import gc
import os
import sys

_mem_alloc = getattr(gc, "mem_alloc", None)  # MicroPython only

from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.station import Station

N_TICK = 1000       # safety ticks, 10 ms apart


def clean(d):
    try:
        for n in os.listdir(d):
            os.remove(d + "/" + n)
    except OSError:
        pass


# a TxDefaultProfile of 10 A for every connector (the "dscu+sc" rows)
PROFILE = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Absolute",
           "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": "2020-01-01T00:00:00Z",
                                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}}


def build(model, smart=False):
    d = "/tmp/evse-bench-mcu-" + model + ("-sc" if smart else "")
    clean(d)
    board = SimBoard(1 if model == "sscu" else 2, d, True)
    cfg = Config(board.storage, model=model)
    cfg.change("TaglessCharging", "true")
    cfg.change("OfflineMode", "true")
    if smart:
        cfg.change("SmartChargingEnabled", "true")
    cfg = Config(board.storage, model=model)
    st = Station(board, cfg, model)
    if smart and st.energy.set_charging_profile(0, PROFILE) != "Accepted":
        print("FAILED: the charging profile")
        sys.exit(1)
    return board, st


def run(board, st, ms):
    for _ in range(ms // 10):
        st.step()
        board.clock.advance_ms(10)


def tick_bytes(board, st):
    clk = board.clock
    st.safety_tick(clk.ticks_ms())
    gc.collect()
    gc.disable()
    a0 = _mem_alloc()
    for _ in range(N_TICK):
        clk.advance_ms(10)
        st.iocu.heartbeat(clk.ticks_ms())
        st.safety_tick(clk.ticks_ms())
    a1 = _mem_alloc()
    gc.enable()
    st.mcu_step()               # what the ticks reported
    return (a1 - a0) / N_TICK


def mcu_bytes(board, st, steps, every_ms):
    """Heap bytes per MCU step over `steps` steps `every_ms` apart."""
    clk = board.clock
    st.mcu_step()
    st.next_deadline_ms(False)
    gc.collect()
    gc.disable()
    a0 = _mem_alloc()
    for _ in range(steps):
        clk.advance_ms(every_ms)
        st.mcu_step()
        st.next_deadline_ms(False)
    a1 = _mem_alloc()
    gc.enable()
    return (a1 - a0) / steps


def figures(board, st):
    """(safety tick, MCU step at 10 ms, MCU step at 1 Hz over 50 s: steady
    state; MCU step at 1 Hz over 300 s: with what happens by itself then:
    MeterValues, energy register saves on flash), bytes each."""
    return (tick_bytes(board, st), mcu_bytes(board, st, 100, 10), mcu_bytes(board, st, 50, 1000),
            mcu_bytes(board, st, 300, 1000))


def main():
    if _mem_alloc is None:
        print("bench_mcu: gc.mem_alloc is MicroPython's")
        sys.exit(1)
    print("%-7s %-9s %9s %16s %16s %22s" % ("model", "state", "bytes/tick", "bytes/MCU step",
                                               "at 1 Hz, 50 s", "at 1 Hz, 300 s (events)"))
    for model, smart in (("sscu", False), ("dscu", False), ("dscu", True)):
        board, st = build(model, smart)
        name = model + ("+sc" if smart else "")      # +sc: smart charging, a 10 A TxDefaultProfile
        run(board, st, 3000)
        print("%-7s %-9s %9.3f %16.3f %16.3f %22.3f" % ((name, "idle") + figures(board, st)))
        for cio in board.connectors[:2 if smart else 1]:
            cio.plug(32)
            cio.set_ev("C", 16, 3, True)
        run(board, st, 40000 if smart else 5000)     # smart: past NominalPeriod, the profile applies
        if not st.connectors[0].contactor_closed:
            print("FAILED: %s not charging" % name)
            sys.exit(1)
        print("%-7s %-9s %9.3f %16.3f %16.3f %22.3f" % ((name, "charging") + figures(board, st)))

main()
