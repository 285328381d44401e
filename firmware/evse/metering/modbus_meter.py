# One energy meter at one Modbus address, read through a shared RtuMaster
# (the meters of all connectors sit on one bus: connector N at address N).
#
# A poll cycle every period_ms reads the register blocks of the meter's map
# (evse.metering.regmap; decode.plan splits them by the type's maximum
# registers per request), one request at a time; the meters on the bus take
# turns cycle by cycle (RtuMaster.turn). After a failed cycle the next one
# comes a full period later. A cycle whose every block answered with a good
# frame and a valid energy value makes the meter ok(); a block that still
# fails after the master's retries (timeout, CRC error) or that the meter
# refuses (exception reply) ends the cycle and makes the meter not ok()
# until a later cycle succeeds again: the station then reports
# PowerMeterFailure with info() as the reason, and clears it by itself when
# the answers return. Before its first cycle ended a meter is not ok() (no
# valid kWh reading yet, no MeterValues) but not failed either: info() is
# "" so a meter that answers its first poll is never reported as a
# PowerMeterFailure at boot; a first cycle that fails is.
#
# Energy glitches (docs/metering.md): a register value that is negative,
# absurd (above MAX_REGISTER_WH, e.g. 3e38 from a float register), lower
# than the last accepted one (a register never goes backwards: -5000, 0),
# or higher than the installation can have delivered since the last
# accepted one (max_w() x elapsed x 1.5 + the register's
# resolution + JUMP_SLACK_WH) is rejected: the block is read again at once,
# up to GLITCH_RETRIES times (as the master retries a CRC error); if it
# stays implausible the cycle fails with info "energy N Wh rejected"
# (PowerMeterFailure). Energy is kept in integer Wh, converted once at
# decode and exactly (energy_wh(): no float rounding of integer registers,
# a float32 kWh register converted from its bits). The last reported reading is kept on storage
# (persist(), before it is reported): after a restart it is the floor the
# meter's answers must reach and what energy_wh() says until the first
# answer (a PowerLoss meterStop is then never below a reported value).
#
# Readings keep their last good value while the meter fails (a
# StopTransaction then carries the last reading the meter gave). A value
# the meter marks 'not available' (decode: None) keeps the previous one,
# except energy: no energy value fails the cycle.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.metering import decode
from evse.metering import rtu
from evse.metering.regmap import NQ, Q_E, Q_P, Q_HZ, Q_I1, Q_V1, T_F32, CDAB
from evse.metering.plausible import plausible, read_floor, MAX_REGISTER_WH, GLITCH_RETRIES
from evse.ticks import ticks_add, ticks_diff

PERIOD_MS = const(1000)


