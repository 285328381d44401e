# WebSocket client (RFC 6455) for the OCPP-J link to the Central System.
#
# Synchronous core (no I/O, testable byte by byte):
#   Encoder   client frames, masked, built in one preallocated bytearray of
#             FRAME_SIZE payload bytes (+ header); WSClient sends a longer
#             message as fragments (RFC 6455 5.4): a first frame (FIN=0),
#             continuation frames, FIN on the last, each with its own mask
#   Decoder   incremental: feed(bytes) -> consumed count, one event at a time
#             (TEXT/BINARY message, PING, PONG, CLOSE, or ERROR + close code);
#             a message of up to FRAME_SIZE bytes is assembled in one
#             preallocated buffer; a larger one (one big frame, or fragments)
#             in a buffer allocated when its header announces it and dropped
#             once it has been read (release()). Anything larger than
#             max_size is refused from the frame header, before buffering a
#             byte of it (close code 1009)
#   accept_key, handshake_request, check_handshake, parse_url, build_url,
#   Backoff (reconnect delays), KeepAlive (WebSocketPingInterval)
# Thin async shell: WSClient (connect / send_text / recv / ping / close /
# keepalive) over the HAL's Net.open_connection streams.
#
# Memory: the buffers a client keeps are FRAME_SIZE (2 KiB) each way, not
# max_size (16 KiB): a 16 KiB block may be missing from a board's heap
# after hours of uptime, and two of them were most of a station's data.
#
# OCPP-J only uses text messages; a binary message fails the connection with
# 1003. No extensions are negotiated, so RSV bits fail it with 1002.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

import binascii
import struct
import sys

# asyncio is imported on first use, not at import time: the synchronous core
# must load where the frozen asyncio is not on sys.path (MICROPYPATH set
# without ".frozen", as in the unit test runner).
def _aio():
    try:
        import asyncio
    except ImportError:  # MicroPython before 1.21
        import uasyncio as asyncio  # type: ignore[no-redef]
    return asyncio

try:
    import hashlib
    _sha1 = hashlib.sha1

    def sha1(data: bytes) -> bytes:
        return _sha1(data).digest()
except (ImportError, AttributeError):  # builds without SSL have no sha1
    from evse.ocpp.sha1 import sha1  # type: ignore[assignment]

try:
    from random import getrandbits as _getrandbits
except ImportError:  # pragma: no cover
    _getrandbits = None  # type: ignore[assignment]

from evse.ticks import ticks_add, ticks_diff

TYPE_CHECKING = False  # mypy reads it as True; no typing module at run time
if TYPE_CHECKING:
    from asyncio import StreamReader, StreamWriter

# Opcodes double as decoder event codes.
OP_CONT = const(0)
OP_TEXT = const(1)
OP_BINARY = const(2)
OP_CLOSE = const(8)
OP_PING = const(9)
OP_PONG = const(10)
ERROR = const(-1)  # decoder event: protocol violation, see Decoder.error

CLOSE_NORMAL = const(1000)
CLOSE_GOING_AWAY = const(1001)
CLOSE_PROTOCOL_ERROR = const(1002)
CLOSE_UNSUPPORTED = const(1003)
CLOSE_NO_STATUS = const(1005)
CLOSE_ABNORMAL = const(1006)
CLOSE_INVALID_DATA = const(1007)
CLOSE_TOO_BIG = const(1009)

DEFAULT_MAX_SIZE = const(16384)  # largest message, either way (station.max_frame)
FRAME_SIZE = const(2048)         # payload bytes per frame sent; preallocated receive buffer
SUBPROTOCOL = "ocpp1.6"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_EMPTY = memoryview(b"")
_MAX_CTRL = const(125)
_MAX_HEADER_BYTES = const(8192)
_READ_SIZE = const(2048)
_LINGER_S = const(2)  # after failing the connection, wait this long for the server's FIN
# CPython's transports may keep a reference to the buffer passed to write()
# (the SSL transport does); MicroPython's StreamWriter copies or sends at once.
_MICROPYTHON = sys.implementation.name == "micropython"
_COPY_WRITES = not _MICROPYTHON


