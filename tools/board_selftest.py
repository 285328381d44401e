# Board self-test: a DSCU (or, with --model sscu, an SSCU) station on the
# simulated hardware (evsesim.hal.sim, virtual clock) and an in-memory Central
# System, talking through the real
# OCPP client and WebSocket code over an in-memory stream pair, runs one
# online session and prints the heap it needed. Runs on any MicroPython:
#   micropython -X heapsize=256K tools/board_selftest.py [--model sscu|dscu] [--max-boot N] [--max-peak N]
#                                  (Unix port; MICROPYPATH=.frozen:firmware)
#   mpremote run tools/board_selftest.py     (a board with the evse package frozen or in /lib)
#   the emulator's REPL, paste mode           (docs/memory.md)
# and on CPython (PYTHONPATH=firmware), without heap figures.
# The session: boot (BootNotification, StatusNotification), EV plugged, card
# (Authorize, StartTransaction), 30 virtual minutes of charging with a sampled
# MeterValues a minute, a SetChargingProfile (TxProfile 10 A) from the Central
# System after 10 minutes, the same card stops it (StopTransaction).
# Heap: gc.mem_alloc() after gc.collect() at each step; "peak" is the largest
# of those samples (live data, not transient garbage between steps). Storage is
# in RAM here (no flash writes on a board, and the emulator has no file system):
# its bytes are counted in the heap and printed apart.
# Exit status 1 (and a FAIL line) when the session did not go as OCPP says or
# a figure is above the budget given with --max-boot / --max-peak (bytes).
import gc
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")  # the Unix port's bundled asyncio, when MICROPYPATH hides it
import json

try:
    import asyncio
except ImportError:  # pragma: no cover
    import uasyncio as asyncio  # type: ignore[no-redef]

_mem_alloc = getattr(gc, "mem_alloc", None)  # MicroPython only
_mem_free = getattr(gc, "mem_free", None)

TAG = "SELFTEST01"
NOW = "2026-01-01T12:00:00Z"
SAMPLED = "Energy.Active.Import.Register,Current.Import,Current.Offered,Power.Active.Import"


class Failed(Exception):
    pass


def check(cond, what: str) -> None:
    if not cond:
        raise Failed(what)


# ---------------------------------------------------------------- heap figures

class Heap:
    def __init__(self) -> None:
        self.figures = {}   # type: dict
        self.peak = 0
        self.peak_at = ""
        self.peak_free = 0
        self.peak_storage = 0
        self.peak_net = 0    # the largest sample minus the storage in RAM then (flash on a board)
        self.peak_net_at = ""
        self.storage = None  # type: MemStorage | None

    def sample(self, label: str, keep: bool = False) -> int:
        gc.collect()
        if _mem_alloc is None or _mem_free is None:
            return 0
        a = _mem_alloc()
        if keep:
            self.figures[label] = a
        stored = self.storage.size() if self.storage is not None else 0
        if a > self.peak:
            self.peak = a
            self.peak_at = label
            self.peak_free = _mem_free()
            self.peak_storage = stored
        if a - stored > self.peak_net:
            self.peak_net = a - stored
            self.peak_net_at = label
        return a


def largest_block() -> int:
    """Largest bytearray that can be allocated now (binary search); 0 on CPython."""
    if _mem_free is None:
        return 0
    gc.collect()
    lo = 0
    hi = _mem_free() + 16
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            b = bytearray(mid)
            del b
            lo = mid
        except MemoryError:
            hi = mid - 1
    gc.collect()
    return lo


# ---------------------------------------------------------------- storage in RAM

