# cpython-only: hypothesis properties of evse.services.loadbalance.
# Over random sequences of inputs and time steps: the allocation never exceeds
# the station limit (ChargePointCurrentLimit, lowered by a ChargePointMaxProfile)
# or a connector's cap; outside in-turns mode every connector in play gets at
# least its floor (a lone EV with the station below its floor gets the station
# limit); in-turns mode gives some connector 0 and the others their floors.
from hypothesis import given, settings, strategies as st

from evse.services.loadbalance import LoadBalancer, equal_share

amps = st.integers(min_value=0, max_value=800)
maybe = st.one_of(st.none(), amps)


def step_strategy(n):
    return st.tuples(
        st.integers(min_value=0, max_value=1200),                 # seconds to advance
        amps,                                                      # ChargePointCurrentLimit
        st.integers(min_value=0, max_value=800),                   # MaxCurrentConnection
        st.integers(min_value=0, max_value=400),                   # MinCurrentConnection
        st.lists(st.booleans(), min_size=n, max_size=n),           # active
        st.lists(st.booleans(), min_size=n, max_size=n),           # demand
        st.one_of(st.none(), st.lists(maybe, min_size=n, max_size=n)),  # smart charging per connector
        maybe,                                                     # ChargePointMaxProfile
        maybe,                                                     # derating cap
    )


@st.composite
def scenarios(draw):
    n = draw(st.integers(min_value=1, max_value=4))
    return n, draw(st.lists(step_strategy(n), min_size=1, max_size=30))


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_allocation_never_exceeds_limits(sc):
    n, steps = sc
    lb = LoadBalancer(n)
    now = 1772409600
    for dt, station, mx, mn, active, demand, sc_da, st_sc, der in steps:
        now += dt
        a = lb.allocate(now, station, mx, mn, active, demand, sc_da, st_sc, der)
        limit = station if st_sc is None else min(station, st_sc)
        assert len(a) == n
        assert sum(a) <= limit, (a, limit)
        for i in range(n):
            cap = mx
            if sc_da is not None and sc_da[i] is not None:
                cap = min(cap, sc_da[i])
            if der is not None:
                cap = min(cap, der)
            assert 0 <= a[i] <= cap
            if not active[i]:
                assert a[i] == 0
        play = [i for i in range(n) if active[i] and not lb.released[i]]
        caps = []
        for i in play:
            cap = mx
            if sc_da is not None and sc_da[i] is not None:
                cap = min(cap, sc_da[i])
            if der is not None:
                cap = min(cap, der)
            caps.append(cap)
        floors = [min(mn, c) for c in caps]
        if not lb.in_turns:
            if len(play) == 1 and floors[0] > limit:
                assert a[play[0]] == limit      # one EV, station below its floor
            else:
                for k, i in enumerate(play):
                    assert a[i] >= floors[k]
        else:
            assert sum(floors) > limit
            got = [a[i] for i in play]
            assert 0 in got
            served = [k for k in range(len(play)) if got[k] > 0]
            if len(served) > 1:
                for k in served:
                    assert got[k] >= floors[k]
        nc = lb.next_change_s(now)
        assert nc is None or nc >= 0


@settings(max_examples=300, deadline=None)
@given(amps, st.lists(st.tuples(amps, amps), min_size=1, max_size=4))
def test_equal_share_is_the_smallest_common_reduction(limit, rows):
    caps = [r[0] for r in rows]
    floors = [r[1] for r in rows]
    got = equal_share(limit, caps, floors)
    eff = [min(f, c) for f, c in zip(floors, caps)]
    if sum(caps) <= limit:
        assert got == caps
    elif sum(eff) > limit:
        assert got is None
    else:
        assert sum(got) <= limit
        r = max(c - g for c, g in zip(caps, got))
        for c, f, g in zip(caps, eff, got):
            assert g == max(f, c - r)
        # one 0.1 A step less would not fit
        if r > 0:
            assert sum(max(f, c - (r - 1)) for c, f in zip(caps, eff)) > limit
