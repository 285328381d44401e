# EV overcurrent, from the meter's per-phase current (IEC 61851-1 Annex A:
# the EV follows a lower PWM duty within 5 s; manual 8.2 errorCode
# OverCurrentFailure).
#
# An EV "overdraws" while, with the contactor closed, the highest phase
# current its meter measures exceeds the current the PWM offers by more than
# the tolerance: max(1 A, 10 % of the offer) -- meter accuracy, the EV's own
# regulation steps and the ramp after a change of duty stay within it.
#
#   overdraw for GRACE_MS (5 s)  -> warning: StatusNotification
#       OverCurrentFailure (status unchanged, info "EV 20.0 A > 16.0 A"),
#       and the offer is cut to the minimum (6 A, 10 % duty) for the rest
#       of the session: the EV is asked to reduce
#   the EV follows                -> the warning clears (NoError), the cut
#       offer stays until the EV leaves (pilot A) or the transaction ends
#   still overdrawing GRACE_MS after the cut -> blocking condition: the
#       connector is Faulted, its energy limit 0, the contactor opens; it
#       clears when the EV is unplugged (pilot A)
#
# Conditions go through evse.services.conditions (name "overcurrent").
from evse.iocu import pilot as P
from evse.services.conditions import PRIO_FAILURE, PRIO_WARNING
from evse.ticks import ticks_diff

GRACE_MS = 5000
TOL_MIN_DA = 10          # 1 A
CUT_DA = 60              # the reduced offer: 6 A
NAME = "overcurrent"


def tolerance_da(offered_da: int) -> int:
    t = offered_da // 10
    return t if t > TOL_MIN_DA else TOL_MIN_DA


class Overcurrent:
    def __init__(self, meters, mirrors, sessions, conditions, log, error_log) -> None:
        self.meters = meters
        self.mirrors = mirrors
        self.sessions = sessions
        self.conditions = conditions
        self.log = log
        self.error_log = error_log
        n = len(sessions)
        self.cap_da = [-1] * n        # the reduced offer, -1 none
        self.stage = [0] * n          # 0 normal, 1 warned (offer cut), 2 blocked
        self._over = [False] * n
        self._t = [0] * n             # ticks the overdraw began

    def _drawn_da(self, i: int) -> int:
        m = self.meters[i]
        if not m.ok():
            return -1
        # deci-amps from the meter: integers, no float per step (docs/memory.md)
        a = m.current_da(0)
        x = m.current_da(1)
        if x > a:
            a = x
        x = m.current_da(2)
        return x if x > a else a

    def _reset(self, i: int) -> None:
        self.cap_da[i] = -1
        self.stage[i] = 0
        self._over[i] = False
        self.conditions.clear(i + 1, NAME)

    def step(self, now: int) -> None:
        conns = self.mirrors
        for i in range(len(conns)):
            c = conns[i]
            if c.pilot == P.A or (self.stage[i] < 2 and not self.sessions[i].tx_ref):
                if self.stage[i] or self._over[i] or self.cap_da[i] >= 0:
                    self._reset(i)     # the EV left (or the transaction ended)
                continue
            if self.stage[i] == 2:
                continue
            drawn = self._drawn_da(i)
            off = c.offered_da
            over = c.contactor_closed and drawn >= 0 and drawn > off + tolerance_da(off)
            if not over:
                self._over[i] = False
                if self.stage[i] == 1:
                    self.conditions.clear(i + 1, NAME)   # it follows the cut offer
                continue
            if not self._over[i]:
                self._over[i] = True
                self._t[i] = now
                continue
            if ticks_diff(now, self._t[i]) < GRACE_MS:
                continue
            info = "EV %d.%d A > %d.%d A" % (drawn // 10, drawn % 10, off // 10, off % 10)
            self._over[i] = False
            if self.stage[i] == 0:
                self.stage[i] = 1
                self.cap_da[i] = CUT_DA
                self.conditions.set(i + 1, NAME, "OverCurrentFailure", "", info, PRIO_WARNING)
                self.log.add("c%d overcurrent %s: offer cut to 6 A" % (i + 1, info))
                continue
            self.stage[i] = 2           # it did not follow the cut offer either
            self.conditions.set(i + 1, NAME, "OverCurrentFailure", "", info, PRIO_FAILURE, True)
            self.error_log.add("c%d overcurrent %s: contactor opened" % (i + 1, info))

    def next_deadline_ms(self, now: int) -> int:
        best = -1
        for i in range(len(self._over)):
            if self._over[i]:
                d = GRACE_MS - ticks_diff(now, self._t[i])
                d = d if d > 0 else 0
                if best < 0 or d < best:
                    best = d
        return best
