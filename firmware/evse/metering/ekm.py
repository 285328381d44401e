# MeterType 10: EKM Omnimeter Pulse UL v.4 in EKM's own serial protocol
# (not Modbus), the second protocol driver beside the Modbus RTU master
# (evse.metering.rtu). Loaded only for MeterType 10 on a port.
#
# The protocol (docs/metering.md, "EKM v.4 protocol"; facts from EKM's own
# client library ekmmeters.py - SerialPort.initPort, V4Meter.requestA,
# initFormatA, calc_crc16, crcMeterRead, serialPostEnd - and the
# independent ekm-omnimeter Ruby gem):
#
#   line       9600 baud, 7 data bits, even parity, 1 stop bit (7E1: the
#              board's UART is set so; 10 bits per character)
#   request A  "/?" + the 12-digit meter number + "00!" CR LF (19 bytes)
#   reply      255 bytes: 0x02, model (2), firmware (1), meter number (12),
#              then ASCII decimal fields at fixed offsets (OFF_* below),
#              request type "00", 4 reserved, CRC (2)
#   CRC        CRC-16 with EKM's table (the same table as Modbus: reflected
#              0xA001), init 0xFFFF, over reply[1:253]; the result is
#              byte-swapped and masked with 0x7F7F (7-bit characters): on
#              the wire reply[253] = crc & 0x7F, reply[254] = (crc >> 8) & 0x7F
#              of the plain CRC-16 (ekmmeters compares the two bytes, high
#              first, with "%04x" of the swapped, masked value)
#   close      01 42 30 03 75 (SOH "B0" ETX + check) after a read: the
#              meter answers nothing
#
# Fields read (ekmmeters initFormatA): kWh_Tot (8 digits, divided by
# 10^kWh_Scale, the 1-digit field at OFF_SCALE: 0, 1 or 2), RMS_Volts_Ln_1..3
# (4 digits, 0.1 V), Amps_Ln_1..3 (5 digits, 0.1 A), RMS_Watts_Tot (7 digits,
# W, unsigned: the direction is in State_Watts_Dir, not used - the station
# imports), Line_Freq (4 digits, 0.01 Hz). Kept as integers: energy in Wh,
# current in 0.1 A, voltage in 0.1 V, power in W, frequency in 0.01 Hz.
#
# One exchange at a time on the port (EkmMaster); the meters of the
# connectors (connector N: meter number EkmMeterNumberN, zero-padded to 12 digits) take
# turns cycle by cycle, as the Modbus meters do, and wait while another
# protocol (the RFID master/slave link) holds the shared RS485 bus. A reply
# that does not come (timeout), has a wrong CRC, is short, is garbled (a
# field that is not decimal digits, a wrong start byte or request type) or
# comes from another meter number is retried `retries` times, then fails the
# meter's cycle: not ok(), info() says why (PowerMeterFailure), until a later
# cycle succeeds. Energy values pass the same plausibility rule as the
# Modbus meters' (evse.metering.plausible).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only

from evse.metering.rtu import BusTurns, crc16
from evse.metering.plausible import plausible, read_floor, GLITCH_RETRIES
from evse.ticks import ticks_add, ticks_diff

REPLY_LEN = const(255)
REQ_LEN = const(19)
STX = const(0x02)
# field offsets in the 255-byte reply (ekmmeters initFormatA, in order:
# reserved 1, Model 2, Firmware 1, Meter_Address 12, eleven 8-digit kWh
# fields, volts 3x4, amps 3x5, watts 3x7 + total 7, cos theta 3x4, reactive
# power 4x7, Line_Freq 4, pulse counts 3x8, 4 state digits, reserved 2,
# Meter_Time 14, Request_Type 2, reserved 4, crc 2)
OFF_ADDR = const(4)
OFF_KWH = const(16)
OFF_VOLTS = const(104)       # + 4 * phase
OFF_AMPS = const(116)        # + 5 * phase
OFF_WATTS_TOT = const(152)
OFF_FREQ = const(199)
OFF_SCALE = const(230)       # kWh_Scale
OFF_REQTYPE = const(247)
OFF_CRC = const(253)

