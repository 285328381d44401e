# A fleet of simulated stations in one process (docs/simulator.md, "Fleet"):
#   MICROPYPATH=.frozen:firmware micropython -m evsesim.fleet --csms URL --count N [options]
#   PYTHONPATH=firmware          python      -m evsesim.fleet --csms URL --count N [options]
# Each station is the real firmware on its own simulated board (evsesim.hal.sim:
# own state directory, storage, OCPP client and WebSocket), all of them in one
# asyncio loop, on the real clock. Each runs a charging schedule staggered by
# its index and the process prints one status line per report period:
#   FLEET {"t": s, "stations": n, "connected": c, "registered": r, "charging": k, ...}
# tools/fleet.py (`make fleet`) starts one such process per core and adds them up.
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")

import gc
import json

from evse.aio import asyncio
from evsesim import simdrive

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only

from evsesim.sim import UsageError, apply_settings, csms_settings, options, wire_sensors

USAGE = """usage: evsesim.fleet --csms URL --count N [--first I] [--total T] [--prefix P]
                  [--state-root DIR] [--model sscu|dscu] [--set KEY=VALUE]...
                  [--connect-spread S] [--plug-at S] [--plug-spread S]
                  [--charge S] [--pause S] [--sessions K] [--meter-interval S]
                  [--current A] [--report S] [--duration S]"""

# option: (default, kind) - kind "i" integer, "f" seconds, "s" text
OPTIONS = {
    "csms": (None, "s"), "count": (1, "i"), "first": (1, "i"), "total": (0, "i"),
    "prefix": ("FLEET", "s"), "state_root": ("./fleet-state", "s"), "model": ("sscu", "s"),
    "connect_spread": (10.0, "f"), "plug_at": (15.0, "f"), "plug_spread": (20.0, "f"),
    "charge": (70.0, "f"), "pause": (30.0, "f"), "sessions": (1, "i"),
    "meter_interval": (60, "i"), "current": (16.0, "f"), "report": (5.0, "f"),
    "duration": (0.0, "f"),
}


def parse_args(argv: list) -> dict:
    opts = {"set": []}  # type: dict
    for k in OPTIONS:
        opts[k] = OPTIONS[k][0]
    for key, val in options(argv, opts):
        name = key.replace("_", "-")
        kind = OPTIONS[key][1]
        try:
            opts[key] = int(val) if kind == "i" else (float(val) if kind == "f" else val)
        except ValueError:
            raise UsageError("--%s needs a number, got %s" % (name, val))
        if kind != "s" and opts[key] < 0:
            raise UsageError("--%s must not be negative" % name)
    if not opts["csms"]:
        raise UsageError("--csms URL is needed")
    csms_settings(opts["csms"])     # validates the URL
    if opts["model"] not in ("sscu", "dscu"):
        raise UsageError("--model must be sscu or dscu")
    if opts["count"] < 1 or opts["first"] < 1:
        raise UsageError("--count and --first must be at least 1")
    if opts["total"] == 0:
        opts["total"] = opts["first"] + opts["count"] - 1
    if opts["total"] < opts["first"] + opts["count"] - 1:
        raise UsageError("--total is less than --first + --count - 1")
    if opts["sessions"] < 1:
        raise UsageError("--sessions must be at least 1")
    if opts["report"] <= 0:
        raise UsageError("--report must be positive")
    return opts


def station_id(prefix: str, index: int, total: int) -> str:
    """<prefix>-<nnn>: the index zero-padded to (at least) three digits."""
    w = max(3, len(str(total)))
    s = str(index)
    return prefix + "-" + "0" * (w - len(s)) + s


_CLOCK = None   # type: Any


def _ms() -> int:
    """The host's monotonic ms (the simulated boards' real clock, evsesim.hal.sim)."""
    global _CLOCK
    if _CLOCK is None:
        from evsesim.hal.sim import RealClock
        _CLOCK = RealClock()
    return _CLOCK.ticks_ms()


def _since(t0: int) -> int:
    from evse.ticks import ticks_diff
    return ticks_diff(_ms(), t0)


def heap_alloc() -> int:
    gc.collect()
    f = getattr(gc, "mem_alloc", None)
    return f() if f else -1


