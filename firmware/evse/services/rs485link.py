# Framing of the RS485 link between two coupled controllers (manual 4.4
# RFIDMasterSlaveEnabled / RFIDMasterSlaveID; docs/rs485-master-slave.md).
#
# One frame, bytes on the wire:
#
#   0x7E  ADDR  LEN  PAYLOAD[LEN]  CRC_LO  CRC_HI
#
#   0x7E     start of frame (SOF). Never a valid start of anything else we
#            send; a Modbus RTU device on the same bus sees it as slave
#            address 126, which must not be assigned (see "bus sharing").
#   ADDR     link address of the slave unit the exchange is with (1..0x7F);
#            bit 7 set = a reply (slave -> master), clear = a request
#            (master -> slave). A node that hears its own transmission
#            echoed (half-duplex transceiver with RE tied low) drops it by
#            that bit.
#   LEN      payload length, 0..MAX_PAYLOAD. A larger LEN is "oversize": the
#            candidate is dropped and counted.
#   CRC      CRC-16/MODBUS (reflected 0x8005 = 0xA001, init 0xFFFF, no final
#            xor) over SOF..PAYLOAD, low byte first: the Modbus RTU CRC.
#
# Receiving: Decoder.feed() takes any chunking (byte by byte, several frames
# at once, garbage in between). It hunts for SOF; a candidate that fails
# (oversize LEN, bad CRC, or no byte for GAP_MS while incomplete: expire())
# is dropped, counted, and the bytes after its SOF are scanned again, so a
# real frame hidden inside garbage (or inside a truncated frame) is still
# found. Complete frames go to on_frame(addr, payload, n): `payload` is a
# memoryview over the decoder's own buffer, valid during the call only.
#
# Sending: write the payload at buf[HEADER:], then frame_into(buf, addr, n)
# adds SOF, ADDR, LEN and the CRC in place and returns the frame length. No
# allocation on either path; encode() is the allocating convenience for
# tests and tools.
#
# Bus sharing: a Modbus RTU master (energy meters, --modbus) may later use
# the same bus. Modbus RTU frames start with the device address after 3.5
# character times of silence; our frames start with 0x7E (address 126), so
# Modbus devices ignore them as long as none is configured at 126, and our
# Decoder ignores Modbus traffic (no SOF; a stray 0x7E inside it makes a
# candidate that fails ADDR/LEN/CRC and is counted in crc_errors/oversize).
# Both protocols are master-driven: on one node they must take turns (one
# exchange in flight on the bus at a time; MasterLink.busy() says when).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ticks import ticks_diff

SOF = const(0x7E)
REPLY = const(0x80)          # ADDR bit 7: slave -> master
HEADER = const(3)            # SOF ADDR LEN
OVERHEAD = const(5)          # HEADER + CRC
MAX_PAYLOAD = const(200)     # a STATUS of two connectors with 40-byte tags fits
MAX_FRAME = const(205)       # MAX_PAYLOAD + OVERHEAD
GAP_MS = const(100)          # an incomplete frame older than this is dropped

# decoder states
_HUNT = const(0)
_ADDR = const(1)
_LEN = const(2)
_DATA = const(3)
_CRC1 = const(4)
_CRC2 = const(5)
# _step results
_MORE = const(0)
_DONE = const(1)
_BAD = const(2)


# CRC-16/MODBUS (table-driven, no allocation): shared with the Modbus master,
# since both protocols may share one RS485 bus
from evse.metering.rtu import crc16  # noqa: E402


def frame_into(buf, addr: int, n: int) -> int:
    """buf[HEADER:HEADER+n] holds the payload: write SOF, ADDR, LEN before it
    and the CRC after it. Returns the frame length (n + OVERHEAD)."""
    if not (0 <= n <= MAX_PAYLOAD):
        raise ValueError("payload too long")
    buf[0] = SOF
    buf[1] = addr & 0xFF
    buf[2] = n
    end = HEADER + n
    c = crc16(buf, 0, end)
    buf[end] = c & 0xFF
    buf[end + 1] = c >> 8
    return end + 2


def encode(addr: int, payload) -> bytes:
    """One frame as bytes (allocates: for tests and tools)."""
    buf = bytearray(len(payload) + OVERHEAD)
    buf[HEADER:HEADER + len(payload)] = payload
    frame_into(buf, addr, len(payload))
    return bytes(buf)


