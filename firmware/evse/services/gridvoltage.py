# Grid voltage supervision (manual 4.4 OverVoltageLimit, UnderVoltageLimit,
# VoltageLimitCheckInterval, VoltageLimitMaxSequentialStatusNotification,
# L1Active..L3Active; manual 8.2 errorCodes OverVoltage / UnderVoltage).
#
# Every VoltageLimitCheckInterval seconds (0 = no supervision) the voltage
# of each active phase is read from the connectors' meters (those that are
# ok() and really measure it: an S0 meter does not, has("Voltage") is
# False). A phase above OverVoltageLimit or below UnderVoltageLimit is a
# warning of the whole Charge Point (connectorId 0): StatusNotification with
# errorCode OverVoltage / UnderVoltage, the status unchanged, info naming
# the phase and its voltage ("L1 270 V"). Over-voltage wins when both are
# seen; within one kind the phase farthest from its limit is named.
#
# While it persists it is reported once per check, at most
# VoltageLimitMaxSequentialStatusNotification times in a row (0: never
# reported); "the limiter will be reset after measuring one good value
# again": the first good check clears it (NoError, info "cleared
# OverVoltage/") and the next bad one starts counting from 1. A change of
# kind (over -> under) is a new warning, counted from 1.
#
# Conditions go through evse.services.conditions (cid 0, name "grid", a
# warning: nothing is blocked); the repeats are sent by the station's
# resend_status (the first report is the condition's own change).
from evse.services.conditions import PRIO_WARNING
from evse.ticks import ticks_add, ticks_diff

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_PHASE_KEYS = const(("L1Active", "L2Active", "L3Active"))
NAME = "grid"


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("L1Active", "L2Active", "L3Active", "OverVoltageLimit", "UnderVoltageLimit",
                      "VoltageLimitCheckInterval", "VoltageLimitMaxSequentialStatusNotification"))


class GridVoltage:
    def __init__(self, config, meters, conditions, status) -> None:
        # status: the status reporting service (services/statusreport.py:
        # resend(cid, code), a repeat of the report)
        self.config = config
        self.meters = meters
        self.conditions = conditions
        self.status = status
        self._on = False              # a check is scheduled (VoltageLimitCheckInterval > 0)
        self._next = 0                # ticks of the next check
        self._kind = ""               # code being reported ("" = the grid is good)
        self.sent = 0                 # reports of the current bad run
        self.checks = 0

    def measure(self):
        """(code, phase, volts) of the worst active phase out of limits, or
        None when every measured active phase is within them."""
        g = self.config.get
        hi = g("OverVoltageLimit")
        lo = g("UnderVoltageLimit")
        over = None       # (excess, phase, volts)
        under = None
        for p in range(3):
            if not g(_PHASE_KEYS[p]):
                continue
            for m in self.meters:
                if not m.ok():
                    continue
                has = getattr(m, "has", None)
                if has is not None and not has("Voltage", p):
                    continue
                v = m.voltage_v(p)
                if v > hi and (over is None or v - hi > over[0]):
                    over = (v - hi, p, v)
                elif v < lo and (under is None or lo - v > under[0]):
                    under = (lo - v, p, v)
        if over is not None:
            return ("OverVoltage", over[1], over[2])
        if under is not None:
            return ("UnderVoltage", under[1], under[2])
        return None

    def check(self) -> None:
        self.checks += 1
        bad = self.measure()
        conds = self.conditions
        if bad is None:
            self._kind = ""
            self.sent = 0
            conds.clear(0, NAME)        # the station reports NoError "cleared ..."
            return
        code, phase, volts = bad
        limit = self.config.get("VoltageLimitMaxSequentialStatusNotification")
        if code != self._kind:
            self._kind = code
            self.sent = 0
        if self.sent >= limit:
            return                      # limiter: quiet until one good value
        info = "L%d %d V" % (phase + 1, int(volts + 0.5))
        first = self.sent == 0
        conds.set(0, NAME, code, "", info, PRIO_WARNING, False)
        self.sent += 1
        if not first:
            self.status.resend(0, code)

    def step(self, now: int) -> None:
        iv = self.config.get("VoltageLimitCheckInterval")
        if iv <= 0:
            self._on = False
            if self._kind:
                self._kind = ""
                self.sent = 0
                self.conditions.clear(0, NAME)
            return
        if not self._on:
            self._on = True
            self._next = ticks_add(now, iv * 1000)
            return
        if ticks_diff(now, self._next) >= 0:
            self._next = ticks_add(now, iv * 1000)
            self.check()

    def next_deadline_ms(self, now: int) -> int:
        if not self._on:
            iv = self.config.get("VoltageLimitCheckInterval")
            return 0 if iv > 0 else -1  # the schedule starts at the next step
        d = ticks_diff(self._next, now)
        return d if d > 0 else 0
