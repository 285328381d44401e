# Built-in simulated energy meter of one connector (replaces the RS485 Modbus
# meter when the simulator runs without --modbus). The EV's draw comes from
# the simulated connector I/O; energy integrates current x grid voltage over
# time, in integers (deci-amps x deci-volts x ms, carried exactly into the
# mWh register: no float rounding however long it counts). The register
# persists in storage like a real meter's non-volatile register, so a
# restart (power cycle) continues from the same reading.
#
# Meter glitches (faults meter_spike, meter_backwards, meter_freeze): the
# readout, not the register, goes wrong: one reading 1 MWh too high, a
# reading 1000 Wh below the register while active, a readout stuck at its
# value while active (the register keeps counting). The built-in meter reads
# its readout as a driver reads a register it does not count itself: each
# reading passes the plausibility rule of the Modbus meters
# (evse.metering.plausible, docs/metering.md), a rejected one is read again
# at once up to GLITCH_RETRIES times, then the meter fails (PowerMeterFailure
# "meter N: energy X Wh rejected") until a plausible reading comes; what the
# station reports (energy_wh) is only ever an accepted reading.
from evse.hal.register import StoredRegister
from evse.metering.plausible import plausible, GLITCH_RETRIES
from evse.ticks import ticks_diff

UNITS_PER_MWH = 360000   # 1 mWh = 3.6 J = 360000 x (0.1 A x 0.1 V x 1 ms)
# the most the simulated connector can deliver (80 A offered + 80 A a faulty
# EV overdraws, 3 phases at 253 V): bounds the readout's plausible jumps
MAX_W = 160 * 253 * 3
SPIKE_WH = 1000000
BACKWARDS_WH = 1000


class SimMeter(StoredRegister):
    def __init__(self, cio, clock, storage=None, index: int = 0) -> None:
        self.cio = cio
        self.clock = clock
        self.dv = [2300, 2300, 2300]     # grid voltage per phase, 0.1 V
        self.da = [0, 0, 0]              # current per phase, 0.1 A
        self._acc = 0                    # energy below one mWh, UNITS_PER_MWH units
        self.offline = False
        self.crc = False
        self.index = index
        self._last = clock.ticks_ms()
        self._reg_init(storage, "meter%d" % (index + 1), self._last)
        self.spike = False            # the next reading is a spike (one only)
        self.backwards = False
        self.frozen = -1              # the readout while frozen (Wh), -1: not frozen
        self.accepted = self.mwh // 1000   # the last accepted reading (Wh)
        self._acc_t = self._last
        self._glitch = 0              # rejected readings in a row
        self.rejected = 0             # rejected readings
        self.error = ""               # why the readout failed ("" while it is good)

    # ---- readings (what a meter driver offers) --------------------------------
    def ok(self) -> bool:
        return not (self.offline or self.crc or self.error)

    def info(self) -> str:
        return self.error or "meter"

    def energy_wh(self) -> int:
        return self.accepted

    def readout(self) -> int:
        """What the meter's display shows now (Wh), glitches included."""
        if self.frozen >= 0:
            return self.frozen
        e = self.mwh // 1000
        if self.spike:
            return e + SPIKE_WH
        if self.backwards:
            return e - BACKWARDS_WH
        return e

    def _read(self, now: int) -> None:
        """One reading of the readout through the plausibility rule."""
        e = self.readout()
        self.spike = False                  # a spike is one reading
        if plausible(e, self.accepted, ticks_diff(now, self._acc_t), MAX_W, 1):
            self.accepted = e
            self._acc_t = now
            self._glitch = 0
            self.error = ""
            return
        self.rejected += 1
        self._glitch += 1
        if self._glitch > GLITCH_RETRIES:
            self._glitch = 0
            self.error = ("meter %d: energy %d Wh rejected" % (self.index + 1, e))[:50]

    def current_a(self, phase: int) -> float:
        return self.da[phase] / 10

    def current_da(self, phase: int) -> int:
        """Deci-amps (an int: the MCU step makes no float)."""
        return self.da[phase]

    def voltage_v(self, phase: int) -> float:
        return self.dv[phase] / 10

    def power_w(self) -> float:
        return self._p_units() / 100

    def _p_units(self) -> int:
        # power in 0.01 W
        return self.da[0] * self.dv[0] + self.da[1] * self.dv[1] + self.da[2] * self.dv[2]

    # ---- simulation -------------------------------------------------------------
    def update(self, now: int) -> None:
        dt = ticks_diff(now, self._last)
        if dt <= 0:
            return
        self._last = now
        # energy over the interval at the draw seen at its start
        acc = self._acc + self._p_units() * dt
        self.mwh += acc // UNITS_PER_MWH
        self._acc = acc % UNITS_PER_MWH
        draw = self.cio.ev_current_da()
        phases = self.cio.ev.phases
        for p in range(3):
            self.da[p] = draw if p < phases else 0
        self._reg_maybe_save(now)
        self._read(now)

    def next_deadline_ms(self, now: int) -> int:
        # update() integrates a constant power exactly over any interval, so
        # the meter needs a step only when the draw changes: when the
        # contacts are still moving after a coil change (the EV starts or
        # stops drawing then), or when the draw already differs from what
        # was last seen; and for the register's periodic save.
        if self._glitch or self.spike:
            return 0                        # a rejected reading is read again at once
        s = self.cio.settle_ms(now) if hasattr(self.cio, "settle_ms") else -1
        if s >= 0:
            return s + 1
        if self.cio.ev_current_da() != self.da[0]:
            return 0
        return self._reg_deadline_ms(now, (self._p_units() + 99) // 100)   # W, rounded up

    def set_fault(self, name: str, active: bool) -> None:
        if name == "meter_offline":
            self.offline = active
        elif name == "meter_crc":
            self.crc = active
        elif name == "meter_spike":
            self.spike = active
        elif name == "meter_backwards":
            self.backwards = active
        elif name == "meter_freeze":
            self.frozen = self.accepted if active else -1
        else:
            raise ValueError("unknown fault " + name)

    def set_grid(self, volts: list) -> None:
        self.update(self.clock.ticks_ms())      # the energy so far at the old voltage
        for i in range(3):
            self.dv[i] = int(round(volts[i] * 10)) if i < len(volts) else 0
