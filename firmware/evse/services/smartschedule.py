# The schedule of a charging profile over time (OCPP 1.6 3.13): which period
# is in force at an instant for Absolute, Recurring (Daily/Weekly, in UTC) and
# Relative profiles (period_at, with the next instant it may change), its
# limit in the unit wanted (period_value: W -> A per 7.12) and the units
# ChargingScheduleAllowedChargingRateUnit allows. Plain functions on a Profile.
from evse.services.smartprofile import CP_MAX, RECURRING, RELATIVE

def min_opt(a, b):
    if a is None:
        return b
    if b is None or a <= b:
        return a
    return b


def period_at(p, t: int, anchor):
    """p: a Profile (evse.services.smartprofile). -> (index of the period in
    force at t or -1, next instant > t at which that may change or None).
    anchor: transaction start for Relative profiles; None = no transaction
    yet, the profile stays at its first period."""
    if p.vto is not None and t >= p.vto:
        return -1, None
    if p.vfrom is not None and t < p.vfrom:
        return -1, p.vfrom
    nxt = p.vto
    end = p.dur
    floating = False
    if p.kind == RELATIVE and p.purpose == CP_MAX:
        s = p.installed     # a station limit has no transaction: from receipt
    elif p.kind == RELATIVE:
        if anchor is None:
            floating = True
            s = t
        else:
            s = anchor
    elif p.kind == RECURRING:
        per = 86400 if p.recur == 0 else 604800     # a day, a week
        s0 = p.start if p.start is not None else 0   # check(): Recurring has one
        s = s0 + ((t - s0) // per) * per
        nxt = min_opt(nxt, s + per)
        end = per if end is None or end > per else end
    else:
        s = p.start if p.start is not None else p.installed
    off = t - s
    if off < 0:
        return -1, min_opt(nxt, s)
    if end is not None and off >= end:
        return -1, nxt
    st = p.starts
    i = 0                   # last period with startPeriod <= off (starts[0] == 0)
    hi = len(st) - 1
    while i < hi:
        mid = (i + hi + 1) // 2
        if st[mid] <= off:
            i = mid
        else:
            hi = mid - 1
    if not floating:
        if i + 1 < len(st):
            nxt = min_opt(nxt, s + st[i + 1])
        if end is not None:
            nxt = min_opt(nxt, s + end)
    return i, nxt


def period_value(p, i: int, watts: bool, volts: int) -> int:
    """Limit of period i of Profile p in tenths of the wanted unit (W->A rounded down)."""
    v = p.limits[i]
    ph = p.phases[i] or 3
    if p.watts == watts:
        return v
    if watts:
        return v * volts * ph
    return v // (volts * ph)


def allowed_units(csl: str) -> tuple:
    """ChargingScheduleAllowedChargingRateUnit -> (A allowed, W allowed)."""
    a = w = False
    for item in str(csl).split(","):
        item = item.strip()
        if item.startswith("Current") or item == "A":
            a = True
        elif item.startswith("Power") or item == "W":
            w = True
    return a, w

