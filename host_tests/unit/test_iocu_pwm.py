# Duty formula, PP cable capacity, the >40 A two-step start, and the offered
# current as the minimum of every limit.
from evse.iocu import pwm as W
from evse.iocu import errors as E
from evse.iocu.pwm import Pwm, duty_for_da, cable_da
# what an EV reads from the duty (IEC 61851-1 Annex A), modelled by the simulated EV
from evsesim.hal.sim_io import duty_to_da as da_for_duty
from evse.iocu.events import EV_OFFERED, EV_WARNING
from iocu_rig import Rig


def test_duty_formula_points():
    table = {6: 100, 10: 167, 16: 267, 32: 533, 40: 667, 51: 850, 63: 892, 80: 960}
    for amps, permille in table.items():
        assert duty_for_da(amps * 10) == permille, amps
    # 16 A -> 26.7 % (267 permille: rounded to the nearest 0.1 %, the EV reads 16.0 A)
    assert duty_for_da(160) == 267


def test_duty_nothing_offered_below_6a():
    assert duty_for_da(0) == 1000
    assert duty_for_da(59) == 1000
    assert duty_for_da(60) == 100


def test_duty_never_below_10_percent_and_monotonic():
    last = 0
    for da in range(60, 801):
        d = duty_for_da(da)
        assert 100 <= d <= 960
        assert d >= last
        last = d
        assert type(d) is int


def test_duty_clamped_at_80a():
    assert duty_for_da(900) == 960


def test_ev_reads_no_more_than_offered():
    for da in range(60, 801):
        got = da_for_duty(duty_for_da(da))
        assert got <= da, da
        assert da - got <= 30, da   # within 3 A (the 51..52.5 A IEC gap)


def test_da_for_duty():
    assert da_for_duty(1000) == 0
    assert da_for_duty(0) == 0
    assert da_for_duty(100) == 60
    assert da_for_duty(500) == 300
    assert da_for_duty(850) == 510
    assert da_for_duty(960) == 800


def test_pp_capacity_nominal():
    assert cable_da(1500) == 130
    assert cable_da(680) == 200
    assert cable_da(220) == 320
    assert cable_da(100) == 630
    assert cable_da(-1) == -1


def test_pp_capacity_bands():
    assert cable_da(2199) == 130 and cable_da(1000) == 130
    assert cable_da(999) == 200 and cable_da(330) == 200
    assert cable_da(329) == 320 and cable_da(150) == 320
    assert cable_da(149) == 630 and cable_da(75) == 630
    assert cable_da(74) == 0      # out of band: present, nothing offered
    assert cable_da(2200) == -1   # open / no cable
    assert cable_da(100000) == -1


def test_two_step_unit():
    p = Pwm()
    assert p.update(True, 630, False) == duty_for_da(400)
    assert p.stepping and p.offered_da == 400
    assert p.update(True, 630, False) == duty_for_da(400)
    assert p.update(True, 630, True) == duty_for_da(630)
    assert not p.stepping
    # stop, restart at <= 40 A: no step
    p.update(False, 630, True)
    assert p.update(True, 320, False) == duty_for_da(320) and not p.stepping
    # once the diode passed, a rise above 40 A applies at once
    assert p.update(True, 630, True) == duty_for_da(630)
    # below 6 A: no PWM
    assert p.update(True, 50, True) == 1000 and p.offered_da == 0


def test_two_step_limit_drop_ends_step():
    p = Pwm()
    p.update(True, 630, False)
    assert p.stepping
    p.update(True, 300, False)
    assert not p.stepping and p.offered_da == 300


def test_connector_two_step_63a():
    r = Rig(max_current_a=63)
    r.plug_ev("B", cable=63, ev_max=63)
    r.c.authorize(True)
    r.until(lambda: r.c.duty_permille < 1000)
    assert r.c.duty_permille == 667 and r.c.offered_da == 400
    r.run(50)
    assert r.c.duty_permille == 892 and r.c.offered_da == 630
    assert r.events(EV_OFFERED) == [400, 630]


def test_change_pwm_not_yet_allowed_keeps_latest_limit():
    r = Rig(max_current_a=63)
    r.plug_ev("B", cable=63, ev_max=63)
    r.c.authorize(True)
    r.until(lambda: r.c.pwm.stepping)
    assert not r.c.set_limit_da(500)
    r.tick()
    assert r.warned(E.ERR_CHANGE_PWM_NOT_YET_ALLOWED, 1)
    assert r.c.offered_da == 400
    r.run(50)
    assert r.c.offered_da == 500 and r.c.error == 0
    assert r.c.set_limit_da(600)   # after the step: fine
    r.tick()
    assert r.c.offered_da == 600
    # a <= 40 A limit during the step is always allowed
    r2 = Rig(max_current_a=63)
    r2.plug_ev("B", cable=63, ev_max=63)
    r2.c.authorize(True)
    r2.until(lambda: r2.c.pwm.stepping)
    assert r2.c.set_limit_da(320)
    r2.tick()
    assert r2.events(EV_WARNING) == []


def test_offered_is_min_of_cable_max_and_limit():
    cases = (
        # cable A, MaxCurrentConnection, limit dA -> offered dA
        (13, 32, 800, 130),
        (20, 32, 800, 200),
        (32, 16, 800, 160),
        (63, 80, 800, 630),
        (32, 32, 100, 100),
        (63, 63, 250, 250),
    )
    for cable, mx, lim, want in cases:
        r = Rig(max_current_a=mx)
        r.c.set_limit_da(lim)
        r.plug_ev("B", cable=cable, ev_max=80)
        r.c.authorize(True)
        r.run(1500)
        assert r.c.offered_da == want, (cable, mx, lim)
        assert r.c.duty_permille == duty_for_da(want)
        assert r.c.cable_da == cable * 10


def test_tethered_has_no_pp_limit():
    r = Rig(tethered=True, max_current_a=32)
    assert r.c.cable_da == W.MAX_DA
    r.io.set_ev("B", max_current_a=32)
    r.c.authorize(True)
    r.run(200)
    assert r.c.offered_da == 320 and not r.c.plug_present


def test_limit_change_while_charging_changes_duty_at_once():
    r = Rig()
    r.charge()
    assert r.c.duty_permille == 267
    r.c.set_limit_da(100)
    r.tick()
    assert r.c.duty_permille == duty_for_da(100) and r.c.contactor_closed
    assert r.io.duty == duty_for_da(100)
    r.c.set_limit_da(160)
    r.tick()
    assert r.c.duty_permille == 267


def test_limit_below_6a_stops_pwm_and_energy():
    r = Rig()
    r.charge()
    r.c.set_limit_da(50)
    r.tick()
    assert r.c.duty_permille == 1000 and r.c.offered_da == 0
    assert not r.c.contactor_closed and r.c.error == 0


def test_min_current_floor():
    r = Rig(min_current_a=10)
    r.c.set_limit_da(80)   # 8 A < MinCurrentConnection 10 A: pause, not 8 A
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1500)
    assert r.c.offered_da == 0 and r.c.duty_permille == 1000
    r.c.set_limit_da(100)
    r.run(30)
    assert r.c.offered_da == 100
