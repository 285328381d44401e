# Modbus RTU master: the synchronous core of the meter bus (docs/architecture.md:
# Modbus framing is plain synchronous code; asyncio only moves bytes).
#
# One request in flight at a time: function 03 (read holding registers) or
# 04 (read input registers), 1..125 registers. request() builds the frame in
# a preallocated buffer and writes it to the port (the HAL RS485 port
# interface: write / readinto / any, never blocking); poll(now) moves the
# bytes that arrived into the preallocated reply buffer, in whatever pieces
# they come, and decides:
#
#   OK         a complete reply with a good CRC: the register bytes are
#              rx[DATA:DATA + 2 * count], big-endian words, valid during
#              the owner's on_reply() call
#   EXCEPTION  the slave answered with an exception (fc | 0x80); its code
#              is in exception_code (2 = illegal data address, ...)
#   CRC        a complete frame whose CRC is wrong
#   TIMEOUT    no complete reply within timeout_ms plus the reply's own
#              transmission time (char_us per byte)
#
# CRC errors and timeouts are retried (the request is sent again, up to
# `retries` times) before the owner hears of them; exceptions are not (the
# slave's answer is definite). Bytes that cannot start the expected reply
# (another unit, another function, a wrong byte count: bus noise, a late
# reply, other traffic on a shared bus) are dropped one at a time and
# counted in `dropped`; stale bytes are flushed before each request.
# Everything is counted (requests, replies, timeouts, crc_errors,
# exceptions, resends, dropped) for diagnostics.
#
# The owner of a request is any object with on_reply(result, master); it is
# called from poll() once per request, after the master is idle again.
# Several meters share one master by taking turns: turn(owner) queues the
# owner and says whether the bus is its now (round robin, so that a meter
# whose requests keep timing out cannot starve the others).
#
# Turnaround: RTU needs 3.5 character times of silence between frames. A
# request (or a resend after a CRC error) asked for less than silence_ms
# after the last reply ended waits (busy(), state _DEFER) and goes out at the
# first poll() after the silence; next_deadline_ms() says when. silence_ms is
# 3.5 characters rounded up to whole ms plus 1 ms (the ticks are whole ms:
# the end of a reply is seen up to 1 ms late on the tick counter's
# rounding), 5 ms at 9600 baud. While a reply is expected,
# next_deadline_ms() first says when it should be complete (the request
# and the reply on the wire, the slave's 3.5 characters of turnaround),
# then when it times out: a loop that sleeps until then takes the reply as
# soon as it is there (`make bench`, the Modbus efficiency).
#
# A port that knows whether anybody listens (connected(), the simulator's
# TCP transport to an RTU gateway) may have had nobody when the request was
# written: the frame is written again as soon as it has (not a retry: it
# never left), within the same deadline.
from array import array

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only

from evse.ticks import ticks_add, ticks_diff

READ_HOLDING = const(3)
READ_INPUT = const(4)
MAX_REGS = const(125)        # Modbus limit for 03/04 (a 255-byte reply)
DATA = const(3)              # register bytes start here in rx
RX_SIZE = const(255)         # unit fc count + 250 data bytes + CRC

# results
PENDING = const(0)
OK = const(1)
TIMEOUT = const(2)
CRC = const(3)
EXCEPTION = const(4)
RESULT_NAMES = ("pending", "ok", "timeout", "CRC error", "exception")

_IDLE = const(0)
_AWAIT = const(1)
_DEFER = const(2)            # the request waits for the silence after the last reply
_MORE = const(0)             # _parse: need more bytes

_table = None   # type: Any  # CRC table, built on first use


def _crc_table():
    global _table
    if _table is None:
        t = array("H", bytes(512))
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
            t[i] = c
        _table = t
    return _table


def crc16(buf, start: int = 0, end: int = -1, crc: int = 0xFFFF) -> int:
    """CRC-16/MODBUS (reflected 0x8005, init 0xFFFF) of buf[start:end]
    (end -1 = len(buf)); sent low byte first. No allocation."""
    t = _crc_table()
    if end < 0:
        end = len(buf)
    i = start
    while i < end:
        crc = (crc >> 8) ^ t[(crc ^ buf[i]) & 0xFF]
        i += 1
    return crc


