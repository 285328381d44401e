# Servo lock: each actuator type, the lock/unlock policy, drive bounds and
# retries, and the supervision errors.
from evse.iocu import errors as E
from evse.iocu import lock as LK
from evse.iocu.events import EV_LOCK
from iocu_rig import Rig


def _session(r):
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1000)


def test_two_stage_locks_for_session_and_unlocks_at_end():
    r = Rig()
    r.io.plug(32)
    r.run(200)
    assert not r.c.locked and r.io.lock_pos == 0      # no session: no lock
    r.io.set_ev("B")
    r.run(200)
    assert not r.c.locked
    r.c.authorize(True)
    r.run(500)
    assert r.c.locked and r.io.locked_mechanically()
    assert r.c.duty_permille < 1000                    # PWM only after the lock
    r.c.authorize(False)
    r.run(500)
    assert not r.c.locked and not r.io.locked_mechanically()
    assert r.events(EV_LOCK) == [1, 0]
    assert r.c.error == 0


def test_lock_before_any_pwm_or_energy():
    r = Rig(lock_travel_ms=1000)
    r.plug_ev("C")        # EV already asks for energy
    r.c.authorize(True)
    t = 0
    while not r.c.locked:
        assert r.c.duty_permille == 1000 and not r.c.contactor_closed
        r.tick()
        t += 10
        assert t < 2000
    r.run(100)
    assert r.c.contactor_closed


def test_three_stage_plug_switch():
    r = Rig(three_stage=True)
    _session(r)
    assert r.c.locked and r.io.lock_sense() == 3   # locked + plug present
    r.io.set_ev("C")
    r.run(100)
    assert r.c.contactor_closed
    r.c.authorize(False)
    r.run(500)
    assert not r.c.locked and r.c.error == 0


def test_inversed_two_stage():
    r = Rig(inversed=True)
    r.run(100)
    assert r.io.lock_sense() == 1       # raw level inverted: 1 = unlocked
    assert r.c.error == 0
    _session(r)
    assert r.c.locked and r.io.lock_sense() == 0
    r.c.authorize(False)
    r.run(500)
    assert not r.c.locked and r.c.error == 0


def test_inversed_three_stage():
    r = Rig(three_stage=True, inversed=True)
    _session(r)
    assert r.c.locked and r.io.lock_sense() == 0
    r.io.set_ev("C")
    r.run(100)
    assert r.c.contactor_closed and r.c.error == 0


def test_wrong_polarity_is_detected():
    # an inversed actuator configured as normal reads "locked" while idle
    r = Rig(inversed=False)
    r.io.inversed = True
    r.io.plug(32)
    r.run(3000)
    assert r.c.error != 0
    assert r.raised(E.ERR_SERVO_LOCK_FAILED) or r.raised(E.ERR_SERVO_EXPECTED_UNLOCK)


def test_socket_without_actuator():
    r = Rig(actuator=False)
    r.charge()
    assert not r.c.locked and r.io.lock_drive_calls <= 1  # only the initial 0
    assert r.io.motor == 0
    assert not r.c.request_unlock()


def test_tethered_cable_no_lock_no_pp():
    r = Rig(tethered=True)
    r.io.set_ev("B", max_current_a=32)
    r.c.authorize(True)
    r.run(200)
    r.io.set_ev("C")
    r.run(100)
    assert r.c.contactor_closed and not r.c.locked and not r.c.plug_present
    assert r.io.motor == 0
    assert not r.c.request_unlock()


def test_unlock_on_ev_side_disconnect_true():
    r = Rig(unlock_on_ev_disconnect=True)
    _session(r)
    assert r.c.locked
    r.io.set_ev("A")
    r.run(500)
    assert not r.c.locked          # released although still authorized
    assert r.c.authorized and r.c.error == 0


def test_unlock_on_ev_side_disconnect_false_keeps_cable_until_session_end():
    r = Rig(unlock_on_ev_disconnect=False)
    _session(r)
    r.io.set_ev("A")
    r.run(500)
    assert r.c.locked
    r.c.authorize(False)
    r.run(500)
    assert not r.c.locked


def test_request_unlock_idle_and_new_session_relocks():
    r = Rig()
    _session(r)
    r.c.authorize(False)
    r.run(500)
    r.c.authorize(True)
    r.run(500)
    assert r.c.locked
    r.c.authorize(False)
    assert r.c.request_unlock()
    r.run(500)
    assert not r.c.locked and r.c.error == 0


