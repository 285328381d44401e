# Control pilot: classification bands, the full transition table, debounce,
# the switch-rate limit, the diode test, and the pilot seen through a
# Connector on the simulated EV.
from evse.iocu import pilot as P
from evse.iocu import errors as E
from evse.iocu.pilot import Pilot, classify, transition_error
from evse.iocu.events import EV_PILOT
from iocu_rig import Rig

ST = (P.UNKNOWN, P.A, P.B, P.C, P.D, P.E, P.F, P.INVALID)


def test_classify_nominal_levels():
    assert classify(12000) == P.A
    assert classify(9000) == P.B
    assert classify(6000) == P.C
    assert classify(3000) == P.D
    assert classify(0) == P.E
    assert classify(-12000) == P.F


def test_classify_band_edges_plus_minus_1v():
    for nominal, st in ((12000, P.A), (9000, P.B), (6000, P.C), (3000, P.D), (0, P.E), (-12000, P.F)):
        assert classify(nominal - 1000) == st
        assert classify(nominal + 1000) == st
    for v in (13001, 10500, 7500, 4500, 1500, -1001, -10999, -13001):
        assert classify(v) == P.INVALID, v


def _expected(old, new, allowed):
    # the table of pilot.py written out again, independently
    if old == new:
        return 0
    bcd = old in (P.B, P.C, P.D)
    if new == P.E:
        return E.ERR_MODE3_PILOT_SHORTED
    if new == P.F:
        return E.ERR_UNEXP_STATE_F_FROM_BCD if bcd else E.ERR_UNEXP_INV_STATE
    if new == P.INVALID:
        return E.ERR_UNEXP_INV_STATE_FROM_BCD if bcd else E.ERR_UNEXP_INV_STATE
    if new == P.A and old in (P.C, P.D) and allowed:
        return E.ERR_UNEXP_CHRG_ALLOWED_STATE_A
    return 0


def test_every_transition_of_the_table():
    n = 0
    for old in ST:
        for new in ST[1:]:
            for allowed in (False, True):
                assert transition_error(old, new, allowed) == _expected(old, new, allowed), (old, new, allowed)
                n += 1
    assert n == 8 * 7 * 2


def test_transition_table_spot_checks():
    ok = ((P.A, P.B), (P.B, P.C), (P.C, P.D), (P.D, P.C), (P.C, P.B), (P.B, P.A), (P.A, P.C),
          (P.E, P.A), (P.F, P.B), (P.INVALID, P.A), (P.UNKNOWN, P.A), (P.UNKNOWN, P.B))
    for old, new in ok:
        assert transition_error(old, new, True) == 0, (old, new)
    assert transition_error(P.C, P.A, False) == 0   # no PWM: a normal leave
    assert transition_error(P.C, P.A, True) == E.ERR_UNEXP_CHRG_ALLOWED_STATE_A
    assert transition_error(P.D, P.A, True) == E.ERR_UNEXP_CHRG_ALLOWED_STATE_A
    assert transition_error(P.B, P.A, True) == 0
    assert transition_error(P.A, P.E, False) == E.ERR_MODE3_PILOT_SHORTED
    assert transition_error(P.C, P.E, True) == E.ERR_MODE3_PILOT_SHORTED
    assert transition_error(P.B, P.F, False) == E.ERR_UNEXP_STATE_F_FROM_BCD
    assert transition_error(P.A, P.F, False) == E.ERR_UNEXP_INV_STATE
    assert transition_error(P.D, P.INVALID, False) == E.ERR_UNEXP_INV_STATE_FROM_BCD
    assert transition_error(P.A, P.INVALID, False) == E.ERR_UNEXP_INV_STATE
    assert transition_error(P.UNKNOWN, P.INVALID, False) == E.ERR_UNEXP_INV_STATE


def test_debounce_needs_consecutive_samples_and_time():
    p = Pilot()
    t = 0
    for _ in range(3):
        p.sample(t, 12000)
        t += 10
    assert p.state == P.A
    # a 2-sample glitch does not count
    assert not p.sample(t, 9000)
    assert not p.sample(t + 10, 9000)
    assert not p.sample(t + 20, 12000)
    assert p.state == P.A
    # 3 samples but within less than DEBOUNCE_MS: not yet
    t = 1000
    assert not p.sample(t, 9000)
    assert not p.sample(t + 1, 9000)
    assert not p.sample(t + 2, 9000)
    assert p.in_motion()
    assert p.sample(t + 20, 9000)
    assert p.state == P.B and p.prev == P.A
    assert not p.in_motion()


def test_switch_limit_more_than_10_in_5s():
    p = Pilot()
    for i in range(10):
        assert not p.count_switch(i * 400)
    assert p.count_switch(4000)          # 11th switch within 5 s
    q = Pilot()
    for i in range(30):
        assert not q.count_switch(i * 501)  # 11 switches always span > 5 s


def test_switch_ring_wraps_ticks():
    p = Pilot()
    base = (1 << 30) - 2000   # ticks wrap inside the window
    for i in range(10):
        assert not p.count_switch((base + i * 300) & ((1 << 30) - 1))
    assert p.count_switch((base + 3100) & ((1 << 30) - 1))


def test_diode_test():
    p = Pilot()
    t = 0
    for _ in range(3):
        assert not p.diode_sample(t, -12000, True)
        t += 10
    assert p.diode_ok
    fail = False
    for _ in range(3):
        fail = p.diode_sample(t, -9000, True) or fail
        t += 10
    assert fail and not p.diode_ok
    # not testing (no PWM): forgets
    p.diode_sample(t, -12000, False)
    assert not p.diode_ok


def test_connector_follows_ev_through_abcd():
    r = Rig(ventilation_ok=True)
    r.run(100)
    assert r.c.pilot == P.A
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1500)
    assert r.c.pilot == P.B and not r.c.contactor_closed
    for st, want, closed in (("C", P.C, True), ("D", P.D, True), ("C", P.C, True),
                             ("B", P.B, False), ("A", P.A, False)):
        r.io.set_ev(st)
        r.run(60)
        assert r.c.pilot == want, st
        assert r.c.contactor_closed == closed, st
    assert r.events(EV_PILOT) == [P.A, P.B, P.C, P.D, P.C, P.B, P.A]
    assert r.c.error == 0


def test_state_d_without_ventilation_keeps_pwm_refuses_energy():
    r = Rig()  # ventilation_ok False
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1500)
    r.io.set_ev("D")
    r.run(200)
    assert r.c.pilot == P.D
    assert r.c.duty_permille < 1000      # PWM still offered
    assert not r.c.contactor_closed     # but no energy
    assert r.c.error == 0


def test_pilot_errors_through_connector():
    # E from A (idle) and F / invalid while charging
    r = Rig()
    r.io.plug(32)
    r.run(100)
    r.io.set_fault("pilot_short", True)
    r.run(50)
    assert r.raised(E.ERR_MODE3_PILOT_SHORTED)
    r2 = Rig()
    r2.charge()
    r2.io.set_fault("pilot_invalid", True)
    r2.tick()
    r2.tick()
    assert r2.c.contactor_closed   # not yet debounced (2 samples)
    r2.run(20)
    assert r2.raised(E.ERR_UNEXP_INV_STATE_FROM_BCD) and not r2.c.contactor_closed


def test_ev_leaving_under_pwm_without_contactor_is_not_an_error():
    r = Rig()
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1500)
    r.io.set_ev("A")
    r.run(100)
    assert r.c.error == 0 and r.c.pilot == P.A