# ---------------------------------------------------------------- UTF-8
#
# Text on the wire is strict UTF-8 (RFC 6455 5.6 / 8.1, RFC 3629): no
# surrogates U+D800..U+DFFF, no overlong forms, nothing above U+10FFFF.
# CPython's codec is strict both ways (str.encode raises on a lone
# surrogate). MicroPython's only checks the byte structure: it accepts
# overlong forms, encoded surrogates and leads F5-F7, and its json.loads
# turns each \uXXXX escape into its own code point - a surrogate pair
# "\ud834\udd1e" becomes two surrogates, encoded as 6 bytes of invalid UTF-8
# that a Central System rightly refuses (1007) - so these checks are ours.
_SURROGATE = b"\xed"


def _mp_strict(b, n: int) -> bool:
    """MicroPython: b[:n] (bytes/bytearray whose structure MicroPython has
    already accepted) has none of the forms its codec lets through. Lead
    bytes only occur as leads in valid structure, so C-speed find suffices."""
    for lead in (b"\xc0", b"\xc1", b"\xf5", b"\xf6", b"\xf7"):
        if b.find(lead, 0, n) >= 0:
            return False
    # (lead, lowest and highest allowed second byte)
    for lead, lo, hi in ((b"\xe0", 0xA0, 0xBF), (_SURROGATE, 0x80, 0x9F),
                         (b"\xf0", 0x90, 0xBF), (b"\xf4", 0x80, 0x8F)):
        i = b.find(lead, 0, n)
        while i >= 0:
            c = b[i + 1] if i + 1 < n else 0
            if c < lo or c > hi:
                return False
            i = b.find(lead, i + 1, n)
    return True


def utf8(text: str) -> bytes:
    """text encoded as strict UTF-8. Surrogate pairs become the character
    they encode; a lone surrogate (or anything else not a Unicode scalar
    value) becomes U+FFFD. Outgoing text goes through here, so whatever a
    string picked up (a JSON escape, a runtime's lax codec) the Central
    System gets valid UTF-8."""
    try:
        b = text.encode()
    except UnicodeError:        # CPython: a lone surrogate
        return clean_text(text)[0].encode()
    if _MICROPYTHON and not _mp_strict(b, len(b)):
        return clean_text(text)[0].encode()
    return b


def has_surrogates(text: str) -> bool:
    """text holds a surrogate code point (MicroPython: also a pair)."""
    if not _MICROPYTHON:
        try:
            text.encode()
            return False
        except UnicodeError:
            return True
    b = text.encode()
    n = len(b)
    i = b.find(_SURROGATE)
    while i >= 0:
        if i + 1 < n and b[i + 1] >= 0xA0:
            return True
        i = b.find(_SURROGATE, i + 1)
    return False


def clean_text(text: str) -> tuple:
    """-> (text with every surrogate pair joined into the character it
    encodes and every other non-scalar code point replaced by U+FFFD,
    number of replacements)."""
    out = []
    bad = 0
    hi = 0                      # a high surrogate waiting for its low half
    for ch in text:
        c = ord(ch)
        if 0xDC00 <= c <= 0xDFFF and hi:
            out.append(chr(0x10000 + ((hi - 0xD800) << 10) + (c - 0xDC00)))
            hi = 0
            continue
        if hi:
            out.append("\ufffd")
            bad += 1
            hi = 0
        if 0xD800 <= c <= 0xDBFF:
            hi = c
        elif 0xDC00 <= c <= 0xDFFF or c > 0x10FFFF:
            out.append("\ufffd")
            bad += 1
        else:
            # chr(): one canonical encoding (MicroPython may hold an
            # overlong form it read from bytes)
            out.append(ch if c < 0x80 else chr(c))
    if hi:
        out.append("\ufffd")
        bad += 1
    return "".join(out), bad


class WSError(Exception):
    pass


class WSHandshakeError(WSError):
    """Opening handshake failed. status = HTTP status (0 when none)."""

    def __init__(self, msg: str, status: int = 0) -> None:
        super().__init__(msg)
        self.status = status