def test_lock_stuck_bounded_drive_and_retries():
    r = Rig()
    r.io.set_fault("lock_stuck", True)
    _session(r)   # 1000 ms
    assert not r.raised(E.ERR_SERVO_LOCK_FAILED)
    assert r.c.lock.attempt >= 2
    t = r.until(lambda: r.raised(E.ERR_SERVO_LOCK_FAILED), 3000)
    # 3 attempts x 600 ms + 2 pauses x 200 ms = 2.2 s in total
    assert 2100 <= 1000 + t <= 2300
    assert r.io.motor == 0 or r.c.lock.state == LK.DRIVING
    assert r.c.duty_permille == 1000 and not r.c.contactor_closed


def test_lock_stuck_unlocked_releases_at_once():
    # stuck in the open position: the cable is free, the error clears when the EV leaves
    r = Rig()
    r.io.set_fault("lock_stuck", True)
    _session(r)
    r.run(2000)
    assert r.raised(E.ERR_SERVO_LOCK_FAILED)
    r.io.set_ev("A")
    r.run(2500)
    assert r.c.error == 0


def test_unlock_failure_retries_every_30s_and_clears_when_fixed_and_ev_gone():
    r = Rig()
    _session(r)
    assert r.c.locked
    r.io.set_fault("lock_stuck", True)     # jammed in the locked position
    r.c.authorize(False)
    r.run(2500)
    assert r.raised(E.ERR_SERVO_LOCK_FAILED)
    assert r.io.locked_mechanically()
    r.io.set_ev("A")
    r.run(3000)
    assert r.c.active(E.ERR_SERVO_LOCK_FAILED)   # EV gone, but the cable is still held
    r.io.set_fault("lock_stuck", False)
    d = r.c.next_deadline_ms(r.now())
    assert 0 < d <= LK.RETRY_MS
    r.clk.advance_ms(d)
    r.run(1000)
    assert not r.io.locked_mechanically()
    assert not r.c.active(E.ERR_SERVO_LOCK_FAILED) and r.c.error == 0


def test_lock_no_feedback():
    r = Rig()
    r.io.set_fault("lock_no_feedback", True)
    _session(r)
    r.run(2000)
    assert r.raised(E.ERR_SERVO_LOCK_FAILED)
    assert not r.c.contactor_closed


def test_lock_forced_open_while_charging_stops_energy_same_tick():
    r = Rig()
    r.charge()
    r.io.set_fault("lock_forced_open", True)
    r.tick()
    r.tick()
    assert r.c.contactor_closed     # feedback still being debounced
    r.tick()
    assert r.raised(E.ERR_NOT_LOCKED_FOR_POWER) and not r.c.contactor_closed


def test_never_unlocks_in_the_tick_the_contactor_opens():
    r = Rig()
    r.charge()
    r.c.authorize(False)
    r.tick()
    assert not r.c.contactor_closed
    assert r.io.motor == 0 and r.io.locked_mechanically()
    r.run(500)
    assert not r.c.locked


def test_unlock_during_transaction():
    r = Rig()
    r.charge()
    assert r.c.request_unlock()
    r.tick()
    assert not r.c.contactor_closed
    assert r.raised(E.ERR_UNLOCK_DURING_TRANSACT)
    r.run(500)
    assert not r.c.locked
    # stays stopped, even though the MCU still says authorized
    r.run(1000)
    assert not r.c.contactor_closed and r.c.error == E.ERR_UNLOCK_DURING_TRANSACT
    r.io.set_ev("A")
    r.run(2500)
    assert r.c.error == 0 and not r.c.locked


def test_three_stage_plug_not_seated():
    r = Rig(three_stage=True)
    r.io.set_fault("plug_not_seated", True)
    _session(r)
    assert r.raised(E.ERR_PLUG_EXPECTED_LOCKED)
    assert not r.c.locked and not r.io.locked_mechanically()  # released again
    assert r.c.duty_permille == 1000


def test_latched_lock_error_clears_after_ev_leaves():
    r = Rig()
    _session(r)
    r.io.set_fault("lock_forced_open", True)
    r.run(50)
    assert r.raised(E.ERR_SERVO_EXPECTED_LOCK)
    r.io.set_fault("lock_forced_open", False)
    r.run(3000)
    assert r.c.error == E.ERR_SERVO_EXPECTED_LOCK   # EV still connected
    r.io.set_ev("A")
    r.run(100)
    assert r.c.error == 0
    assert r.cleared(E.ERR_SERVO_EXPECTED_LOCK)


def test_latched_error_shown_at_least_hold_time():
    r = Rig(actuator=False)
    r.charge()
    r.io.set_ev("A")          # leaves under load
    r.run(50)
    assert r.raised(E.ERR_UNEXP_CHRG_ALLOWED_STATE_A)
    r.run(1500)
    assert r.c.error == E.ERR_UNEXP_CHRG_ALLOWED_STATE_A
    r.run(600)
    assert r.c.error == 0
