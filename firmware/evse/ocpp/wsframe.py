# WebSocket frame codec (RFC 6455 5): the synchronous core of the OCPP-J
# link, no I/O (testable byte by byte; imports no socket or asyncio).
#   Encoder   client frames, masked, built in one preallocated bytearray of
#             FRAME_SIZE payload bytes (+ header); the client (evse.ocpp.ws)
#             sends a longer message as fragments (RFC 6455 5.4): a first
#             frame (FIN=0), continuation frames, FIN on the last, each with
#             its own mask
#   Decoder   incremental: feed(bytes) -> consumed count, one event at a time
#             (TEXT/BINARY message, PING, PONG, CLOSE, or ERROR + close code);
#             a message of up to FRAME_SIZE bytes is assembled in one
#             preallocated buffer; a larger one (one big frame, or fragments)
#             in a buffer allocated when its header announces it and dropped
#             once it has been read (release()). Anything larger than
#             max_size is refused from the frame header, before buffering a
#             byte of it (close code 1009)
#   close_payload, the opcodes and close codes, WSError / WSClosed
#   utf8, strict, has_surrogates, clean_text: text on the wire is strict UTF-8
#             both ways (RFC 6455 5.6 / 8.1, RFC 3629); the RPC layer
#             (evse.ocpp.rpc) repairs what a JSON escape put in a string
#
# Memory: the buffers a client keeps are FRAME_SIZE (1 KiB) each way, not
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

import struct
import sys

# Opcodes double as decoder event codes.
OP_CONT = const(0)
OP_TEXT = const(1)
OP_BINARY = const(2)
OP_CLOSE = const(8)
OP_PING = const(9)
OP_PONG = const(10)
ERROR = const(-1)  # decoder event: protocol violation, see Decoder.error

CLOSE_NORMAL = const(1000)
_CLOSE_GOING_AWAY = const(1001)
_CLOSE_PROTOCOL_ERROR = const(1002)
CLOSE_UNSUPPORTED = const(1003)
_CLOSE_NO_STATUS = const(1005)
CLOSE_ABNORMAL = const(1006)
CLOSE_INVALID_DATA = const(1007)
_CLOSE_TOO_BIG = const(1009)

DEFAULT_MAX_SIZE = const(16384)  # largest message, either way (station.max_frame)
FRAME_SIZE = const(1024)         # payload bytes per frame sent; preallocated receive buffer

_EMPTY = memoryview(b"")
_MAX_CTRL = const(125)


_MICROPYTHON = sys.implementation.name == "micropython"


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
_SURROGATE = const(b"\xed")


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



def strict(b, n: int) -> bool:
    """b[:n], bytes the runtime decoded without error, is strict UTF-8
    (CPython's codec is strict already; MicroPython's is not)."""
    return not _MICROPYTHON or _mp_strict(b, n)


class WSError(Exception):
    pass



class WSClosed(WSError):
    """The connection is closed; code = close code (1006: no close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__("closed %d %s" % (code, reason))
        self.code = code
        self.reason = reason


def _valid_close_code(code: int) -> bool:
    # RFC 6455 7.4: codes a peer may send in a close frame.
    return (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999)


# ---------------------------------------------------------------- encoder

class Encoder:
    """Builds masked client frames of up to frame_size payload bytes in one
    preallocated buffer. The returned memoryview is valid until the next
    frame() call. A longer message is sent as fragments (evse.ocpp.ws WSClient._send)."""

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
    if code == _CLOSE_NO_STATUS or code == CLOSE_ABNORMAL:
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
            return self._fail(_CLOSE_TOO_BIG, "no memory for message")
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
                        self._fail(_CLOSE_PROTOCOL_ERROR, "masked server frame")
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
            return self._fail(_CLOSE_PROTOCOL_ERROR, "RSV bits set")
        op = b0 & 0x0F
        fin = bool(b0 & 0x80)
        l7 = hdr[1] & 0x7F
        if l7 == 126:
            plen = (hdr[2] << 8) | hdr[3]
        elif l7 == 127:
            if hdr[2] & 0x80:
                return self._fail(_CLOSE_PROTOCOL_ERROR, "bad length")
            if hdr[2] or hdr[3] or hdr[4] or hdr[5]:
                return self._fail(_CLOSE_TOO_BIG, "frame too large")
            plen = (hdr[6] << 24) | (hdr[7] << 16) | (hdr[8] << 8) | hdr[9]
        else:
            plen = l7
        if op >= OP_CLOSE:
            if op > OP_PONG:
                return self._fail(_CLOSE_PROTOCOL_ERROR, "reserved opcode")
            if not fin or plen > _MAX_CTRL:
                return self._fail(_CLOSE_PROTOCOL_ERROR, "bad control frame")
        elif op == OP_CONT:
            if not self._mop:
                return self._fail(_CLOSE_PROTOCOL_ERROR, "unexpected continuation")
            if self._mlen + plen > self.max_size:
                return self._fail(_CLOSE_TOO_BIG, "message too large")
            if self._room(self._mlen + plen, fin):
                return True
        elif op == OP_TEXT or op == OP_BINARY:
            if self._mop:
                return self._fail(_CLOSE_PROTOCOL_ERROR, "expected continuation")
            if plen > self.max_size:
                return self._fail(_CLOSE_TOO_BIG, "message too large")
            self._mlen = 0
            if self._room(plen, fin):
                return True
            self._mop = op
        else:
            return self._fail(_CLOSE_PROTOCOL_ERROR, "reserved opcode")
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
                    return self._fail(_CLOSE_PROTOCOL_ERROR, "bad close frame")
                if n == 0:
                    self.close_code = _CLOSE_NO_STATUS
                    self.close_reason = ""
                else:
                    code = (self._ctl[0] << 8) | self._ctl[1]
                    if not _valid_close_code(code):
                        return self._fail(_CLOSE_PROTOCOL_ERROR, "bad close code")
                    try:
                        rb = bytes(self._ctl[2:n])
                        self.close_reason = str(rb, "utf-8")
                        if not strict(rb, n - 2):
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

