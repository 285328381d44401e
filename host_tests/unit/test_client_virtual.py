# The OCPP client's shell under a virtual clock: a reconnect delay is a
# deadline the simulator jumps to, and settle_io() does not return while the
# connection task still has something to do at this instant (the cause of a
# station that "never reconnected" after an AuthorizationKey change: virtual
# time ran on while the task waited for real time).
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")  # the frozen asyncio, when MICROPYPATH hides it
import asyncio

from session_rig import Rig


def test_reconnect_delay_is_a_virtual_deadline_settle_io_waits_for():
    r = Rig()
    oc = r.st.ocpp
    oc.running = True
    log = []

    async def body():
        async def sleeper():
            await oc._backoff(3000)
            log.append(r.clock.ticks_ms())
        t = asyncio.create_task(sleeper())
        await oc.settle_io()
        assert oc.backoff_due is not None
        d = r.st.next_deadline_ms()
        assert 0 < d <= 3000, d
        r.clock.advance_ms(2999)
        await oc.settle_io()
        assert log == []                     # not yet due
        r.clock.advance_ms(1)
        assert not oc._idle()                # due: the task has not run yet
        await oc.settle_io()                 # ... and settle_io lets it run
        assert len(log) == 1 and oc.backoff_due is None and oc._idle()
        oc.running = False
        await t
    asyncio.run(body())


def test_close_in_progress_keeps_settle_io_waiting():
    r = Rig()
    oc = r.st.ocpp

    class SlowWs:
        closed = False

        async def close(self):
            for _ in range(5):
                await asyncio.sleep(0.002)
            self.closed = True

    async def body():
        ws = SlowWs()
        oc.after.append(lambda: oc._close(ws))
        await oc.settle_io()
        assert ws.closed and oc.closing == 0
    asyncio.run(body())


def test_virtual_clock_takes_central_system_time_once_and_never_backwards():
    from evse.clock import iso8601, parse_iso8601
    from evsesim.hal.simclock import VirtualClock
    c = VirtualClock(parse_iso8601("2026-01-01T00:00:00Z"))
    c.advance_ms(60000)
    c.set_utc(parse_iso8601("2026-12-03T12:00:00Z"))     # BootNotification.conf: wall clock
    assert iso8601(c.now()) == "2026-12-03T12:00:00Z"
    c.advance_ms(86400 * 1000)                          # a virtual day
    c.set_utc(parse_iso8601("2026-12-03T12:00:05Z"))     # Heartbeat.conf: wall clock again
    assert iso8601(c.now()) == "2026-12-04T12:00:00Z"   # the advance is not undone
    b = VirtualClock(parse_iso8601("2026-06-01T00:00:00Z"))
    b.set_utc(parse_iso8601("2026-01-01T00:00:00Z"))     # earlier than the clock: ignored
    assert iso8601(b.now()) == "2026-06-01T00:00:00Z"


def test_virtual_clock_now_is_exact_across_advances_and_set_utc():
    # now() keeps one answer per virtual second (a long int on a 32-bit
    # port); it is always (epoch ms + virtual ms) // 1000, whatever the steps
    from evsesim.hal.simclock import VirtualClock
    clk = VirtualClock(1767225600)
    clk.follow_csms = True
    ms = 0
    epoch_ms = 1767225600 * 1000
    for i, step in enumerate([0, 1, 998, 1, 0, 1, 999, 1000, 1001, 7, 59999, 3, 86400000, 5]):
        clk.advance_ms(step)
        ms += step
        assert clk.now() == (epoch_ms + ms) // 1000, (i, step)
        if i == 6:
            clk.set_utc(1767225600 + 500)        # a Central System's time, mid-second
            epoch_ms = (1767225600 + 500) * 1000 - ms
            assert clk.now() == 1767225600 + 500
    a = clk.now()
    assert clk.now() is a
