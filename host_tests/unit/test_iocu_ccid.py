# CCID (manual 7): self-test before the session, monitoring, auto re-test
# every 15 minutes at most 3 times per session.
from evse.iocu import errors as E
from evse.iocu import ccid as CC
from evse.iocu.ccid import Ccid
from iocu_rig import Rig


def test_self_test_before_energy():
    r = Rig(ccid=True)
    r.plug_ev("C")
    r.c.authorize(True)
    saw_test = False
    while not r.c.contactor_closed:
        saw_test = saw_test or r.sio.ccid_test == 1
        r.tick()
    assert saw_test and r.sio.ccid_tests == 1 and r.sio.ccid_test == 0
    assert r.c.ccid.state == CC.OK


def test_unit_self_test_sequence():
    c = Ccid()
    c.configure(True)
    assert c.step(0, True, 0) == 0 and c.test_out and c.state == CC.TEST_ON
    assert c.step(10, True, 0) == 0
    assert c.step(60, True, 1) == 0 and not c.test_out and c.state == CC.TEST_OFF
    assert c.step(70, True, 0) == 0 and c.state == CC.OK and c.ok()
    assert c.step(80, True, 1) == E.ERR_CCID_TRIPPED and not c.ok()
    # session over: fresh start
    assert c.step(90, False, 1) == 0 and c.state == CC.IDLE


def test_self_test_fails_when_fault_does_not_rise():
    c = Ccid()
    c.configure(True)
    c.step(0, True, 0)
    assert c.step(CC.TEST_MS - 10, True, 0) == 0
    assert c.step(CC.TEST_MS, True, 0) == E.ERR_CCID_SELFTEST_FAILED
    assert c.state == CC.FAILED and not c.test_out and not c.ok()


def test_self_test_fails_when_fault_stays_high():
    c = Ccid()
    c.configure(True)
    c.step(0, True, 1)
    c.step(10, True, 1)          # rose: release Test
    assert c.step(10 + CC.RELEASE_MS, True, 1) == E.ERR_CCID_SELFTEST_FAILED


def test_selftest_fail_blocks_session():
    r = Rig(ccid=True)
    r.sio.set_fault("ccid_selftest_fail", True)
    r.plug_ev("C")
    r.c.authorize(True)
    r.run(2000)
    assert r.raised(E.ERR_CCID_SELFTEST_FAILED)
    assert not r.c.contactor_closed and r.c.duty_permille == 1000


def test_trip_and_recover_after_15_min():
    r = Rig(ccid=True)
    r.charge()
    r.sio.set_fault("ccid_trip", True)
    r.tick()
    assert not r.c.contactor_closed and r.c.error == E.ERR_CCID_TRIPPED
    assert r.c.locked                     # session interrupted, not ended
    d = r.c.next_deadline_ms(r.now())
    assert CC.RETEST_MS - 100 <= d <= CC.RETEST_MS
    r.sio.set_fault("ccid_trip", False)
    r.clk.advance_ms(d)                   # the simulator jumps
    r.run(300)
    assert r.cleared(E.ERR_CCID_TRIPPED)
    assert r.c.contactor_closed and r.c.error == 0
    assert r.sio.ccid_tests == 2


def test_trip_persists_three_retests_then_stopped_until_unplug():
    r = Rig(ccid=True)
    r.charge()
    r.sio.set_fault("ccid_trip", True)
    r.tick()
    for i in range(2):
        r.clk.advance_ms(r.c.next_deadline_ms(r.now()))
        r.run(50)
        assert r.c.ccid.retests == i + 1
    r.clk.advance_ms(r.c.next_deadline_ms(r.now()))
    r.tick()
    assert r.c.ccid.state == CC.GAVE_UP
    r.run(50)   # the session is over: the CCID waits for a new one
    assert r.c.ccid.state == CC.IDLE and r.sio.ccid_test == 0
    assert r.sio.ccid_tests == 1          # still unsafe at each re-test: no pulse
    assert r.c.next_deadline_ms(r.now()) == -1
    r.sio.set_fault("ccid_trip", False)
    r.clk.advance_ms(CC.RETEST_MS * 2)
    r.run(500)
    assert r.c.error == E.ERR_CCID_TRIPPED and not r.c.contactor_closed
    assert not r.c.locked                 # the session is over: cable released
    r.io.set_ev("A")
    r.run(2500)
    assert r.c.error == 0
    # a new session starts with a fresh self-test
    r.io.set_ev("C")
    r.c.authorize(False)
    r.c.authorize(True)
    r.run(1500)
    assert r.c.contactor_closed and r.c.ccid.retests == 0


def test_retests_counted_per_session():
    c = Ccid()
    c.configure(True)
    t = 0

    def passtest(t):
        c.step(t, True, 0)
        c.step(t + 10, True, 1)
        c.step(t + 20, True, 0)
        return t + 30

    t = passtest(t)
    assert c.state == CC.OK
    for i in range(3):
        assert c.step(t, True, 1) == E.ERR_CCID_TRIPPED
        t += CC.RETEST_MS
        c.step(t, True, 0)            # re-test starts (fault gone)
        r = 0
        r = c.step(t + 10, True, 1) or r
        r = c.step(t + 20, True, 0) or r
        assert r == CC.CLEARED and c.state == CC.OK
        t += 30
    assert c.retests == 3
    assert c.step(t, True, 1) == E.ERR_CCID_TRIPPED
    assert c.state == CC.GAVE_UP       # no re-test left


def test_ccid_needs_station_io():
    from evsesim.hal.simclock import VirtualClock
    from evsesim.hal.sim_io import SimConnectorIO
    from evse.iocu.connector import Connector
    from evse.iocu.events import EventRing
    clk = VirtualClock()
    c = Connector(1, SimConnectorIO(clk), EventRing(16))
    assert not c.configure(ccid=True)
    assert c.error == E.ERR_UNEXPECTED_HW_SETUP
    assert c.configure(ccid=False)
    assert c.error == 0