class WSClosed(WSError):
    """The connection is closed; code = close code (1006: no close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__("closed %d %s" % (code, reason))
        self.code = code
        self.reason = reason


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data)[:-1].decode()


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    return _b64(sha1((key + GUID).encode()))


def _valid_close_code(code: int) -> bool:
    # RFC 6455 7.4: codes a peer may send in a close frame.
    return (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999)


# ---------------------------------------------------------------- encoder

class Encoder:
    """Builds masked client frames of up to frame_size payload bytes in one
    preallocated buffer. The returned memoryview is valid until the next
    frame() call. A longer message is sent as fragments (WSClient._send)."""

    def __init__(self, frame_size: int = FRAME_SIZE) -> None:
        self.frame_size = frame_size
        self._buf = bytearray(frame_size + 14)
        self._mv = memoryview(self._buf)

    def frame(self, opcode: int, payload, mask: int, fin: bool = True) -> memoryview:
        """opcode, payload (bytes-like), mask = 32-bit masking key."""
        n = len(payload)
        if n > self.frame_size or (opcode >= OP_CLOSE and n > _MAX_CTRL):
            raise ValueError("frame too large")
        b = self._buf
        b[0] = (0x80 if fin else 0) | opcode
        if n < 126:
            b[1] = 0x80 | n
            off = 2
        elif n < 65536:
            b[1] = 0x80 | 126
            b[2] = n >> 8
            b[3] = n & 0xFF
            off = 4
        else:
            b[1] = 0x80 | 127
            struct.pack_into(">II", b, 2, 0, n)
            off = 10
        m0 = (mask >> 24) & 0xFF
        m1 = (mask >> 16) & 0xFF
        m2 = (mask >> 8) & 0xFF
        m3 = mask & 0xFF
        b[off] = m0
        b[off + 1] = m1
        b[off + 2] = m2
        b[off + 3] = m3
        off += 4
        i = 0
        # four bytes per round: the mask repeats with period 4
        while i + 4 <= n:
            b[off + i] = payload[i] ^ m0
            b[off + i + 1] = payload[i + 1] ^ m1
            b[off + i + 2] = payload[i + 2] ^ m2
            b[off + i + 3] = payload[i + 3] ^ m3
            i += 4
        while i < n:
            b[off + i] = payload[i] ^ b[off - 4 + (i & 3)]
            i += 1
        return self._mv[:off + n]


def close_payload(code: int, reason: str = "") -> bytes:
    if code == CLOSE_NO_STATUS or code == CLOSE_ABNORMAL:
        return b""  # reserved codes, never sent on the wire
    r = utf8(reason)
    n = len(r)
    if n > 123:
        n = 123
        while n and (r[n] & 0xC0) == 0x80:  # never cut a character in two
            n -= 1
    return struct.pack(">H", code) + r[:n]


# ---------------------------------------------------------------- decoder

class Decoder:
    """Incremental frame decoder for server-to-client frames.

    feed(data) consumes bytes until one event completes (or the data ends)
    and returns the number consumed; then `event` is 0 (need more bytes) or
    OP_TEXT / OP_BINARY (a whole message), OP_PING / OP_PONG / OP_CLOSE, or
    ERROR. `payload` is a memoryview into an internal buffer, valid until the
    next feed() or release() (empty when there is no payload or no event);
    for a message, `msgbuf` is the bytearray it views (payload = msgbuf[:n]).
    For OP_CLOSE, close_code / close_reason are set (1005 when the frame had
    no code). After ERROR, `error` holds the close code to fail the
    connection with (1002, 1007, 1009) and `reason` a short text; the
    decoder then consumes nothing more.

    Buffers: a message of up to frame_size bytes is assembled in a buffer
    allocated once; a larger one (up to max_size) in one allocated when a
    frame header announces it: the exact size for a single frame or the
    last fragment, doubling for the fragments before. It is dropped at the
    next feed() or at release(). No memory for it: ERROR 1009."""

    def __init__(self, max_size: int = DEFAULT_MAX_SIZE, frame_size: int = FRAME_SIZE) -> None:
        self.max_size = max_size
        self._small = bytearray(min(frame_size, max_size))
        self._smv = memoryview(self._small)
        self._ctl = memoryview(bytearray(_MAX_CTRL))
        self._hdr = bytearray(14)
        self.reset()

    def reset(self) -> None:
        self._hn = 0          # header bytes collected
        self._hneed = 2       # header bytes needed (2, 4, 10; +0: no mask)
        self._in_payload = False
        self._op = 0
        self._fin = False
        self._plen = 0        # current frame payload length
        self._pgot = 0
        self._mop = 0         # opcode of the message being assembled, 0 = none
        self._mlen = 0        # bytes of that message so far
        self.event = 0
        self.error = 0
        self.reason = ""
        self.close_code = 0
        self.close_reason = ""
        self.release()

    def release(self) -> None:
        """Drop the last message (and its buffer, when it was allocated for
        it). Between messages only; the shell calls it once it has the text."""
        self.payload = _EMPTY
        if not self._mop:
            self.msgbuf = self._small   # the bytearray the message is assembled in
            self._msg = self._smv

    def _room(self, need: int, last: bool) -> bool:
        """The message buffer holds `need` bytes. True when an ERROR event
        was raised (no memory)."""
        cur = self.msgbuf
        if need <= len(cur):
            return False
        size = need
        if not last:
            size = max(need, min(2 * len(cur), self.max_size))
        try:
            nb = bytearray(size)
        except MemoryError:
            return self._fail(CLOSE_TOO_BIG, "no memory for message")
        mv = memoryview(nb)
        if self._mlen:
            mv[0:self._mlen] = self._msg[0:self._mlen]
        self.msgbuf = nb
        self._msg = mv
        return False

    def _fail(self, code: int, reason: str) -> bool:
        self.error = code
        self.reason = reason
        self.event = ERROR
        return True

    def feed(self, data) -> int:
        self.event = 0
        self.release()
        if self.error:
            return 0
        n = len(data)
        i = 0
        hdr = self._hdr
        while i < n:
            if not self._in_payload:
                take = self._hneed - self._hn
                if take > n - i:
                    take = n - i
                hdr[self._hn:self._hn + take] = data[i:i + take]
                self._hn += take
                i += take
                if self._hn < self._hneed:
                    break
                if self._hneed == 2:
                    if hdr[1] & 0x80:
                        self._fail(CLOSE_PROTOCOL_ERROR, "masked server frame")
                        return i
                    l7 = hdr[1] & 0x7F
                    if l7 >= 126:
                        self._hneed = 4 if l7 == 126 else 10
                        continue
                if self._start():
                    return i
                if self._plen == 0 and self._end():
                    return i
                continue
            take = self._plen - self._pgot
            if take > n - i:
                take = n - i
            if self._op >= OP_CLOSE:
                self._ctl[self._pgot:self._pgot + take] = data[i:i + take]
            else:
                o = self._mlen + self._pgot
                self._msg[o:o + take] = data[i:i + take]
            self._pgot += take
            i += take
            if self._pgot == self._plen and self._end():
                return i
        return i

    def _start(self) -> bool:
        """Header complete: check it. True when an ERROR event was raised."""
        hdr = self._hdr
        b0 = hdr[0]
        self._hn = 0
        self._hneed = 2
        if b0 & 0x70:
            return self._fail(CLOSE_PROTOCOL_ERROR, "RSV bits set")
        op = b0 & 0x0F
        fin = bool(b0 & 0x80)
        l7 = hdr[1] & 0x7F
        if l7 == 126:
            plen = (hdr[2] << 8) | hdr[3]
        elif l7 == 127:
            if hdr[2] & 0x80:
                return self._fail(CLOSE_PROTOCOL_ERROR, "bad length")
            if hdr[2] or hdr[3] or hdr[4] or hdr[5]:
                return self._fail(CLOSE_TOO_BIG, "frame too large")
            plen = (hdr[6] << 24) | (hdr[7] << 16) | (hdr[8] << 8) | hdr[9]
        else:
            plen = l7
        if op >= OP_CLOSE:
            if op > OP_PONG:
                return self._fail(CLOSE_PROTOCOL_ERROR, "reserved opcode")
            if not fin or plen > _MAX_CTRL:
                return self._fail(CLOSE_PROTOCOL_ERROR, "bad control frame")
        elif op == OP_CONT:
            if not self._mop:
                return self._fail(CLOSE_PROTOCOL_ERROR, "unexpected continuation")
            if self._mlen + plen > self.max_size:
                return self._fail(CLOSE_TOO_BIG, "message too large")
            if self._room(self._mlen + plen, fin):
                return True
        elif op == OP_TEXT or op == OP_BINARY:
            if self._mop:
                return self._fail(CLOSE_PROTOCOL_ERROR, "expected continuation")
            if plen > self.max_size:
                return self._fail(CLOSE_TOO_BIG, "message too large")
            self._mlen = 0
            if self._room(plen, fin):
                return True
            self._mop = op
        else:
            return self._fail(CLOSE_PROTOCOL_ERROR, "reserved opcode")
        self._op = op
        self._fin = fin
        self._plen = plen
        self._pgot = 0
        self._in_payload = True
        return False

    def _end(self) -> bool:
        """Frame payload complete. True when an event is ready."""
        self._in_payload = False
        op = self._op
        n = self._plen
        if op >= OP_CLOSE:
            self.payload = self._ctl[:n]
            if op == OP_CLOSE:
                if n == 1:
                    return self._fail(CLOSE_PROTOCOL_ERROR, "bad close frame")
                if n == 0:
                    self.close_code = CLOSE_NO_STATUS
                    self.close_reason = ""
                else:
                    code = (self._ctl[0] << 8) | self._ctl[1]
                    if not _valid_close_code(code):
                        return self._fail(CLOSE_PROTOCOL_ERROR, "bad close code")
                    try:
                        rb = bytes(self._ctl[2:n])
                        self.close_reason = str(rb, "utf-8")
                        if _MICROPYTHON and not _mp_strict(rb, n - 2):
                            raise UnicodeError()
                    except UnicodeError:
                        return self._fail(CLOSE_INVALID_DATA, "bad close reason")
                    self.close_code = code
            self.event = op
            return True
        self._mlen += n
        if not self._fin:
            return False
        self.event = self._mop
        self.payload = self._msg[:self._mlen]
        self._mop = 0
        return True


# ---------------------------------------------------------------- URLs

def parse_url(url: str) -> tuple:
    """'ws[s]://host[:port][/path]' -> (secure, host, port, path)."""
    i = url.find("://")
    if i < 0:
        raise ValueError("not a ws:// or wss:// URL")
    scheme = url[:i].lower()
    if scheme == "ws":
        secure = False
    elif scheme == "wss":
        secure = True
    else:
        raise ValueError("not a ws:// or wss:// URL")
    rest = url[i + 3:]
    j = rest.find("/")
    hostport = rest if j < 0 else rest[:j]
    path = "/" if j < 0 else rest[j:]
    if "@" in hostport:
        raise ValueError("credentials in URL")
    port = 443 if secure else 80
    if hostport.startswith("["):  # IPv6 literal
        k = hostport.find("]")
        if k < 0:
            raise ValueError("bad host")
        host = hostport[1:k]
        tail = hostport[k + 1:]
        if tail:
            if not tail.startswith(":"):
                raise ValueError("bad host")
            port = _port(tail[1:])
    else:
        k = hostport.find(":")
        host = hostport if k < 0 else hostport[:k]
        if k >= 0:
            port = _port(hostport[k + 1:])
    if not host:
        raise ValueError("no host")
    return secure, host, port, path


def _port(s: str) -> int:
    if not s or not s.isdigit():
        raise ValueError("bad port")
    p = int(s)
    if not 0 < p < 65536:
        raise ValueError("bad port")
    return p


_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def quote(s: str) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters."""
    out = []
    for ch in s:
        if ch in _UNRESERVED:
            out.append(ch)
        else:
            for byte in ch.encode():
                out.append("%%%02X" % byte)
    return "".join(out)


