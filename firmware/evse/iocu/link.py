# MCU -> IOCU command queue. The manual's controller has two processors
# (8.1); here both run on one, but commands from the asynchronous MCU side
# still enter the safety core through one fixed-size queue that the tick
# drains at a defined point (Iocu.tick), in 5-byte frames
#     [socket, cmd, arg_hi, arg_lo, crc8]
# so a real link (UART to a separate IOCU chip) can carry the same frames.
# Preallocated bytearray ring; post() and take() allocate nothing. One
# producer (the MCU side: evse.iocu.port) and one consumer (the IOCU tick,
# which on a board pre-empts the MCU between bytecodes through
# micropython.schedule): the producer writes only _wr and the consumer only
# _rd, so neither can lose the other's update halfway through.
# A full queue drops the frame and counts it in `overflows`; the IOCU tick
# turns a new count into ERR_RX_BUFFER_OVERFLOW (the receiver notices its
# buffer overran, manual 8.5).
# The port holds the link as `port.link`; a test puts a noisy wire in
# between (host_tests/unit/noisy_link.py: flipped bits, lost frames).
# Errors (station scope, warnings): a full queue on post ->
# ERR_RX_BUFFER_OVERFLOW; at dispatch (station.py) a bad CRC ->
# ERR_REQ_CRC_WRONG, a socket id outside 1..n -> ERR_SOCKETID_NOT_ALLOWED,
# an unknown command -> ERR_UNKNOWN_REQ, a test command outside test mode ->
# ERR_TEST_CMD_NOT_ALLOWED.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

FRAME = const(5)

CMD_AUTHORIZE = const(1)      # arg 0/1
CMD_SET_LIMIT = const(2)      # arg deci-amps
CMD_UNLOCK = const(3)
CMD_SET_OPERATIVE = const(4)  # arg 0/1
CMD_CLEAR_ERROR = const(5)
CMD_SET_ERROR = const(6)      # arg ERR_* code
CMD_HEARTBEAT = const(7)      # socket 0
# configuration (evse.iocu.port.configure): three value frames, then APPLY
# with the flags; the IOCU calls Connector.configure() on APPLY
CMD_CFG_MAX = const(8)        # arg MaxCurrentConnection, deci-amps (0xFFFF: invalid)
CMD_CFG_MIN = const(9)        # arg MinCurrentConnection, deci-amps (0xFFFF: invalid)
CMD_CFG_TEMP = const(10)      # arg socket temperature limit, 0.1 degC (0: none)
CMD_CFG_APPLY = const(11)     # arg CFG_* flags
CMD_KEEP_LOCK = const(12)     # arg 0/1
CMD_REPORT = const(13)        # socket 0: push the whole state as events again
CMD_TEST_LED = const(0x40)    # test mode only: arg 0 off, 1 red, 2 green, 3 blue
CMD_TEST_BUZZER = const(0x41)  # test mode only, socket 0: arg 0/1


def crc8(buf, start: int, n: int) -> int:
    """CRC-8, polynomial 0x07 (ATM), init 0."""
    c = 0
    for i in range(start, start + n):
        c ^= buf[i]
        for _ in range(8):
            if c & 0x80:
                c = ((c << 1) ^ 0x07) & 0xFF
            else:
                c = (c << 1) & 0xFF
    return c


# CMD_CFG_APPLY flags
CFG_FLEX = const(1)
CFG_ACTUATOR = const(2)
CFG_THREE_STAGE = const(4)
CFG_INVERSED = const(8)
CFG_SAFETY_RELAY = const(16)
CFG_HELPER_NO = const(32)
CFG_UNLOCK_ON_EV = const(64)
CFG_CCID = const(128)
CFG_VENTILATION = const(256)
INVALID = const(0xFFFF)


class CommandLink:
    def __init__(self, depth: int = 16) -> None:
        self._buf = bytearray(depth * FRAME)
        self._depth = depth
        self._wrap = 2 * depth     # counters run 0..2*depth-1: full != empty
        self._wr = 0               # frames written (producer only)
        self._rd = 0               # frames taken (consumer only)
        self.overflows = 0         # frames dropped because the queue was full

    def __len__(self) -> int:
        n = self._wr - self._rd
        if n < 0:
            n += self._wrap
        return n

    def _slot(self) -> int:
        """Offset of the next free frame, or -1 when full."""
        if len(self) == self._depth:
            self.overflows += 1
            return -1
        i = self._wr
        if i >= self._depth:
            i -= self._depth
        return i * FRAME

    def _commit(self) -> None:
        w = self._wr + 1
        if w == self._wrap:
            w = 0
        self._wr = w

    def post(self, socket: int, cmd: int, arg: int = 0) -> bool:
        o = self._slot()
        if o < 0:
            return False
        b = self._buf
        b[o] = socket & 0xFF
        b[o + 1] = cmd & 0xFF
        b[o + 2] = (arg >> 8) & 0xFF
        b[o + 3] = arg & 0xFF
        b[o + 4] = crc8(b, o, 4)
        self._commit()
        return True

    def post_frame(self, frame) -> bool:
        """A raw 5-byte frame as received from a transport (CRC unchecked)."""
        if len(frame) != FRAME:
            raise ValueError("frame")
        o = self._slot()
        if o < 0:
            return False
        b = self._buf
        for i in range(FRAME):
            b[o + i] = frame[i]
        self._commit()
        return True

    def take(self, out) -> bool:
        """Copy the oldest frame into out (a bytearray(5)); False when empty."""
        r = self._rd
        if r == self._wr:
            return False
        i = r - self._depth if r >= self._depth else r
        o = i * FRAME
        b = self._buf
        for k in range(FRAME):
            out[k] = b[o + k]
        r += 1
        if r == self._wrap:
            r = 0
        self._rd = r
        return True