class Member:
    """One station of the fleet: board, configuration, station, schedule."""

    def __init__(self, fleet, index: int) -> None:
        self.fleet = fleet
        self.index = index
        o = fleet.opts
        self.id = station_id(o["prefix"], index, o["total"])
        self.tag = self.id[-20:]     # the card: IdToken is at most 20 characters
        self.dir = o["state_root"] + "/" + self.id
        self.board = None   # type: Any
        self.station = None  # type: Any
        self.phase = "off"    # off, idle, plugged, charging, done
        self.sessions = 0     # transactions seen started
        self.drops = 0        # connections lost (seen at the reports)
        self.reboots = 0      # Reset.req served (a power cycle of this station)
        self.sent0 = 0        # CALLs sent / frames received by its earlier stations
        self.received0 = 0
        self._was_up = False
        self.error = ""

    def build(self) -> None:
        from evse.config.store import Config
        from evsesim.hal.sim import SimBoard
        o = self.fleet.opts
        n = 1 if o["model"] == "sscu" else 2
        board = SimBoard(n, self.dir, False)
        board.log_level = "off"     # N stations share one stdout: the fleet's own report
        cfg = Config(board.storage, model=o["model"])
        pairs = csms_settings(o["csms"])
        pairs.append(("NodeId", self.id))
        pairs.append(("MeterValueSampleInterval", str(o["meter_interval"])))
        pairs.extend(o["set"])
        apply_settings(cfg, pairs)
        wire_sensors(board, cfg)
        self.board = board
        self.station = self._new_station()   # boots with what was stored, as after a power cycle

    def _new_station(self):
        from evse.config.store import Config
        from evse.station import Station
        return Station(self.board, Config(self.board.storage, model=self.fleet.opts["model"]),
                       self.fleet.opts["model"])

    async def reboot(self) -> None:
        """Reset.req: a power cycle of this station only (same board)."""
        await self.station.stop()
        st = self.station.ocpp.stats
        self.sent0 += st["sent"]           # the counts go on across the reboot
        self.received0 += st["received"]
        self.reboots += 1
        self.station = self._new_station()
        await simdrive.start(self.station)

    def count_drops(self) -> None:
        if self.fleet.stopping:
            return          # the fleet's own stop is not a lost connection
        up = self.connected()
        if self._was_up and not up:
            self.drops += 1
        self._was_up = up

    async def stop(self) -> None:
        try:
            await self.station.stop()
        except Exception as e:
            self.error = "stop: %r" % (e,)

    def connected(self) -> bool:
        st = self.station
        return st is not None and bool(st.ocpp.connected)

    def registered(self) -> bool:
        st = self.station
        return st is not None and bool(st.ocpp.connected) and bool(st.ocpp.registered)

    def charging(self) -> bool:
        st = self.station
        if st is None:
            return False
        from evse.iocu import status as cstatus
        return st.status_report.derive(0) == cstatus.CHARGING

    def in_transaction(self) -> bool:
        st = self.station
        return st is not None and st.tx.transaction_id(st.sessions[0]) is not None

    async def _sleep_until(self, t: float) -> bool:
        """Sleep until t seconds after the fleet's start; False when the
        fleet stops meanwhile. Reboots requested meanwhile are served."""
        f = self.fleet
        while not f.stopping:
            st = self.station
            if st is not None and st.reboot_request:
                await self.reboot()
            left = t * 1000 - _since(f.t0)
            if left <= 0:
                return True
            await asyncio.sleep(min(left, 500) / 1000)
        return False

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception as e:   # one station's failure is counted, not the fleet's end
            self.error = "run: %r" % (e,)
            self.phase = "failed"
            if hasattr(sys, "print_exception"):
                sys.print_exception(e)  # type: ignore[attr-defined]

    async def _run(self) -> None:
        f = self.fleet
        o = f.opts
        k = f.slot(self.index)          # 0 <= k < 1: the place in the stagger
        if not await self._sleep_until(k * o["connect_spread"]):
            return
        try:
            self.build()
        except Exception as e:
            self.error = "build: %r" % (e,)
            self.phase = "failed"
            return
        await simdrive.start(self.station)
        self.phase = "idle"
        f.started += 1
        if f.started == 1:
            f.heap1 = heap_alloc()    # code and one station: the base of heap per station
        t = o["plug_at"] + k * o["plug_spread"]
        for n in range(o["sessions"]):
            if not await self._session(t):
                return
            t += o["charge"] + 5 + o["pause"]
        self.phase = "done"
        await self._sleep_until(1e9)

    async def _session(self, t: float) -> bool:
        """One session from t: plug in (EV connected, state B), the card 2 s
        later with the EV asking for charge (C), charge for --charge seconds,
        the card again to stop, then the EV leaves (A) and the cable comes out."""
        o = self.fleet.opts
        if not await self._sleep_until(t):
            return False
        cio = self.board.connectors[0]
        if not cio.tethered:
            cio.plug(32)
        cio.set_ev("B", o["current"], 3, True, 0)
        self.phase = "plugged"
        if not await self._sleep_until(t + 2):
            return False
        cio.set_ev("C", o["current"], 3, True, 0)
        self.station.rfid(1, self.tag)
        self.phase = "charging"
        seen = False
        end = t + 2 + o["charge"]
        while True:
            now = _since(self.fleet.t0) / 1000
            if not seen and self.in_transaction():
                seen = True
                self.sessions += 1
            if now >= end:
                break
            if not await self._sleep_until(min(end, now + 1)):
                return False
        if self.in_transaction():
            self.station.rfid(1, self.tag)   # the same card stops it (Local)
        if not await self._sleep_until(end + 2):
            return False
        cio.set_ev("A", o["current"], 3, True, 0)
        if not await self._sleep_until(end + 3):
            return False
        if not cio.tethered:
            cio.unplug(True)
        self.phase = "idle"
        return True