def build_url(besurl: str, port: int, path: str, node_id: str, secure: bool) -> str:
    """OCPP-J connection URL (OCPP-J 3.1.1) from the manual's keys:
    BESURL (host, optionally with scheme, port and base path), BESPortnumber
    (used unless BESURL names a port; 0 = scheme default), BESPath (joined
    under BESURL's path), NodeId (percent-encoded, last path segment) and
    UseWebsocketSecure (picks wss when BESURL has no scheme; an explicit
    scheme in BESURL wins). A BESPath that is itself a ws:// or wss:// URL
    (the manual's UseWebsocketSecure text suggests putting the wss address
    there) replaces BESURL."""
    if not node_id:
        raise ValueError("empty NodeId")
    base = besurl.strip()
    extra = (path or "").strip()
    if "://" in extra:
        base = extra
        extra = ""
    if "://" not in base:
        base = ("wss://" if secure else "ws://") + base.lstrip("/")
    sec, host, p, bpath = parse_url(base)
    i = base.find("://") + 3
    j = base.find("/", i)
    hostport = base[i:] if j < 0 else base[i:j]
    named = ("]:" in hostport) if hostport.startswith("[") else (":" in hostport)
    if port and not named:
        p = port
    segs = [s for s in (bpath + "/" + extra).split("/") if s]
    segs.append(quote(node_id))
    h = "[" + host + "]" if ":" in host else host
    scheme = "wss" if sec else "ws"
    if p != (443 if sec else 80):
        h = "%s:%d" % (h, p)
    return "%s://%s/%s" % (scheme, h, "/".join(segs))


