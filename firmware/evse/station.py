# The station: the composition root. It builds the safety core (evse.iocu:
# one Connector per socket and the Iocu supervisor, reached only through
# its port), the MCU services (evse.services: each owns its work and its
# OCPP operations; none holds the Station) and the OCPP client, wires them
# once, and owns the loop (docs/architecture.md).
#
# Synchronous core: step() runs everything due at the clock's current time;
# next_deadline_ms() says when something is next due, so the simulator can
# jump virtual time from one deadline to the next. Thin async shell: start()
# (with the MCU loop on a running clock; without it, whoever drives the clock
# steps the station: the simulator's evse.simdrive, tests), stop(), poke().
#
# Connector numbering: OCPP connectorId c = 1..n; Python lists are 0-based
# (index c - 1); connector 0 is the station itself (OCPP 3.8).
from evse.aio import asyncio, sleep_ms

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only

from evse import VERSION
from evse.iocu.connector import Connector
from evse.iocu.events import EventRing
from evse.iocu.station import Iocu
from evse.iocu.port import IocuPort
from evse.services.session import Session
from evse.ticks import ticks_add, ticks_diff

TICK_MS = 10          # safety core period on a board (ARCHITECTURE.md)
MCU_MAX_MS = 1000     # the MCU loop runs at least this often (feeds the heartbeat)
IDLE_MAX_MS = 60000   # longest virtual jump when nothing is scheduled