class MemStorage:
    """The evse.hal.fsstore.Storage interface in RAM: names -> list of byte
    chunks (an append adds a chunk, as a flash file grows, instead of
    reallocating the whole file)."""

    def __init__(self, root: str = "") -> None:
        self.files = {}  # type: dict

    def _name(self, name: str) -> str:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError("bad storage name")
        return name

    def read(self, name: str):
        c = self.files.get(self._name(name))
        return None if c is None else b"".join(c)

    def read_at(self, name: str, offset: int, length: int):
        c = self.files.get(self._name(name))
        if c is None or offset < 0 or length < 0:
            return None
        out = []
        pos = 0
        end = offset + length
        for d in c:
            n = len(d)
            if pos + n > offset and pos < end:
                out.append(d[max(0, offset - pos):end - pos])
            pos += n
        return b"".join(out)

    def write(self, name: str, data) -> None:
        self.files[self._name(name)] = [bytes(data)]

    def write_chunks(self, name: str, chunks) -> int:
        c = [bytes(x) for x in chunks]
        self.files[self._name(name)] = c
        return sum(len(x) for x in c)

    def append(self, name: str, data) -> None:
        n = self._name(name)
        if n not in self.files:
            self.files[n] = []
        self.files[n].append(bytes(data))

    def rename(self, src: str, dst: str) -> None:
        d = self.files.pop(self._name(src), None)
        if d is None:
            raise OSError(2)
        self.files[self._name(dst)] = d

    def remove(self, name: str) -> None:
        self.files.pop(self._name(name), None)

    def names(self) -> list:
        return [n for n in self.files]

    def size(self) -> int:
        return sum(sum(len(d) for d in c) for c in self.files.values())


# ---------------------------------------------------------------- Central System

def _server_frame(op: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x80 | op, n)) + payload
    return bytes((0x80 | op, 126, n >> 8, n & 0xFF)) + payload


