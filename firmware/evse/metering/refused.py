# The meter of a connector whose MeterType the firmware cannot read (no public
# register map, not Modbus, no S0 input, no RS485 port): never ok(), info()
# says why, so the connector reports PowerMeterFailure with the reason
# (evse.metering.factory). Its own module: loaded only when a meter is refused.


class RefusedMeter:
    type_name = ""

    def __init__(self, reason: str) -> None:
        self.reason = reason[:50]

    def ok(self) -> bool:
        return False

    def info(self) -> str:
        return self.reason

    def energy_wh(self) -> int:
        return 0

    def current_a(self, phase: int) -> float:
        return 0.0

    def current_da(self, phase: int) -> int:
        return 0

    def voltage_v(self, phase: int) -> float:
        return 0.0

    def power_w(self) -> float:
        return 0.0

    def has(self, measurand: str, phase: int = 0) -> bool:
        return False

    def update(self, now: int) -> None:
        pass

    def next_deadline_ms(self, now: int) -> int:
        return -1

    def set_fault(self, name: str, active: bool) -> None:
        raise ValueError(self.reason)

    def set_grid(self, volts: list) -> None:
        raise ValueError(self.reason)

    def save(self, now: int, final: bool = False) -> None:
        pass

    def persist(self, now: int) -> None:
        pass