class Station:
    def __init__(self, board, config, model: str, modbus=None) -> None:
        from evse.services import (log as LG, conditions, warnings, gridvoltage, overcurrent, availability,
                                   authlist, auth, cards as C, energy, indicators, statusreport,
                                   transactions, maintenance, metering as MT, network)
        from evse.ocpp import client, handlers, journal as J
        from evse.metering.factory import make_meters, master_of
        self.board = board
        self.config = config
        self.model = model
        clock = self.clock = board.clock
        storage = self.storage = board.storage
        self.running = False
        self._task = None               # type: Any
        self.web = None                 # type: Any  # evse.web.server.WebServer while it runs
        self.hb_fault = False           # the MCU withholds its heartbeat to the safety core (a fault the simulator injects)
        # the safety tick's source on a board (evse.hal.ticker: a timer through
        # micropython.schedule), or None: then whoever steps the station ticks
        self.ticker = getattr(board, "ticker", None)   # type: Any
        self._wake = [True]             # an event for the MCU loop (config, card, control op)
        self._rx_seen = 0               # OCPP frames received when the MCU last ran
        self._mcu_due = 0               # ticks_ms of the MCU loop's next step without an event
        self._best = 0                  # next_deadline_ms's running minimum (no closure)
        n = self.n = len(board.connectors)
        # ---- the safety core, reached only through its port (docs/architecture.md);
        # the Connector list stays here for tests and the simulator to see the hardware truth
        self.events = EventRing(64)
        conns = self.connectors = [Connector(i + 1, board.connectors[i], self.events, board.io) for i in range(n)]
        # 32 frames: a resend after a link error (IocuPort.resend) is 8 per connector
        self.iocu = Iocu(board.io, conns, self.events, 32)
        port = self.port = IocuPort(self.iocu.link, self.events, n)
        mirrors = self.mirrors = port.conn
        self._tick_cb = self.safety_tick    # bound once: the timer's callback allocates nothing
        # ---- logs, meters, the OCPP client and its journal
        log = self.log = LG.Log(clock, 64)
        elog = self.error_log = LG.Log(clock, 32, LG.ERROR)
        LG.follow(config, getattr(board, "log_level", None))   # the console's level
        for e in config.errors:
            elog.add("config: " + e)
        meters = self.meters = make_meters(board, config, clock, storage, elog, modbus)
        # Flash bound: payloads stay on flash; the log and its compaction copy stay
        # within the board's byte budget (pins.py JOURNAL_BYTES); see journal.py
        self.journal = J.Journal(storage, max_queued=1000, budget=getattr(board, "journal_bytes", J.BOARD_BUDGET))
        for e in self.journal.errors:
            elog.add("journal: " + e)
        oc = self.ocpp = client.OcppClient(config, board, self.journal)
        # ---- the services
        sessions = self.sessions = []    # type: list
        tx = self.tx = transactions.Transactions(storage, clock, sessions, meters, self.journal, oc, log, elog)
        for i in range(n):
            sessions.append(Session(i, mirrors[i], config, clock, tx, meters[i], port))
        cond = self.conditions = conditions.Conditions(n)
        ind = self.indicators = indicators.Indicators(config, board.connectors, board.io, model=model)
        av = self.availability = availability.Availability(config, storage, port, sessions, clock, model, elog, log, self.ticker)
        self.avail = av.avail
        self.authlist = authlist.LocalList(storage, config, clock)
        self.cache = authlist.AuthCache(storage, config, clock, self.authlist)
        self.authorizer = auth.Authorizer(config, self.authlist, self.cache, clock)
        cards = self.cards = C.CardRouter(config, self.authorizer, sessions, None, oc.authorize, oc.online,
                                        None, ind.card_result, storage, clock)
        cards.boot()                    # reservations survive a reboot (OCPP 5.13)
        sr = self.status_report = statusreport.StatusReport(clock, port, sessions, meters, cond, cards, av, ind, oc, model)
        cards.connector_state_fn = sr.name
        self.warnings = warnings.Warnings(cond, config, elog, sr.warning_event)
        self.grid = gridvoltage.GridVoltage(config, meters, cond, sr)      # OverVoltage / UnderVoltage from the meters
        self.overcurrent = overcurrent.Overcurrent(meters, mirrors, sessions, cond, log, elog)
        en = self.energy = energy.Energy(config, storage, clock, board.io, sessions, port, cond, self.warnings,
                                  self.overcurrent)
        self.metering = MT.Metering(config, clock, meters, mirrors, sessions, board.io)
        mt = self.maint = maintenance.Maintenance(board, config, oc, sessions, log, elog)
        self.network = network.Network(config, clock, getattr(board, "netifs", None), oc.net_changed, log)
        self.link = None                # type: Any  # RS485 master/slave (RFIDMasterSlaveEnabled, reboot required)
        try:
            ms = config.get("RFIDMasterSlaveEnabled")
        except (KeyError, ValueError):
            ms = False
        if ms:
            from evse.services import mswiring
            self.link = mswiring.attach(config, board, sessions, cards, self.authorizer, sr, ind, log, elog)
        self._rtu = master_of(meters)   # the Modbus meters' RtuMaster, or None
        # ---- wired once
        tx.metering, tx.conditions, tx.authorizer, tx.cards, tx.energy, tx.avail = (
            self.metering, cond, self.authorizer, cards, en, av)
        en.tx = sr.tx = self.metering.tx = mt.tx = tx
        mt.status = sr
        sr.network, sr.link, sr.rtu = self.network, self.link, self._rtu
        oc.answered = tx.answered
        oc.registered_fns = (mt.on_registered, sr.report_all)
        oc.meter_type = getattr(meters[0], "type_name", "") if meters else ""
        if not oc.meter_type and hasattr(board, "meter_type_name"):
            oc.meter_type = board.meter_type_name()     # the board's HAL
        oc.network = self.network
        oc.handlers = self.handlers = handlers.Handlers(oc, config, board.random_bytes, n, av, cards, tx, en, mt, sr,
                                               self.metering, self.authlist, self.cache, log)
        lk = self.link
        if lk is not None and self._rtu is not None and self._rtu.port is lk.bus:
            # one RS485 bus for the meters and the RFID link: each waits for the other's exchanges
            self._rtu.others_busy = lk.busy
            if lk.role == "master":
                lk.others_busy = self._rtu.busy
        mt.boot()
        av.apply_config()
        wake = self._wake

        def woke(key):                  # a configuration change: the MCU loop runs at once
            wake[0] = True
        config.subscribe(woke)
        # sensor scenarios (manual 5): ExternalSensor<n>Type (reboot required); the
        # board's voltage sensors load the service when a rail first leaves its range
        self._sensors = None            # type: Any
        if config.get("ExternalSensor1Type") or config.get("ExternalSensor2Type"):
            self.sensors
        tx.recover()
        log.add("boot %s %s, %d connector(s)" % (VERSION, model, n))

    @property
    def sensors(self):
        se = self._sensors
        if se is None:
            from evse.services.sensors import Sensors
            se = self._sensors = Sensors(self.config, self.port, self.sessions, self.indicators,
                                         self.status_report, self.maint, self.log)
        return se

    @property
    def reboot_request(self) -> str:    # "", "Soft", "Hard", "Firmware": the entry point restarts us
        return self.maint.reboot_request

    def status(self) -> dict:
        return self.status_report.status()

    def web_view(self):
        from evse.web.view import StationView
        return StationView(self.config, self.clock, self.board.random_bytes, self.log, self.error_log,
                           self.authlist, self.port, self.status_report, self.availability, self.maint,
                           self.poke)

    # ---- the synchronous core -------------------------------------------------------
    def safety_tick(self, now: int) -> None:
        """From the board's timer (evse.hal.ticker, every 10 ms), else from step() or the loop."""
        self.iocu.tick(now)

    def timer_ticks(self) -> bool:
        tk = self.ticker
        return tk is not None and tk.running

    def start_tick(self) -> None:
        tk = self.ticker
        if tk is not None and not tk.running:
            tk.start(self._tick_cb)

    def step(self) -> None:
        """Everything due now, deterministically (simulator, tests): the MCU
        feeds the heartbeat, the safety core ticks (unless the timer drives it)."""
        now = self.clock.ticks_ms()
        if not self.hb_fault:
            self.port.heartbeat(now)
        if not self.timer_ticks():
            self.iocu.tick(now)
        self._services(now)

    def mcu_step(self) -> None:
        """One step of the MCU side: feed the safety core's heartbeat (manual
        8.5 ERR_HEARTBEAT: a hung MCU stops feeding it), then the services."""
        now = self.clock.ticks_ms()
        if not self.hb_fault:
            self.port.heartbeat(now)
        self._services(now)

    def _services(self, now: int) -> None:
        port = self.port
        port.sync()                     # the safety core's events -> the mirrors
        se = self._sensors
        if se is None and (port.rail_state(0) or port.rail_state(1) or port.rail_state(2)):
            se = self.sensors           # a voltage sensor became active
        if se is not None:
            se.step()
        for m in self.meters:
            m.update(now)
        if self.link is not None:
            self.link.poll(now)          # bus cards reach the sessions in this step
        for s in self.sessions:
            s.step(now)
        self.availability.step(now)
        self.tx.iocu_events(port.inbox, self.warnings)
        self.overcurrent.step(now)
        self.energy.step(now)
        self.cards.expire_reservations(self.clock.now(), self.status_report.codes, self.log)
        self.metering.step()
        self.tx.step()
        self.grid.step(now)
        self.network.step(now)
        self.maint.step(now, self.clock.now())
        self.status_report.step()
        self.indicators.tick(now)

    def _fold(self, d: int) -> None:
        if 0 <= d < self._best:
            self._best = d

    def next_deadline_ms(self, iocu: bool = True) -> int:
        """ms until something is next due. iocu False: the MCU services only
        (the timer ticks the safety core by itself)."""
        now = self.clock.ticks_ms()
        self._best = IDLE_MAX_MS
        if iocu:    # only a stopped MCU (the "heartbeat" fault) needs a tick at the timeout
            self._fold(self.iocu.next_deadline_ms(now, self.hb_fault))
        for s in self.sessions:
            self._fold(s.next_deadline_ms(now))
        for m in self.meters:
            self._fold(m.next_deadline_ms(now))
        self._fold(self.availability.next_deadline_ms(now))
        self._fold(self.grid.next_deadline_ms(now))
        self._fold(self.overcurrent.next_deadline_ms(now))
        self._fold(self.indicators.next_deadline_ms(now))
        self._fold(self.ocpp.next_deadline_ms(now))
        self._fold(self.network.next_deadline_ms(now))
        if self.link is not None:
            self._fold(self.link.next_deadline_ms(now))
        wall = self.clock.now()
        d = self.maint.next_deadline_s(wall)
        if d is not None:
            self._fold(d * 1000)
        d = self.metering.next_deadline_s()
        if d is not None and d >= 0:
            self._fold(d * 1000)
        x = self.energy.next_change_s(wall)
        if x is not None:
            self._fold(max(0, int(x)) * 1000)
        r = self.cards.reservations
        x = r.next_expiry() if r is not None else None
        if x is not None:
            self._fold(max(0, x - wall) * 1000)
        return self._best

    # ---- inputs from the readers ----------------------------------------------
    def rfid(self, reader: int, tag: str) -> dict:
        self._wake[0] = True
        if self.link is not None:   # RS485 master: maybe the slave's card; slave: no reader
            res = self.link.card(reader, tag, self.clock.ticks_ms())
        else:
            res = self.cards.present(reader, tag)
        self.indicators.card_result(res)
        return res

    # ---- the async shell ---------------------------------------------------------------
    async def start(self, loop: bool = True) -> None:
        """loop: run the MCU loop (_run_real); False when whoever drives the
        clock steps the station (evse.simdrive on the virtual clock)."""
        self.running = True
        self.step()
        self.start_tick()
        if loop:
            self._task = asyncio.create_task(self._run_real())
        bus = getattr(self.board, "rs485", None)
        if self.link is not None or (bus is not None and hasattr(bus, "start")):
            from evse.services import mswiring    # the board's bus, also for Modbus meters on it
            await mswiring.start_io(self)
        if self._rtu is not None:
            from evse.metering import shell as meter_shell
            await meter_shell.start_io(self)
        await self.ocpp.start()
        addr = getattr(self.board, "web_addr", None)
        if addr:    # the local management website (manual 4.1), evse.web
            from evse.web import server as web
            self.web = await web.start(self.web_view(), addr)

    async def stop_web(self) -> None:
        """At once when a reset is decided, before the queued messages are flushed."""
        if self.web is not None:
            w = self.web
            self.web = None
            await w.stop()

    async def stop(self) -> None:
        self.running = False
        for m in self.meters:
            m.save(self.clock.ticks_ms(), True)      # a clean stop: nothing lost
        await self.stop_web()
        await self.ocpp.stop()
        if self.link is not None:
            from evse.services import mswiring
            await mswiring.stop_io(self)
        if self._rtu is not None:
            from evse.metering import shell as meter_shell
            await meter_shell.stop_io(self)
        if self.ticker is not None:
            self.ticker.stop()
        if self._task is not None:
            try:
                self._task.cancel()
            except Exception:
                pass

    async def _run_real(self) -> None:
        """The MCU loop on a real clock (docs/architecture.md, Time): the
        services run on an event, when due, and at least once a second."""
        clock = self.clock
        port = self.port
        stats = self.ocpp.stats
        wake = self._wake
        self._mcu_due = clock.ticks_ms()
        while self.running:
            now = clock.ticks_ms()
            if not self.timer_ticks():
                self.iocu.tick(now)
            rx = stats["received"]
            if (wake[0] or len(port.events) or rx != self._rx_seen or ticks_diff(now, self._mcu_due) >= 0
                    or self._bus_rx()):
                wake[0] = False
                self._rx_seen = rx
                self.mcu_step()
                d = self.next_deadline_ms(False)
                self._mcu_due = ticks_add(clock.ticks_ms(), d if d < MCU_MAX_MS else MCU_MAX_MS)
            await sleep_ms(TICK_MS)

    def _bus_rx(self) -> bool:
        """Bytes wait on the RS485 bus (a master/slave frame, a Modbus reply)."""
        lk = self.link
        if lk is not None and lk.bus.any():
            return True
        mb = self._rtu
        return mb is not None and mb.port.any() > 0

    def poke(self) -> None:
        """A change from outside (a control operation): the MCU loop looks at
        it at once; a station without a loop of its own is stepped now."""
        self._wake[0] = True
        if self._task is None:
            self.step()

