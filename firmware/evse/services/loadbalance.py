# Local load balancing (manual 6.2, 6.3) and temperature derating (keys
# TempLowerOffsetDegrees/Limit, TempUpperOffsetDegrees/Limit).
#
# Shares the station current among the connectors. All currents are ints in
# deci-amps (0.1 A) so the loop is exact and float-free. Per connector, index i
# = connectorId i + 1:
#   active[i]  a session wants this connector allocated (EV connected and
#              authorized: charging, or about to / suspended)
#   demand[i]  the EV asks for energy now (pilot C/D, or it draws current)
#   cap        min(MaxCurrentConnection, smart-charging limit of the
#              connector, derating cap)
#   station    min(ChargePointCurrentLimit, ChargePointMaxProfile limit): a
#              profile can lower the station limit, never raise it (6.3)
#
# Rules (manual 6.2):
# 1. If the caps of the connectors in play sum to <= station, each gets its cap.
# 2. Otherwise every connector in play is reduced by the same amount, in 0.1 A
#    steps, the smallest amount that makes the sum fit (computed by bisection,
#    the same result as the manual's loop).
# 3. No connector is reduced below MinCurrentConnection (or below its own cap
#    when that is lower, e.g. a profile at 6 A).
# 4. If even the floors do not fit, charging goes in turns: starting from the
#    turn pointer, connectors are taken while their floors fit (the first one
#    always, with at most the station limit), the taken ones share the station
#    by rules 1-3 and the others get 0. Every ROTATE_S (15 min) the pointer moves
#    past the last connector served, so all get their turn. A lone EV in play
#    is not "in turns": it simply gets the station limit.
# 5. A connector whose EV has not asked for energy for IDLE_S (15 min) while
#    being offered current is released: it no longer counts, the others get the
#    energy; it is offered only what is left over (so the sum never exceeds the
#    station limit, and the EV can still resume: when it asks again it is back
#    in play at once; if nothing is left over it waits until the others need
#    less). A connector offered 0 (its turn is not yet, or a profile says 0)
#    cannot show demand, so its idle clock does not run.
# Invariant: the sum of the allocation never exceeds the station limit and no
# connector gets more than its cap.
#
# Derating decision: the manual gives two levels "where the charger will set a
# reduced charge value" for all Charge Points. A level is entered when the
# station temperature reaches its Degrees (>=) and left when it falls below
# Degrees - HYST_C (2 °C), so a temperature on the threshold does not make the
# current (and the contactor) flap. While a level holds, every connector's cap
# is at most its Limit; with both, the lower Limit. No temperature (no sensor
# reading) = no derating.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

ROTATE_S = const(900)   # in-turns rotation period (rule 4)
IDLE_S = const(900)     # no demand this long releases the share (rule 5)
HYST_C = const(2)       # derating hysteresis, degrees Celsius


def deci(amps) -> int:
    """Amps (int or float) -> deci-amps int."""
    return int(round(amps * 10))


def equal_share(limit: int, caps: list, floors: list):
    """Rules 1-3 on deci-amps: caps reduced by one common amount (0.1 A steps),
    none below its floor, until the sum fits `limit`. None if the floors alone
    exceed it (rule 4 territory)."""
    total = 0
    low = 0
    for i in range(len(caps)):
        total += caps[i]
        low += floors[i] if floors[i] < caps[i] else caps[i]
    if total <= limit:
        return list(caps)
    if low > limit:
        return None
    lo = 0
    hi = max(caps)      # reduced by the biggest cap everyone sits on its floor
    while lo < hi:
        mid = (lo + hi) // 2
        s = 0
        for i in range(len(caps)):
            s += _reduced(caps[i], floors[i], mid)
        if s <= limit:
            hi = mid
        else:
            lo = mid + 1
    return [_reduced(caps[i], floors[i], lo) for i in range(len(caps))]


def _reduced(cap: int, floor: int, r: int) -> int:
    if floor > cap:
        floor = cap
    v = cap - r
    return v if v > floor else floor


class Derating:
    """Temperature derating with hysteresis (see the header)."""

    def __init__(self, hyst_c=HYST_C) -> None:
        self.hyst = hyst_c
        self.lower = False
        self.upper = False
        self.cap = None     # the last cap_da() answer (deci-amps or None)

    def cap_da(self, temp_c, lower_deg, lower_limit_a, upper_deg, upper_limit_a):
        """Per-connector cap in deci-amps, or None when not derating."""
        if temp_c is None:
            self.lower = self.upper = False
            return None
        self.lower = temp_c >= lower_deg or (self.lower and temp_c > lower_deg - self.hyst)
        self.upper = temp_c >= upper_deg or (self.upper and temp_c > upper_deg - self.hyst)
        cap = None
        if self.lower:
            cap = deci(lower_limit_a)
        if self.upper:
            u = deci(upper_limit_a)
            cap = u if cap is None or u < cap else cap
        self.cap = cap
        return cap

    def from_config(self, temp_c, config):
        return self.cap_da(temp_c, config.get("TempLowerOffsetDegrees"),
                           config.get("TempLowerOffsetLimit"),
                           config.get("TempUpperOffsetDegrees"),
                           config.get("TempUpperOffsetLimit"))


