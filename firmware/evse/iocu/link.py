# MCU -> IOCU command queue. The manual's controller has two processors
# (8.1); here both run on one, but commands from the asynchronous MCU side
# still enter the safety core through one fixed-size queue that the tick
# drains at a defined point (Iocu.tick), in 5-byte frames
#     [socket, cmd, arg_hi, arg_lo, crc8]
# so a real link (UART to a separate IOCU chip) can carry the same frames.
# Preallocated bytearray ring; post() and take() allocate nothing.
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


class CommandLink:
    def __init__(self, depth: int = 16) -> None:
        self._buf = bytearray(depth * FRAME)
        self._depth = depth
        self._head = 0
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def _slot(self) -> int:
        """Offset of the next free frame, or -1 when full."""
        if self._n == self._depth:
            return -1
        i = self._head + self._n
        if i >= self._depth:
            i -= self._depth
        return i * FRAME

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
        self._n += 1
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
        self._n += 1
        return True

    def take(self, out) -> bool:
        """Copy the oldest frame into out (a bytearray(5)); False when empty."""
        if self._n == 0:
            return False
        o = self._head * FRAME
        b = self._buf
        for i in range(FRAME):
            out[i] = b[o + i]
        self._head += 1
        if self._head == self._depth:
            self._head = 0
        self._n -= 1
        return True
