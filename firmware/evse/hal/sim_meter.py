# Built-in simulated energy meter of one connector (replaces the RS485 Modbus
# meter when the simulator runs without --modbus). The EV's draw comes from
# the simulated connector I/O; energy integrates current x grid voltage over
# time, in integers (deci-amps x deci-volts x ms, carried exactly into the
# mWh register: no float rounding however long it counts). The register
# persists in storage like a real meter's non-volatile register, so a
# restart (power cycle) continues from the same reading.
from evse.hal.register import StoredRegister
from evse.ticks import ticks_diff

UNITS_PER_MWH = 360000   # 1 mWh = 3.6 J = 360000 x (0.1 A x 0.1 V x 1 ms)


class SimMeter(StoredRegister):
    def __init__(self, cio, clock, storage=None, index: int = 0) -> None:
        self.cio = cio
        self.clock = clock
        self.dv = [2300, 2300, 2300]     # grid voltage per phase, 0.1 V
        self.da = [0, 0, 0]              # current per phase, 0.1 A
        self._acc = 0                    # energy below one mWh, UNITS_PER_MWH units
        self.offline = False
        self.crc = False
        self._last = clock.ticks_ms()
        self._reg_init(storage, "meter%d" % (index + 1), self._last)

    # ---- readings (what a meter driver offers) --------------------------------
    def ok(self) -> bool:
        return not (self.offline or self.crc)

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

    def next_deadline_ms(self, now: int) -> int:
        # update() integrates a constant power exactly over any interval, so
        # the meter needs a step only when the draw changes: when the
        # contacts are still moving after a coil change (the EV starts or
        # stops drawing then), or when the draw already differs from what
        # was last seen; and for the register's periodic save.
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
        else:
            raise ValueError("unknown fault " + name)

    def set_grid(self, volts: list) -> None:
        self.update(self.clock.ticks_ms())      # the energy so far at the old voltage
        for i in range(3):
            self.dv[i] = int(round(volts[i] * 10)) if i < len(volts) else 0