# results
PENDING = const(0)
OK = const(1)
TIMEOUT = const(2)
CRC = const(3)
SHORT = const(4)
GARBLED = const(5)
OTHER = const(6)
RESULT_NAMES = ("pending", "ok", "timeout", "CRC error", "short reply", "garbled reply",
                "another meter answered")

_IDLE = const(0)
_AWAIT = const(1)

CLOSE = b"\x01\x42\x30\x03\x75"
PERIOD_MS = const(1000)


def ekm_crc(buf, start: int, end: int) -> int:
    """EKM's CRC of buf[start:end]: CRC-16 (EKM's table is the reflected
    0xA001 one), init 0xFFFF, byte-swapped, masked 0x7F7F (ekmmeters
    calc_crc16). No allocation."""
    c = crc16(buf, start, end)
    return (((c << 8) | (c >> 8)) & 0x7F7F)


def digits(buf, off: int, n: int) -> int:
    """The n ASCII decimal digits at buf[off:]; -1 if any is not a digit."""
    v = 0
    i = off
    end = off + n
    while i < end:
        d = buf[i] - 48
        if d < 0 or d > 9:
            return -1
        v = v * 10 + d
        i += 1
    return v


def build_request(buf, number: int) -> int:
    """Request A for meter `number` into buf (19 bytes); returns its length."""
    buf[0] = 0x2F   # '/'
    buf[1] = 0x3F   # '?'
    i = 13
    while i >= 2:
        buf[i] = 48 + number % 10
        number //= 10
        i -= 1
    buf[14] = 0x30
    buf[15] = 0x30
    buf[16] = 0x21  # '!'
    buf[17] = 0x0D
    buf[18] = 0x0A
    return REQ_LEN


