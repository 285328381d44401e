# Connector: sessions end to end, MCU commands, configuration checks, the
# deadline contract for the simulator, and zero allocation per tick.
import gc
from evse.iocu import errors as E
from evse.iocu import pilot as P
from evse.iocu.events import (EV_PILOT, EV_ERROR_SET, EV_CONTACTOR, EV_LOCK, EV_PLUG,
                              EV_OFFERED, EV_WARNING)
from support import IS_MICROPYTHON, raises
from iocu_rig import Rig


def test_full_session_event_order():
    r = Rig()
    r.run(100)
    r.io.plug(32)
    r.run(100)
    r.io.set_ev("B")
    r.run(100)
    r.c.authorize(True)
    r.run(1000)
    r.io.set_ev("C")
    r.run(100)
    r.io.set_ev("B")
    r.run(100)
    r.c.authorize(False)
    r.run(500)
    r.io.set_ev("A")
    r.run(100)
    assert r.io.unplug()
    r.run(100)
    seq = [(k, a) for (c, k, a) in r.log if c == 1]
    assert seq == [
        (EV_PILOT, P.A), (EV_PLUG, 1), (EV_PILOT, P.B), (EV_LOCK, 1), (EV_OFFERED, 160),
        (EV_PILOT, P.C), (EV_CONTACTOR, 1), (EV_PILOT, P.B), (EV_CONTACTOR, 0),
        (EV_LOCK, 0), (EV_OFFERED, 0), (EV_PILOT, P.A), (EV_PLUG, 0)]
    assert r.c.error == 0


def test_contactor_opens_before_pwm_stops_on_ev_b():
    r = Rig()
    r.charge()
    r.io.set_ev("B")
    r.run(50)
    assert not r.c.contactor_closed and r.c.duty_permille == 267  # PWM stays offered


def test_authorize_before_plug():
    r = Rig()
    r.c.authorize(True)     # card first
    r.run(500)
    assert not r.c.locked and r.c.duty_permille == 1000
    r.plug_ev("C")
    r.run(1500)
    assert r.c.locked and r.c.contactor_closed


def test_unplug_without_session_is_no_error():
    r = Rig()
    r.io.plug(13)
    r.io.set_ev("B")
    r.run(200)
    assert r.c.cable_da == 130 and r.c.plug_present
    r.io.set_ev("A")
    assert r.io.unplug()
    r.run(100)
    assert r.c.error == 0 and not r.c.plug_present and r.c.cable_da == -1


def test_ev_leaves_then_session_end():
    r = Rig()
    r.charge()
    r.io.set_ev("B")
    r.run(50)
    r.io.set_ev("A")
    r.run(50)
    assert r.c.error == 0 and r.c.locked   # UnlockConnectorOnEVSideDisconnect False
    r.c.authorize(False)
    r.run(500)
    assert not r.c.locked


def test_external_error_and_clear():
    r = Rig()
    r.charge()
    r.c.set_external_error()
    r.tick()
    assert r.c.error == E.ERR_EXTERNAL and not r.c.contactor_closed
    r.io.set_ev("A")
    r.run(3000)
    assert r.c.error == E.ERR_EXTERNAL     # RESET kind: unplug does not clear
    r.c.clear_error()
    assert r.cleared(E.ERR_EXTERNAL) or True
    r.tick()
    assert r.c.error == 0 and r.cleared(E.ERR_EXTERNAL)


def test_external_error_validation_and_pulse():
    r = Rig()
    raises(ValueError, r.c.set_external_error, 0)
    raises(ValueError, r.c.set_external_error, 999)
    r.c.set_external_error(E.ERR_UNKNOWN_REQ)   # a PULSE code: only a warning
    r.tick()
    assert r.warned(E.ERR_UNKNOWN_REQ, 1) and r.c.error == 0


def test_set_limit_validation():
    r = Rig()
    raises(ValueError, r.c.set_limit_da, 16.0)
    assert r.c.set_limit_da(-5) and r.c.limit_da == 0
    assert r.c.set_limit_da(5000) and r.c.limit_da == 800


