# WebSocket client (RFC 6455) for the OCPP-J link to the Central System:
# the thin async shell over the HAL's Net.open_connection streams.
#   WSClient   connect / send_text / recv / ping / close / keepalive
#   Backoff    reconnect delays; KeepAlive: WebSocketPingInterval
# The synchronous parts it drives: evse.ocpp.wsframe (frame codec),
# evse.ocpp.wshandshake (URL, Upgrade request and answer). Only evse.ocpp imports these; the rest of the firmware
# sees the link through evse.ocpp.client.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

import sys

try:
    from random import getrandbits as _getrandbits
except ImportError:  # pragma: no cover
    _getrandbits = None  # type: ignore[assignment]

from evse.ticks import ticks_add, ticks_diff
from evse.aio import asyncio
from evse.ocpp.wsframe import (strict, utf8, Encoder, Decoder, WSError, WSClosed, close_payload,
                               OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, CLOSE_NORMAL,
                               CLOSE_ABNORMAL, CLOSE_UNSUPPORTED, CLOSE_INVALID_DATA,
                               DEFAULT_MAX_SIZE, FRAME_SIZE)
from evse.ocpp.wshandshake import (WSHandshakeError, SUBPROTOCOL, MAX_HEADER_BYTES, new_key,
                                   parse_url, handshake_request, check_handshake)

TYPE_CHECKING = False  # mypy reads it as True; no typing module at run time
if TYPE_CHECKING:
    from asyncio import StreamReader, StreamWriter

_READ_SIZE = const(2048)
_LINGER_S = const(2)  # after failing the connection, wait this long for the server's FIN
# CPython's transports may keep a reference to the buffer passed to write()
# (the SSL transport does); MicroPython's StreamWriter copies or sends at once.
_MICROPYTHON = sys.implementation.name == "micropython"
_COPY_WRITES = not _MICROPYTHON


# ---------------------------------------------------------------- policies