class LoadBalancer:
    def __init__(self, n_connectors: int, rotate_s: int = ROTATE_S, idle_s: int = IDLE_S) -> None:
        self.n = n_connectors
        self.rotate_s = rotate_s
        self.idle_s = idle_s
        self.alloc = [0] * n_connectors       # last allocation, deci-amps
        self.in_turns = False                 # rule 4 in force
        self.released = [False] * n_connectors  # rule 5 in force
        self.derating = Derating()
        self._seen: list = [None] * n_connectors   # last demand (or offer of 0), epoch s
        self._demand = [False] * n_connectors
        self._turn = 0                        # first connector of the current turn
        self._turn_last = 0                   # last connector served this turn
        self._turn_until: int | None = None   # end of the current turn, epoch s

    def step(self, now: int, config, active: list, demand: list, sc_a=None,
             station_sc_a=None, temp_c=None) -> list:
        """allocate() with the limits read from configuration, in amps.
        sc_a: per-connector smart-charging limit (A or None), e.g.
        SmartCharging.target_a(); station_sc_a: SmartCharging.limit_a(0)."""
        sc = None
        if sc_a is not None:
            sc = [None if a is None else deci(a) for a in sc_a]
        return self.allocate(now, deci(config.get("ChargePointCurrentLimit")),
                             deci(config.get("MaxCurrentConnection")),
                             deci(config.get("MinCurrentConnection")), active, demand, sc,
                             None if station_sc_a is None else deci(station_sc_a),
                             self.derating.from_config(temp_c, config))

    def allocate(self, now: int, station_da: int, max_da: int, min_da: int, active: list,
                 demand: list, sc_da=None, station_sc_da=None, derate_da=None) -> list:
        """Deci-amps per connector (0 for inactive ones)."""
        n = self.n
        limit = station_da
        if station_sc_da is not None and station_sc_da < limit:
            limit = station_sc_da
        if limit < 0:
            limit = 0
        caps = [0] * n
        play = []
        idle = []
        for i in range(n):
            if not active[i]:
                self._seen[i] = None
                self.released[i] = False
                self._demand[i] = False
                continue
            c = max_da
            if sc_da is not None and sc_da[i] is not None and sc_da[i] < c:
                c = sc_da[i]
            if derate_da is not None and derate_da < c:
                c = derate_da
            caps[i] = c if c > 0 else 0
            # idle clock: runs only while the EV is offered current; a released
            # connector stays released until its EV asks again
            if (self._seen[i] is None or demand[i]
                    or (self.alloc[i] <= 0 and not self.released[i])):
                self._seen[i] = now
            self._demand[i] = bool(demand[i])
            self.released[i] = now - self._seen[i] >= self.idle_s
            if self.released[i]:
                idle.append(i)
            else:
                play.append(i)
        out = [0] * n
        used = self._share(now, limit, caps, min_da, play, out)
        if idle:
            rest = equal_share(limit - used, [caps[i] for i in idle], [0] * len(idle))
            for k in range(len(idle)):
                out[idle[k]] = rest[k] if rest is not None else 0
        self.alloc = out
        return list(out)

    def _share(self, now: int, limit: int, caps: list, min_da: int, play: list, out: list) -> int:
        floors = [min_da if min_da < caps[i] else caps[i] for i in play]
        got = equal_share(limit, [caps[i] for i in play], floors)
        if got is not None or len(play) == 1:
            self.in_turns = False
            self._turn_until = None
            if got is None:   # one EV, station below its floor: it gets the station limit
                got = [limit]
            for k in range(len(play)):
                out[play[k]] = got[k]
            return sum(got)
        # rule 4: in turns
        self.in_turns = True
        if self._turn_until is None:
            self._turn_until = now + self.rotate_s
        elif now >= self._turn_until:
            self._turn = (self._turn_last + 1) % self.n
            self._turn_until = now + self.rotate_s
        chosen: list = []
        need = 0
        for k in range(self.n):
            i = (self._turn + k) % self.n
            if i not in play:
                continue
            f = min_da if min_da < caps[i] else caps[i]
            if not chosen or need + f <= limit:
                chosen.append(i)
                need += f
        self._turn_last = chosen[-1]
        if len(chosen) == 1:
            i = chosen[0]
            out[i] = caps[i] if caps[i] < limit else limit
            return out[i]
        got = equal_share(limit, [caps[i] for i in chosen],
                          [min_da if min_da < caps[i] else caps[i] for i in chosen])
        used = 0
        for k in range(len(chosen)):
            out[chosen[k]] = got[k]   # floors fit by construction
            used += got[k]
        return used

    def next_change_s(self, now: int):
        """Seconds until the allocation changes by itself (turn rotation or an
        idle release), or None. Changes of the inputs are the caller's."""
        nxt = self._turn_until if self.in_turns else None
        for i in range(self.n):
            s = self._seen[i]
            if s is not None and not self.released[i] and not self._demand[i] and self.alloc[i] > 0:
                t = s + self.idle_s
                if nxt is None or t < nxt:
                    nxt = t
        if nxt is None:
            return None
        return nxt - now if nxt > now else 0