class EkmMaster(BusTurns):
    """One EKM request in flight at a time on the port (HAL RS485 port
    interface: write / readinto / any, never blocking)."""

    def __init__(self, port, timeout_ms: int = 300, retries: int = 2, char_us: int = 1042) -> None:
        # char_us: one 7E1 character on the wire (10 bits at 9600 baud)
        self.port = port
        self.timeout_ms = timeout_ms
        self.retries = retries
        self.char_us = char_us
        self.tx = bytearray(REQ_LEN)
        self.rx = bytearray(REPLY_LEN)
        self._rxv = memoryview(self.rx)
        self._sink = bytearray(64)
        self.n = 0
        self.state = _IDLE
        self.owner = None            # type: Any
        self.number = 0
        self._deadline = 0
        self._tries = 0
        self._turns = []             # type: list
        self.others_busy = None      # type: Any
        self.requests = 0
        self.replies = 0
        self.timeouts = 0
        self.crc_errors = 0
        self.bad = 0                 # short, garbled or another meter's replies
        self.resends = 0
        self.dropped = 0

    def request(self, owner, number: int, now: int) -> bool:
        if self.state != _IDLE:
            return False
        if not (0 <= number <= 999999999999):
            raise ValueError("bad meter number")
        build_request(self.tx, number)
        self.owner = owner
        self.number = number
        self._tries = 0
        self._send(now)
        return True

    def abort(self) -> None:
        self.state = _IDLE
        self.owner = None

    def _send(self, now: int) -> None:
        port = self.port
        for _ in range(16):           # stale bytes
            if not port.any():
                break
            port.readinto(self._sink)
        self.n = 0
        port.write(self.tx)
        self.requests += 1
        wait = self.timeout_ms + (REQ_LEN + REPLY_LEN) * self.char_us // 1000
        self._deadline = ticks_add(now, wait)
        self.state = _AWAIT

    def next_deadline_ms(self, now: int) -> int:
        if self.state != _AWAIT:
            return -1
        d = ticks_diff(self._deadline, now)
        return d if d > 0 else 0

    def poll(self, now: int) -> int:
        if self.state != _AWAIT:
            return PENDING
        port = self.port
        while self.n < REPLY_LEN and port.any():
            got = port.readinto(self._rxv[self.n:]) or 0
            if got <= 0:
                break
            self.n += got
            # bytes before the start byte: noise, dropped one at a time
            while self.n > 0 and self.rx[0] != STX:
                self._drop()
        if self.n < REPLY_LEN:
            if ticks_diff(now, self._deadline) < 0:
                return PENDING
            if self.n == 0:
                self.timeouts += 1
                r = TIMEOUT
            else:
                self.bad += 1
                r = SHORT
        else:
            r = self._check()
        if r != OK and self._tries < self.retries:
            self._tries += 1
            self.resends += 1
            self._send(now)
            return PENDING
        if r == OK:
            self.replies += 1
            port.write(CLOSE)         # ends the meter's session (ekmmeters serialPostEnd)
        owner = self.owner
        self.state = _IDLE
        self.owner = None
        if owner is not None:
            owner.on_reply(r, self)
        return r

    def _drop(self) -> None:
        rx = self.rx
        n = self.n
        i = 1
        while i < n:
            rx[i - 1] = rx[i]
            i += 1
        self.n = n - 1
        self.dropped += 1

    def _check(self) -> int:
        rx = self.rx
        if ekm_crc(rx, 1, OFF_CRC) != ((rx[OFF_CRC] << 8) | rx[OFF_CRC + 1]):
            self.crc_errors += 1
            return CRC
        if rx[OFF_REQTYPE] != 0x30 or rx[OFF_REQTYPE + 1] != 0x30:
            self.bad += 1
            return GARBLED
        if digits(rx, OFF_ADDR, 12) != self.number:
            self.bad += 1
            return OTHER
        return OK

    def stats(self) -> dict:
        return {"protocol": "EKM v4", "requests": self.requests, "replies": self.replies,
                "timeouts": self.timeouts, "crc_errors": self.crc_errors, "bad": self.bad,
                "resends": self.resends, "dropped": self.dropped}


