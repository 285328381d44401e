# The simulator's control channel: TCP, one JSON object per line each way
# (../shared/design/SIMULATOR.md). Every request gets exactly one reply line;
# unknown ops and bad arguments get {"ok": false, "error": ...}, never a crash.
#
# Reboots: when the station asks for one (Station.reboot_request, set by
# Reset.req or a firmware install) the server stops it and builds a new one
# with `restart()` on the same board and state directory, as a power cycle;
# the control channel stays up. It is noticed after each op (an `advance`
# then goes on with the new station for the rest of its time) and by a
# background task while no op runs. Ops and reboots never interleave.
import json
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only

from evse.aio import asyncio
from evsesim import simdrive


class BadRequest(Exception):
    pass


def _int(req: dict, name: str, lo: int, hi: int, default=None) -> int:
    v = req.get(name, default)
    if type(v) is not int or not (lo <= v <= hi):
        raise BadRequest("%s must be an integer %d..%d" % (name, lo, hi))
    return v


def _num(req: dict, name: str, default=None) -> float:
    v = req.get(name, default)
    if type(v) not in (int, float):
        raise BadRequest(name + " must be a number")
    return v


def _bool(req: dict, name: str, default=None) -> bool:
    v = req.get(name, default)
    if type(v) is not bool:
        raise BadRequest(name + " must be true or false")
    return v


def _str(req: dict, name: str) -> str:
    v = req.get(name)
    if type(v) is not str or not v:
        raise BadRequest(name + " must be a non-empty string")
    return v


# Every op with its arguments: the one table that `help`, `evsesim.sim --help`,
# tools/console.py (help, tab completion) and docs/simulator.md follow; a
# unit test fails when an op of the dispatch table has no entry here.
# (op, what it does, ((argument, type, required, values, help), ...))
# values: a tuple of the valid ones, "connector" (1..number of connectors),
# "fault" (FAULTS below) or None.
OPS = (
    ("plug", "cable inserted at the station side",
     (("connector", "int", True, "connector", ""),
      ("cable_amps", "int", False, (13, 20, 32, 63), "cable capacity via PP, default 32"))),
    ("unplug", "cable removed at the station side",
     (("connector", "int", True, "connector", ""),
      ("force", "bool", False, (True, False), "pull it out even if the lock holds it"))),
    ("ev", "EV side of the control pilot; in C/D the EV draws min(offered, max_current)",
     (("connector", "int", True, "connector", ""),
      ("state", "str", True, ("A", "B", "C", "D", "E", "F"), "pilot state the EV presents"),
      ("max_current", "num", False, None, "A the EV draws at most, default 32"),
      ("phases", "int", False, (1, 2, 3), "phases the EV draws on, default 3"),
      ("diode", "bool", False, (True, False), "default true"),
      ("overdraw_a", "num", False, None, "a faulty EV draws this much more, default 0"))),
    ("rfid", "a card is presented",
     (("reader", "int", True, (1, 2), ""), ("id", "str", True, None, "the card's id, <= 20 chars"))),
    ("input", "external sensor input: raw level or the sensor's state",
     (("name", "str", True, ("ext1", "ext2"), ""),
      ("level", "int", False, (0, 1), "raw input level"),
      ("triggered", "bool", False, (True, False), "sensor state (level follows NormallyOpen)"))),
    ("voltage", "board supply voltage seen by the monitor",
     (("name", "str", True, ("vmain", "3v3io", "vbuff"), ""), ("volts", "num", True, None, ""))),
    ("grid", "mains voltage seen by the meters",
     (("volts", "list", True, None, "per phase, e.g. [230,230,230]"),)),
    ("temperature", "station temperature",
     (("celsius", "num", True, None, "-60..150"),)),
    ("fault", "inject or clear a hardware fault",
     (("name", "str", True, "fault", ""), ("active", "bool", True, (True, False), ""))),
    ("datatransfer", "the station sends DataTransfer.req",
     (("vendor_id", "str", True, None, ""), ("message_id", "str", False, None, ""),
      ("data", "str", False, None, ""))),
    ("advance", "move virtual time (--clock virtual)",
     (("seconds", "num", True, None, "0..2678400"),)),
    ("link", "OCPP message faults per direction, seeded (docs/simulator.md Link faults)",
     (("dir", "str", False, ("out", "in", "both"), "out: station->CS, in: CS->station; default both"),
      ("latency_ms", "int", False, None, "hold each message this long, 0..600000"),
      ("jitter_ms", "int", False, None, "plus 0..jitter_ms, drawn from the seed"),
      ("drop", "num", False, None, "probability 0..1 that a message is lost"),
      ("duplicate", "num", False, None, "probability 0..1 that a message arrives twice"),
      ("disconnect", "bool", False, (True, False), "close the connection now"),
      ("disconnect_after", "int", False, None, "close it after the next N messages of dir"),
      ("seed", "int", False, None, "restart the random sequence and the counters"),
      ("clear", "bool", False, (True, False), "all link faults off first"))),
    ("powercut", "the power goes: the process ends at once (kill -9), nothing saved or closed", ()),
    ("status", "snapshot of the station and its connectors", ()),
    ("config", "one configuration key, as GetConfiguration gives it",
     (("key", "str", True, None, ""),)),
    ("mem", "heap in use after a full collection", ()),
    ("help", "this table: every op with its arguments, and the fault names",
     (("name", "str", False, "op", "one op only"),)),
    ("shutdown", "orderly exit", ()),
)