# ---------------------------------------------------------------- handshake

def handshake_request(host: str, port: int, path: str, key: str, secure: bool = False,
                      subprotocol: str = SUBPROTOCOL, basic_auth=None) -> bytes:
    h = "[" + host + "]" if ":" in host else host
    if port != (443 if secure else 80):
        h = "%s:%d" % (h, port)
    lines = [
        "GET %s HTTP/1.1" % path,
        "Host: " + h,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: " + key,
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: " + subprotocol,
    ]
    if basic_auth is not None:
        user, pw = basic_auth
        cred = user.encode() + b":" + (pw if type(pw) is bytes else pw.encode())
        lines.append("Authorization: Basic " + _b64(cred))
    lines.append("\r\n")
    return "\r\n".join(lines).encode()


def check_handshake(status_line: str, headers: dict, key: str,
                    subprotocol: str = SUBPROTOCOL) -> None:
    """Raise WSHandshakeError unless the server's answer completes the
    handshake for `key` with `subprotocol`. headers: lower-case names."""
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise WSHandshakeError("bad HTTP status line")
    status = int(parts[1])
    if status != 101:
        what = {401: "unauthorized (basic auth rejected)",
                403: "forbidden",
                404: "unknown charge point id"}.get(status, parts[2].strip() if len(parts) > 2 else "")
        raise WSHandshakeError("HTTP %d %s" % (status, what), status)
    if headers.get("upgrade", "").lower() != "websocket":
        raise WSHandshakeError("no Upgrade: websocket", status)
    if "upgrade" not in [t.strip() for t in headers.get("connection", "").lower().split(",")]:
        raise WSHandshakeError("no Connection: Upgrade", status)
    if headers.get("sec-websocket-accept", "") != accept_key(key):
        raise WSHandshakeError("bad Sec-WebSocket-Accept", status)
    if headers.get("sec-websocket-extensions"):
        raise WSHandshakeError("unrequested extension", status)
    proto = headers.get("sec-websocket-protocol")
    if proto is None:
        raise WSHandshakeError("server refused subprotocol " + subprotocol, status)
    if proto.strip() != subprotocol:
        raise WSHandshakeError("server selected subprotocol %s, not %s" % (proto, subprotocol), status)


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
        aio = _aio()
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
        aio = _aio()
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
        key = _b64(struct.pack(">IIII", r(32), r(32), r(32), r(32)))
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
            if total > _MAX_HEADER_BYTES:
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
        if len(raw) > _MAX_HEADER_BYTES:
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
                    ok = not _MICROPYTHON or _mp_strict(dec.msgbuf, len(dec.payload))
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
            await _aio().wait_for(self._drop_input(), _LINGER_S)
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
        aio = _aio()
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
                    await _aio().sleep(ms / 1000)
        finally:
            if self._ka is ka:
                self._ka = None
