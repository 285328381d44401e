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

_ROTATE_S = const(900)   # in-turns rotation period (rule 4)
_IDLE_S = const(900)     # no demand this long releases the share (rule 5)
_HYST_C = const(2)       # derating hysteresis, degrees Celsius


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("ChargePointCurrentLimit", "TempLowerOffsetDegrees", "TempLowerOffsetLimit",
                      "TempUpperOffsetDegrees", "TempUpperOffsetLimit"))


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

    def __init__(self, hyst_c=_HYST_C) -> None:
        self.hyst = hyst_c
        self.lower = False
        self.upper = False
        self.cap = None     # type: int | None  # the last cap_da() answer (deci-amps or None)

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

    def cap_dc(self, temp_dc: int, lower_dc: int, lower_da: int, upper_dc: int, upper_da: int):
        """cap_da() in integers, allocating nothing (the MCU step): the
        temperature and the Degrees in 0.1 degC, the Limits in deci-amps."""
        h = self.hyst * 10
        self.lower = temp_dc >= lower_dc or (self.lower and temp_dc > lower_dc - h)
        self.upper = temp_dc >= upper_dc or (self.upper and temp_dc > upper_dc - h)
        cap = None             # type: int | None
        if self.lower:
            cap = lower_da
        if self.upper and (cap is None or upper_da < cap):
            cap = upper_da
        self.cap = cap
        return cap

    def from_config(self, temp_c, config):
        return self.cap_da(temp_c, config.get("TempLowerOffsetDegrees"),
                           config.get("TempLowerOffsetLimit"),
                           config.get("TempUpperOffsetDegrees"),
                           config.get("TempUpperOffsetLimit"))


def _share_into(limit: int, caps, floors, idx, k: int, out) -> bool:
    """equal_share() in place (no allocation, for the MCU step): over the k
    connectors idx[0..k-1], caps[i] reduced by one common amount, none below
    floors[i] (floors[i] <= caps[i]), written to out[i]. False (out
    untouched) when the floors alone exceed limit."""
    total = 0
    low = 0
    hi = 0
    for j in range(k):
        i = idx[j]
        c = caps[i]
        total += c
        low += floors[i]
        if c > hi:
            hi = c
    if total <= limit:
        for j in range(k):
            i = idx[j]
            out[i] = caps[i]
        return True
    if low > limit:
        return False
    lo = 0
    while lo < hi:
        mid = (lo + hi) // 2
        t = 0
        for j in range(k):
            i = idx[j]
            v = caps[i] - mid
            t += v if v > floors[i] else floors[i]
        if t <= limit:
            hi = mid
        else:
            lo = mid + 1
    for j in range(k):
        i = idx[j]
        v = caps[i] - lo
        out[i] = v if v > floors[i] else floors[i]
    return True


