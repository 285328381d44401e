# Contactor: the closing rule, opening within one tick of any failing
# condition, helper-contact supervision (NO and NC).
from evse.iocu import errors as E
from evse.iocu import pilot as P
from evse.iocu.contactor import may_close, Contactor, SETTLE_MS
from iocu_rig import Rig

ALL = dict(authorized=True, operative=True, pilot=P.C, ventilation_ok=False, lock_ok=True,
           offered_da=160, blocked=False, ccid_ok=True, diode_ok=True)


def _mc(**over):
    a = dict(ALL)
    a.update(over)
    return may_close(a["authorized"], a["operative"], a["pilot"], a["ventilation_ok"],
                     a["lock_ok"], a["offered_da"], a["blocked"], a["ccid_ok"], a["diode_ok"])


def test_may_close_all_conditions():
    assert _mc()
    for k in ("authorized", "operative", "lock_ok", "ccid_ok", "diode_ok"):
        assert not _mc(**{k: False}), k
    assert not _mc(blocked=True)
    assert not _mc(offered_da=59)
    assert _mc(offered_da=60)
    for st in (P.UNKNOWN, P.A, P.B, P.E, P.F, P.INVALID):
        assert not _mc(pilot=st), st
    assert not _mc(pilot=P.D)
    assert _mc(pilot=P.D, ventilation_ok=True)


def test_may_close_exhaustive_needs_every_condition():
    keys = ("authorized", "operative", "lock_ok", "ccid_ok", "diode_ok", "blocked")
    for mask in range(64):
        over = {}
        for i in range(6):
            over[keys[i]] = bool(mask >> i & 1)
        want = (over["authorized"] and over["operative"] and over["lock_ok"]
                and over["ccid_ok"] and over["diode_ok"] and not over["blocked"])
        assert _mc(**over) == want, over


def _opens_in_one_tick(action, **cfg):
    r = Rig(**cfg)
    r.charge()
    action(r)
    r.tick()
    assert not r.c.contactor_closed
    assert r.io.coil == 0
    return r


def test_opens_within_one_tick_of_each_condition():
    _opens_in_one_tick(lambda r: r.c.authorize(False))
    _opens_in_one_tick(lambda r: r.c.set_operative(False))
    _opens_in_one_tick(lambda r: r.c.set_limit_da(0))
    _opens_in_one_tick(lambda r: r.c.set_external_error())
    _opens_in_one_tick(lambda r: r.sio.set_fault("ccid_trip", True), ccid=True)
    _opens_in_one_tick(lambda r: r.c.request_unlock())


def test_opens_on_pilot_change_after_debounce():
    r = Rig()
    r.charge()
    r.io.set_ev("B")
    r.until(lambda: not r.c.contactor_closed, 50)
    assert r.c.pilot == P.B and r.c.error == 0


def test_set_operative_false_unavailable_no_energy():
    r = Rig()
    r.c.set_operative(False)
    r.plug_ev("C")
    r.c.authorize(True)
    r.run(1500)
    assert not r.c.contactor_closed and r.c.duty_permille == 1000
    r.c.set_operative(True)
    r.run(100)
    assert r.c.contactor_closed


def test_helper_unit_no_and_nc():
    for no in (True, False):
        closed_lvl = 1 if no else 0
        ct = Contactor()
        ct.configure(True, no)
        ct.command(0, True)
        assert ct.supervise(SETTLE_MS - 10, 1 - closed_lvl) == 0   # settling
        for t in (SETTLE_MS, SETTLE_MS + 10):
            assert ct.supervise(t, 1 - closed_lvl) == 0
        assert ct.supervise(SETTLE_MS + 20, 1 - closed_lvl) == E.ERR_RELAY_NO_CLOSE
        ct.command(1000, False)
        for t in (1000 + SETTLE_MS, 1010 + SETTLE_MS):
            assert ct.supervise(t, closed_lvl) == 0
        assert ct.supervise(1020 + SETTLE_MS, closed_lvl) == E.ERR_RELAY_WELDED
        # agreeing: fine
        assert ct.supervise(2000, 1 - closed_lvl) == 0


def test_helper_disabled_ignores_sense():
    ct = Contactor()
    ct.configure(False, True)
    ct.command(0, False)
    for t in range(0, 1000, 10):
        assert ct.supervise(t, 1) == 0


def test_welded_with_nc_helper_keeps_lock_and_latches():
    r = Rig(safety_relay=True, helper_no=False)
    r.charge()
    r.io.set_fault("contactor_welded", True)
    r.c.authorize(False)
    r.run(400)
    assert r.raised(E.ERR_RELAY_WELDED)
    assert r.c.locked                      # the socket may be live: keep the plug
    assert not r.c.request_unlock()
    r.io.set_ev("A")
    r.run(5000)
    assert r.c.error == E.ERR_RELAY_WELDED  # not cleared by unplugging
    r.io.set_fault("contactor_welded", False)
    r.c.clear_error()
    r.run(500)
    assert r.c.error == 0


def test_welded_re_raised_after_clear_if_still_welded():
    r = Rig(safety_relay=True)
    r.io.set_fault("contactor_welded", True)
    r.run(400)
    assert r.raised(E.ERR_RELAY_WELDED)
    r.c.clear_error()
    r.run(400)
    assert r.c.error == E.ERR_RELAY_WELDED
    assert r.codes(2).count(E.ERR_RELAY_WELDED) == 2


def test_no_close_detected_and_opened():
    r = Rig(safety_relay=True)
    r.io.set_fault("contactor_no_close", True)
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1500)
    r.io.set_ev("C")
    r.run(100)
    assert r.c.contactor_closed        # commanded, settling
    r.run(300)
    assert r.raised(E.ERR_RELAY_NO_CLOSE) and not r.c.contactor_closed
    assert r.io.coil == 0


def test_no_false_alarm_on_normal_switching():
    for no in (True, False):
        r = Rig(safety_relay=True, helper_no=no)
        r.charge()
        for st in ("B", "C", "B", "C"):
            r.io.set_ev(st)
            r.run(600)
        r.c.authorize(False)
        r.run(500)
        assert r.c.error == 0, no