class Fleet:
    def __init__(self, opts: dict) -> None:
        self.opts = opts
        self.t0 = _ms()
        self.stopping = False
        self.started = 0
        self.heap1 = -1
        first = opts["first"]
        self.members = [Member(self, first + i) for i in range(opts["count"])]

    def slot(self, index: int) -> float:
        """Where station `index` (1..total) sits in the stagger: 0 <= k < 1."""
        return (index - 1) / self.opts["total"]

    def figures(self) -> dict:
        ms = self.members
        sent = received = drops = reboots = 0
        for m in ms:
            st = m.station
            if st is not None:
                s = st.ocpp.stats
                sent += s["sent"]
                received += s["received"]
                m.count_drops()
            sent += m.sent0
            received += m.received0
            drops += m.drops
            reboots += m.reboots
        out = {"t": round(_since(self.t0) / 1000, 1), "stations": len(ms),
               "first": self.opts["first"], "started": self.started,
               "connected": sum(1 for m in ms if m.connected()),
               "registered": sum(1 for m in ms if m.registered()),
               "charging": sum(1 for m in ms if m.charging()),
               "transaction": sum(1 for m in ms if m.in_transaction()),
               "sessions": sum(m.sessions for m in ms),
               "failed": sum(1 for m in ms if m.phase == "failed"),
               "drops": drops, "reboots": reboots, "heap1": self.heap1, "sent": sent, "received": received, "heap": heap_alloc()}
        return out

    def report(self, kind: str = "FLEET") -> None:
        print(kind + " " + json.dumps(self.figures()))
        try:
            sys.stdout.flush()  # type: ignore[attr-defined]
        except AttributeError:
            pass

    async def run(self) -> int:
        o = self.opts
        print("FLEET-START " + json.dumps({"first": o["first"], "count": o["count"],
                                           "total": o["total"], "heap": heap_alloc()}))
        tasks = [asyncio.create_task(m.run()) for m in self.members]
        period = int(o["report"] * 1000)
        nxt = period
        while True:
            el = _since(self.t0)
            if o["duration"] and el >= o["duration"] * 1000:
                break
            if el >= nxt:
                self.report()
                nxt += period
                continue
            wait = nxt - el
            if o["duration"]:
                wait = min(wait, int(o["duration"] * 1000) - el)
            await asyncio.sleep(max(1, wait) / 1000)
        self.stopping = True
        self.report()
        for t in tasks:
            try:
                t.cancel()
            except Exception:
                pass
        # all stations stop at once (each closes its WebSocket, bounded)
        stops = [asyncio.create_task(m.stop()) for m in self.members if m.station is not None]
        for t in stops:
            await t
        self.report("FLEET-END")
        self.report_errors()
        return 0

    def report_errors(self) -> None:
        """FLEET-ERRORS {reason: stations}: each station's last link error
        (what made it disconnect or fail to connect), if any."""
        tally = {}  # type: dict
        for m in self.members:
            why = m.error
            st = m.station
            if not why and st is not None and st.ocpp.last_error:
                why = st.ocpp.last_error
            if why:
                why = why[:80]
                tally[why] = tally.get(why, 0) + 1
        print("FLEET-ERRORS " + json.dumps(tally))


def main(argv: list) -> int:
    try:
        opts = parse_args(argv)
    except UsageError as e:
        msg = str(e)
        if msg:
            print("evsesim.fleet: " + msg, file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    return asyncio.run(Fleet(opts).run())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
