# Meter values (OCPP 1.6 3.16, manual keys MeterValueSampleInterval,
# MeterValuesSampledData, ClockAlignedDataInterval, MeterValuesAlignedData):
# sampled values every MeterValueSampleInterval from the start of a
# transaction, clock-aligned values every ClockAlignedDataInterval from
# midnight UTC. Transaction meter values go through the persistent journal;
# aligned values of a connector without a transaction are sent as plain
# MeterValues (volatile). The measurand table is data.
from evse.clock import iso8601

# measurand -> (unit, per-phase?) ; what the meters of this controller measure
MEASURANDS = {
    "Energy.Active.Import.Register": ("Wh", False),
    "Current.Import": ("A", True),
    "Current.Offered": ("A", False),
    "Voltage": ("V", True),
    "Power.Active.Import": ("W", False),
    "Temperature": ("Celsius", False),
}
PHASES = ("L1", "L2", "L3")


def _csl(v: str) -> list:
    return [x.strip() for x in v.split(",") if x.strip()]


class Metering:
    def __init__(self, station) -> None:
        self.st = station
        self.config = station.config
        self.clock = station.clock
        n = len(station.connectors)
        self.next_sample = [0] * n      # UTC seconds of the next sampled value, 0 = off
        self.next_aligned = 0

    def sampled_value(self, i: int, measurands: list, context: str) -> list:
        """SampledValue list for connector index i."""
        m = self.st.meters[i]
        out = []  # type: list
        if not m.ok():
            return out
        has = getattr(m, "has", None)     # what the meter really measures (evse.metering)
        for name in measurands:
            spec = MEASURANDS.get(name)
            if spec is None or (has is not None and not has(name, 0)):
                continue
            unit, phased = spec
            vals = []  # type: list
            if name == "Energy.Active.Import.Register":
                vals = [("%d" % int(m.energy_wh()), None)]
            elif name == "Current.Import":
                vals = [("%.1f" % m.current_a(p), PHASES[p]) for p in range(self.st.phases())
                        if has is None or has(name, p)]
            elif name == "Current.Offered":
                vals = [("%.1f" % (self.st.connectors[i].offered_da / 10), None)]
            elif name == "Voltage":
                vals = [("%.1f" % m.voltage_v(p), PHASES[p] + "-N") for p in range(self.st.phases())
                        if has is None or has(name, p)]
            elif name == "Power.Active.Import":
                vals = [("%.1f" % m.power_w(), None)]
            else:  # Temperature
                vals = [("%.1f" % (self.st.board.io.temperature_dc() / 10), None)]
            for v, phase in vals:
                sv = {"value": v, "context": context, "measurand": name, "unit": unit,
                      "location": "Body" if name == "Temperature" else "Outlet"}
                if phase:
                    sv["phase"] = phase
                out.append(sv)
        return out

    def meter_value(self, i: int, measurands: list, context: str) -> dict:
        return {"timestamp": iso8601(self.clock.now()),
                "sampledValue": self.sampled_value(i, measurands, context)}

    def tx_started(self, i: int) -> None:
        iv = self.config.get("MeterValueSampleInterval")
        self.next_sample[i] = self.clock.now() + iv if iv > 0 else 0

    def tx_stopped(self, i: int) -> None:
        self.next_sample[i] = 0

    def step(self) -> None:
        now = self.clock.now()
        for i, s in enumerate(self.st.sessions):
            t = self.next_sample[i]
            if t and now >= t and s.tx_ref:
                iv = self.config.get("MeterValueSampleInterval")
                self.next_sample[i] = now + iv if iv > 0 else 0
                mv = self.meter_value(i, _csl(self.config.get("MeterValuesSampledData")), "Sample.Periodic")
                if mv["sampledValue"]:
                    self.st.tx_meter_values(i, [mv])
        iv = self.config.get("ClockAlignedDataInterval")
        if iv <= 0:
            self.next_aligned = 0
            return
        if self.next_aligned == 0:
            self.next_aligned = (now // iv + 1) * iv
        if now >= self.next_aligned:
            self.next_aligned = (now // iv + 1) * iv
            names = _csl(self.config.get("MeterValuesAlignedData"))
            for i, s in enumerate(self.st.sessions):
                mv = self.meter_value(i, names, "Sample.Clock")
                if not mv["sampledValue"]:
                    continue
                if s.tx_ref:
                    self.st.tx_meter_values(i, [mv])
                else:
                    self.st.send_meter_values(i, [mv])

    def next_deadline_s(self) -> int:
        now = self.clock.now()
        best = -1
        for t in self.next_sample:
            if t:
                d = max(0, t - now)
                best = d if best < 0 else min(best, d)
        iv = self.config.get("ClockAlignedDataInterval")
        if iv > 0:
            na = self.next_aligned or (now // iv + 1) * iv
            d = max(0, na - now)
            best = d if best < 0 else min(best, d)
        return best