class Decoder:
    """Byte stream -> frames. Counters: frames, crc_errors, oversize,
    dropped_partial (expired incomplete frames), garbage (bytes skipped
    while hunting for SOF)."""

    def __init__(self, on_frame, max_payload: int = MAX_PAYLOAD) -> None:
        self.on_frame = on_frame
        self.max_payload = max_payload
        self._buf = bytearray(max_payload + OVERHEAD)
        self._payload = memoryview(self._buf)[HEADER:]
        self._state = _HUNT
        self._pos = 0
        self._len = 0
        self._last = 0               # ticks of the last byte of a candidate
        self.frames = 0
        self.crc_errors = 0
        self.oversize = 0
        self.dropped_partial = 0
        self.garbage = 0

    def reset(self) -> None:
        self._state = _HUNT
        self._pos = 0

    def partial(self) -> bool:
        """True while an incomplete frame is being received."""
        return self._state != _HUNT

    def feed(self, data, n: int = -1, now: int = 0) -> None:
        """Take data[0:n] (n -1 = all of it); `now` (ticks) dates the bytes
        for expire()."""
        if n < 0:
            n = len(data)
        i = 0
        while i < n:
            r = self._step(data[i])
            i += 1
            if r == _DONE:
                self._deliver()
            elif r == _BAD:
                self._resync(self._pos)
        if self._state != _HUNT:
            self._last = now

    def expire(self, now: int) -> bool:
        """Drop an incomplete frame whose last byte came GAP_MS or more
        before `now` (the sender stopped mid-frame). True if one was."""
        if self._state == _HUNT:
            return False
        if ticks_diff(now, self._last) < GAP_MS:
            return False
        self.dropped_partial += 1
        self._resync(self._pos)
        return True

    def gap_deadline_ms(self, now: int) -> int:
        """ms until expire() would drop the current partial frame, -1 if none."""
        if self._state == _HUNT:
            return -1
        return max(0, GAP_MS - ticks_diff(now, self._last))

    # ---- internals ---------------------------------------------------------------------
    def _step(self, b: int) -> int:
        st = self._state
        if st == _HUNT:
            if b == SOF:
                self._buf[0] = b
                self._pos = 1
                self._state = _ADDR
            else:
                self.garbage += 1
            return _MORE
        buf = self._buf
        pos = self._pos
        buf[pos] = b
        self._pos = pos + 1
        if st == _ADDR:
            if b == SOF or (b & 0x7F) == 0:
                # 0 is no link address; a second SOF restarts the frame
                self.crc_errors += 1
                return _BAD
            self._state = _LEN
        elif st == _LEN:
            if b > self.max_payload:
                self.oversize += 1
                return _BAD
            self._len = b
            self._state = _DATA if b else _CRC1
        elif st == _DATA:
            if pos + 1 >= HEADER + self._len:
                self._state = _CRC1
        elif st == _CRC1:
            self._state = _CRC2
        else:  # _CRC2
            end = HEADER + self._len
            c = crc16(buf, 0, end)
            if buf[end] != (c & 0xFF) or b != (c >> 8):
                self.crc_errors += 1
                return _BAD
            return _DONE
        return _MORE

    def _deliver(self) -> None:
        self.frames += 1
        self._state = _HUNT
        self._pos = 0
        self.on_frame(self._buf[1], self._payload, self._len)

    def _resync(self, m: int) -> None:
        """buf[0:m] is a rejected candidate: scan buf[1:m] again for a frame
        (its bytes may hold the SOF of a real one). Copies move data towards
        the start of the buffer only, so nothing is overwritten unread."""
        buf = self._buf
        start = 1
        while True:
            while start < m and buf[start] != SOF:
                self.garbage += 1
                start += 1
            self._state = _HUNT
            self._pos = 0
            if start >= m:
                return
            m -= start
            for k in range(m):
                buf[k] = buf[start + k]
            self._state = _ADDR
            self._pos = 1
            i = 1
            r = _MORE
            while i < m:
                r = self._step(buf[i])    # writes buf[pos] with pos == i
                i += 1
                if r != _MORE:
                    break
            if r == _BAD:
                start = 1                  # rescan buf[1:m]: all after this SOF
                continue
            if r == _DONE:
                self._deliver()
                start = i                  # the rest: buf[i:m]
                if start >= m:
                    return
                # shift happens at the top of the loop; buf[start] may be SOF
                continue
            return                         # incomplete: live bytes continue it
