# Meter values (OCPP 1.6 3.16, manual keys MeterValueSampleInterval,
# MeterValuesSampledData, ClockAlignedDataInterval, MeterValuesAlignedData, and the
# OCPP keys StopTxnSampledData, StopTxnAlignedData): sampled values every
# MeterValueSampleInterval from the start of a transaction, clock-aligned values
# at the ClockAlignedDataInterval boundaries. Transaction meter values go through
# the persistent journal; aligned values of a connector without a transaction are
# sent as plain MeterValues (volatile). The measurand table is data.
#
# Decisions:
# - Clock-aligned boundaries are counted from every midnight UTC (OCPP 1.6 9.1.5
#   "evenly spaced aggregation intervals per day, starting at 00:00:00", manual
#   ClockAlignedDataInterval "Intervals start from 00.00 (midnight)"; UTC because
#   the station keeps no time zone and OCPP 3.14 recommends UTC). An interval that
#   does not divide the day makes the last interval of a day shorter: midnight is
#   always a boundary. A reading is stamped with its boundary.
# - A boundary is only read when the clock reaches it running: if the clock is set
#   forward over it (the first BootNotification.conf or a Heartbeat currentTime
#   after boot, a restart) by LATE_S or more, or by an interval or more, it is
#   skipped and the next boundary is awaited; set backwards, the next boundary is
#   recomputed. So no Sample.Clock value is ever sent at boot.
# - StopTransaction.transactionData (OCPP 1.6 6.50, 9.1.25/9.1.27): during a
#   transaction the StopTxnSampledData measurands are read at every sampled
#   interval (Sample.Periodic) and the StopTxnAlignedData ones at every boundary
#   (Sample.Clock), and kept in RAM in a compact form (timestamp, context and
#   [measurand, value, phase] items; units and locations follow from the table).
#   Their MeterValue JSON in the StopTransaction is bounded to TXDATA_BYTES per
#   transaction (the message stays well inside a 16 kB frame; the RAM kept is
#   about a third of it). When the next reading would not fit, every second kept
#   reading is dropped and from then on only every second reading is kept (the
#   kept ones go on spanning the whole transaction at twice the spacing; repeated
#   as needed). A power cut loses them: the PowerLoss StopTransaction has none.
TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only

import json

from evse.clock import iso8601

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_DAY = const(86400)
_LATE_S = const(60)            # an aligned boundary overrun this long was jumped over, not reached
TXDATA_BYTES = 8192    # JSON of the readings kept for transactionData, per transaction

PHASES = ("L1", "L2", "L3")


# (measurand, unit, per-phase?): what the meters of this controller measure.
# A constant tuple (flash on a board), not a dictionary built at import.
_MEASURANDS = const((
    ("Energy.Active.Import.Register", "Wh", False),
    ("Current.Import", "A", True),
    ("Current.Offered", "A", False),
    ("Voltage", "V", True),
    ("Power.Active.Import", "W", False),
    # OCPP 1.6 has no unit for it (the Measurand enumeration: "the UnitOfMeasure for any
    # SampledValue with measurand Frequency is Hertz"): sent without one
    ("Frequency", "", False),
    ("Temperature", "Celsius", False),
))


def measurand(name: str):
    """(measurand, unit, per-phase?) of a measurand the meters measure, else None."""
    for row in _MEASURANDS:
        if row[0] == name:
            return row
    return None


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("ClockAlignedDataInterval", "MeterValueSampleInterval", "MeterValuesAlignedData",
                      "MeterValuesAlignedDataMaxLength", "MeterValuesSampledData",
                      "MeterValuesSampledDataMaxLength", "StopTxnAlignedData",
                      "StopTxnAlignedDataMaxLength", "StopTxnSampledData", "StopTxnSampledDataMaxLength"))


def _csl(v: str) -> list:
    return [x.strip() for x in v.split(",") if x.strip()]


def _sv(name: str, value: str, phase, context: str) -> dict:
    sv = {"value": value, "context": context, "measurand": name,
          "location": "Body" if name == "Temperature" else "Outlet"}
    spec = measurand(name)
    unit = spec[1] if spec is not None else ""
    if unit:
        sv["unit"] = unit
    if phase:
        sv["phase"] = phase
    return sv


