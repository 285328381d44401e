# The MCU loop (manual 8.1: beside the IOCU, the MCU runs OCPP, transactions,
# meters and configuration): what one step of the MCU side runs and in which
# order, when the next one is due, and the async shell that runs it on a
# board's clock. The station (evse.station) is what is built; this is how it
# runs: functions of the station, so no service holds it.
#
# Synchronous core: step() runs everything due at the clock's current time;
# next_deadline_ms() says when something is next due, so the simulator can
# jump virtual time from one deadline to the next. Thin async shell: start()
# (with the MCU loop on a running clock; without it, whoever drives the clock
# steps the station: the simulator's evsesim.simdrive, tests), stop().
from evse.aio import asyncio, sleep_ms
from evse.ticks import ticks_add, ticks_diff

TICK_MS = 10          # safety core period on a board (docs/architecture.md)
MCU_MAX_MS = 1000     # the MCU loop runs at least this often (feeds the heartbeat)
IDLE_MAX_MS = 60000   # longest virtual jump when nothing is scheduled


def services(st, now: int) -> None:
    port = st.port
    port.sync()                     # the safety core's events -> the mirrors
    se = st._sensors
    if se is None and (port.rail_state(0) or port.rail_state(1) or port.rail_state(2)):
        se = st.sensors             # a voltage sensor became active
    if se is not None:
        se.step()
    for m in st.meters:
        m.update(now)
    if st.link is not None:
        st.link.poll(now)            # bus cards reach the sessions in this step
    for s in st.sessions:
        s.step(now)
    st.availability.step(now)
    st.tx.iocu_events(port.inbox, st.warnings)
    st.overcurrent.step(now)
    st.energy.step(now)
    st.cards.expire_reservations(st.clock.now(), st.status_report.codes, st.log)
    st.metering.step()
    st.tx.step()
    st.grid.step(now)
    st.network.step(now)
    st.maint.step(now, st.clock.now())
    st.status_report.step()
    st.indicators.tick(now)


def _fold(st, d: int) -> None:
    if 0 <= d < st._best:
        st._best = d


def next_deadline_ms(st, iocu: bool = True) -> int:
    """ms until something is next due. iocu False: the MCU services only
    (the timer ticks the safety core by itself)."""
    now = st.clock.ticks_ms()
    st._best = IDLE_MAX_MS
    if iocu:    # only a stopped MCU (the "heartbeat" fault) needs a tick at the timeout
        _fold(st, st.iocu.next_deadline_ms(now, st.hb_fault))
    for s in st.sessions:
        _fold(st, s.next_deadline_ms(now))
    for m in st.meters:
        _fold(st, m.next_deadline_ms(now))
    _fold(st, st.availability.next_deadline_ms(now))
    _fold(st, st.grid.next_deadline_ms(now))
    _fold(st, st.overcurrent.next_deadline_ms(now))
    _fold(st, st.indicators.next_deadline_ms(now))
    _fold(st, st.ocpp.next_deadline_ms(now))
    _fold(st, st.network.next_deadline_ms(now))
    if st.link is not None:
        _fold(st, st.link.next_deadline_ms(now))
    wall = st.clock.now()
    d = st.maint.next_deadline_s(wall)
    if d is not None:
        _fold(st, d * 1000)
    d = st.metering.next_deadline_s()
    if d is not None and d >= 0:
        _fold(st, d * 1000)
    x = st.energy.next_change_s(wall)
    if x is not None:
        _fold(st, max(0, int(x)) * 1000)
    r = st.cards.reservations
    x = r.next_expiry() if r is not None else None
    if x is not None:
        _fold(st, max(0, x - wall) * 1000)
    return st._best


async def start(st, loop: bool = True) -> None:
    """loop: run the MCU loop (_run_real); False when whoever drives the
    clock steps the station (evsesim.simdrive on the virtual clock)."""
    st.running = True
    st.step()
    st.start_tick()
    if loop:
        st._task = asyncio.create_task(run_real(st))
    bus = getattr(st.board, "rs485", None)
    if st.link is not None or (bus is not None and hasattr(bus, "start")):
        from evse.services import mswiring    # the board's bus, also for Modbus meters on it
        await mswiring.start_io(st)
    if st._rtu is not None:
        from evse.metering import shell as meter_shell
        await meter_shell.start_io(st)
    await st.ocpp.start()
    addr = getattr(st.board, "web_addr", None)
    if addr:    # the local management website (manual 4.1), evse.web
        from evse.web import server as web
        st.web = await web.start(st.web_view(), addr)


async def stop_web(st) -> None:
    """At once when a reset is decided, before the queued messages are flushed."""
    if st.web is not None:
        w = st.web
        st.web = None
        await w.stop()


async def stop(st) -> None:
    st.running = False
    for m in st.meters:
        m.save(st.clock.ticks_ms(), True)      # a clean stop: nothing lost
    await stop_web(st)
    await st.ocpp.stop()
    if st.link is not None:
        from evse.services import mswiring
        await mswiring.stop_io(st)
    if st._rtu is not None:
        from evse.metering import shell as meter_shell
        await meter_shell.stop_io(st)
    if st.ticker is not None:
        st.ticker.stop()
    if st._task is not None:
        try:
            st._task.cancel()
        except Exception:
            pass


async def run_real(st) -> None:
    """The MCU loop on a real clock (docs/architecture.md, Time): the
    services run on an event, when due, and at least once a second."""
    clock = st.clock
    port = st.port
    stats = st.ocpp.stats
    wake = st._wake
    st._mcu_due = clock.ticks_ms()
    while st.running:
        now = clock.ticks_ms()
        if not st.timer_ticks():
            st.iocu.tick(now)
        rx = stats["received"]
        if (wake[0] or len(port.events) or rx != st._rx_seen or ticks_diff(now, st._mcu_due) >= 0
                or _bus_rx(st)):
            wake[0] = False
            st._rx_seen = rx
            st.mcu_step()
            d = st.next_deadline_ms(False)
            st._mcu_due = ticks_add(clock.ticks_ms(), d if d < MCU_MAX_MS else MCU_MAX_MS)
        await sleep_ms(TICK_MS)


def _bus_rx(st) -> bool:
    """Bytes wait on the RS485 bus (a master/slave frame, a Modbus reply)."""
    lk = st.link
    if lk is not None and lk.bus.any():
        return True
    mb = st._rtu
    return mb is not None and mb.port.any() > 0