class MemCentralSystem:
    """A WebSocket server and OCPP 1.6J Central System on one in-memory
    connection: it is the reader and writer the station's WSClient gets from
    net.open_connection. It answers each CALL as soon as the frame is
    written, and keeps counts and the few payloads the test checks."""

    def __init__(self) -> None:
        self.rx = bytearray()        # what the station will read
        self.tx = bytearray()        # what the station wrote, not yet parsed
        self.request = None          # type: str | None
        self.closed = False
        self.eof = False
        self.ev = asyncio.Event()
        self.counts = {}             # type: dict  # action -> CALLs received
        self.statuses = []           # type: list  # (connectorId, status)
        self.start = None            # type: dict | None
        self.stop = None             # type: dict | None
        self.meter_wh = []           # type: list  # Energy.Active.Import.Register per MeterValues
        self.results = {}            # type: dict  # our CALLs: id -> answer payload
        self.next_tx = 1000
        self.next_id = 0
        self.connections = 0

    # --- the station's net
    async def open_connection(self, host, port, tls=False, cadata=None):
        check(not tls, "self-test speaks ws://, not wss://")
        self.rx = bytearray()
        self.tx = bytearray()
        self.request = None
        self.closed = False
        self.eof = False
        self.connections += 1
        return self, self

    # --- reader side
    def _push(self, data: bytes) -> None:
        self.rx += data
        self.ev.set()

    async def _wait(self) -> None:
        self.ev.clear()
        await self.ev.wait()

    async def readline(self):
        while True:
            i = self.rx.find(b"\n")
            if i >= 0:
                line = bytes(self.rx[:i + 1])
                self.rx = self.rx[i + 1:]
                return line
            if self.eof or self.closed:
                return b""
            await self._wait()

    async def read(self, n):
        while not self.rx:
            if self.eof or self.closed:
                return b""
            await self._wait()
        data = bytes(self.rx[:n])
        self.rx = self.rx[n:]
        return data

    # --- writer side
    def write(self, data) -> None:
        if self.closed:
            raise OSError(32)
        self.tx += data      # copies: the client reuses its frame buffer
        if self.request is None:
            i = self.tx.find(b"\r\n\r\n")
            if i >= 0:
                self.request = str(bytes(self.tx[:i + 4]), "utf-8")
                self.tx = self.tx[i + 4:]
                self._handshake()
        else:
            self._frames()

    async def drain(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        self.ev.set()

    async def wait_closed(self) -> None:
        pass

    # --- WebSocket server
    def _handshake(self) -> None:
        from evse.ocpp.wshandshake import accept_key
        req = self.request or ""
        key = ""
        proto = ""
        for line in req.split("\r\n")[1:]:
            k = line.find(":")
            if k > 0:
                name = line[:k].strip().lower()
                if name == "sec-websocket-key":
                    key = line[k + 1:].strip()
                elif name == "sec-websocket-protocol":
                    proto = line[k + 1:].strip()
        check(req.startswith("GET /ocpp/SELFTEST HTTP/1.1"), "handshake request line: " + req[:40])
        check("ocpp1.6" in proto, "no ocpp1.6 subprotocol offered")
        self._push(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                    "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n" % accept_key(key)).encode())

    def _frames(self) -> None:
        t = self.tx
        while len(t) >= 6:
            check(t[1] & 0x80, "unmasked client frame")
            n = t[1] & 0x7F
            off = 2
            if n == 126:
                n = (t[2] << 8) | t[3]
                off = 4
            check(n != 127, "frame over 64 KiB")
            end = off + 4 + n
            if len(t) < end:
                break
            op = t[0] & 0x0F
            m = t[off:off + 4]
            payload = bytearray(n)
            for i in range(n):
                payload[i] = t[off + 4 + i] ^ m[i & 3]
            t = t[end:]
            if op == 1:
                self._message(str(bytes(payload), "utf-8"))
            elif op == 9:
                self._push(_server_frame(10, bytes(payload)))
            elif op == 8:
                self._push(_server_frame(8, bytes(payload)))
                self.eof = True
        self.tx = t

    def send(self, msg) -> None:
        self._push(_server_frame(1, json.dumps(msg).encode()))

    def call(self, action: str, payload: dict) -> str:
        self.next_id += 1
        mid = "cs%d" % self.next_id
        self.send([2, mid, action, payload])
        return mid

    # --- OCPP 1.6J Central System
    def _message(self, text: str) -> None:
        msg = json.loads(text)
        if msg[0] == 3 or msg[0] == 4:
            self.results[msg[1]] = msg[2] if msg[0] == 3 else {"error": msg[2]}
            return
        check(msg[0] == 2, "bad message type " + text[:40])
        mid, action, p = msg[1], msg[2], msg[3]
        self.counts[action] = self.counts.get(action, 0) + 1
        accepted = {"status": "Accepted"}
        if action == "BootNotification":
            conf = {"status": "Accepted", "currentTime": NOW, "interval": 3600}  # type: dict
        elif action == "Heartbeat":
            conf = {"currentTime": NOW}
        elif action == "StatusNotification":
            self.statuses.append((p["connectorId"], p["status"]))
            conf = {}
        elif action == "Authorize":
            conf = {"idTagInfo": accepted}
        elif action == "StartTransaction":
            self.start = p
            self.next_tx += 1
            conf = {"transactionId": self.next_tx, "idTagInfo": accepted}
        elif action == "StopTransaction":
            self.stop = p
            conf = {"idTagInfo": accepted}
        elif action == "MeterValues":
            for mv in p["meterValue"]:
                for sv in mv["sampledValue"]:
                    if sv.get("measurand", "Energy.Active.Import.Register") == \
                            "Energy.Active.Import.Register" and sv.get("context") == "Sample.Periodic":
                        self.meter_wh.append(int(float(sv["value"])))
            conf = {}
        elif action == "DataTransfer":
            conf = {"status": "UnknownVendorId"}
        else:
            conf = {}
        self.send([3, mid, conf])


# ---------------------------------------------------------------- the session

def make_station(cs, model: str = "dscu"):
    from evse.config.store import Config
    from evsesim.hal import sim as simhal
    from evse.station import Station
    setattr(simhal, "Storage", MemStorage)   # the board's flash, in RAM
    board = simhal.SimBoard(2 if model == "dscu" else 1, "selftest", True)
    storage = board.storage
    cfg = Config(storage, model=model)
    for k, v in (("BESURL", "cs.selftest"), ("BESPortnumber", "80"), ("BESPath", "/ocpp"),
                 ("NodeId", "SELFTEST"), ("WebSocketPingInterval", "0"),
                 ("ClockAlignedDataInterval", "0"), ("MeterValueSampleInterval", "60"),
                 ("SmartChargingEnabled", "true"),
                 ("MeterValuesSampledData", SAMPLED)):
        r = cfg.change(k, v)
        check(r in ("Accepted", "RebootRequired"), "config %s=%s: %s" % (k, v, r))
    cfg = Config(storage, model=model)        # as after the power cycle
    board.net = cs
    return board, Station(board, cfg, model)


