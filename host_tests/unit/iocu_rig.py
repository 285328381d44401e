# Test rig for the IOCU tests: one Connector (or more) on the simulated HAL
# with a virtual clock, run in 10 ms ticks, events collected into a list.
# Plain class, both runtimes.
from evsesim.hal.simclock import VirtualClock
from evsesim.hal.sim_io import SimConnectorIO, SimStationIO
from evse.iocu.connector import Connector
from evse.iocu.station import Iocu
from evse.iocu.events import (EventRing, ev_conn, ev_code, ev_arg, EV_ERROR_SET,
                              EV_ERROR_CLEARED, EV_WARNING)

_SIM_KEYS = ("tethered", "three_stage", "inversed", "helper_no", "lock_travel_ms", "relay_ms")


class Rig:
    def __init__(self, n=1, ring=256, **kw):
        self.clk = VirtualClock()
        self.sio = SimStationIO(self.clk)
        sim_kw = {}
        for k in _SIM_KEYS:
            if k in kw:
                sim_kw[k] = kw.pop(k)
        cfg = dict(kw)
        if sim_kw.get("tethered"):
            cfg["flex_cable"] = False
        for k in ("three_stage", "inversed", "helper_no"):
            if k in sim_kw:
                cfg[k] = sim_kw[k]
        self.ev = EventRing(ring)
        self.ios = []
        self.conns = []
        for i in range(n):
            io = SimConnectorIO(self.clk, **sim_kw)
            c = Connector(i + 1, io, self.ev, self.sio)
            assert c.configure(**cfg)
            self.ios.append(io)
            self.conns.append(c)
        self.io = self.ios[0]
        self.c = self.conns[0]
        self.iocu = Iocu(self.sio, self.conns, self.ev)
        self.log = []
        self.heartbeat = False
        self.drain_events = True
        self.max_closed_gap = 0

    def now(self):
        return self.clk.ticks_ms()

    def drain(self):
        while True:
            e = self.ev.pop()
            if e < 0:
                break
            self.log.append((ev_conn(e), ev_code(e), ev_arg(e)))

    def tick(self):
        now = self.clk.ticks_ms()
        if self.heartbeat:
            self.iocu.heartbeat(now)
        self.iocu.tick(now)
        self.clk.advance_ms(10)
        if self.drain_events:
            self.drain()

    def run(self, ms):
        for _ in range(ms // 10):
            self.tick()

    def until(self, cond, max_ms=5000):
        """Tick until cond() holds; returns the ms it took (asserts it did)."""
        t = 0
        while not cond():
            assert t < max_ms, "condition not reached in %d ms" % max_ms
            self.tick()
            t += 10
        return t

    def codes(self, kind, conn=None):
        return [a for (c, k, a) in self.log if k == kind and (conn is None or c == conn)]

    def raised(self, err, conn=None):
        return err in self.codes(EV_ERROR_SET, conn)

    def cleared(self, err, conn=None):
        return err in self.codes(EV_ERROR_CLEARED, conn)

    def warned(self, err, conn=None):
        return err in self.codes(EV_WARNING, conn)

    def events(self, kind, conn=None):
        return self.codes(kind, conn)

    def plug_ev(self, state="B", cable=32, ev_max=32):
        if not self.io.tethered:
            self.io.plug(cable)
        self.io.set_ev(state, max_current_a=ev_max)

    def charge(self, cable=32, ev_max=32, settle=1500):
        """Plug, authorize, EV to C: returns with the contactor closed."""
        self.plug_ev("B", cable, ev_max)
        self.c.authorize(True)
        self.run(settle)
        self.io.set_ev("C")
        self.until(lambda: self.c.contactor_closed, 2000)
        self.run(100)
        assert self.c.contactor_closed and self.io.contacts_closed()