class EkmMeter:
    type_name = "EKM Omnimeter Pulse UL v.4"
    meter_type = 10

    def __init__(self, master, number: int, clock, period_ms: int = PERIOD_MS,
                 max_w=None, storage=None) -> None:
        self.master = master
        self.number = number
        self.clock = clock
        self.period_ms = period_ms
        self.max_w = max_w
        self.storage = storage
        self.wh = 0                  # energy, Wh
        self.da = [0, 0, 0]          # current, 0.1 A
        self.dv = [0, 0, 0]          # voltage, 0.1 V
        self.w = 0                   # power, W
        self.chz = 0                 # frequency, 0.01 Hz
        self._good = False
        self.error = ""
        self._waiting = False
        self._next = clock.ticks_ms()
        self._fname = "ekmfloor%d" % number
        self._e_seen = False
        self._e_t = 0
        self._e_res = 1
        self._glitch = 0
        self.cycles = 0
        self.failures = 0
        self.rejected = 0
        self._floor = read_floor(storage, self._fname)
        if self._floor > 0:
            self.wh = self._floor

    # ---- readings -----------------------------------------------------------------------
    def ok(self) -> bool:
        return self._good

    def info(self) -> str:
        return "" if self._good else self.error

    def energy_wh(self) -> int:
        return self.wh

    def current_da(self, phase: int) -> int:
        return self.da[phase]

    def current_a(self, phase: int) -> float:
        return self.da[phase] / 10

    def voltage_v(self, phase: int) -> float:
        return self.dv[phase] / 10

    def power_w(self) -> float:
        return float(self.w)

    def frequency_hz(self) -> float:
        return self.chz / 100

    def has(self, measurand: str, phase: int = 0) -> bool:
        return True                  # every measurand the station reports is in block A

    # ---- polling ----------------------------------------------------------------------------
    def update(self, now: int) -> None:
        m = self.master
        m.poll(now)
        if self._waiting:
            return
        if self._glitch == 0 and ticks_diff(now, self._next) < 0:
            return
        if m.busy() or m.held() or not m.turn(self):
            return
        if self._glitch == 0:
            self._next = ticks_add(self._next, self.period_ms)
            if ticks_diff(now, self._next) >= 0:
                self._next = ticks_add(now, self.period_ms)
        self._waiting = True
        m.request(self, self.number, now)

    def on_reply(self, result: int, master) -> None:
        self._waiting = False
        if result != OK:
            self._fail(RESULT_NAMES[result])
            return
        rx = master.rx
        scale = digits(rx, OFF_SCALE, 1)
        kwh = digits(rx, OFF_KWH, 8)
        if scale < 0 or scale > 2 or kwh < 0:
            self._fail("garbled reply")
            return
        # kWh / 10^scale -> Wh, exact in integers
        self._e_res = (1000, 100, 10)[scale]
        e = kwh * self._e_res
        amps = self.da
        volts = self.dv
        w = digits(rx, OFF_WATTS_TOT, 7)
        hz = digits(rx, OFF_FREQ, 4)
        if w < 0 or hz < 0:
            self._fail("garbled reply")
            return
        for p in range(3):
            if digits(rx, OFF_AMPS + 5 * p, 5) < 0 or digits(rx, OFF_VOLTS + 4 * p, 4) < 0:
                self._fail("garbled reply")
                return
        if not self._plausible(e):
            self.rejected += 1
            self._glitch += 1
            if self._glitch > GLITCH_RETRIES:
                self._glitch = 0
                self._fail("energy %d Wh rejected" % e)
            return                    # else read again at the next update
        self._glitch = 0
        for p in range(3):
            amps[p] = digits(rx, OFF_AMPS + 5 * p, 5)
            volts[p] = digits(rx, OFF_VOLTS + 4 * p, 4)
        self.w = w
        self.chz = hz
        self.wh = e
        self._e_seen = True
        self._e_t = self.clock.ticks_ms()
        self.cycles += 1
        self._good = True
        self.error = ""

    def _plausible(self, e: int) -> bool:
        last = self.wh if self._e_seen else self._floor
        dt = -1
        if self._e_seen and self.max_w is not None:
            dt = ticks_diff(self.clock.ticks_ms(), self._e_t)
        return plausible(e, last, dt, self.max_w() if dt >= 0 else None, self._e_res)

    def _fail(self, why: str) -> None:
        self._next = ticks_add(self.clock.ticks_ms(), self.period_ms)
        self.failures += 1
        self._good = False
        self.error = ("EKM %d: %s" % (self.number, why))[:50]

    def next_deadline_ms(self, now: int) -> int:
        if self._waiting:
            return self.master.next_deadline_ms(now)
        d = ticks_diff(self._next, now)
        if d > 0 and not self._glitch:
            return d
        # due: now, or when the bus is free again
        if self.master.busy():
            return self.master.next_deadline_ms(now)
        return 10 if self.master.held() else 0

    # ---- the simulator's meter controls do not apply to a real meter --------------------------
    def set_fault(self, name: str, active: bool) -> None:
        raise ValueError("%s: the meters are read from the EKM peer; make the peer fail instead" % name)

    def set_grid(self, volts: list) -> None:
        raise ValueError("grid: the meters are read from the EKM peer")

    def save(self, now: int, final: bool = False) -> None:
        pass

    def persist(self, now: int) -> None:
        e = self.wh
        if self.storage is not None and e > self._floor:
            self.storage.write(self._fname, ("%d" % e).encode())
            self._floor = e

    def stats(self) -> dict:
        return {"number": self.number, "type": 10, "ok": self._good, "info": self.info(),
                "cycles": self.cycles, "failures": self.failures, "rejected": self.rejected}
