# The simulator's S0 pulse meter (MeterType 3): the HAL input
# s0_pulses() of one connector. The simulated world integrates the EV's
# draw x grid voltage like the built-in meter (evsesim.hal.sim_meter, without
# its storage: a physical S0 meter has no register the controller reads)
# and closes its S0 output once per 1/pulses_per_kwh kWh. The count is
# computed when it is read, so it is exact at every step of the station,
# however far virtual time jumps in between.
from evsesim.hal.sim_meter import SimMeter

S0_MASK = 0x3FFFFFFF


class SimS0:
    def __init__(self, cio, clock, pulses_per_kwh: int) -> None:
        self.clock = clock
        self.ppk = pulses_per_kwh
        self.meter = SimMeter(cio, clock)
        self._mwh0 = self.meter.mwh

    def s0_pulses(self) -> int:
        m = self.meter
        m.update(self.clock.ticks_ms())
        return ((m.mwh - self._mwh0) * self.ppk // 1000000) & S0_MASK

    def set_grid(self, volts: list) -> None:
        self.meter.update(self.clock.ticks_ms())
        self.meter.set_grid(volts)