def build_read(buf, unit: int, fc: int, start: int, count: int) -> int:
    """Write a read request (8 bytes) into buf; returns its length."""
    buf[0] = unit
    buf[1] = fc
    buf[2] = (start >> 8) & 0xFF
    buf[3] = start & 0xFF
    buf[4] = (count >> 8) & 0xFF
    buf[5] = count & 0xFF
    c = crc16(buf, 0, 6)
    buf[6] = c & 0xFF
    buf[7] = c >> 8
    return 8


class BusTurns:
    """Turns on one RS485 bus, shared by the masters that use it (this
    Modbus master, evse.metering.ekm's EKM master): a master is idle
    (_IDLE) or awaits a reply (_AWAIT) in self.state; owners (the meters)
    queue in self._turns; others_busy, when set, says another protocol
    (the RFID link) has an exchange on the bus."""
    state = _IDLE
    others_busy = None   # type: Any

    def busy(self) -> bool:
        return self.state != _IDLE

    def awaiting(self) -> bool:
        """A request is on the wire, its reply expected (not waiting for the silence)."""
        return self.state == _AWAIT

    def held(self) -> bool:
        """Another protocol has an exchange on the shared bus: wait."""
        f = self.others_busy
        return f is not None and f()

    def turn(self, owner) -> bool:
        """owner wants the bus: True when it may send its request now."""
        q = self._turns   # type: ignore[attr-defined]
        if owner not in q:
            q.append(owner)
        if self.state != _IDLE or q[0] is not owner:
            return False
        q.pop(0)
        return True