def energy_wh(buf, off: int, r: tuple):
    """The energy register (quantity Q_E) in integer Wh; None when 'not
    available'; above MAX_REGISTER_WH for a value too big to convert.

    Converted once, here, and exactly (no float arithmetic: a board's
    single-precision float holds whole Wh only up to 16777216, and
    raw x 1000.0 would round again there): an integer register times an
    integer scale; an integer register of a fraction of a Wh divided with
    rounding; a float32 kWh register from its bits (mantissa x 2^exponent x
    scale, rounded to the nearest Wh). The precision left is the meter's:
    a float32 register itself steps 2^(e-23) of its unit, i.e. in kWh
    below 1 Wh up to 16384 kWh, 2 Wh up to 32768 kWh (at 30 MWh), 4 Wh up
    to 65536 kWh; the register data (meter_registers.json) offers no
    integer energy register for the float32 meters (SDM630, SDM230)."""
    t = r[2]
    scale = r[4]
    k = int(scale)
    if t == T_F32 and k == scale and k > 0:
        return f32_wh(buf, off, r[3], k)
    raw = decode.raw_value(buf, off, t, r[3])
    if raw is None:
        return None
    if type(raw) is int:
        if k == scale:
            return raw * k            # exact: integer register x integer scale
        if 0 < scale < 1:
            d = int(1 / scale + 0.5)  # e.g. 0.1 -> 10 steps per Wh
            if abs(d * scale - 1) < 1e-4:
                return (raw + d // 2) // d if raw >= 0 else -((d // 2 - raw) // d)
    x = raw * scale
    if not (-1e15 < x < 1e15):        # also inf after the multiplication
        return 10 * MAX_REGISTER_WH
    return int(x + 0.5) if x >= 0 else -int(0.5 - x)     # the nearest Wh


def f32_wh(buf, off: int, order: int, k: int):
    """A float32 register (k Wh per unit: 1000 for kWh) -> the nearest
    integer Wh, computed from the bits in integers; None for NaN or an
    infinity ('not available'), above MAX_REGISTER_WH when absurd."""
    if order == CDAB:
        hi = off + 2
        lo = off
    else:
        hi = off
        lo = off + 2
    bits = (buf[hi] << 24) | (buf[hi + 1] << 16) | (buf[lo] << 8) | buf[lo + 1]
    ex = (bits >> 23) & 0xFF
    if ex == 0xFF:
        return None
    if ex == 0:
        return 0                      # zero or subnormal: far below a Wh
    if ex > 127 + 60:
        return 10 * MAX_REGISTER_WH   # > 2^60 units: never a real register
    n = ((bits & 0x7FFFFF) | 0x800000) * k
    sh = ex - 150                     # value = mantissa x 2^(ex - 127 - 23)
    if sh >= 0:
        wh = n << sh
    else:
        wh = (n + (1 << (-sh - 1))) >> -sh   # to the nearest Wh (ties up)
    return -wh if bits & 0x80000000 else wh


def measurand_q(name: str, phase: int) -> int:
    """OCPP measurand (and phase 0..2) -> quantity index; -1 when the meter
    is not what measures it (Current.Offered, Temperature)."""
    if name == "Energy.Active.Import.Register":
        return Q_E
    if name == "Power.Active.Import":
        return Q_P
    if name == "Current.Import":
        return Q_I1 + phase
    if name == "Voltage":
        return Q_V1 + phase
    if name == "Frequency":
        return Q_HZ
    return -1


class ModbusMeter:
    def __init__(self, master, unit: int, entry: tuple, clock, period_ms: int = PERIOD_MS,
                 max_w=None, storage=None) -> None:
        # max_w: () -> the installation's maximum power (W) bounding register
        # jumps, or None; storage: where the last reported reading is kept
        self.master = master
        self.unit = unit
        self.clock = clock
        self.period_ms = period_ms
        self.meter_type = entry[0]
        self.type_name = entry[1]
        self.fc = entry[2]
        self.blocks = decode.plan(entry[4], entry[3])
        self.vals = [0.0] * NQ
        self.vals[Q_E] = 0           # energy: always an int (Wh)
        self.mapped = [False] * NQ
        for r in entry[4]:
            self.mapped[r[0]] = True
        self._good = False
        self.error = ""              # why the last cycle failed ("" before the first)
        self.max_w = max_w
        self.storage = storage
        self._fname = "mbfloor%d" % unit
        self._e_t = 0                # ticks of the last accepted energy value
        self._e_seen = False         # an energy value was accepted since boot
        self._glitch = 0             # implausible energy values in a row
        self.rejected = 0            # implausible energy values seen
        self._e_res = 1              # Wh per step of an integer energy register
        for r in entry[4]:
            if r[0] == Q_E and r[2] != T_F32 and r[4] >= 1:
                self._e_res = int(r[4])
        self._floor = read_floor(storage, self._fname)   # the last reported reading, -1 none
        if self._floor > 0:
            self.vals[Q_E] = self._floor
        self._block = -1             # next block of the cycle; -1 = between cycles
        self._waiting = False        # our request is in flight
        self._energy_seen = False
        self._next = clock.ticks_ms()
        self.cycles = 0              # good cycles
        self.failures = 0            # failed cycles
        self.invalid = 0             # 'not available' values seen

    # ---- readings -----------------------------------------------------------------------
    def ok(self) -> bool:
        return self._good

    def info(self) -> str:
        return "" if self._good else self.error

    def energy_wh(self):
        return self.vals[Q_E]

    def current_a(self, phase: int) -> float:
        return self.vals[Q_I1 + phase]

    def current_da(self, phase: int) -> int:
        """Deci-amps, rounded (the overcurrent check compares ints)."""
        return int(self.vals[Q_I1 + phase] * 10 + 0.5)

    def voltage_v(self, phase: int) -> float:
        return self.vals[Q_V1 + phase]

    def power_w(self) -> float:
        return self.vals[Q_P]

    def frequency_hz(self) -> float:
        return self.vals[Q_HZ]

    def has(self, measurand: str, phase: int = 0) -> bool:
        q = measurand_q(measurand, phase)
        return q < 0 or self.mapped[q]

    # ---- polling (synchronous core) -------------------------------------------------------
    def update(self, now: int) -> None:
        m = self.master
        m.poll(now)                   # may end our request (on_reply) or another meter's
        if self._waiting:
            return
        if self._block < 0:
            if ticks_diff(now, self._next) < 0:
                return
            self._block = 0
            self._next = ticks_add(self._next, self.period_ms)
            if ticks_diff(now, self._next) >= 0:     # fell behind: no catching up
                self._next = ticks_add(now, self.period_ms)
        # a cycle under way keeps the bus (its requests follow each other);
        # a new cycle waits for its turn after the other meters' (round robin)
        if m.busy() or m.held() or (self._block == 0 and not m.turn(self)):
            return
        start, count, _ = self.blocks[self._block]
        self._waiting = True
        m.request(self, self.unit, self.fc, start, count, now)

    def on_reply(self, result: int, master) -> None:
        self._waiting = False
        if result != rtu.OK:
            if result == rtu.EXCEPTION:
                why = "exception %d" % master.exception_code
            else:
                why = rtu.RESULT_NAMES[result]
            self._fail(why)
            return
        start, count, regs = self.blocks[self._block]
        buf = master.rx
        for r in regs:
            if r[0] != Q_E:
                continue
            e = energy_wh(buf, rtu.DATA + 2 * (r[1] - start), r)
            if e is None:
                self.invalid += 1
                self._fail("no energy value")
                return
            if not self._plausible(e):
                self.rejected += 1
                self._glitch += 1
                if self._glitch > GLITCH_RETRIES:
                    self._glitch = 0
                    self._fail(("energy %d Wh rejected" % e) if e <= MAX_REGISTER_WH
                               else "energy >1e12 Wh rejected")
                # else: the same block is read again at the next update
                return
            self._glitch = 0
            self._energy_seen = True
            self._e_seen = True
            self._e_t = self.clock.ticks_ms()
        for r in regs:
            if r[0] == Q_E:
                continue
            v = decode.value(buf, rtu.DATA + 2 * (r[1] - start), r[2], r[3], r[4])
            if v is None:
                self.invalid += 1
                continue
            self.vals[r[0]] = v
        for r in regs:
            if r[0] == Q_E:
                self.vals[Q_E] = energy_wh(buf, rtu.DATA + 2 * (r[1] - start), r)
        self._block += 1
        if self._block >= len(self.blocks):
            self._block = -1
            self.cycles += 1
            if self._energy_seen:
                self._good = True
                self.error = ""

    def _plausible(self, e: int) -> bool:
        if self._e_seen:
            last = self.vals[Q_E]
        else:
            last = self._floor       # the last value reported before a restart (-1: none)
        dt = -1
        if self._e_seen and self.max_w is not None:
            dt = ticks_diff(self.clock.ticks_ms(), self._e_t)   # (< 0: ticks wrapped, no bound)
        return plausible(e, last, dt, self.max_w() if dt >= 0 else None, self._e_res)

    def _fail(self, why: str) -> None:
        self._block = -1              # the rest of this cycle waits for the next one
        # a full period from now (not on the cycle grid): a meter whose
        # requests time out leaves the bus to the others in between
        self._next = ticks_add(self.clock.ticks_ms(), self.period_ms)
        self.failures += 1
        self._good = False
        self.error = ("Modbus %d: %s" % (self.unit, why))[:50]

    def next_deadline_ms(self, now: int) -> int:
        if self._waiting or (self._block >= 0 and self.master.busy()):
            return self.master.next_deadline_ms(now)
        if self._block >= 0:
            # the bus is free (or another protocol's exchange holds it: look again soon)
            return 10 if self.master.held() else 0
        d = ticks_diff(self._next, now)
        return d if d > 0 else 0

    # ---- the simulator's meter controls do not apply to a real meter --------------------------
    def set_fault(self, name: str, active: bool) -> None:
        raise ValueError("%s: the meters are read from the Modbus peer (--modbus); "
                         "make the peer fail instead" % name)

    def set_grid(self, volts: list) -> None:
        raise ValueError("grid: the meters are read from the Modbus peer (--modbus)")

    def save(self, now: int, final: bool = False) -> None:
        pass                          # the meter keeps its own register

    def persist(self, now: int) -> None:
        """A reading is about to be reported: keep it as the floor."""
        e = int(self.vals[Q_E])
        if self.storage is not None and e > self._floor:
            self.storage.write(self._fname, ("%d" % e).encode())
            self._floor = e

    def stats(self) -> dict:
        return {"unit": self.unit, "type": self.meter_type, "ok": self._good, "info": self.info(),
                "cycles": self.cycles, "failures": self.failures, "invalid": self.invalid,
                "rejected": self.rejected}
