# Built-in simulated energy meter of one connector (replaces the RS485 Modbus
# meter when the simulator runs without --modbus). The EV's draw comes from
# the simulated connector I/O; energy integrates current x grid voltage over
# time. The register persists in storage like a real meter's non-volatile
# register, so a restart (power cycle) continues from the same reading.
from evse.hal.register import StoredRegister
from evse.ticks import ticks_diff


class SimMeter(StoredRegister):
    def __init__(self, cio, clock, storage=None, index: int = 0) -> None:
        self.cio = cio
        self.clock = clock
        self.volts = [230.0, 230.0, 230.0]
        self.amps = [0.0, 0.0, 0.0]
        self.offline = False
        self.crc = False
        self._last = clock.ticks_ms()
        self._reg_init(storage, "meter%d" % (index + 1), self._last)

    # ---- readings (what a meter driver offers) --------------------------------
    def ok(self) -> bool:
        return not (self.offline or self.crc)

    def energy_wh(self) -> float:
        return self.wh

    def current_a(self, phase: int) -> float:
        return self.amps[phase]

    def voltage_v(self, phase: int) -> float:
        return self.volts[phase]

    def power_w(self) -> float:
        return self.amps[0] * self.volts[0] + self.amps[1] * self.volts[1] + self.amps[2] * self.volts[2]

    # ---- simulation -------------------------------------------------------------
    def update(self, now: int) -> None:
        dt = ticks_diff(now, self._last)
        if dt <= 0:
            return
        self._last = now
        # energy over the interval at the draw seen at its start
        self.wh += self.power_w() * dt / 3600000.0
        draw = self.cio.ev_current_da()
        phases = self.cio.ev.phases
        for p in range(3):
            self.amps[p] = draw / 10.0 if p < phases else 0.0
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
        if self.cio.ev_current_da() / 10.0 != self.amps[0]:
            return 0
        return self._reg_deadline_ms(now, self.power_w() > 0)

    def set_fault(self, name: str, active: bool) -> None:
        if name == "meter_offline":
            self.offline = active
        elif name == "meter_crc":
            self.crc = active
        else:
            raise ValueError("unknown fault " + name)

    def set_grid(self, volts: list) -> None:
        for i in range(3):
            self.volts[i] = float(volts[i]) if i < len(volts) else 0.0