def next_boundary(now: int, iv: int) -> int:
    """The first clock-aligned boundary after `now` for an interval of iv > 0
    seconds, intervals counted from each midnight UTC (the last one of a day ends
    at midnight)."""
    midnight = now - now % _DAY
    b = midnight + ((now - midnight) // iv + 1) * iv
    return b if b < midnight + _DAY else midnight + _DAY


def phases(config) -> int:
    """The phases the station is wired for (L2Active / L3Active)."""
    g = config.get
    return 3 if (g("L2Active") or g("L3Active")) else 1


class Metering:
    OPERATIONS = ()     # evse.ocpp.operations: TriggerMessage MeterValues
    TRIGGERS = ("MeterValues",)

    def __init__(self, config, clock, meters, mirrors, sessions, io) -> None:
        self.config = config
        self.clock = clock
        self.meters = meters
        self.mirrors = mirrors
        self.sessions = sessions
        self.io = io                    # the board's I/O: temperature_dc()
        # the transaction service (services/transactions.py), wired by the
        # station: transaction MeterValues go through its journal
        self.tx = None                  # type: Any
        n = len(sessions)
        self.next_sample = [0] * n      # UTC seconds of the next sampled value, 0 = off
        self.next_aligned = 0           # UTC seconds of the next aligned boundary, 0 = not set
        self._aligned_iv = 0            # the interval next_aligned was computed for
        # UTC seconds are a long int on a 32-bit port: what the step and the
        # deadline compute from them is kept while its inputs are the same
        # objects (the clock's now() is one object per second)
        self._back_na = 0               # next_aligned - interval, for that next_aligned
        self._back_iv = 0
        self._back = 0
        self._nd_now = None             # type: Any  # next_deadline_s's inputs and answer
        self._nd_na = None              # type: Any
        self._nd_iv = 0
        self._nd_ns = [0] * n
        self._nd = -1
        self._txdata = [[] for _ in range(n)]   # type: list  # (JSON size, compact text)
        self._txbytes = [0] * n         # sum of the JSON sizes kept
        self._txstride = [1] * n        # keep every stride-th reading
        self._txseen = [0] * n          # readings taken in this transaction

    def sampled_value(self, i: int, measurands: list, context: str) -> list:
        """SampledValue list for connector index i."""
        m = self.meters[i]
        out = []  # type: list
        if not m.ok():
            return out
        has = getattr(m, "has", None)     # what the meter really measures (evse.metering)
        for name in measurands:
            if measurand(name) is None or (has is not None and not has(name, 0)):
                continue
            vals = []  # type: list
            if name == "Energy.Active.Import.Register":
                vals = [("%d" % m.energy_wh(), None)]   # an int (Wh): never a float
            elif name == "Current.Import":
                vals = [("%.1f" % m.current_a(p), PHASES[p]) for p in range(phases(self.config))
                        if has is None or has(name, p)]
            elif name == "Current.Offered":
                vals = [("%.1f" % (self.mirrors[i].offered_da / 10), None)]
            elif name == "Voltage":
                vals = [("%.1f" % m.voltage_v(p), PHASES[p] + "-N") for p in range(phases(self.config))
                        if has is None or has(name, p)]
            elif name == "Power.Active.Import":
                vals = [("%.1f" % m.power_w(), None)]
            elif name == "Frequency":
                hz = getattr(m, "frequency_hz", None)   # the simulator's own meter has none
                if hz is None:
                    continue
                vals = [("%.2f" % hz(), None)]
            else:  # Temperature
                vals = [("%.1f" % (self.io.temperature_dc() / 10), None)]
            for v, phase in vals:
                out.append(_sv(name, v, phase, context))
        return out

    def meter_value(self, i: int, measurands: list, context: str, ts: int = 0) -> dict:
        return {"timestamp": iso8601(ts if ts else self.clock.now()),
                "sampledValue": self.sampled_value(i, measurands, context)}

    def tx_started(self, i: int) -> None:
        iv = self.config.get("MeterValueSampleInterval")
        self.next_sample[i] = self.clock.now() + iv if iv > 0 else 0
        self._txdata[i] = []
        self._txbytes[i] = 0
        self._txstride[i] = 1
        self._txseen[i] = 0

    def tx_stopped(self, i: int) -> None:
        self.next_sample[i] = 0

    def tx_data(self, i: int) -> list:
        """The StopTxnSampledData / StopTxnAlignedData readings of the transaction
        on connector index i, oldest first (MeterValue dicts for
        StopTransaction.transactionData); forgets them."""
        out = []
        for size, text in self._txdata[i]:
            ts, ctx, items = json.loads(text)
            out.append({"timestamp": iso8601(ts),
                        "sampledValue": [_sv(m, v, ph, ctx) for m, v, ph in items]})
        self._txdata[i] = []
        self._txbytes[i] = 0
        return out

    def _keep(self, i: int, key: str, context: str, ts: int) -> None:
        names = _csl(self.config.get(key))
        if not names:
            return
        self._txseen[i] += 1
        if (self._txseen[i] - 1) % self._txstride[i]:
            return
        svs = self.sampled_value(i, names, context)
        if not svs:
            return
        size = len(json.dumps({"timestamp": iso8601(ts), "sampledValue": svs})) + 2
        if size > TXDATA_BYTES:
            return
        text = json.dumps([ts, context, [[sv["measurand"], sv["value"], sv.get("phase", "")]
                                         for sv in svs]])
        kept = self._txdata[i]
        while self._txbytes[i] + size > TXDATA_BYTES:
            kept = [kept[j] for j in range(0, len(kept), 2)]   # every second one goes
            self._txstride[i] *= 2
            self._txbytes[i] = sum([k[0] for k in kept])
        kept.append((size, text))
        self._txdata[i] = kept
        self._txbytes[i] += size

    def step(self) -> None:
        now = self.clock.now()
        sessions = self.sessions
        for i in range(len(sessions)):
            s = sessions[i]
            t = self.next_sample[i]
            if t and now >= t and s.tx_ref:
                iv = self.config.get("MeterValueSampleInterval")
                self.next_sample[i] = now + iv if iv > 0 else 0
                names = _csl(self.config.get("MeterValuesSampledData"))
                if names:
                    mv = self.meter_value(i, names, "Sample.Periodic")
                    if mv["sampledValue"]:
                        self.tx.tx_meter_values(i, [mv])
                self._keep(i, "StopTxnSampledData", "Sample.Periodic", now)
        iv = self.config.get("ClockAlignedDataInterval")
        if iv <= 0:
            self.next_aligned = 0
            return
        na = self.next_aligned
        if na == 0 or iv != self._aligned_iv or now < self._set_back(na, iv):
            # first step, a new interval, or the clock was set back
            self._aligned_iv = iv
            self.next_aligned = next_boundary(now, iv)
            return
        if now < na:
            return
        self.next_aligned = next_boundary(now, iv)
        late = now - na
        if late >= _LATE_S or late >= iv:
            return        # the clock was set forward over the boundary: nothing read there
        names = _csl(self.config.get("MeterValuesAlignedData"))
        for i, s in enumerate(self.sessions):
            if s.tx_ref:
                self._keep(i, "StopTxnAlignedData", "Sample.Clock", na)
            if not names:
                continue
            mv = self.meter_value(i, names, "Sample.Clock", na)
            if not mv["sampledValue"]:
                continue
            if s.tx_ref:
                self.tx.tx_meter_values(i, [mv])
            else:
                self.tx.send_meter_values(i, [mv])

    def send_triggered(self, what: str, cid) -> None:
        """TriggerMessage MeterValues: one connector, or every one."""
        names = _csl(self.config.get("MeterValuesSampledData"))
        tx = self.tx
        for c in ((cid,) if cid else range(1, len(self.sessions) + 1)):
            mv = self.meter_value(c - 1, names, "Trigger")
            tx.persist_meter(c - 1)
            p = {"connectorId": c, "meterValue": [mv]}
            t = tx.transaction_id(self.sessions[c - 1])
            if t is not None and t > 0:
                p["transactionId"] = t
            tx.client.send("MeterValues", p)

    def _set_back(self, na: int, iv: int) -> int:
        """na - iv: an aligned boundary further than this is in the future
        after the clock was set back (computed once per boundary)."""
        if self._back_na is not na or self._back_iv != iv:
            self._back_na = na
            self._back_iv = iv
            self._back = na - iv
        return self._back

    def next_deadline_s(self) -> int:
        now = self.clock.now()
        iv = self.config.get("ClockAlignedDataInterval")
        ns = self.next_sample
        same = self._nd_now is now and self._nd_na is self.next_aligned and self._nd_iv == iv
        if same:
            for i in range(len(ns)):
                if ns[i] is not self._nd_ns[i]:
                    same = False
                    break
        if same:
            return self._nd
        best = -1
        for t in ns:
            if t:
                d = max(0, t - now)
                best = d if best < 0 else min(best, d)
        if iv > 0:
            na = self.next_aligned
            if not na or iv != self._aligned_iv or now < self._set_back(na, iv):
                na = next_boundary(now, iv)
            d = max(0, na - now)
            best = d if best < 0 else min(best, d)
        self._nd_now = now
        self._nd_na = self.next_aligned
        self._nd_iv = iv
        for i in range(len(ns)):
            self._nd_ns[i] = ns[i]
        self._nd = best
        return best