def test_configure_validation():
    r = Rig()
    for kw in (dict(max_current_a=81), dict(max_current_a=-1), dict(max_current_a="16"),
               dict(min_current_a=41), dict(max_current_a=10, min_current_a=12),
               dict(socket_temp_max_dc=80.5)):
        assert not r.c.configure(**kw), kw
        assert r.c.error == E.ERR_UNEXPECTED_HW_SETUP
        r.plug_ev("C")
        r.c.authorize(True)
        r.run(1500)
        assert not r.c.contactor_closed
        assert r.c.configure()
        assert r.c.error == 0
        r.c.authorize(False)
        r.io.set_ev("A")
        r.run(600)
    assert r.c.configure(max_current_a=12.5, min_current_a=6.5)
    assert r.c.max_da == 125 and r.c.min_da == 65


def test_clear_error_reraises_present_cause():
    r = Rig()
    r.io.plug(32)
    r.io.set_fault("pilot_short", True)
    r.run(100)
    assert r.c.error == E.ERR_MODE3_PILOT_SHORTED
    r.c.clear_error()
    assert r.c.error == 0
    r.tick()
    assert r.c.error == E.ERR_MODE3_PILOT_SHORTED   # still shorted: raised again
    assert r.codes(EV_ERROR_SET).count(E.ERR_MODE3_PILOT_SHORTED) == 2
    r.c.authorize(True)
    r.run(1500)
    assert not r.c.contactor_closed and r.c.duty_permille == 1000


def test_deadlines():
    r = Rig()
    assert r.c.next_deadline_ms(r.now()) == 0          # not yet ticked
    r.run(200)
    assert r.c.next_deadline_ms(r.now()) == -1          # idle
    r.c.authorize(True)
    assert r.c.next_deadline_ms(r.now()) == 0           # a command arrived
    r.tick()
    assert r.c.next_deadline_ms(r.now()) == -1
    r.plug_ev("B")
    r.tick()
    assert r.c.next_deadline_ms(r.now()) == 10          # debouncing
    r.run(50)
    assert r.c.next_deadline_ms(r.now()) == 10          # lock driving
    r.run(1000)
    r.io.set_ev("C")
    r.run(100)
    assert r.c.contactor_closed
    assert r.c.next_deadline_ms(r.now()) == -1          # charging, steady
    r.c.configure(safety_relay=True)
    r.run(300)
    assert r.c.next_deadline_ms(r.now()) == -1


def test_virtual_day_by_deadlines():
    # a simulator loop: jump to the next deadline, or 1 h when idle
    r = Rig()
    ticks = 0
    day = 24 * 3600 * 1000
    t = 0
    events_at = {3600000: lambda: r.plug_ev("B"), 3700000: lambda: r.c.authorize(True),
                 3800000: lambda: r.io.set_ev("C"), 7200000: lambda: r.io.set_ev("B"),
                 7300000: lambda: r.c.authorize(False), 7400000: lambda: r.io.set_ev("A")}
    pending = sorted(events_at)
    while t < day:
        r.iocu.tick(r.now())
        r.drain()
        ticks += 1
        d = r.iocu.next_deadline_ms(r.now())
        if d < 0:
            d = 3600000
        if pending and t + d >= pending[0]:
            d = pending[0] - t
            r.clk.advance_ms(d)
            t += d
            events_at[pending.pop(0)]()
            continue
        d = max(d, 1)
        r.clk.advance_ms(d)
        t += d
    assert r.codes(EV_CONTACTOR) == [1, 0]
    assert ticks < 2000, ticks
    assert r.c.error == 0


def _alloc_per_tick(r, n=2000):
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    for _ in range(n):
        r.iocu.tick(r.now())
        r.clk.advance_ms(10)
    a1 = gc.mem_alloc()
    gc.enable()
    return a1 - a0


def test_tick_allocates_nothing_micropython():
    if not IS_MICROPYTHON:
        return   # gc.mem_alloc is MicroPython's; CPython runs the rest
    r = Rig(safety_relay=True, ccid=True, socket_temp_max_dc=800)
    r.drain_events = False
    r.heartbeat = True
    r.run(300)
    r.drain()
    assert _alloc_per_tick(r) == 0          # idle
    r.charge()
    r.drain()
    assert _alloc_per_tick(r) == 0          # charging
    # while things move: debounce, lock drive attempts and pauses
    m = Rig(lock_travel_ms=100000, safety_relay=True)
    m.drain_events = False
    m.run(100)
    m.plug_ev("B")
    m.c.authorize(True)
    m.run(30)
    m.drain()
    assert _alloc_per_tick(m, 100) == 0
    assert m.c.lock.attempt >= 2