class RtuMaster(BusTurns):
    def __init__(self, port, timeout_ms: int = 300, retries: int = 2, char_us: int = 1146) -> None:
        # char_us: one character on the wire (11 bits at 9600 baud)
        self.port = port
        self.timeout_ms = timeout_ms
        self.retries = retries
        self.char_us = char_us
        self.tx = bytearray(8)
        self.rx = bytearray(RX_SIZE)
        self._rxv = memoryview(self.rx)
        self._sink = bytearray(64)
        self.n = 0                   # bytes in rx
        self.state = _IDLE
        self.owner = None            # type: Any
        self.unit = 0
        self.fc = 0
        self.count = 0
        self._expect = 0             # length of a normal reply
        self._deadline = 0
        self._tries = 0
        self._unsent = False         # written while the port had no peer
        self.silence_ms = (35 * char_us + 9999) // 10000 + 1
        self._quiet_until = 0        # ticks: the line has been silent long enough from then
        self._quiet = True           # no reply ended within silence_ms
        self._due = 0                # ticks: the reply should be complete then
        self._linked = getattr(port, "connected", None)  # type: Any
        self.exception_code = 0
        self._turns = []             # type: list  # owners waiting for the bus, in order
        # () -> bool: another protocol's exchange is on this (shared) bus
        self.others_busy = None      # type: Any
        # counters
        self.requests = 0            # frames written (resends included)
        self.replies = 0             # good replies (exceptions included)
        self.timeouts = 0
        self.crc_errors = 0
        self.exceptions = 0
        self.resends = 0
        self.dropped = 0             # bytes that could not start the reply

    # ---- the request -------------------------------------------------------------------
    def request(self, owner, unit: int, fc: int, start: int, count: int, now: int) -> bool:
        """Send a read request for owner; False when a request is in flight."""
        if self.state != _IDLE:
            return False
        if fc != READ_HOLDING and fc != READ_INPUT:
            raise ValueError("function must be 3 or 4")
        if not (1 <= count <= MAX_REGS) or not (1 <= unit <= 247) or not (0 <= start and start + count <= 0x10000):
            raise ValueError("bad read request")
        build_read(self.tx, unit, fc, start, count)
        self.owner = owner
        self.unit = unit
        self.fc = fc
        self.count = count
        self._expect = 5 + 2 * count
        self._tries = 0
        self._send_or_defer(now)
        return True

    def _send_or_defer(self, now: int) -> None:
        if self._quiet or ticks_diff(now, self._quiet_until) >= 0:
            self._quiet = False
            self._send(now)
        else:
            self.state = _DEFER

    def abort(self) -> None:
        """Forget the request in flight (its owner is not called)."""
        self.state = _IDLE
        self.owner = None

    def _send(self, now: int) -> None:
        port = self.port
        for _ in range(16):           # stale bytes: a late reply, noise
            if not port.any():
                break
            port.readinto(self._sink)
        self.n = 0
        port.write(self.tx)
        self._unsent = self._linked is not None and not self._linked()
        self.requests += 1
        wire = (self._expect + 8) * self.char_us
        wait = self.timeout_ms + wire // 1000
        self._deadline = ticks_add(now, wait)
        self._due = ticks_add(now, (wire + 35 * self.char_us // 10 + 999) // 1000)
        self.state = _AWAIT

    def next_deadline_ms(self, now: int) -> int:
        if self.state == _DEFER:
            d = ticks_diff(self._quiet_until, now)
            return d if d > 0 else 0
        if self.state != _AWAIT:
            return -1
        d = ticks_diff(self._due, now)
        if d <= 0:
            d = ticks_diff(self._deadline, now)
        return d if d > 0 else 0

    # ---- the reply -------------------------------------------------------------------------
    def poll(self, now: int) -> int:
        """Take the bytes that arrived; the result of the request when it
        ended in this call (its owner was told), else PENDING."""
        if self.state == _DEFER:
            if ticks_diff(now, self._quiet_until) < 0:
                return PENDING
            self._quiet = False
            self._send(now)
            return PENDING
        if self.state != _AWAIT:
            return PENDING
        port = self.port
        if self._unsent and self._linked():
            port.write(self.tx)
            self._unsent = False
        while self.n < RX_SIZE and port.any():
            got = port.readinto(self._rxv[self.n:]) or 0
            if got <= 0:
                break
            self.n += got
        r = self._parse()
        if r == _MORE:
            if ticks_diff(now, self._deadline) < 0:
                return PENDING
            self.timeouts += 1
            r = TIMEOUT
        elif r == CRC:
            self.crc_errors += 1
        elif r == EXCEPTION:
            self.exceptions += 1
            self.replies += 1
        else:
            self.replies += 1
        if r != TIMEOUT or self.n > 0:
            # a frame (or part of one) ended now: the next one after the silence
            self._quiet = False
            self._quiet_until = ticks_add(now, self.silence_ms)
        if (r == TIMEOUT or r == CRC) and self._tries < self.retries:
            self._tries += 1
            self.resends += 1
            self._send_or_defer(now)
            return PENDING
        owner = self.owner
        self.state = _IDLE
        self.owner = None
        if owner is not None:
            owner.on_reply(r, self)
        return r

    def _drop(self) -> None:
        # the first byte cannot start the reply: shift it out
        n = self.n
        if n > 1:
            self._rxv[0:n - 1] = self._rxv[1:n]
        self.n = n - 1
        self.dropped += 1

    def _parse(self) -> int:
        rx = self.rx
        while self.n >= 2:
            if rx[0] != self.unit:
                self._drop()
                continue
            fc = rx[1]
            if fc == self.fc | 0x80:
                if self.n < 5:
                    return _MORE
                if crc16(rx, 0, 3) != rx[3] | (rx[4] << 8):
                    return CRC
                self.exception_code = rx[2]
                return EXCEPTION
            if fc != self.fc:
                self._drop()
                continue
            if self.n < 3:
                return _MORE
            if rx[2] != 2 * self.count:
                self._drop()
                continue
            e = self._expect
            if self.n < e:
                return _MORE
            if crc16(rx, 0, e - 2) != rx[e - 2] | (rx[e - 1] << 8):
                return CRC
            return OK
        return _MORE

    def stats(self) -> dict:
        return {"requests": self.requests, "replies": self.replies, "timeouts": self.timeouts,
                "crc_errors": self.crc_errors, "exceptions": self.exceptions,
                "resends": self.resends, "dropped": self.dropped}
