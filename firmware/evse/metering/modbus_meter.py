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
# the answers return. Before its first good cycle a meter is not ok(): no
# valid kWh reading is available yet (manual 8.2).
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
from evse.metering.regmap import NQ, Q_E, Q_P, Q_HZ, Q_I1, Q_V1
from evse.ticks import ticks_add, ticks_diff

PERIOD_MS = const(1000)


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
    def __init__(self, master, unit: int, entry: tuple, clock, period_ms: int = PERIOD_MS) -> None:
        self.master = master
        self.unit = unit
        self.clock = clock
        self.period_ms = period_ms
        self.meter_type = entry[0]
        self.type_name = entry[1]
        self.fc = entry[2]
        self.blocks = decode.plan(entry[4], entry[3])
        self.vals = [0.0] * NQ
        self.mapped = [False] * NQ
        for r in entry[4]:
            self.mapped[r[0]] = True
        self._good = False
        self.error = "Modbus %d: no answer yet" % unit
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

    def energy_wh(self) -> float:
        return self.vals[Q_E]

    def current_a(self, phase: int) -> float:
        return self.vals[Q_I1 + phase]

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
            v = decode.value(buf, rtu.DATA + 2 * (r[1] - start), r[2], r[3], r[4])
            if v is None:
                self.invalid += 1
                if r[0] == Q_E:
                    self._fail("no energy value")
                    return
                continue
            if r[0] == Q_E:
                self._energy_seen = True
            self.vals[r[0]] = v
        self._block += 1
        if self._block >= len(self.blocks):
            self._block = -1
            self.cycles += 1
            if self._energy_seen:
                self._good = True
                self.error = ""

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
        pass

    def stats(self) -> dict:
        return {"unit": self.unit, "type": self.meter_type, "ok": self._good, "info": self.info(),
                "cycles": self.cycles, "failures": self.failures, "invalid": self.invalid}
