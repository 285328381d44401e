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