def _faults() -> tuple:
    from evsesim.hal.sim_io import ALL_FAULTS
    return ALL_FAULTS


def op_names() -> list:
    return [o[0] for o in OPS]


def help_text(width: int = 78) -> str:
    """The ops as text (evsesim.sim --help)."""
    out = []
    for name, doc, args in OPS:
        parts = []
        for a in args:
            v = a[3]
            if isinstance(v, tuple):
                t = a[0] + "=" + "|".join([_lit(x) for x in v])
            else:
                t = a[0] + "=" + (v.upper() if v else a[1].upper())
            parts.append(t if a[2] else "[" + t + "]")
        out.append(("  %-12s %s" % (name, " ".join(parts))).rstrip())
        out.append("               " + doc)
    out.append("  faults: " + " ".join(_faults()))
    return "\n".join(out)


def _lit(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


FLUSH_ROUNDS = 40  # before a reboot: at most this many rounds of I/O for queued messages


def apply_link(link, req: dict) -> None:
    """The `link` op's fields (also --link on the command line) onto an
    evsesim.simlink.Link; BadRequest when one is invalid (nothing applied)."""
    d = req.get("dir", "both")
    if d not in ("out", "in", "both"):
        raise BadRequest("dir must be out, in or both")
    which = ("out", "in") if d == "both" else (d,)
    lat = _int(req, "latency_ms", 0, 600000) if "latency_ms" in req else None
    jit = _int(req, "jitter_ms", 0, 600000) if "jitter_ms" in req else None
    probs = []
    for name in ("drop", "duplicate"):
        v = None
        if name in req:
            v = _num(req, name)
            if not (0 <= v <= 1):
                raise BadRequest(name + " must be a probability 0..1")
        probs.append(v)
    after = _int(req, "disconnect_after", 1, 1000000) if "disconnect_after" in req else None
    seed = _int(req, "seed", 0, 0xFFFFFFFF) if "seed" in req else None
    clear = _bool(req, "clear", False)
    if "disconnect" in req:
        _bool(req, "disconnect")
    for k in req:
        if k not in ("op", "dir", "latency_ms", "jitter_ms", "drop", "duplicate", "disconnect",
                     "disconnect_after", "seed", "clear"):
            raise BadRequest("unknown link field " + str(k))
    if clear:
        link.clear()
    if seed is not None:
        link.reseed(seed)
    link.set_dir(which, lat, jit, probs[0], probs[1])
    if after is not None:
        link.disconnect_after(after, which)


def power_cut() -> None:
    """End this process at once, as a power cut does: SIGKILL, no file
    flushed or closed, no socket shut down."""
    import os
    kill = getattr(os, "kill", None)
    if kill is not None:                       # CPython
        kill(os.getpid(), 9)
    os.system("kill -9 $PPID")                # the Unix port: the shell's parent is us
    while True:                                # the signal is on its way
        pass


class ControlServer:
    def __init__(self, station, board, addr: tuple, restart=None, events=None,
                 link=None) -> None:
        self.station = station
        self.board = board
        self.addr = addr
        self.restart = restart      # () -> a new Station (power cycle); None: no reboots
        self.reboots = 0
        self.done = None  # type: Any
        self._lock = None  # type: Any  # asyncio.Lock: one op or reboot at a time
        self.ops = {
            "plug": self.op_plug, "unplug": self.op_unplug, "ev": self.op_ev,
            "rfid": self.op_rfid, "input": self.op_input, "voltage": self.op_voltage,
            "datatransfer": self.op_datatransfer,
            "grid": self.op_grid, "temperature": self.op_temperature,
            "fault": self.op_fault, "advance": self.op_advance,
            "status": self.op_status, "config": self.op_config,
            "shutdown": self.op_shutdown,
            "mem": self.op_mem, "help": self.op_help,
            "link": self.op_link, "powercut": self.op_powercut,
        }
        if link is None:
            from evsesim.simlink import Link
            link = Link(getattr(board, "clock", None), bool(getattr(board, "virtual", False)))
        self.link = link            # evsesim.simlink.Link: the OCPP message faults
        self.events = events  # type: Any  # evsesim.simevents.EventLog (--events) or None

    # ---- ops ---------------------------------------------------------------
    def _connector(self, req: dict) -> int:
        return _int(req, "connector", 1, len(self.board.connectors)) - 1

    async def op_plug(self, req: dict) -> dict:
        i = self._connector(req)
        amps = _int(req, "cable_amps", 0, 80, 32)
        if amps not in (13, 20, 32, 63):
            raise BadRequest("cable_amps must be 13, 20, 32 or 63")
        cio = self.board.connectors[i]
        if cio.tethered:
            raise BadRequest("connector %d has a tethered cable" % (i + 1))
        cio.plug(amps)
        await simdrive.settle(self.station)
        return {}

    async def op_unplug(self, req: dict) -> dict:
        i = self._connector(req)
        cio = self.board.connectors[i]
        if cio.tethered:
            raise BadRequest("connector %d has a tethered cable" % (i + 1))
        force = _bool(req, "force", False)
        if not cio.unplug(force):
            await simdrive.settle(self.station)
            return {"removed": False, "reason": "the lock holds the plug"}
        await simdrive.settle(self.station)
        return {"removed": True}

    async def op_ev(self, req: dict) -> dict:
        i = self._connector(req)
        state = req.get("state")
        if state not in ("A", "B", "C", "D", "E", "F"):
            raise BadRequest("state must be one of A B C D E F")
        max_current = _num(req, "max_current", 32)
        if not (0 <= max_current <= 80):
            raise BadRequest("max_current must be 0..80")
        phases = _int(req, "phases", 1, 3, 3)
        diode = _bool(req, "diode", True)
        # extension: a faulty EV that draws this much more than offered
        overdraw = _num(req, "overdraw_a", 0)
        if not (0 <= overdraw <= 80):
            raise BadRequest("overdraw_a must be 0..80")
        self.board.connectors[i].set_ev(state, max_current, phases, diode, overdraw)
        await simdrive.settle(self.station)
        return {}

    async def op_rfid(self, req: dict) -> dict:
        reader = _int(req, "reader", 1, 2)
        tag = _str(req, "id")
        if len(tag) > 20:
            raise BadRequest("id is at most 20 characters (OCPP IdToken)")
        res = self.station.rfid(reader, tag)
        await simdrive.settle(self.station)
        return res or {}

    async def op_input(self, req: dict) -> dict:
        name = req.get("name")
        if name not in ("ext1", "ext2"):
            raise BadRequest("name must be ext1 or ext2")
        n = 1 if name == "ext1" else 2
        if "triggered" in req:   # the sensor's state; the level follows its NormallyOpen
            t = req["triggered"]
            if type(t) is not bool:
                raise BadRequest("triggered must be true or false")
            from evsesim.sim import sensor_normal_level
            level = sensor_normal_level(self.station.config, n) ^ (1 if t else 0)
        else:
            level = _int(req, "level", 0, 1)
        self.board.io.set_input(n, level)
        await simdrive.settle(self.station)
        return {}

    async def op_voltage(self, req: dict) -> dict:
        names = ("vmain", "3v3io", "vbuff")
        name = req.get("name")
        if name not in names:
            raise BadRequest("name must be vmain, 3v3io or vbuff")
        volts = _num(req, "volts")
        self.board.io.set_supply_mv(names.index(name), int(volts * 1000))
        await simdrive.settle(self.station)
        return {}

    async def op_grid(self, req: dict) -> dict:
        volts = req.get("volts")
        if type(volts) is not list or not (1 <= len(volts) <= 3) or any(type(v) not in (int, float) or v < 0 for v in volts):
            raise BadRequest("volts must be a list of 1..3 numbers")
        try:
            simdrive.grid(self.station, volts)
        except ValueError as e:       # e.g. meters read from a Modbus peer (--modbus)
            raise BadRequest(str(e))
        await simdrive.settle(self.station)
        return {}

    async def op_temperature(self, req: dict) -> dict:
        c = _num(req, "celsius")
        if not (-60 <= c <= 150):
            raise BadRequest("celsius must be -60..150")
        self.board.io.set_temperature_dc(int(c * 10))
        await simdrive.settle(self.station)
        return {}

    async def op_fault(self, req: dict) -> dict:
        name = _str(req, "name")
        active = _bool(req, "active")
        if name not in _faults():
            raise BadRequest("unknown fault %s; valid faults: %s" % (name, " ".join(_faults())))
        try:
            simdrive.fault(self.station, name, active)
        except ValueError as e:
            raise BadRequest(str(e))
        await simdrive.settle(self.station)
        return {}

    async def op_advance(self, req: dict) -> dict:
        if not self.board.virtual:
            raise BadRequest("advance needs --clock virtual")
        secs = _num(req, "seconds")
        if not (0 <= secs <= 31 * 86400):
            raise BadRequest("seconds must be 0..2678400")
        from evse.ticks import ticks_diff
        clock = self.board.clock
        remaining = int(secs * 1000)
        link = self.link
        idle_rounds = 0
        while True:
            t0 = clock.ticks_ms()
            # a message the link faults hold is due: stop there (evsesim.simlink)
            step = remaining
            ld = link.next_deadline_ms()
            if 0 <= ld < step:
                step = ld
            await simdrive.advance(self.station, step)
            moved = ticks_diff(clock.ticks_ms(), t0)
            remaining -= moved
            released = link.release()
            if self.station.reboot_request and self.restart is not None:
                await self._reboot()    # the rest of the time runs on the new station
                continue
            idle_rounds = idle_rounds + 1 if moved <= 0 else 0
            if remaining <= 0 and (not released or idle_rounds > 200):
                break
        return {}

    async def op_status(self, req: dict) -> dict:
        out = self.station.status()
        out["link"] = self.link.info()
        return out

    async def op_link(self, req: dict) -> dict:
        """Extension: OCPP message faults (evsesim.simlink); the reply is the
        faults and their counters, as `status` has them under "link"."""
        apply_link(self.link, req)
        if req.get("disconnect") is True:
            await self.link.disconnect()
        await simdrive.settle(self.station)
        return self.link.info()

    async def op_powercut(self, req: dict) -> dict:
        """Extension: the power goes. No reply: the process ends here (the
        event log, like everything else, keeps only what was written).
        Takes no arguments, and refuses any (a typo must not cut the power)."""
        for k in req:
            if k != "op":
                raise BadRequest("powercut takes no arguments, got " + str(k))
        power_cut()
        return {}

    async def op_config(self, req: dict) -> dict:
        key = _str(req, "key")
        items, unknown = self.station.config.get_configuration([key])
        if not items:
            raise BadRequest("unknown key " + key)
        it = items[0]
        return {"key": it["key"], "value": it.get("value"), "readonly": it["readonly"]}

    async def op_datatransfer(self, req: dict) -> dict:
        """Extension: the station sends DataTransfer.req (vendorId, optional
        messageId and data); the reply says whether it was queued."""
        vendor = _str(req, "vendor_id")
        if len(vendor) > 255:
            raise BadRequest("vendor_id is at most 255 characters")
        mid = req.get("message_id")
        if mid is not None and (type(mid) is not str or len(mid) > 50):
            raise BadRequest("message_id must be a string of at most 50 characters")
        data = req.get("data")
        if data is not None and type(data) is not str:
            raise BadRequest("data must be a string")
        queued = self.station.ocpp.data_transfer(vendor, mid, data)
        await simdrive.settle(self.station)
        return {"queued": queued}

    async def op_mem(self, req: dict) -> dict:
        """Extension: heap in use after a full collection (MicroPython's
        gc.mem_alloc; CPython reports what it can)."""
        import gc
        gc.collect()
        alloc = getattr(gc, "mem_alloc", None)
        free = getattr(gc, "mem_free", None)
        return {"alloc": alloc() if alloc else -1, "free": free() if free else -1}

    async def op_help(self, req: dict) -> dict:
        """Every op with its arguments (OPS) and the fault names; values
        "connector" read as the board's connector numbers."""
        only = req.get("name")
        if only is not None and only not in self.ops:
            raise BadRequest(self._unknown_op(only))
        n = len(self.board.connectors)
        ops = []
        for name, doc, args in OPS:
            if only is not None and name != only:
                continue
            al = []
            for a in args:
                kind = a[3]
                vals = None  # type: Any
                if kind == "connector":
                    vals = list(range(1, n + 1))
                elif kind == "fault":
                    vals = list(_faults())
                elif kind == "op":
                    vals = op_names()
                elif kind is not None:
                    vals = list(kind)
                al.append({"name": a[0], "type": a[1], "required": a[2], "values": vals,
                           "help": a[4]})
            ops.append({"op": name, "doc": doc, "args": al})
        return {"ops": ops, "faults": list(_faults())}

    def _unknown_op(self, op) -> str:
        return "unknown op %r; valid ops: %s" % (op, " ".join(op_names()))

    async def op_shutdown(self, req: dict) -> dict:
        self.done.set()
        return {}

    # ---- transport -----------------------------------------------------------
    async def handle(self, line: bytes) -> dict:
        try:
            req = json.loads(line)
        except (ValueError, UnicodeError):
            return {"ok": False, "error": "request is not JSON"}
        if type(req) is not dict:
            return {"ok": False, "error": "request must be a JSON object"}
        op = req.get("op")
        fn = self.ops.get(op) if type(op) is str else None
        if fn is None:
            return {"ok": False, "error": self._unknown_op(op)}
        if self.events is not None:
            self.events.op(req)
        async with self._lock:
            try:
                res = await fn(req)
            except BadRequest as e:
                return {"ok": False, "error": str(e)}
            except NotImplementedError as e:
                return {"ok": False, "error": "not available yet: " + (str(e) or str(op))}
            except Exception as e:  # a bug must not kill the station
                if hasattr(sys, "print_exception"):
                    sys.print_exception(e)  # type: ignore[attr-defined]
                return {"ok": False, "error": "internal error: %r" % (e,)}
            finally:
                if self.station.reboot_request and not self.done.is_set():
                    await self._reboot()
        out = {"ok": True}
        out.update(res)
        return out

    # ---- reboots -----------------------------------------------------------------
    async def _reboot(self) -> None:
        old = self.station
        kind = old.reboot_request
        if not kind or self.restart is None:
            return
        await old.stop_web()
        await self._flush(old)
        await old.stop()
        self.station = self.restart()
        self.link.attach(self.station.ocpp)
        self.reboots += 1
        if self.events is not None:
            self.events.attach(self.station, "reboot")
        await simdrive.start(self.station)
        await simdrive.settle(self.station)

    async def _flush(self, st) -> None:
        """Reset (OCPP 1.6 errata 3.36: the StopTransactions of the stopped
        transactions go out before the reset) and firmware installs (the
        Installing notification): queued messages go first, as far as the
        link allows (bounded). What is left goes after the reboot: the
        journal keeps the transaction messages."""
        for _ in range(FLUSH_ROUNDS):
            if not st.ocpp.queued() or not st.ocpp.online():
                return
            if self.board.virtual:
                st.step()
                await st.ocpp.settle_io()
                p = st.ocpp.pending
                if p is not None and p.waited:
                    return      # no answer in real time: virtual time is not ours to move
            else:
                await asyncio.sleep(0.05)

    async def _watch_reboots(self) -> None:
        while not self.done.is_set():
            await asyncio.sleep(0.02)
            if self.station.reboot_request and self.restart is not None:
                async with self._lock:
                    if not self.done.is_set():
                        await self._reboot()

    async def client(self, reader, writer) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                line = line.strip()
                if not line:
                    continue
                reply = await self.handle(line)
                writer.write((json.dumps(reply) + "\n").encode())
                await writer.drain()
                if self.done.is_set():
                    break
        except OSError:
            pass
        try:
            writer.close()
            await writer.wait_closed()
        except (OSError, AttributeError):
            pass

    async def run(self) -> int:
        self.done = asyncio.Event()
        self._lock = asyncio.Lock()
        host, port = self.addr
        srv = await asyncio.start_server(self.client, host, port)
        if self.events is not None:
            self.events.attach(self.station, "start")
        self.link.attach(self.station.ocpp)
        await simdrive.start(self.station)
        watcher = asyncio.create_task(self._watch_reboots())
        print("READY %s:%d" % (host, port))
        try:
            sys.stdout.flush()  # type: ignore[attr-defined]
        except AttributeError:
            pass
        await self.done.wait()
        await asyncio.sleep(0.05)  # let the reply to `shutdown` go out
        async with self._lock:
            try:
                watcher.cancel()
            except Exception:
                pass
            await self.station.stop()
            if self.events is not None:
                self.events.close()
        srv.close()
        try:
            await srv.wait_closed()
        except AttributeError:
            pass
        return 0
