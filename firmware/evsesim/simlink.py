# Link faults of the simulator (docs/simulator.md "Link faults"): latency,
# drop, duplicate and disconnect of OCPP messages, per direction, seeded.
# Simulator-only (boards/sim_manifest.py): the firmware knows nothing of it;
# the OCPP client's generic hook `wrap_ws(ws) -> ws-like` (evse.ocpp.client)
# puts a FaultyWS between the client and each new WebSocket connection.
#
# The unit is one WebSocket text message (one OCPP-J frame), as a Central
# System team counts them. Directions: "out" station -> Central System,
# "in" Central System -> station. For every message, in the order the
# station sends or reads them, exactly three numbers are drawn from one
# xorshift32 generator (drop, duplicate, jitter), whatever is configured:
# the same seed and the same sequence of messages give the same decisions,
# on CPython and on the Unix port alike.
#
# Latency: a message is held latency_ms + a jitter in 0..jitter_ms, in
# firmware time: real time on the real clock; on the virtual clock a
# deadline (next_deadline_ms) that the control server's `advance` stops at
# (ControlServer.op_advance, then release()). Messages of one direction keep
# their order (a held message never overtakes an earlier one; "in" reads the
# next message once the held one is delivered, like a slow single pipe).
# While a CALL of the station (or the answer to it) is held or dropped, the
# client's outstanding CALL is marked as waited for, so the virtual-clock
# settle_io does not wait in real time for an answer that cannot come at
# this instant; it is unmarked when the message is released.
#
# Disconnect: now (`disconnect`), or after the next N messages of the
# selected direction(s) have passed (`disconnect_after`): the WebSocket is
# closed (close handshake, bounded), held messages are lost as in-flight
# data is; the client's ordinary reconnect (backoff) follows.
from evse.aio import asyncio

from evse.ticks import ticks_add, ticks_diff

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only

DIRS = ("out", "in")
LOG_MAX = 64        # decisions kept for `status` (newest last)
_SCALE = 1000000    # probabilities as parts per million


class Rng:
    """xorshift32 (Marsaglia 2003): the same numbers on every runtime."""

    def __init__(self, seed: int) -> None:
        self.seed(seed)

    def seed(self, seed: int) -> None:
        s = seed & 0xFFFFFFFF
        self.s = s if s else 0x9E3779B9

    def next(self) -> int:
        x = self.s
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.s = x
        return x


class DirFaults:
    """The faults of one direction and its counters."""

    def __init__(self) -> None:
        self.latency_ms = 0
        self.jitter_ms = 0
        self.drop_ppm = 0
        self.dup_ppm = 0
        self.clear_counts()

    def clear_counts(self) -> None:
        self.messages = 0
        self.dropped = 0
        self.duplicated = 0
        self.delayed = 0

    def info(self) -> dict:
        return {"latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms,
                "drop": self.drop_ppm / _SCALE, "duplicate": self.dup_ppm / _SCALE,
                "messages": self.messages, "dropped": self.dropped,
                "duplicated": self.duplicated, "delayed": self.delayed}


def _quoted(text: str, i: int) -> tuple:
    """The JSON string starting at or after i (no escapes: message ids and
    action names have none) -> (its text or None, index after it)."""
    a = text.find('"', i)
    if a < 0:
        return None, i
    b = text.find('"', a + 1)
    if b < 0 or text.find("\\", a, b) >= 0:
        return None, i
    return text[a + 1:b], b + 1


def frame_head(text: str) -> tuple:
    """(message type, id, action or None) of an OCPP-J frame, from its
    first bytes only (no JSON parse of the payload); (0, None, None) when it
    is not one."""
    t = text.lstrip()
    if not t.startswith("["):
        return 0, None, None
    c = t.find(",")
    if c < 0:
        return 0, None, None
    kind = t[1:c].strip()
    if kind not in ("2", "3", "4"):
        return 0, None, None
    mid, i = _quoted(t, c)
    if mid is None:
        return 0, None, None
    action = None
    if kind == "2":
        action, _ = _quoted(t, i)
    return int(kind), mid, action


