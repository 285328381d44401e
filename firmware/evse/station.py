# The station: the composition root. It builds the safety core (evse.iocu:
# one Connector per socket and the Iocu supervisor, reached only through
# its port), the MCU services (evse.services: each owns its work and its
# OCPP operations; none holds the Station) and the OCPP client, and wires
# them once (docs/architecture.md). How it runs, the MCU loop, is evse.mcu:
# step() runs everything due at the clock's current time, next_deadline_ms()
# says when something is next due, start() / stop() the async shell.
#
# Connector numbering: OCPP connectorId c = 1..n; Python lists are 0-based
# (index c - 1); connector 0 is the station itself (OCPP 3.8).
TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only

from evse import VERSION
from evse.iocu.connector import Connector
from evse.iocu.events import EventRing
from evse.iocu.station import Iocu
from evse.iocu.port import IocuPort
from evse.services.session import Session
from evse import mcu


class Station:
    def __init__(self, board, config, model: str, modbus=None) -> None:
        from evse.services import (log as LG, conditions, warnings, gridvoltage, overcurrent, availability,
                                   authlist, auth, cards as C, energy, indicators, statusreport,
                                   transactions, maintenance, metering as MT, network)
        from evse.ocpp import client, operations, journal as J
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
        config.rng = board.random_bytes
        ops = oc.operations = operations.Operations(oc, n)     # each service registers its own
        for svc in (config, av, tx, cards, en, mt, sr, self.metering, self.authlist, self.cache):
            ops.register(svc)
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
        mcu.services(self, now)

    def mcu_step(self) -> None:
        """One step of the MCU side: feed the safety core's heartbeat (manual
        8.5 ERR_HEARTBEAT: a hung MCU stops feeding it), then the services."""
        now = self.clock.ticks_ms()
        if not self.hb_fault:
            self.port.heartbeat(now)
        mcu.services(self, now)

    def next_deadline_ms(self, iocu: bool = True) -> int:
        """ms until something is next due; iocu False: the MCU services only."""
        return mcu.next_deadline_ms(self, iocu)

    # ---- inputs from the readers ----------------------------------------------
    def rfid(self, reader: int, tag: str) -> dict:
        self._wake[0] = True
        if self.link is not None:   # RS485 master: maybe the slave's card; slave: no reader
            res = self.link.card(reader, tag, self.clock.ticks_ms())
        else:
            res = self.cards.present(reader, tag)
        self.indicators.card_result(res)
        return res

    # ---- the async shell (evse.mcu) ----------------------------------------------------
    async def start(self, loop: bool = True) -> None:
        """loop: run the MCU loop; False when whoever drives the clock steps
        the station (evsesim.simdrive on the virtual clock)."""
        await mcu.start(self, loop)

    async def stop_web(self) -> None:
        """At once when a reset is decided, before the queued messages are flushed."""
        await mcu.stop_web(self)

    async def stop(self) -> None:
        await mcu.stop(self)

    async def _run_real(self) -> None:
        await mcu.run_real(self)

    def poke(self) -> None:
        """A change from outside (a control operation): the MCU loop looks at
        it at once; a station without a loop of its own is stepped now."""
        self._wake[0] = True
        if self._task is None:
            self.step()
