# The safety tick from a board timer (evse.hal.ticker; docs/design-notes.md,
# "The safety tick"): on a board a machine.Timer asks micropython.schedule to
# run the IOCU tick, which then runs between two bytecodes of whatever the
# MCU side is doing. Here the timer is fake_machine.Timer (the test fires
# it) and micropython.schedule a queue the test runs where a board would:
# the slow storage below runs it in the middle of a flash write, as the
# board runs a scheduled callback in the middle of the Python loop that
# streams a journal compaction.
import gc

import fake_machine as M
from evse.config.store import Config
from evse.hal.fsstore import Storage
from evsesim.hal.sim import SimBoard
from evse.hal.ticker import TimerTicker
from evse.iocu import errors as E
from evse.station import Station
import support
from support import tmpdir


class Sched:
    """micropython.schedule: a queue of (fn, arg), run() runs it; full
    after 8 entries (RuntimeError, like the port's)."""

    def __init__(self):
        self.q = []

    def __call__(self, fn, arg):
        if len(self.q) >= 8:
            raise RuntimeError("schedule queue full")
        self.q.append((fn, arg))

    def run(self):
        while self.q:
            fn, arg = self.q.pop(0)
            fn(arg)


class SlowStorage(Storage):
    """Flash that takes its time: while `hook` is set, every chunk of a
    streamed write (a journal compaction) calls it first."""
    hook = None

    def write_chunks(self, name, chunks):
        return Storage.write_chunks(self, name, self._slow(chunks))

    def _slow(self, chunks):
        for c in chunks:
            if self.hook is not None:
                self.hook()
            yield c


def build(storage_cls=Storage, n=1):
    M.clear()
    board = SimBoard(n, tmpdir("tick"), True)
    board.storage = storage_cls(board.storage.root)
    board.journal_bytes = 1 << 20       # room for 1000 queued messages
    sched = Sched()
    board.ticker = TimerTicker(M.Timer(0), sched, board.clock.ticks_ms)
    cfg = Config(board.storage, model="sscu")
    cfg.change("TaglessCharging", "true")
    cfg.change("OfflineMode", "true")
    cfg = Config(board.storage, model="sscu")
    st = Station(board, cfg, "sscu")
    st.step()
    st.start_tick()
    assert M.timers[0].period == 10 and M.timers[0].mode == M.Timer.PERIODIC
    return board, st, sched


def period(board, sched):
    """10 ms pass on the board: the timer fires, the scheduler runs the tick."""
    board.clock.advance_ms(10)
    M.timers[0].fire()
    sched.run()


def charge(board, st, sched):
    board.connectors[0].plug(32)
    board.connectors[0].set_ev("C", 16, 3, True)
    for i in range(300):                # 3 s, the MCU loop every 100 ms
        period(board, sched)
        if i % 10 == 0:
            st.mcu_step()
    c = st.connectors[0]
    assert c.contactor_closed and st.status()["connectors"][0]["status"] == "Charging"


def ticks_to_open(board, st, sched):
    """Timer periods from the EV's pilot C -> A until the contactor opens,
    with no MCU step in between."""
    board.connectors[0].set_ev("A")
    n = 0
    while st.connectors[0].contactor_closed:
        period(board, sched)
        n += 1
        assert n < 100
    return n


