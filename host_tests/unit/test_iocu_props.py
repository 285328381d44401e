# cpython-only
# Property tests of the safety core (hypothesis): random sequences of plug /
# unplug / EV state / fault / limit / authorize / unlock / availability /
# supply events, with ticks in between; after EVERY tick:
#   - the contactor is closed only when every condition of the rule holds
#   - the duty is 1000 permille (no PWM) or within the formula's range
#   - a Faulted connector never has its contactor closed
#   - the pins agree with the state (coil, duty)
from hypothesis import given, settings, strategies as st, HealthCheck

from evse.iocu import pilot as P
from evse.iocu import status as S
from evse.iocu import ccid as CC
from evse.iocu.pwm import duty_for_da
from evsesim.hal.sim_io import CONNECTOR_FAULTS, STATION_FAULTS
from iocu_rig import Rig

configs = st.fixed_dictionaries({
    "max_current_a": st.sampled_from([6, 10, 16, 32, 63, 80]),
    "safety_relay": st.booleans(),
    "helper_no": st.booleans(),
    "ccid": st.booleans(),
    "three_stage": st.booleans(),
    "inversed": st.booleans(),
    "actuator": st.booleans(),
    "tethered": st.booleans(),
    "ventilation_ok": st.booleans(),
    "unlock_on_ev_disconnect": st.booleans(),
})

actions = st.one_of(
    st.tuples(st.just("plug"), st.sampled_from([13, 20, 32, 63])),
    st.tuples(st.just("unplug"), st.booleans()),
    st.tuples(st.just("ev"), st.sampled_from("ABCDEF"), st.sampled_from([6, 16, 32, 80]), st.booleans()),
    st.tuples(st.just("ev"), st.sampled_from("ABCCCD"), st.just(32), st.just(True)),
    st.tuples(st.just("fault"), st.sampled_from(CONNECTOR_FAULTS + STATION_FAULTS), st.booleans()),
    st.tuples(st.just("limit"), st.integers(min_value=0, max_value=900)),
    st.tuples(st.just("auth"), st.booleans()),
    st.tuples(st.just("unlock")),
    st.tuples(st.just("operative"), st.booleans()),
    st.tuples(st.just("clear")),
    st.tuples(st.just("seterror")),
    st.tuples(st.just("supply"), st.integers(0, 2), st.sampled_from([9000, 2800, 3300, 12000, 14500])),
    st.tuples(st.just("ticks"), st.integers(min_value=1, max_value=120)),
    st.tuples(st.just("jump")),
    st.tuples(st.just("session")),
    st.tuples(st.just("session")),
)


def check(r):
    c = r.c
    io = r.io
    blocked = c.error != 0
    if c.contactor_closed:
        assert c.authorized and c.operative
        assert c.pilot == P.C or (c.pilot == P.D and c.ventilation_ok)
        assert (not c.lock.fitted) or c.locked
        assert c.offered_da >= 60
        assert not blocked and c.station_error == 0
        assert c.ccid.state in (CC.OFF, CC.OK)
        assert c._pilot.diode_ok
    d = c.duty_permille
    assert d == 1000 or 100 <= d <= 960
    if d != 1000:
        assert d == duty_for_da(c.offered_da)
        assert c.authorized and not blocked and P.B <= c.pilot <= P.D
    assert io.duty == d
    assert io.coil == (1 if c.contactor_closed else 0)
    if S.of(c) == S.FAULTED:
        assert not c.contactor_closed


def apply(r, a):
    io, c = r.io, r.c
    k = a[0]
    if k == "plug":
        if not io.tethered:
            io.plug(a[1])
    elif k == "unplug":
        if not io.tethered:
            io.unplug(force=a[1])
    elif k == "ev":
        io.set_ev(a[1], max_current_a=a[2], diode=a[3])
    elif k == "fault":
        if a[1] in STATION_FAULTS:
            r.sio.set_fault(a[1], a[2])
        else:
            io.set_fault(a[1], a[2])
    elif k == "limit":
        c.set_limit_da(a[1])
    elif k == "auth":
        c.authorize(a[1])
    elif k == "unlock":
        c.request_unlock()
    elif k == "operative":
        c.set_operative(a[1])
    elif k == "clear":
        c.clear_error()
    elif k == "seterror":
        c.set_external_error()
    elif k == "supply":
        r.sio.set_supply_mv(a[1], a[2])
    elif k == "session":
        # a well-behaved start: cable, EV in B, authorization, EV to C
        if not io.tethered and not io.cable_amps:
            io.plug(32)
        io.set_ev("B", max_current_a=32, diode=True)
        c.authorize(True)
        for _ in range(150):
            r.tick()
            check(r)
        io.set_ev("C")
        n = 50
    elif k == "jump":
        d = r.iocu.next_deadline_ms(r.now())
        if d > 0:
            r.clk.advance_ms(min(d, 3600000))
        r.tick()
        check(r)
        return
    if k == "ticks":
        n = a[1]
    elif k != "session":
        n = 3
    for _ in range(n):
        r.tick()
        check(r)


def make(cfg):
    cfg = dict(cfg)
    if cfg.pop("tethered"):
        cfg["tethered"] = True
    return Rig(ring=1024, **cfg)


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs, st.lists(actions, min_size=1, max_size=40))
def test_invariants_hold_after_every_tick(cfg, seq):
    r = make(cfg)
    r.run(50)
    for a in seq:
        apply(r, a)


# a biased run that reaches charging often, then perturbs it
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs, st.lists(actions, min_size=1, max_size=15))
def test_invariants_from_charging(cfg, seq):
    r = make(cfg)
    if not r.io.tethered:
        r.io.plug(63)
    r.io.set_ev("B", max_current_a=32)
    r.c.authorize(True)
    for _ in range(150):
        r.tick()
        check(r)
    r.io.set_ev("C")
    for _ in range(50):
        r.tick()
        check(r)
    for a in seq:
        apply(r, a)