def connector(st, i: int) -> dict:
    return st.status()["connectors"][i - 1]


async def session(heap, model: str = "dscu") -> dict:
    from evsesim import simdrive       # the simulator drives the station's virtual clock
    cs = MemCentralSystem()
    board, st = make_station(cs, model)
    heap.storage = board.storage
    await simdrive.start(st)
    await simdrive.advance(st, 5000)
    check(cs.counts.get("BootNotification") == 1, "one BootNotification: %r (link: %s %r)" % (
        cs.counts, st.ocpp.last_error, st.ocpp.log[-3:]))
    check(st.ocpp.registered, "station not registered")
    n = 2 if model == "dscu" else 1
    check(all([(c, "Available") in cs.statuses for c in range(1, n + 1)]),
          "connectors Available: %r" % (cs.statuses,))
    heap.sample("boot", True)

    cio = board.connectors[0]
    cio.plug(32)
    cio.set_ev("B", 16, 3, True)
    await simdrive.settle(st)
    st.rfid(1, TAG)
    await simdrive.settle(st)
    await simdrive.advance(st, 1000)
    check(cs.counts.get("Authorize") == 1, "Authorize: %r" % (cs.counts,))
    check(cs.start is not None and cs.start["idTag"] == TAG and cs.start["connectorId"] == 1,
          "StartTransaction: %r" % (cs.start,))
    heap.sample("authorized", True)
    cio.set_ev("C", 16, 3, True)
    await simdrive.settle(st)
    await simdrive.advance(st, 1000)
    c = connector(st, 1)
    check(c["status"] == "Charging" and c["contactor"], "charging: %r" % (c,))
    txid = c["transaction_id"]
    heap.sample("charging")
    mid = ""
    for minute in range(1, 31):
        if minute == 10:
            mid = cs.call("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {
                "chargingProfileId": 7, "stackLevel": 1, "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative", "transactionId": txid,
                "chargingSchedule": {"chargingRateUnit": "A",
                                     "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}}})
            await simdrive.settle(st)
        await simdrive.advance(st, 60000)
        heap.sample("charging %d min" % minute)
    check(cs.results.get(mid) == {"status": "Accepted"}, "SetChargingProfile: %r" % (cs.results.get(mid),))
    c = connector(st, 1)
    check(c["offered_a"] == 10.0 and c["status"] == "Charging", "profile applied: %r" % (c,))
    heap.sample("charging 30 min", True)
    wh = cs.meter_wh
    check(len(wh) >= 29 and wh == sorted(wh) and wh[-1] > 0, "sampled MeterValues: %r" % (wh,))

    st.rfid(1, TAG)
    await simdrive.settle(st)
    await simdrive.advance(st, 1000)
    stop = cs.stop
    check(stop is not None and stop["transactionId"] == txid and stop["reason"] == "Local",
          "StopTransaction: %r" % (stop,))
    if stop is not None:
        check(stop["meterStop"] >= wh[-1], "meterStop %d below %d" % (stop["meterStop"], wh[-1]))
    cio.set_ev("A", 0, 3, True)
    cio.unplug(False)
    await simdrive.settle(st)
    await simdrive.advance(st, 1000)
    check(st.ocpp.queued() == 0, "messages left queued: %d" % st.ocpp.queued())
    heap.sample("stopped", True)
    out = {"meter_values": len(wh), "energy_wh": stop["meterStop"] if stop else 0,
           "calls": sum(cs.counts.values())}
    heap.storage = None
    await st.stop()
    return out


def _is_file(path: str) -> bool:
    import os
    try:
        os.stat(path)
        return True
    except (OSError, AttributeError):
        return False


def _budgets(argv: list) -> dict:
    out = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--max-boot", "--max-peak") and i + 1 < len(argv):
            out[a[6:]] = int(argv[i + 1])
            i += 2
            continue
        if a == "--model" and i + 1 < len(argv) and argv[i + 1] in ("sscu", "dscu"):
            out["model"] = argv[i + 1]
            i += 2
            continue
        raise SystemExit("usage: board_selftest.py [--model sscu|dscu] [--max-boot BYTES] [--max-peak BYTES]")
    return out


def _trace(e) -> None:
    pe = getattr(sys, "print_exception", None)
    if pe is not None:
        pe(e)
    else:
        import traceback
        traceback.print_exception(e)


def main(argv: list) -> int:
    budgets = _budgets(argv)
    heap = Heap()
    heap.sample("start", True)
    import evse.station  # noqa: F401  (everything the station imports)
    import evsesim.hal.sim  # noqa: F401
    import evse.ocpp.ws  # noqa: F401
    heap.sample("import", True)
    bits = 64 if sys.maxsize > 0xFFFFFFFF else 32
    impl = sys.implementation
    frozen = not _is_file(getattr(evse.station, "__file__", ""))
    total = (_mem_alloc() + _mem_free()) if (_mem_alloc and _mem_free) else 0
    print("board_selftest: %s %s on %s, %d-bit, heap %d bytes, evse %s, %s" % (
        impl.name, ".".join(str(x) for x in impl.version[:3]), sys.platform, bits, total,
        "frozen" if frozen else "loaded from files (bytecode on the heap)",
        budgets.get("model", "dscu").upper()))
    try:
        info = asyncio.run(session(heap, budgets.get("model", "dscu")))
    except MemoryError as e:
        _trace(e)
        print("FAIL MemoryError (heap %d bytes, last peak %d at %s)" % (total, heap.peak, heap.peak_at))
        return 1
    except Failed as e:
        print("FAIL session: %s" % (e,))
        return 1
    heap.sample("after", True)       # station gone, its modules still loaded
    block = largest_block()
    f = heap.figures
    print("session ok: %d OCPP calls, %d sampled MeterValues, %d Wh, SetChargingProfile applied"
          % (info["calls"], info["meter_values"], info["energy_wh"]))
    if not total:
        print("(no heap figures on %s)" % impl.name)
        return 0
    print("heap at start:         %7d" % f["start"])
    print("heap after imports:    %7d  (evse.station, evsesim.hal.sim, evse.ocpp.ws)" % f["import"])
    print("heap after boot:       %7d" % f["boot"])
    print("peak live heap:        %7d  at %s (storage in RAM %d of it)" % (heap.peak, heap.peak_at, heap.peak_storage))
    print("peak without storage:  %7d  at %s (the largest sample minus the storage in RAM then:"
          " on a board the storage is flash)" % (heap.peak_net, heap.peak_net_at))
    print("modules alone:         %7d  (after the session: station gone, its modules loaded)" % f["after"])
    print("station data:          %7d  after boot, %d at peak (the above minus modules)" % (
        f["boot"] - f["after"], heap.peak - f["after"]))
    print("free heap at peak:     %7d" % heap.peak_free)
    print("largest free block:    %7d  (after the session)" % block)
    print("RESULT boot=%d peak=%d modules=%d free=%d block=%d storage=%d heap=%d bits=%d peak_nostorage=%d" % (
        f["boot"], heap.peak, f["after"], heap.peak_free, block, heap.peak_storage, total, bits,
        heap.peak_net))
    bad = []
    if "boot" in budgets and f["boot"] > budgets["boot"]:
        bad.append("heap after boot %d > budget %d" % (f["boot"], budgets["boot"]))
    if "peak" in budgets and heap.peak > budgets["peak"]:
        bad.append("peak live heap %d > budget %d" % (heap.peak, budgets["peak"]))
    for b in bad:
        print("FAIL " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(getattr(sys, "argv", [])[1:]))