def test_pilot_c_to_a_opens_the_contactor_during_a_long_journal_compaction():
    # the reference: the same station with nothing else going on
    board, st, sched = build()
    charge(board, st, sched)
    ref = ticks_to_open(board, st, sched)
    assert ref <= 5                     # the pilot debounce and one tick (manual 8.5)

    board, st, sched = build(SlowStorage)
    charge(board, st, sched)
    j = st.journal
    for i in range(1000):
        j.push("MeterValues", {"connectorId": 1, "meterValue": [
            {"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": str(i)}]}]}, None)
    assert len(j) >= 1000
    c = st.connectors[0]
    seen = {"chunks": 0, "change": -1, "open": -1, "ticks0": board.ticker.ticks}

    def slow_chunk():
        # each chunk written takes a millisecond of flash time; the timer
        # interrupts the write every 10 ms (what micropython.schedule does
        # to the compaction's Python loop between two bytecodes)
        seen["chunks"] += 1
        board.clock.advance_ms(1)
        if seen["chunks"] % 10 == 0:
            M.timers[0].fire()
            sched.run()
            if seen["change"] >= 0 and seen["open"] < 0 and not c.contactor_closed:
                seen["open"] = board.ticker.ticks - seen["change"]
        if seen["chunks"] == 200:       # mid-compaction: the EV goes away
            board.connectors[0].set_ev("A")
            seen["change"] = board.ticker.ticks
    board.storage.hook = slow_chunk
    j.compact()
    board.storage.hook = None
    ran = board.ticker.ticks - seen["ticks0"]
    assert seen["chunks"] >= 1000 and ran >= 100, (seen, ran)   # a long compaction: >= 1 s of ticks
    # the contactor opened while the compaction still ran, as soon as on an idle station
    assert seen["open"] == ref, (seen, ref)
    assert board.ticker.overruns == 0
    assert len(j) >= 1000               # the compaction kept every message


def test_hung_mcu_raises_err_heartbeat_and_opens_the_contactor_while_the_timer_ticks():
    board, st, sched = build()
    charge(board, st, sched)
    c = st.connectors[0]
    ticks = board.ticker.ticks
    # the MCU side hangs: no mcu_step (no heartbeat) from now on
    for _ in range(480):                # 4.8 s: inside the heartbeat timeout
        period(board, sched)
    assert c.contactor_closed and not st.iocu.active(E.ERR_HEARTBEAT)
    for _ in range(30):                 # past 5 s
        period(board, sched)
    assert st.iocu.active(E.ERR_HEARTBEAT) and st.iocu.error == E.ERR_HEARTBEAT
    assert not c.contactor_closed and c.offered_da == 0
    assert board.ticker.ticks - ticks == 510    # the timer tick went on throughout
    # the MCU comes back: heartbeats resume, the error clears, the session
    # was stopped (manual 8.5: "any running charge session will be stopped")
    for i in range(100):
        period(board, sched)
        if i % 10 == 0:
            st.mcu_step()
    assert not st.iocu.active(E.ERR_HEARTBEAT)
    assert st.status()["station"]["error_code"] == "NoError"


def test_ticker_skips_and_counts_an_overrun_and_defers_a_tick_while_held():
    M.clear()
    sched = Sched()
    t = [0]
    runs = []
    tk = TimerTicker(M.Timer(0), sched, lambda: t[0])
    tk.start(runs.append)
    M.timers[0].fire()
    M.timers[0].fire()                  # the first is still pending: skipped
    sched.run()
    assert runs == [0] and tk.overruns == 1 and tk.ticks == 1
    tk.hold()
    t[0] = 10
    M.timers[0].fire()
    sched.run()
    assert runs == [0]                  # held: not in the middle of an update
    tk.release()
    assert runs == [0, 10]              # ...but at once after it
    for _ in range(9):
        M.timers[0].fire()              # the scheduler's queue stays short
    assert len(sched.q) == 1
    sched.q.clear()
    tk._pending = False
    for _ in range(8):
        sched.q.append((None, 0))
    M.timers[0].fire()                  # the scheduler's queue is full: counted
    assert tk.overruns == 10 and not tk._pending
    tk.stop()
    assert not tk.running and M.timers[0].callback is None


