# Safety-core tick benchmark: heap allocated per tick and ticks per second,
# idle and while charging, on the MicroPython Unix port (gc.mem_alloc) or
# CPython (time only).
#
#   MICROPYPATH=firmware micropython tools/bench_tick.py
#   PYTHONPATH=firmware python tools/bench_tick.py
import gc
import sys
import time

from evsesim.hal.simclock import VirtualClock
from evsesim.hal.sim_io import SimConnectorIO, SimStationIO
from evse.iocu.connector import Connector
from evse.iocu.events import EventRing
from evse.iocu.station import Iocu

N = 10000
MP = sys.implementation.name == "micropython"


def _ms():
    if MP:
        return time.ticks_ms()
    return int(time.perf_counter() * 1000)


def _elapsed(t0):
    if MP:
        return time.ticks_diff(time.ticks_ms(), t0)
    return _ms() - t0


def build(safety_relay=True, ccid=True):
    clk = VirtualClock()
    sio = SimStationIO(clk)
    io = SimConnectorIO(clk, helper_no=True)
    ev = EventRing(64)
    c = Connector(1, io, ev, sio)
    c.configure(max_current_a=32, safety_relay=safety_relay, ccid=ccid)
    iocu = Iocu(sio, [c], ev)
    return clk, io, c, iocu, ev


def drain(ev):
    while ev.pop() >= 0:
        pass


def run(clk, iocu, ev, ms):
    for _ in range(ms // 10):
        iocu.heartbeat(clk.ticks_ms())
        iocu.tick(clk.ticks_ms())
        clk.advance_ms(10)
    drain(ev)


def measure(label, clk, iocu, ev, conn):
    # warm up, then count heap bytes over N ticks with the GC off
    run(clk, iocu, ev, 200)
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc() if MP else 0
    t0 = _ms()
    for _ in range(N):
        now = clk.ticks_ms()
        iocu.heartbeat(now)
        iocu.tick(now)
        clk.advance_ms(10)
    dt = _elapsed(t0)
    a1 = gc.mem_alloc() if MP else 0
    gc.enable()
    drain(ev)
    per_s = N * 1000 // dt if dt > 0 else 0
    if MP:
        print("%-9s %6d ticks  %6d bytes  %.3f bytes/tick  %7d ticks/s  (contactor=%d duty=%d)"
              % (label, N, a1 - a0, (a1 - a0) / N, per_s, conn.contactor_closed, conn.duty_permille))
    else:
        print("%-9s %6d ticks  %7d ticks/s  (contactor=%d duty=%d)"
              % (label, N, per_s, conn.contactor_closed, conn.duty_permille))
    return a1 - a0


def main():
    print("runtime:", sys.implementation.name)
    clk, io, c, iocu, ev = build()
    run(clk, iocu, ev, 500)
    idle = measure("idle", clk, iocu, ev, c)
    io.plug(32)
    io.set_ev("B", max_current_a=32)
    c.authorize(True)
    run(clk, iocu, ev, 2000)
    io.set_ev("C")
    run(clk, iocu, ev, 500)
    if not c.contactor_closed:
        print("FAILED: not charging, error", c.error)
        sys.exit(1)
    charging = measure("charging", clk, iocu, ev, c)
    if MP and (idle or charging):
        print("WARNING: the tick allocates")


main()