class Backoff:
    """Reconnect delays: base, 2*base, 4*base ... capped at max_s. jitter(n)
    (injected, returns 0..n) takes up to a quarter off each delay so stations
    do not reconnect in lockstep after a Central System outage."""

    def __init__(self, base_s: int = 1, max_s: int = 300, jitter=None) -> None:
        self.base_ms = base_s * 1000
        self.max_ms = max_s * 1000
        self._jitter = jitter
        self._n = 0

    def next_ms(self) -> int:
        d = self.base_ms
        k = self._n
        while k and d < self.max_ms:
            d *= 2
            k -= 1
        if d > self.max_ms:
            d = self.max_ms
        self._n += 1
        if self._jitter is not None:
            d -= min(max(self._jitter(d // 4), 0), d // 4)
        return d

    def reset(self) -> None:
        """Call once a connection is up (and accepted)."""
        self._n = 0


class KeepAlive:
    """WebSocketPingInterval: a ping every interval; the connection is dead
    when a ping is unanswered for timeout_ms (default: one interval) - this
    is what catches half-open connections (OCPP-J errata 3.11)."""

    def __init__(self, interval_ms: int, timeout_ms: int = 0) -> None:
        self.interval_ms = interval_ms
        self.timeout_ms = timeout_ms or interval_ms
        self._next = 0
        self._sent = -1  # ticks of the unanswered ping, -1 = none

    def start(self, now_ms: int) -> None:
        self._next = ticks_add(now_ms, self.interval_ms)
        self._sent = -1

    def due(self, now_ms: int) -> bool:
        return self.interval_ms > 0 and self._sent < 0 and ticks_diff(now_ms, self._next) >= 0

    def sent(self, now_ms: int) -> None:
        self._sent = now_ms
        self._next = ticks_add(now_ms, self.interval_ms)

    def pong(self) -> None:
        self._sent = -1

    def dead(self, now_ms: int) -> bool:
        return self._sent >= 0 and ticks_diff(now_ms, self._sent) >= self.timeout_ms

    def wait_ms(self, now_ms: int) -> int:
        """Time until something is to be done (for the sleeper)."""
        if self._sent >= 0:
            return max(0, self.timeout_ms - ticks_diff(now_ms, self._sent))
        return max(0, ticks_diff(self._next, now_ms))


# ---------------------------------------------------------------- async shell

def _default_rand(bits: int) -> int:
    return _getrandbits(bits)


class WSClient:
    """One WebSocket connection. recv() must be called by one task only;
    send_text / ping / close may be called from any task (writes are
    serialised by a lock). max_size: the largest message either way;
    frame_size: the payload of the frames sent and the receive buffer kept
    (see Encoder, Decoder)."""

    def __init__(self, max_size: int = DEFAULT_MAX_SIZE, rand=None,
                 frame_size: int = FRAME_SIZE) -> None:
        aio = asyncio
        self.max_size = max_size
        self._enc = Encoder(frame_size)
        self._dec = Decoder(max_size, frame_size)
        self._rand = rand or _default_rand  # rand(bits) -> int
        self._reader = None  # type: StreamReader | None
        self._writer = None  # type: StreamWriter | None
        self._lock = aio.Lock()
        self._done = aio.Event()
        self._in = memoryview(b"")  # last chunk read, consumed from _off
        self._off = 0
        self._reading = False
        self._close_sent = False
        self._ka = None  # type: KeepAlive | None
        self.closed = True
        self.close_code = 0
        self.close_reason = ""
        self.subprotocol = ""

    def set_max_size(self, n: int) -> None:
        """Largest message either way from now on (no buffer depends on it)."""
        self.max_size = n
        self._dec.max_size = n

    async def connect(self, url, subprotocol: str = SUBPROTOCOL, basic_auth=None,
                      cadata=None, net=None, timeout_s: int = 30) -> None:
        """url: 'ws[s]://host[:port]/path' or (secure, host, port, path).
        A WSClient is reusable: connect again after it closed (its buffers
        are allocated once, in the constructor)."""
        if not self.closed or self._writer is not None:
            raise WSError("already connected")
        secure, host, port, path = parse_url(url) if type(url) is str else url
        if net is None:
            from evse.hal.net import Net
            net = Net()
        self._dec.reset()
        self._in = memoryview(b"")
        self._off = 0
        self._close_sent = False
        self._reading = False
        self._ka = None
        aio = asyncio
        self._lock = aio.Lock()
        self._done = aio.Event()
        self.close_code = 0
        self.close_reason = ""
        try:
            await aio.wait_for(
                self._handshake(net, secure, host, port, path, subprotocol, basic_auth, cadata),
                timeout_s)
        except aio.TimeoutError:
            await self._abort()
            raise WSHandshakeError("handshake timeout")
        except Exception:
            await self._abort()
            raise
        self.subprotocol = subprotocol
        self.closed = False

    async def _handshake(self, net, secure: bool, host: str, port: int, path: str,
                         subprotocol: str, basic_auth, cadata) -> None:
        reader, writer = await net.open_connection(host, port, secure, cadata)
        self._reader = reader
        self._writer = writer
        r = self._rand
        key = new_key(r)
        writer.write(handshake_request(host, port, path, key, secure, subprotocol, basic_auth))
        await writer.drain()
        status = await self._line()
        headers = {}  # type: dict
        total = len(status)
        while True:
            line = await self._line()
            if not line:
                break
            total += len(line)
            if total > MAX_HEADER_BYTES:
                raise WSHandshakeError("response headers too large")
            k = line.find(":")
            if k <= 0:
                raise WSHandshakeError("bad header line")
            name = line[:k].strip().lower()
            val = line[k + 1:].strip()
            headers[name] = headers[name] + ", " + val if name in headers else val
        check_handshake(status, headers, key, subprotocol)

    async def _line(self) -> str:
        r = self._reader
        if r is None:
            raise WSHandshakeError("not connected")
        raw = await r.readline()
        if not raw.endswith(b"\n"):
            raise WSHandshakeError("connection closed during handshake")
        if len(raw) > MAX_HEADER_BYTES:
            raise WSHandshakeError("response headers too large")
        try:
            return str(raw, "utf-8").rstrip("\r\n")
        except UnicodeError:
            raise WSHandshakeError("bad header bytes")

    async def _send(self, op: int, payload) -> None:
        """One message. Longer than a frame (data only): fragments (RFC 6455
        5.4), each encoded from its piece of payload with a mask of its own
        (5.3). The lock is held to the last one, so no other message comes
        between them; the frame buffer is reused once each is drained."""
        async with self._lock:
            w = self._writer
            if w is None or self._close_sent:
                raise WSClosed(self.close_code or CLOSE_ABNORMAL, "not open")
            if op == OP_CLOSE:
                self._close_sent = True
            enc = self._enc
            n = len(payload)
            step = enc.frame_size
            if n <= step:
                frame = enc.frame(op, payload, self._rand(32))
                w.write(bytes(frame) if _COPY_WRITES else frame)
                await w.drain()
                return
            mv = memoryview(payload)
            off = 0
            while off < n:
                end = off + step if off + step < n else n
                frame = enc.frame(op if off == 0 else OP_CONT, mv[off:end], self._rand(32), end == n)
                w.write(bytes(frame) if _COPY_WRITES else frame)
                await w.drain()
                off = end

    async def send_text(self, text: str) -> None:
        """One text message, always strict UTF-8 (see utf8()); fragmented
        when longer than frame_size bytes. ValueError when longer than
        max_size bytes; WSClosed when the connection is closed or closing."""
        b = utf8(text)
        if len(b) > self.max_size:
            raise ValueError("message too large")
        await self._send(OP_TEXT, b)

    async def ping(self, payload: bytes = b"") -> None:
        await self._send(OP_PING, payload)

    async def recv(self) -> str:
        """Next text message. Answers pings; raises WSClosed when the
        connection ends (close frame, protocol error, EOF)."""
        if self.closed:
            raise WSClosed(self.close_code or CLOSE_ABNORMAL, self.close_reason)
        self._reading = True
        try:
            return await self._recv()
        finally:
            self._reading = False

    async def _recv(self) -> str:
        dec = self._dec
        while True:
            if self._off >= len(self._in):
                r = self._reader
                if r is None:  # closed by another task
                    raise WSClosed(self.close_code or CLOSE_ABNORMAL, self.close_reason)
                try:
                    data = await r.read(_READ_SIZE)
                except OSError:
                    data = b""
                if not data:
                    await self._finish(CLOSE_ABNORMAL, "connection lost")
                    raise WSClosed(self.close_code, self.close_reason)
                self._in = memoryview(data)
                self._off = 0
            self._off += dec.feed(self._in[self._off:])
            ev = dec.event
            if ev == 0:
                continue
            if ev == OP_TEXT:
                try:
                    text = str(dec.payload, "utf-8")
                    ok = strict(dec.msgbuf, len(dec.payload))
                except UnicodeError:
                    ok = False
                dec.release()   # a large message's buffer goes before it is parsed
                if ok:
                    return text
                # RFC 6455 8.1: fail the connection with 1007
                await self._fail(CLOSE_INVALID_DATA, "invalid UTF-8", True)
            elif ev == OP_PING:
                if not self._close_sent:
                    try:
                        await self._send(OP_PONG, bytes(dec.payload))
                    except (OSError, WSClosed):
                        pass
            elif ev == OP_PONG:
                if self._ka is not None:
                    self._ka.pong()
            elif ev == OP_CLOSE:
                code = dec.close_code
                reason = dec.close_reason
                if not self._close_sent:
                    # echo the status code (RFC 6455 5.5.1)
                    try:
                        await self._send(OP_CLOSE, close_payload(code))
                    except (OSError, WSClosed):
                        pass
                await self._finish(code, reason)
            elif ev == OP_BINARY:
                dec.release()
                await self._fail(CLOSE_UNSUPPORTED, "binary message", True)
            else:
                await self._fail(dec.error, dec.reason, True)
            if self.closed:
                raise WSClosed(self.close_code, self.close_reason)

    async def fail(self, code: int, reason: str = "") -> None:
        """Fail the connection (RFC 6455 7.1.7): send a close frame with
        code, do not wait for the answer, drop the transport."""
        await self._fail(code, reason, False)

    async def _fail(self, code: int, reason: str, linger: bool) -> None:
        if self.closed and self._writer is None:
            return
        if not self._close_sent:
            try:
                await self._send(OP_CLOSE, close_payload(code, reason))
                if linger:
                    await self._linger()
            except (OSError, WSClosed):
                pass
        await self._finish(code, reason)

    async def _linger(self) -> None:
        """Reading task only, after our close frame: drop incoming bytes
        until the server closes TCP (bounded). Closing with unread data
        would reset the connection and could lose our close code."""
        try:
            await asyncio.wait_for(self._drop_input(), _LINGER_S)
        except Exception:
            pass

    async def _drop_input(self) -> None:
        r = self._reader
        while r is not None:
            if not await r.read(_READ_SIZE):
                return

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "", timeout_s: int = 5) -> None:
        """Close handshake: send close, wait (bounded) for the server's."""
        if self.closed:
            await self._abort()
            return
        try:
            await self._send(OP_CLOSE, close_payload(code, reason))
        except (OSError, WSClosed):
            await self._finish(CLOSE_ABNORMAL, "connection lost")
            return
        aio = asyncio
        try:
            if self._reading:
                # the reading task will see the answer and finish
                await aio.wait_for(self._done.wait(), timeout_s)
            else:
                await aio.wait_for(self._drain_until_closed(), timeout_s)
        except aio.TimeoutError:
            pass
        except WSClosed:
            pass
        if not self.closed:
            await self._finish(code, reason)

    async def _drain_until_closed(self) -> None:
        while not self.closed:
            try:
                await self._recv()
            except WSClosed:
                return

    async def _finish(self, code: int, reason: str) -> None:
        if not self.closed or self._writer is not None:
            self.close_code = code
            self.close_reason = reason
        self.closed = True
        await self._abort()
        self._done.set()

    async def _abort(self) -> None:
        w = self._writer
        self._writer = None
        self._reader = None
        self.closed = True
        if w is not None:
            try:
                w.close()
                await w.wait_closed()
            except Exception:
                pass

    async def keepalive(self, interval_s: int, ticks_ms, sleep_ms=None, timeout_s: int = 0) -> None:
        """Run as a task beside recv(): ping every interval_s (0 disables),
        fail the connection (1006) when a ping stays unanswered."""
        if interval_s <= 0:
            return
        ka = KeepAlive(interval_s * 1000, timeout_s * 1000)
        self._ka = ka
        ka.start(ticks_ms())
        try:
            while not self.closed:
                now = ticks_ms()
                if ka.dead(now):
                    await self._finish(CLOSE_ABNORMAL, "ping timeout")
                    return
                if ka.due(now):
                    try:
                        await self.ping()
                    except (OSError, WSClosed):
                        return
                    ka.sent(now)
                ms = min(ka.wait_ms(ticks_ms()), 1000) or 1
                if sleep_ms is not None:
                    await sleep_ms(ms)
                else:
                    await asyncio.sleep(ms / 1000)
        finally:
            if self._ka is ka:
                self._ka = None