def test_ticker_allocates_nothing_per_tick():
    # the timer callback and the scheduled run (an interrupt handler's rules)
    M.clear()
    q = []
    tk = TimerTicker(M.Timer(0), lambda fn, arg: q.append(fn), lambda: 0)
    calls = [0]

    def fn(now):
        calls[0] += 1
    tk.start(fn)
    irq = M.timers[0].callback
    irq(None)
    run = q.pop()
    run(0)
    q.append(None)
    q.pop()
    if support.IS_MICROPYTHON:
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
    for _ in range(100):
        irq(None)
        q.pop()(0)
    if support.IS_MICROPYTHON:
        a1 = gc.mem_alloc()
        gc.enable()
        assert a1 - a0 == 0, a1 - a0
    assert calls[0] == 101 and tk.ticks == 101 and tk.overruns == 0


# ---- the MCU loop itself (evse.mcu.run_real) on virtual time: its sleep is
# replaced by one that moves the virtual clock (and fires the board's timer)
def loop_rig(timer):
    import asyncio
    from evse import mcu as mcu_mod
    if timer:
        board, st, sched = build()
    else:
        M.clear()
        board = SimBoard(1, tmpdir("loop"), True)
        cfg = Config(board.storage, model="sscu")
        cfg.change("TaglessCharging", "true")
        cfg.change("OfflineMode", "true")
        cfg = Config(board.storage, model="sscu")
        st = Station(board, cfg, "sscu")
        st.step()
        sched = None
    count = {"mcu": 0, "sleeps": 0, "hung": False}
    mcu = st.mcu_step

    def mcu_step():
        if not count["hung"]:
            count["mcu"] += 1
            mcu()
    st.mcu_step = mcu_step

    async def sleep_ms(ms):
        assert type(ms) is int          # never a float (MicroPython: a heap object)
        count["sleeps"] += 1
        board.clock.advance_ms(ms)
        if sched is not None:
            M.timers[0].fire()
            sched.run()
        await asyncio.sleep(0)

    def run_for(ms):
        n = count["sleeps"] + ms // 10

        async def go():
            st.running = True
            t = asyncio.create_task(st._run_real())
            while count["sleeps"] < n:
                await asyncio.sleep(0)
            st.running = False
            await t
        saved = mcu_mod.sleep_ms
        mcu_mod.sleep_ms = sleep_ms
        try:
            asyncio.run(go())
        finally:
            mcu_mod.sleep_ms = saved
    return board, st, count, run_for


def test_mcu_loop_runs_about_once_a_second_when_idle_and_at_once_on_an_event():
    board, st, count, run_for = loop_rig(False)
    run_for(10000)                      # 10 s idle: the loop ticks, the MCU runs ~1/s
    assert 10 <= count["mcu"] <= 15, count   # + the first steps after boot (events)
    assert not st.iocu.active(E.ERR_HEARTBEAT)      # fed at every MCU step
    count["mcu"] = 0
    board.connectors[0].plug(32)
    board.connectors[0].set_ev("C", 16, 3, True)
    run_for(3000)                       # the safety core's events wake the MCU
    c = st.status()["connectors"][0]
    assert c["status"] == "Charging" and c["contactor"], c
    assert count["mcu"] < 100, count    # not every 10 ms
    board.connectors[0].set_ev("B")
    run_for(30)                         # an EV pause is seen within the debounce
    assert st.status()["connectors"][0]["status"] == "SuspendedEV"


def test_mcu_loop_that_hangs_lets_the_timer_tick_raise_err_heartbeat():
    board, st, count, run_for = loop_rig(True)
    board.connectors[0].plug(32)
    board.connectors[0].set_ev("C", 16, 3, True)
    run_for(3000)
    c = st.connectors[0]
    assert c.contactor_closed
    t0 = board.ticker.ticks
    count["hung"] = True                # the MCU side stops: no step, no heartbeat
    # its last heartbeat was at most a second ago (the loop runs ~1/s)
    run_for(3900)
    assert c.contactor_closed and not st.iocu.active(E.ERR_HEARTBEAT)
    run_for(1200)                       # 5 s after the last heartbeat at the latest
    assert st.iocu.active(E.ERR_HEARTBEAT) and not c.contactor_closed
    assert board.ticker.ticks - t0 == 510 and board.ticker.overruns == 0