class Link:
    """The faults and their state; one per simulator (it outlives reboots:
    attach() hooks each new station's client)."""

    def __init__(self, clock, virtual: bool, seed: int = 1) -> None:
        self.clock = clock
        self.virtual = virtual
        self.rng = Rng(seed)
        self.seed_value = seed
        self.dirs = {"out": DirFaults(), "in": DirFaults()}
        self.disconnect_dirs = ("out", "in")
        self.disconnect_left = -1     # messages to pass before a disconnect, -1: none
        self.disconnects = 0
        self.connections = 0
        self.client = None            # type: Any  # the OcppClient hooked
        self.ws = None                # type: Any  # the FaultyWS of the current connection
        self.log = []                 # type: list  # [dir, n, action or type, what]

    # ---- configuration -------------------------------------------------------
    def reseed(self, seed: int) -> None:
        """A new seed restarts the sequence and the counters."""
        self.seed_value = seed
        self.rng.seed(seed)
        for d in self.dirs.values():
            d.clear_counts()
        self.log = []

    def set_dir(self, which: tuple, latency_ms=None, jitter_ms=None, drop=None,
                duplicate=None) -> None:
        for name in which:
            d = self.dirs[name]
            if latency_ms is not None:
                d.latency_ms = int(latency_ms)
            if jitter_ms is not None:
                d.jitter_ms = int(jitter_ms)
            if drop is not None:
                d.drop_ppm = int(drop * _SCALE + 0.5)
            if duplicate is not None:
                d.dup_ppm = int(duplicate * _SCALE + 0.5)

    def clear(self) -> None:
        for d in self.dirs.values():
            d.latency_ms = d.jitter_ms = d.drop_ppm = d.dup_ppm = 0
        self.disconnect_left = -1

    def disconnect_after(self, n: int, which: tuple) -> None:
        self.disconnect_left = n
        self.disconnect_dirs = which

    async def disconnect(self) -> bool:
        """Close the current connection now; False when there is none."""
        w = self.ws
        if w is None or w.closed:
            return False
        await w.cut()
        return True

    def info(self) -> dict:
        w = self.ws
        return {"seed": self.seed_value, "out": self.dirs["out"].info(),
                "in": self.dirs["in"].info(), "disconnects": self.disconnects,
                "connections": self.connections,
                "disconnect_after": self.disconnect_left if self.disconnect_left >= 0 else None,
                "held": {"out": len(w.out_q) if w is not None else 0,
                         "in": len(w.in_q) if w is not None else 0},
                "log": self.log[-24:]}

    # ---- the client's hook -----------------------------------------------------
    def attach(self, client) -> None:
        self.client = client
        client.wrap_ws = self.wrap

    def wrap(self, ws):
        self.connections += 1
        w = FaultyWS(self, ws)
        self.ws = w
        return w

    # ---- decisions -----------------------------------------------------------------
    def decide(self, name: str, text: str) -> tuple:
        """-> (copies 0..2, hold ms, frame head) for one message; the head
        is read only for a message a fault hits (None otherwise)."""
        d = self.dirs[name]
        r_drop = self.rng.next() % _SCALE
        r_dup = self.rng.next() % _SCALE
        r_jit = self.rng.next()
        d.messages += 1
        if r_drop < d.drop_ppm:
            d.dropped += 1
            return 0, 0, self._note(name, d.messages, text, "dropped")
        copies = 1
        head = None
        if r_dup < d.dup_ppm:
            d.duplicated += 1
            copies = 2
            head = self._note(name, d.messages, text, "duplicated")
        hold = d.latency_ms + (r_jit % (d.jitter_ms + 1) if d.jitter_ms > 0 else 0)
        if hold > 0:
            d.delayed += 1
            if head is None:
                head = frame_head(text)
        return copies, hold, head

    def _note(self, name: str, n: int, text: str, what: str) -> tuple:
        head = frame_head(text)
        label = head[2] if head[2] is not None else {3: "result", 4: "error"}.get(head[0], "?")
        self.log.append([name, n, label, what, head[1]])
        if len(self.log) > LOG_MAX:
            self.log.pop(0)
        return head

    def counted(self, name: str) -> bool:
        """A message of direction name has passed: True when the
        disconnect_after count has run out with it."""
        if self.disconnect_left < 0 or name not in self.disconnect_dirs:
            return False
        if self.disconnect_left > 0:
            self.disconnect_left -= 1
        if self.disconnect_left == 0:
            self.disconnect_left = -1
            return True
        return False

    def pending_waited(self, mid, waited: bool) -> None:
        """Mark the client's outstanding CALL (if it is mid) as waited for
        (its message or answer is held or lost) or not (released)."""
        c = self.client
        p = c.pending if c is not None else None
        if p is not None and mid is not None and p.msg_id == mid:
            p.waited = waited
            if not waited:
                c.kick()

    # ---- virtual time -----------------------------------------------------------------
    def next_deadline_ms(self) -> int:
        """ms until a held message is due, -1 when none is held."""
        w = self.ws
        if w is None or w.closed:
            return -1
        now = self.clock.ticks_ms()
        best = -1
        for q in (w.out_q, w.in_q):
            if q:
                d = max(0, ticks_diff(q[0][0], now))
                if best < 0 or d < best:
                    best = d
        return best

    def release(self) -> bool:
        """Virtual clock: let the messages that are due go; True if any."""
        w = self.ws
        if w is None or w.closed:
            return False
        now = self.clock.ticks_ms()
        any_due = False
        for q in (w.out_q, w.in_q):
            for item in q:
                if ticks_diff(now, item[0]) < 0:
                    break
                any_due = True
                self.pending_waited(item[2], False)
        if any_due:
            w.wake()
        return any_due


