# Events from the safety core up to the MCU layer: a preallocated ring of
# packed ints, so that push() and pop() allocate nothing.
#
# An event packs (connector, code, arg):
#   bits 24..28 connector (0 = station, 1..n = OCPP connectorId)
#   bits 16..23 event code (EV_*)
#   bits  0..15 arg (0..65535)
# It stays below 2**29, a small int on every MicroPython port.
#
# Overflow: when the ring is full the new event is dropped and counted; as
# soon as there is room again the ring itself inserts one EV_WARNING
# ERR_TX_BUFFER_OVERFLOW (connector 0) before the next event, so the MCU
# knows it missed something (manual ERR_TX_BUFFER_OVERFLOW) and should
# re-read the connectors' state attributes.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.iocu.errors import ERR_TX_BUFFER_OVERFLOW

EV_PILOT = const(1)          # arg: debounced pilot state (pilot.A..INVALID)
EV_ERROR_SET = const(2)      # arg: ERR_* code now active
EV_ERROR_CLEARED = const(3)  # arg: ERR_* code no longer active
EV_WARNING = const(4)        # arg: ERR_* code of kind PULSE (nothing to clear)
EV_CONTACTOR = const(5)      # arg: 1 closed / 0 open (commanded)
EV_LOCK = const(6)           # arg: 1 locked / 0 unlocked (confirmed)
EV_PLUG = const(7)           # arg: 1 cable present at the socket (PP) / 0
EV_OFFERED = const(8)        # arg: offered current, deci-amps (0 = none)
EV_INPUT = const(9)          # station: arg = n * 2 + level (debounced ext input n)
# state the MCU side mirrors (evse.iocu.port), pushed when it changes
EV_CABLE = const(10)         # arg: PP cable capacity + 1 (0 = none, 1 = bad resistor, else dA + 1)
EV_DUTY = const(11)          # arg: PWM duty, permille (1000 = no PWM, 0 = state F)
EV_SESSION = const(12)       # arg: 1 a latched error ended the session / 0
EV_LOCKST = const(13)        # arg: lock driver state | pos << 2 | (feedback + 1) << 4
EV_RAIL = const(14)          # station: arg = rail * 4 + debounced R_* state
EV_REPORT = const(15)        # the state follows in full (after CMD_REPORT): forget errors
EV_BLOCK = const(16)         # station: arg = the blocking station error (Iocu.error) now

NAMES = ("", "PILOT", "ERROR_SET", "ERROR_CLEARED", "WARNING", "CONTACTOR",
         "LOCK", "PLUG", "OFFERED", "INPUT", "CABLE", "DUTY", "SESSION", "LOCKST",
         "RAIL", "REPORT", "BLOCK")

EMPTY = const(-1)


def pack(conn: int, code: int, arg: int) -> int:
    return ((conn & 0x1F) << 24) | ((code & 0xFF) << 16) | (arg & 0xFFFF)


def ev_conn(e: int) -> int:
    return (e >> 24) & 0x1F


def ev_code(e: int) -> int:
    return (e >> 16) & 0xFF


def ev_arg(e: int) -> int:
    return e & 0xFFFF


class EventRing:
    def __init__(self, size: int = 64) -> None:
        if size < 4:
            raise ValueError("size")
        self._buf = [0] * size
        self._size = size
        self._head = 0   # next write
        self._n = 0
        self.dropped = 0  # events lost since the last overflow warning
        self.total_dropped = 0

    def __len__(self) -> int:
        return self._n

    def _put(self, e: int) -> None:
        self._buf[self._head] = e
        self._head += 1
        if self._head == self._size:
            self._head = 0
        self._n += 1

    def push(self, conn: int, code: int, arg: int) -> bool:
        if self.dropped:
            if self._n + 2 <= self._size:
                self._put(pack(0, EV_WARNING, ERR_TX_BUFFER_OVERFLOW))
                self.dropped = 0
            else:
                self.dropped += 1
                self.total_dropped += 1
                return False
        if self._n == self._size:
            self.dropped += 1
            self.total_dropped += 1
            return False
        self._put(pack(conn, code, arg))
        return True

    def pop(self) -> int:
        """Oldest packed event, or EMPTY (-1)."""
        if self._n == 0:
            if self.dropped:  # room now: report the loss
                self._put(pack(0, EV_WARNING, ERR_TX_BUFFER_OVERFLOW))
                self.dropped = 0
            else:
                return EMPTY
        i = self._head - self._n
        if i < 0:
            i += self._size
        self._n -= 1
        return self._buf[i]

    def pop_into(self, out) -> bool:
        """Unpack the oldest event into out[0..2] = conn, code, arg
        (a caller-provided list or array). False when empty."""
        e = self.pop()
        if e < 0:
            return False
        out[0] = (e >> 24) & 0x1F
        out[1] = (e >> 16) & 0xFF
        out[2] = e & 0xFFFF
        return True

    def clear(self) -> None:
        self._n = 0
        self.dropped = 0