class LoadBalancer:
    """Allocation state and scratch are preallocated: allocate_into() (the
    station's MCU step) allocates nothing (docs/memory.md); allocate() and
    step() return a copy of the allocation."""

    def __init__(self, n_connectors: int, rotate_s: int = _ROTATE_S, idle_s: int = _IDLE_S) -> None:
        self.n = n_connectors
        self.rotate_s = rotate_s
        self.idle_s = idle_s
        self.alloc = [0] * n_connectors       # last allocation, deci-amps (updated in place)
        self.in_turns = False                 # rule 4 in force
        self.released = [False] * n_connectors  # rule 5 in force
        self.derating = Derating()
        self._seen: list = [None] * n_connectors   # last demand (or offer of 0), epoch s
        self._release_at: list = [0] * n_connectors   # _seen + idle_s: compared, no arithmetic per step
        self._demand = [False] * n_connectors
        self._turn = 0                        # first connector of the current turn
        self._turn_last = 0                   # last connector served this turn
        self._turn_until: int | None = None   # end of the current turn, epoch s
        # scratch of allocate_into, by connector index
        self._caps = [0] * n_connectors
        self._floors = [0] * n_connectors
        self._zero = [0] * n_connectors
        self._play = [0] * n_connectors       # indexes in play (rules 1-4), first _np
        self._idle = [0] * n_connectors       # released (rule 5), first _ni
        self._chosen = [0] * n_connectors     # taken this turn (rule 4)
        self._out = [0] * n_connectors
        self._sc = [None] * n_connectors      # type: list

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
        """Deci-amps per connector (0 for inactive ones): a new list (and
        self.alloc a new one too: a list the caller kept does not change)."""
        self.alloc = list(self.alloc)
        return list(self.allocate_into(now, station_da, max_da, min_da, active, demand,
                                       sc_da, station_sc_da, derate_da))

    def allocate_into(self, now: int, station_da: int, max_da: int, min_da: int, active,
                      demand, sc_da=None, station_sc_da=None, derate_da=None) -> list:
        """allocate() without allocating: updates and returns self.alloc
        (the caller must not keep it across calls). sc_da: deci-amps or
        None per connector (None: no smart-charging limit)."""
        n = self.n
        limit = station_da
        if station_sc_da is not None and station_sc_da < limit:
            limit = station_sc_da
        if limit < 0:
            limit = 0
        caps = self._caps
        floors = self._floors
        play = self._play
        idle = self._idle
        out = self._out
        seen = self._seen
        np = 0
        ni = 0
        for i in range(n):
            caps[i] = 0
            out[i] = 0
            if not active[i]:
                seen[i] = None
                self.released[i] = False
                self._demand[i] = False
                continue
            c = max_da
            if sc_da is not None and sc_da[i] is not None and sc_da[i] < c:
                c = sc_da[i]
            if derate_da is not None and derate_da < c:
                c = derate_da
            c = c if c > 0 else 0
            caps[i] = c
            floors[i] = min_da if min_da < c else c
            # idle clock: runs only while the EV is offered current; a released
            # connector stays released until its EV asks again
            if (seen[i] is None or demand[i]
                    or (self.alloc[i] <= 0 and not self.released[i])):
                if seen[i] is not now:      # once per second of the clock (its now() object)
                    seen[i] = now
                    self._release_at[i] = now + self.idle_s
            self._demand[i] = bool(demand[i])
            r = now >= self._release_at[i]
            self.released[i] = r
            if r:
                idle[ni] = i
                ni += 1
            else:
                play[np] = i
                np += 1
        used = self._share(now, limit, np)
        if ni:
            # the released ones share what is left over, with no floor
            if not _share_into(limit - used, caps, self._zero, idle, ni, out):
                for k in range(ni):
                    out[idle[k]] = 0
        a = self.alloc
        for i in range(n):
            a[i] = out[i]
        return a

    def _share(self, now: int, limit: int, np: int) -> int:
        caps = self._caps
        floors = self._floors
        play = self._play
        out = self._out
        if np == 0:
            self.in_turns = False
            self._turn_until = None
            return 0
        ok = _share_into(limit, caps, floors, play, np, out)
        if ok or np == 1:
            self.in_turns = False
            self._turn_until = None
            used = 0
            if not ok:   # one EV, station below its floor: it gets the station limit
                out[play[0]] = limit
            for k in range(np):
                used += out[play[k]]
            return used
        # rule 4: in turns
        self.in_turns = True
        if self._turn_until is None:
            self._turn_until = now + self.rotate_s
        elif now >= self._turn_until:
            self._turn = (self._turn_last + 1) % self.n
            self._turn_until = now + self.rotate_s
        chosen = self._chosen
        nc = 0
        need = 0
        for k in range(self.n):
            i = (self._turn + k) % self.n
            inplay = False
            for j in range(np):
                if play[j] == i:
                    inplay = True
                    break
            if not inplay:
                continue
            f = floors[i]
            if nc == 0 or need + f <= limit:
                chosen[nc] = i
                nc += 1
                need += f
        self._turn_last = chosen[nc - 1]
        if nc == 1:
            i = chosen[0]
            out[i] = caps[i] if caps[i] < limit else limit
            return out[i]
        _share_into(limit, caps, floors, chosen, nc, out)   # floors fit by construction
        used = 0
        for k in range(nc):
            used += out[chosen[k]]
        return used

    def next_change_s(self, now: int):
        """Seconds until the allocation changes by itself (turn rotation or an
        idle release), or None. Changes of the inputs are the caller's."""
        nxt = self._turn_until if self.in_turns else None
        for i in range(self.n):
            s = self._seen[i]
            if s is not None and not self.released[i] and not self._demand[i] and self.alloc[i] > 0:
                t = self._release_at[i]
                if nxt is None or t < nxt:
                    nxt = t
        if nxt is None:
            return None
        return nxt - now if nxt > now else 0