class FaultyWS:
    """The WebSocket as the client sees it, with the Link's faults between."""

    def __init__(self, link: Link, ws) -> None:
        self.link = link
        self.ws = ws
        self.out_q = []       # type: list  # [due ticks, text, id of the station's CALL]
        self.in_q = []        # type: list  # [due ticks, text, id of an answer]
        self._out_ev = asyncio.Event()
        self._in_ev = asyncio.Event()
        self._cut = False     # closed by us (a cut or the client's close)
        self._sender = None   # type: Any

    @property
    def closed(self) -> bool:
        return self._cut or self.ws.closed

    def wake(self) -> None:
        self._out_ev.set()
        self._in_ev.set()

    def keepalive(self, *a):
        return self.ws.keepalive(*a)

    async def close(self, *a) -> None:
        if self._cut:
            # a close already under way (a cut, then the client's own):
            # wait for it; the WebSocket layer bounds the handshake
            for _ in range(800):
                if self.ws.closed:
                    return
                await asyncio.sleep(0.01)
            return
        self._cut = True
        self.out_q = []
        self.in_q = []
        self.wake()
        await self.ws.close(*a)

    async def cut(self) -> None:
        """The link fails now: a close the station did not ask for."""
        self.link.disconnects += 1
        await self.close(1001, "simulated link fault")

    def _schedule_cut(self) -> None:
        if not self._cut:
            asyncio.create_task(self.cut())

    def _due_ms(self, hold: int) -> int:
        return ticks_add(self.link.clock.ticks_ms(), hold)

    # ---- out: station -> Central System ---------------------------------------------
    async def send_text(self, text: str) -> None:
        if self.closed:
            raise OSError(9, "connection closed")
        link = self.link
        copies, hold, head = link.decide("out", text)
        mid = head[1] if head is not None and head[0] == 2 else None   # our CALL: its answer is awaited
        if copies == 0:
            link.pending_waited(mid, True)          # no answer will come
        elif hold <= 0 and not self.out_q:
            for _ in range(copies):
                await self.ws.send_text(text)
        else:
            due = self._due_ms(hold)
            if self.out_q and ticks_diff(due, self.out_q[-1][0]) < 0:
                due = self.out_q[-1][0]             # keep the order
            for _ in range(copies):
                self.out_q.append([due, text, mid])
            if link.virtual:
                link.pending_waited(mid, True)      # held until virtual time moves
            if self._sender is None:
                self._sender = asyncio.create_task(self._send_held())
            self._out_ev.set()
        if link.counted("out"):
            self._schedule_cut()

    async def _send_held(self) -> None:
        q = self.out_q
        try:
            while not self.closed:
                q = self.out_q
                if q:
                    wait = ticks_diff(q[0][0], self.link.clock.ticks_ms())
                    if wait <= 0:
                        item = q.pop(0)
                        await self.ws.send_text(item[1])
                        continue
                    if not self.link.virtual:
                        await self._wait(self._out_ev, wait)
                        continue
                await self._wait(self._out_ev, 1000)
        except Exception:
            pass        # the connection went: held messages are lost with it
        self._sender = None

    async def _wait(self, ev, ms: int) -> None:
        ev.clear()
        try:
            await asyncio.wait_for(ev.wait(), ms / 1000)
        except asyncio.TimeoutError:
            pass

    # ---- in: Central System -> station ----------------------------------------------
    async def recv(self) -> str:
        link = self.link
        while True:
            q = self.in_q
            if q:
                wait = ticks_diff(q[0][0], link.clock.ticks_ms())
                if wait <= 0:
                    return q.pop(0)[1]
                if self.closed:
                    break
                await self._wait(self._in_ev, wait if not link.virtual else 1000)
                continue
            if self.closed:
                break
            text = await self.ws.recv()
            copies, hold, head = link.decide("in", text)
            mid = head[1] if head is not None and head[0] in (3, 4) else None   # an answer to our CALL
            if link.counted("in"):
                self._schedule_cut()
            if copies == 0:
                link.pending_waited(mid, True)
                continue
            if hold <= 0:
                if copies == 2:
                    q.append([link.clock.ticks_ms(), text, None])
                return text
            due = self._due_ms(hold)
            for _ in range(copies):
                q.append([due, text, mid])
            if link.virtual:
                link.pending_waited(mid, True)
        # closed: as the WebSocket itself says, without reading beside
        # the close handshake
        if self.ws.closed:
            return await self.ws.recv()
        raise OSError(9, "connection closed")
