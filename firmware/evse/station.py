# The station: wires the safety core (evse.iocu: one Connector per socket and
# the Iocu supervisor) to the MCU services (sessions, authorization, metering,
# energy management, indicators, OCPP) and the clock.
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

import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only

from evse import VERSION
from evse.clock import iso8601, parse_iso8601
from evse.iocu import errors
from evse.iocu import link as K
from evse.iocu import lock as L
from evse.iocu import pilot as P
from evse.iocu import status as cstatus
from evse.iocu.connector import Connector
from evse.iocu.events import EventRing, EV_ERROR_SET
from evse.iocu.station import Iocu
from evse.iocu.port import IocuPort
from evse.services.session import Session, IDLE, TX, AUTHORIZED, FINISHING
from evse.services import session as S
from evse.services.loadbalance import deci
from evse.ticks import ticks_add, ticks_diff

TICK_MS = 10          # safety core period on a board (ARCHITECTURE.md)
MCU_MAX_MS = 1000     # the MCU loop runs at least this often (feeds the heartbeat)
IDLE_MAX_MS = 60000   # longest virtual jump when nothing is scheduled
AVAIL_FILE = "availability.json"
CONNECTOR_KEYS = ("MaxCurrentConnection", "Connector1FlexCable", "Connector2FlexCable",
                  "FlexConnectorWithActuator", "3StageServo", "InversedServo", "SafetyRelayEnabled",
                  "RelayHelperContactNormallyOpen", "UnlockConnectorOnEVSideDisconnect",
                  "StopTransactionOnEVSideDisconnect", "ExternalSensor1Type", "Connector1Enabled",
                  "Connector2Enabled", "MinCurrentConnection")
TXREF_FILE = "txref"
ALIVE_FILE = "alive"
ALIVE_EVERY_S = 300
# What a service left unloaded would find in storage (docs/memory.md, lazy
# services): these names are their modules' own (reservations.FILE,
# smartcharging.FILE, firmware.POINTER / JOB), spelled here so that looking
# does not load the module.
RESERVATIONS_FILE = "reservations.json"
PROFILES_FILE = "profiles.json"
FW_FILES = ("app-active", "fw-job")
# UnlockConnector waits for the lock's own verdict: a full series of attempts
UNLOCK_WAIT_MS = L.ATTEMPTS * (L.DRIVE_MS + L.PAUSE_MS) + 1000


class Station:
    def __init__(self, board, config, model: str, modbus=None) -> None:
        self.board = board
        self.config = config
        self.model = model
        self.clock = board.clock
        self.storage = board.storage
        self.max_frame = 16384          # largest OCPP-J message either way; WebSocket frames are 2 KiB (ocpp.ws)
        self.reboot_request = ""        # "", "Soft", "Hard", "Firmware": the entry point restarts us
        self.running = False
        self._task = None               # type: Any
        self.web = None                 # type: Any  # evse.web.server.WebServer while it runs
        self.hb_fault = False           # the MCU withholds its heartbeat to the safety core (a fault the simulator injects)
        # the safety tick's source on a board (evse.hal.ticker: a timer through
        # micropython.schedule), or None: then whoever steps the station ticks
        # the safety core (the simulator, tests, the real-clock simulator's loop)
        self.ticker = getattr(board, "ticker", None)   # type: Any
        self._wake = True               # an event for the MCU loop (config, card, control op)
        self._rx_seen = 0               # OCPP frames received when the MCU last ran
        self._mcu_due = 0               # ticks_ms of the MCU loop's next step without an event
        self._best = 0                  # next_deadline_ms's running minimum (no closure)
        n = len(board.connectors)
        self.n = n
        # ---- safety core
        # The safety core (the IOCU of manual 8.1) is built here and then
        # reached only through its port: framed commands in, events out into
        # per-connector mirrors (evse.iocu.port, docs/design-notes.md). The
        # station keeps the Connector list only for tests and the simulator
        # to look at the hardware truth; no MCU code reads it.
        self.events = EventRing(64)
        conns = [Connector(i + 1, board.connectors[i], self.events, board.io) for i in range(n)]
        self.connectors = conns
        # 32 frames: a resend after a link error (IocuPort.resend) is 8
        # frames per connector, with room for the step's own commands
        self.iocu = Iocu(board.io, conns, self.events, 32)
        self.port = IocuPort(self.iocu.link, self.events, n)
        self.mirrors = self.port.conn
        self._tick_cb = self.safety_tick    # bound once: the timer's callback allocates nothing
        self._ev3 = [0, 0, 0]
        # ---- logs for diagnostics
        # Services a configuration may not use are loaded when first needed
        # (docs/memory.md, lazy services): diagnostics, firmware update,
        # reservations, smart charging while disabled, sensors, RS485
        # master/slave. Their properties below load them; the hot paths
        # (step, next_deadline_ms, status) look at the private slot and do
        # what the service would do with nothing to do.
        self._diag = None               # type: Any
        self._fw = None                 # type: Any
        self._resv = None               # type: Any
        self._smart = None              # type: Any
        self._sensors = None            # type: Any
        from evse.services import log as LG
        self.log = LG.Log(self.clock, 64)
        self.error_log = LG.Log(self.clock, 32, LG.ERROR)
        # the console's level: the board's (the simulator's --log-level) or LogLevel
        self._log_fixed = getattr(board, "log_level", None)
        LG.set_console(LG.level_of(self._log_fixed or config.get_str("LogLevel")))
        config.subscribe(self._log_level_changed)
        for e in config.errors:
            self.error_log.add("config: " + e)
        # ---- meters
        self.meters = self._make_meters(modbus)
        # ---- sessions
        self.sessions = [Session(i, self.mirrors[i], config, self.clock, self, self.meters[i], self.port)
                         for i in range(n)]
        self.status_codes = [-1] * (n + 1)   # last reported status code per connector (0 = station)
        self.status_errs = [""] * (n + 1)
        self.status_infos = [""] * (n + 1)   # info of the last report (NoError news)
        self._led_name = [""] * n            # what the LED shows (status name, authorized)
        self._led_auth = [False] * n
        self.status_listeners = []      # type: list
        # MCU-side conditions (grid voltage, temperature, overcurrent, warnings)
        from evse.services.conditions import Conditions
        self.conditions = Conditions(n)
        from evse.services.warnings import Warnings
        self.warnings = Warnings(self.conditions, config, self.error_log, self._warning_event)
        from evse.services.gridvoltage import GridVoltage
        self.grid = GridVoltage(self)   # OverVoltage / UnderVoltage from the meters
        from evse.services.overcurrent import Overcurrent
        self.overcurrent = Overcurrent(self)   # an EV drawing more than offered
        # ---- availability (OCPP 5.2, persistent)
        self.avail = [True] * (n + 1)
        self.avail_scheduled = [None] * (n + 1)  # type: list
        self._avail_due = False         # a transaction ended: apply scheduled changes at the next step
        self._load_availability()
        # ---- authorization
        from evse.services.authlist import LocalList, AuthCache
        from evse.services.auth import Authorizer
        from evse.services.cards import CardRouter
        self.authlist = LocalList(self.storage, config, self.clock)
        self.cache = AuthCache(self.storage, config, self.clock, self.authlist)
        self.authorizer = Authorizer(config, self.authlist, self.cache, self.clock)
        self.cards = CardRouter(config, self.authorizer, self.sessions, None,
                                self._ask_cs, self._online, self.connector_status_name, self._card_result)
        if self._stored(RESERVATIONS_FILE):
            self._load_reservations()   # reservations survive a reboot (OCPP 5.13)
        self.auth = self.cards
        # ---- energy management
        from evse.services.loadbalance import LoadBalancer
        # SmartChargingEnabled takes effect at once (manual): _on_config
        # loads the service when it becomes True; stored profiles (kept
        # while disabled) load it at boot
        if self._smart_enabled() or self._stored(PROFILES_FILE):
            self._load_smart()
        self.balancer = LoadBalancer(n)
        self._e_active = [False] * n    # the energy step's inputs, updated in place
        self._e_demand = [False] * n
        self._e_sc = [0] * n            # type: list
        self._cache_energy_config()
        self._limits = [-1] * n
        self._unlocks = [None] * n      # type: list  # [callbacks, deadline] of an UnlockConnector
        # ---- indicators
        from evse.services.indicators import Indicators
        self.indicators = Indicators(config, board.connectors, board.io, model=model)
        # ---- OCPP
        from evse.ocpp.client import OcppClient
        from evse.ocpp.handlers import Handlers
        from evse.ocpp.journal import Journal, BOARD_BUDGET
        # Flash bound: payloads stay on flash (RAM holds a few dozen bytes per
        # queued message); the log and its compaction copy stay within the
        # board's byte budget (board.journal_bytes, pins.py JOURNAL_BYTES;
        # 32 KiB by default), and past 1000 queued messages too, the oldest
        # MeterValues give way (Start/Stop never do); see journal.py
        self.journal = Journal(self.storage, max_queued=1000,
                               budget=getattr(board, "journal_bytes", BOARD_BUDGET))
        for e in self.journal.errors:
            self.error_log.add("journal: " + e)
        self.ocpp = OcppClient(self, config, board, self.journal)
        from evse.services.network import Network
        # the board's network interfaces (evse.hal.netif; the simulator's "sim")
        self.network = Network(config, self.clock, getattr(board, "netifs", None), self._net_changed)
        self.handlers = Handlers(self, self.ocpp)
        self.ocpp.handlers = self.handlers
        self._start_seqs = {}          # type: dict  # journal seq of a StartTransaction -> session index
        self._next_ref = self._load_txref()
        self._alive_saved = 0
        # ---- metering, diagnostics, firmware
        from evse.services.metering import Metering
        self.metering = Metering(self)
        self._up_ms = 0                 # uptime for a diagnostics file, until that service loads
        self._up_t = self.clock.ticks_ms()
        # firmware update: a slot pointer or a pending job needs the service
        # at boot (the boot loader's counted boot, or count it here); without
        # them it would only note the built-in version (FirmwareVersionMCU)
        if self._stored(FW_FILES[0]) or self._stored(FW_FILES[1]):
            self.firmware.start()
        else:
            try:
                config.set_internal("FirmwareVersionMCU", VERSION)
            except (KeyError, ValueError):
                pass
        self._set_facts()
        self.apply_config()
        config.subscribe(self._on_config)
        # sensor scenarios (manual 5): external sensors are configured per
        # boot (ExternalSensor<n>Type, reboot required); the board's voltage
        # sensors load the service when a rail first leaves its range (step)
        g = config.get
        if g("ExternalSensor1Type") or g("ExternalSensor2Type"):
            self._load_sensors()
        self._recover_interrupted()
        # ---- RFID master/slave over RS485 (RFIDMasterSlaveEnabled/ID, reboot
        # required), or None
        self.link = None                # type: Any
        try:
            ms = g("RFIDMasterSlaveEnabled")
        except (KeyError, ValueError):
            ms = False
        if ms:
            from evse.services import mswiring
            self.link = mswiring.attach(self)
        from evse.metering.factory import master_of
        self._rtu = master_of(self)     # the Modbus meters' RtuMaster, or None
        lk = self.link
        if lk is not None and self._rtu is not None and self._rtu.port is lk.bus and lk.role == "master":
            # one RS485 bus for the meters and the RFID link: the link waits
            # for the meters' exchanges as they wait for its (factory._share_bus)
            lk.others_busy = self._rtu.busy
        self.log.add("boot %s %s, %d connector(s)" % (VERSION, model, n))

    # ---- construction helpers ----------------------------------------------------
    def _make_meters(self, modbus):
        # modbus: None (the simulator's built-in meters) or the port of the
        # Modbus RTU meters (HAL RS485 port interface); MeterType 3 = S0
        from evse.metering.factory import make_meters
        return make_meters(self, modbus)

    def _stored(self, name: str) -> bool:
        try:
            return self.storage.read(name) is not None
        except OSError:
            return True                 # the service reports the read failure

    # ---- services loaded on first use (docs/memory.md) -----------------------------
    @property
    def diagnostics(self):
        d = self._diag
        if d is None:
            from evse.services.diagnostics import Diagnostics
            d = self._diag = Diagnostics(self.storage, self.clock, self.board.net, self.config,
                                         self._notify, log=self.log, errors=self.error_log,
                                         info=self._diag_info, up_ms=self._up_ms, since=self._up_t)
        return d

    @property
    def firmware(self):
        f = self._fw
        if f is None:
            from evse.services.firmware import FirmwareUpdater
            f = self._fw = FirmwareUpdater(self.storage, self.clock, self.board.net, self.config,
                                           self._notify, self._fw_reboot,
                                           busy=self.any_transaction, log=self.log)
        return f

    def _load_reservations(self):
        from evse.services.reservations import Reservations
        r = self._resv = Reservations(self.storage, self.config, self.clock, self.n)
        self.cards.reservations = r
        return r

    @property
    def reservations(self):
        r = self._resv
        return r if r is not None else self._load_reservations()

    def _sync_reservations(self) -> None:
        r = self._resv
        if r is not None:
            r.sync_sessions(self.sessions)
            return
        for s in self.sessions:         # no reservation: what sync_sessions mirrors
            if s.state == IDLE:
                s.reservation_id = None

    def _smart_enabled(self) -> bool:
        try:
            return self.config.get("SmartChargingEnabled") is True
        except (KeyError, ValueError):
            return False

    def _load_smart(self):
        from evse.services.smartcharging import SmartCharging
        sc = self._smart = SmartCharging(self.config, self.storage, self.clock, self.n)
        return sc

    @property
    def smart(self):
        sc = self._smart
        return sc if sc is not None else self._load_smart()

    def _nominal_a(self) -> float:
        # SmartCharging.target_a while disabled: NominalAmperage (manual
        # SmartChargingEnabled False: "charging will be done at nominal amperage")
        try:
            v = self.config.get("NominalAmperage")
        except (KeyError, ValueError):
            v = None
        return int(round((16.0 if v is None else v) * 10)) / 10

    def _target_a(self, cid: int, wall: int, start) -> float:
        sc = self._smart
        return sc.target_a(cid, wall, start) if sc is not None else self._nominal_a()

    def _load_sensors(self):
        from evse.services.sensors import Sensors
        se = self._sensors = Sensors(self)
        return se

    @property
    def sensors(self):
        se = self._sensors
        return se if se is not None else self._load_sensors()

    def _set_facts(self) -> None:
        si = self.config.set_internal
        for key, value in (("FirmwareVersionIOCU", VERSION), ("OCPPProtocolUsed", "ocpp1.6")):
            try:
                si(key, value)
            except ValueError:
                pass
        try:
            if not self.config.get("FirmwareVersionMCU"):
                si("FirmwareVersionMCU", VERSION)
        except ValueError:
            pass
        # the board's own identity (HAL), for the read-only keys and BootNotification
        for key, name in (("SerialNumber", "serial_number"), ("MACAddress", "mac_address")):
            fn = getattr(self.board, name, None)
            try:
                v = fn() if fn is not None and not self.config.get(key) else ""
                if v:
                    si(key, v)
            except (ValueError, OSError):
                pass

    def _load_availability(self) -> None:
        raw = self.storage.read(AVAIL_FILE)
        if not raw:
            return
        try:
            v = json.loads(raw)
            if type(v) is list and len(v) == self.n + 1 and all(type(x) is bool for x in v):
                self.avail = v
            else:
                raise ValueError("shape")
        except ValueError:
            self.error_log.add("availability file corrupt: all operative")

    def _save_availability(self) -> None:
        self.storage.write(AVAIL_FILE, json.dumps(self.avail).encode())

    def _load_txref(self) -> int:
        raw = self.storage.read(TXREF_FILE)
        try:
            return int(raw.decode()) if raw else 0
        except (ValueError, UnicodeError):
            # never reuse a ref: start above anything the journal knows
            return 1000000

    # ---- configuration ------------------------------------------------------------
    def apply_config(self) -> None:
        # configure() updates many fields the tick reads: not mid-tick
        tk = self.ticker
        if tk is not None:
            tk.hold()
        try:
            self._apply_config()
        finally:
            if tk is not None:
                tk.release()

    def _apply_config(self) -> None:
        """The connector keys to the safety core (CMD_CFG_* frames)."""
        g = self.config.get
        f = 0
        for key, bit in (("FlexConnectorWithActuator", K.CFG_ACTUATOR), ("3StageServo", K.CFG_THREE_STAGE),
                         ("InversedServo", K.CFG_INVERSED), ("SafetyRelayEnabled", K.CFG_SAFETY_RELAY),
                         ("RelayHelperContactNormallyOpen", K.CFG_HELPER_NO)):
            if g(key):
                f |= bit
        # OCPP 1.6 4.10: StopTransactionOnEVSideDisconnect false has
        # priority, the cable stays locked while the transaction goes on
        if g("UnlockConnectorOnEVSideDisconnect") and g("StopTransactionOnEVSideDisconnect"):
            f |= K.CFG_UNLOCK_ON_EV
        ccid = g("ExternalSensor1Type") == 8 and self.model == "sscu"
        mx = g("MaxCurrentConnection")
        mx = deci(mx) if type(mx) in (int, float) else K.INVALID
        for i in range(self.n):
            n = i + 1
            fc = f
            if g("Connector%dFlexCable" % n) if n <= 2 else True:
                fc |= K.CFG_FLEX
            if ccid and i == 0:
                fc |= K.CFG_CCID
            self.port.configure(n, mx, 60, fc)
        self._apply_operative()

    def _on_config(self, key: str) -> None:
        self._wake = True               # the MCU loop runs at once
        # only keys the safety core reads re-configure it (most are reboot-
        # required, so their active value does not change until a reboot)
        if key in CONNECTOR_KEYS:
            self.apply_config()
        elif key == "SmartChargingEnabled" and self._smart is None and self._smart_enabled():
            self._load_smart()          # takes effect at once (manual)
        self._cache_energy_config()
        for i in range(self.n):
            self._limits[i] = -1

    def _apply_operative(self) -> None:
        g = self.config.get
        for i in range(self.n):
            n = i + 1
            enabled = g("Connector%dEnabled" % n) if n <= 2 else True
            self.port.set_operative(n, bool(enabled) and self.avail[0] and self.avail[n])

    # ---- transaction sink (called by sessions) ---------------------------------------
    def tx_started(self, s) -> None:
        cid = s.index + 1
        self._next_ref += 1
        ref = self._next_ref * 4 + cid
        self.storage.write(TXREF_FILE, str(self._next_ref).encode())
        s.tx_ref = ref
        self.conditions.clear(cid, "s0gap")
        # 5.13: the reservation ends when its transaction starts (not when
        # the card is presented: a ConnectionTimeOut gives it back)
        r = self._resv
        rid = r.consume(cid, s.id_tag, s.parent_id_tag) if r is not None else None
        s.reservation_id = rid
        self._sync_reservations()
        self._persist_meter(s.index)
        payload = {"connectorId": cid, "idTag": s.id_tag, "meterStart": int(s.meter_start),
                   "timestamp": iso8601(s.start_time)}
        if rid is not None:
            payload["reservationId"] = rid
        seq = self.ocpp.push_tx("StartTransaction", payload, ref)
        self._start_seqs[seq] = (s.index, ref)
        if s.remote_profile is not None:
            self.smart.set_profile(cid, s.remote_profile, lambda c: True)
            s.remote_profile = None
        self.metering.tx_started(s.index)
        self._alive_saved = 0         # note the time at the next step
        self.log.add("tx start c%d tag %s ref %d" % (cid, s.id_tag, ref))
        self._limits[s.index] = -1

    def tx_stopped(self, s, reason: str) -> None:
        cid = s.index + 1
        meter_stop = int(self.meters[s.index].energy_wh())
        self._persist_meter(s.index)
        now = self.clock.now()
        # transactionData: Begin, the StopTxnSampledData/StopTxnAlignedData
        # readings kept during the transaction (OCPP 1.6 9.1.25/9.1.27), End
        data = [{"timestamp": iso8601(s.start_time), "sampledValue": [
                    {"value": "%d" % int(s.meter_start), "context": "Transaction.Begin",
                     "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]
        data += self.metering.tx_data(s.index)
        data.append({"timestamp": iso8601(now), "sampledValue": [
                        {"value": "%d" % meter_stop, "context": "Transaction.End",
                         "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]})
        payload = {"meterStop": meter_stop, "timestamp": iso8601(now), "reason": reason,
                   "transactionData": data}
        tag = s.stop_tag or s.id_tag     # the identifier that stopped it (OCPP 6.49)
        if tag:
            payload["idTag"] = tag
        self.ocpp.push_tx("StopTransaction", payload, s.tx_ref)
        self.metering.tx_stopped(s.index)
        if self._smart is not None:
            self._smart.tx_ended(cid)
        self.log.add("tx stop c%d %s %d Wh" % (cid, reason, meter_stop - s.meter_start))
        self._limits[s.index] = -1
        self._avail_due = True          # applied at the next step, once the session left TX

    def tx_answered(self, action: str, seq: int, request: dict, conf: dict) -> None:
        """A transaction message was confirmed by the Central System."""
        info = conf.get("idTagInfo")
        tag = request.get("idTag")
        if type(info) is dict and tag:
            self.authorizer.on_cs_answer(tag, info)
        if action == "StartTransaction":
            x = self._start_seqs.pop(seq, None)
            if x is None:
                return
            s = self.sessions[x[0]]
            # an answer that comes after its session ended (offline backlog)
            # must not touch the connector's next session
            if s.state == TX and s.tx_ref == x[1]:
                s.transaction_id = conf.get("transactionId")
                if type(info) is dict and info.get("status") != "Accepted":
                    s.start_rejected(info.get("status"))

    def _persist_meter(self, i: int) -> None:
        # a reading is about to be reported: the meter's stored register
        # must not be below it after a power cut (docs/metering.md)
        self.meters[i].persist(self.clock.ticks_ms())

    def tx_meter_values(self, i: int, values: list) -> None:
        s = self.sessions[i]
        self._persist_meter(i)
        self.ocpp.push_tx("MeterValues", {"connectorId": i + 1, "meterValue": values}, s.tx_ref)

    def send_meter_values(self, i: int, values: list) -> None:
        if self.ocpp.online():
            self._persist_meter(i)
            self.ocpp.send("MeterValues", {"connectorId": i + 1, "meterValue": values})

    def transaction_id(self, s):
        if s.state != TX or not s.tx_ref:
            return None
        t = self.journal.tx_id(s.tx_ref)
        return t if t is not None else s.transaction_id

    def any_transaction(self) -> bool:
        for s in self.sessions:
            if s.state == TX:
                return True
        return False

    def _recover_interrupted(self) -> None:
        """Transactions a power cut interrupted: StopTransaction PowerLoss
        (OCPP 5.14 / 4.10), with the meter reading the meter has now."""
        for ref in self.journal.open_refs():
            if type(ref) is not int:
                continue
            cid = ref % 4
            meter = self.meters[cid - 1].energy_wh() if 1 <= cid <= self.n else 0
            # the clock at boot may be unset (no RTC, BootNotification not yet
            # answered): never stamp the stop before the last moment known alive
            ts = max(self.clock.now(), self._last_alive())
            payload = {"meterStop": int(meter), "timestamp": iso8601(ts),
                       "reason": S.R_POWER_LOSS}
            self.journal.push("StopTransaction", payload, ref)
            self.log.add("tx ref %d interrupted: StopTransaction PowerLoss" % ref)
        for i, m in enumerate(self.meters):
            gap = getattr(m, "gap_wh", 0)
            if gap > 0:
                # an S0 register saved while pulses came, then a power cut:
                # the pulses after that save are lost, never silently
                # (docs/metering.md); reported until the next transaction
                why = "power cut: <=%d Wh not counted" % gap
                self.error_log.add("c%d S0 meter %s" % (i + 1, why))
                self.conditions.set(i + 1, "s0gap", "OtherError", "S0EnergyGap", why)

    def _last_alive(self) -> int:
        raw = self.storage.read(ALIVE_FILE)
        try:
            return int(raw.decode()) if raw else 0
        except (ValueError, UnicodeError):
            return 0

    def _keep_alive(self) -> None:
        """While a transaction runs, note the wall time now and then (a
        PowerLoss StopTransaction after a cut is stamped with it)."""
        now = self.clock.now()
        if now - self._alive_saved >= ALIVE_EVERY_S and self.any_transaction():
            self._alive_saved = now
            self.storage.write(ALIVE_FILE, str(now).encode())

    # ---- the synchronous core -------------------------------------------------------
    def safety_tick(self, now: int) -> None:
        """The safety core's one tick (evse.iocu): from the board's timer
        (evse.hal.ticker, every 10 ms, pre-empting the MCU side between
        bytecodes), else from step() or the real-clock loop."""
        self.iocu.tick(now)

    def timer_ticks(self) -> bool:
        """True while the board's timer drives the safety tick."""
        tk = self.ticker
        return tk is not None and tk.running

    def start_tick(self) -> None:
        tk = self.ticker
        if tk is not None and not tk.running:
            tk.start(self._tick_cb)

    def step(self) -> None:
        """Everything due now, deterministically (simulator, tests): the MCU
        feeds the heartbeat, the safety core ticks (unless the timer drives
        it), then the MCU services run."""
        now = self.clock.ticks_ms()
        if not self.hb_fault:
            self.port.heartbeat(now)
        if not self.timer_ticks():
            self.iocu.tick(now)
        self._services(now)

    def mcu_step(self) -> None:
        """One step of the MCU side (the MCU loop on a board): feed the
        safety core's heartbeat (manual 8.5 ERR_HEARTBEAT: a hung MCU stops
        feeding and the tick cuts the energy), then run the services."""
        now = self.clock.ticks_ms()
        if not self.hb_fault:
            self.port.heartbeat(now)
        self._services(now)

    def _services(self, now: int) -> None:
        port = self.port
        port.sync()                     # the safety core's events -> the mirrors
        se = self._sensors
        if se is None and (port.rail_state(0) or port.rail_state(1) or port.rail_state(2)):
            se = self._load_sensors()   # a voltage sensor became active
        if se is not None:
            se.step()
        for m in self.meters:
            m.update(now)
        if self.link is not None:
            self.link.poll(now)          # bus cards reach the sessions in this step
        for s in self.sessions:
            s.step(now)
        self._unlock_poll(now)
        if self._avail_due:
            self._apply_scheduled()
        self._drain_events()
        self.overcurrent.step(now)
        self._energy(now)
        self._reservations()
        self.metering.step()
        self._keep_alive()
        self.grid.step(now)
        self.network.step(now)
        wall = self.clock.now()
        if self._diag is not None:
            self._diag.poll(wall)
        else:
            self._up_ms += max(0, ticks_diff(now, self._up_t))
            self._up_t = now
        if self._fw is not None:
            self._fw.poll(wall)
        self._update_status()
        self.indicators.tick(now)

    def _fold(self, d: int) -> None:
        if 0 <= d < self._best:
            self._best = d

    def next_deadline_ms(self, iocu: bool = True) -> int:
        """ms until something is next due. iocu False: the MCU services only
        (the timer ticks the safety core by itself)."""
        now = self.clock.ticks_ms()
        self._best = IDLE_MAX_MS
        # heartbeats are fed before every tick: only a stopped MCU (the
        # simulator's "heartbeat" fault) needs a tick at the timeout
        if iocu:
            self._fold(self.iocu.next_deadline_ms(now, self.hb_fault))
        for s in self.sessions:
            self._fold(s.next_deadline_ms(now))
        for w in self._unlocks:
            if w is not None:
                self._fold(max(0, ticks_diff(w[1], now)))
        for m in self.meters:
            self._fold(m.next_deadline_ms(now))
        self._fold(self.grid.next_deadline_ms(now))
        self._fold(self.overcurrent.next_deadline_ms(now))
        self._fold(self.indicators.next_deadline_ms(now))
        self._fold(self.ocpp.next_deadline_ms(now))
        self._fold(self.network.next_deadline_ms(now))
        if self.link is not None:
            self._fold(self.link.next_deadline_ms(now))
        wall = self.clock.now()
        svc = self._diag
        d = svc.next_deadline_s(wall) if svc is not None else None
        if d is not None and d >= 0:
            self._fold(d * 1000)
        svc = self._fw
        d = svc.next_deadline_s(wall) if svc is not None else None
        if d is not None and d >= 0:
            self._fold(d * 1000)
        d = self.metering.next_deadline_s()
        if d is not None and d >= 0:
            self._fold(d * 1000)
        x = self._smart.next_change_s(wall, self._tx_starts()) if self._smart is not None else None
        if x is not None:
            self._fold(max(0, int(x)) * 1000)
        x = self.balancer.next_change_s(wall)
        if x is not None:
            self._fold(max(0, int(x)) * 1000)
        x = self._resv.next_expiry() if self._resv is not None else None
        if x is not None:
            self._fold(max(0, x - wall) * 1000)
        return self._best

    def _drain_events(self) -> None:
        ev = self._ev3
        w = self.warnings
        while self.port.inbox.pop_into(ev):
            w.iocu_event(ev[0], ev[1], ev[2])
            if ev[1] == EV_ERROR_SET and ev[2] == errors.ERR_HEARTBEAT:
                # manual 8.5 ERR_HEARTBEAT: "any running charge session will be
                # stopped" (the safety core has already cut the energy); OCPP
                # has no closer reason than Other
                for s in self.sessions:
                    if s.state == TX:
                        s.stop(S.R_OTHER)

    def _tx_starts(self) -> dict:
        out = {}
        for s in self.sessions:
            if s.state == TX:
                out[s.index + 1] = s.start_time
        return out

    def _cache_energy_config(self) -> None:
        """The energy step's configuration, in integers (deci-amps, 0.1
        degC), read again when a key changes (config.subscribe): the MCU
        step reads no key and makes no float (docs/memory.md)."""
        g = self.config.get
        self._cp_limit_da = deci(g("ChargePointCurrentLimit"))
        self._maxc_da = deci(g("MaxCurrentConnection"))
        self._minc_da = deci(g("MinCurrentConnection"))
        self._tlow_dc = deci(g("TempLowerOffsetDegrees"))
        self._tlow_da = deci(g("TempLowerOffsetLimit"))
        self._tup_dc = deci(g("TempUpperOffsetDegrees"))
        self._tup_da = deci(g("TempUpperOffsetLimit"))
        self._nominal_da = deci(self._nominal_a())

    def _energy(self, now: int) -> None:
        """Offered current per connector: load balancing over smart charging
        limits (manual 6.2/6.3), then the safety core adds cable and
        MaxCurrentConnection limits. Allocates nothing while smart charging
        is off (preallocated per-connector lists, integers)."""
        wall = self.clock.now()
        active = self._e_active
        demand = self._e_demand
        sc = self._e_sc
        smart = self._smart
        on = smart is not None and smart.enabled()
        for i in range(self.n):
            s = self.sessions[i]
            p = self.mirrors[i].pilot
            tx = s.state == TX
            active[i] = tx
            demand[i] = p == P.C or p == P.D
            # NominalAmperage also when smart charging is disabled (manual
            # SmartChargingEnabled False: "charging will be done at nominal amperage")
            if smart is None:
                sc[i] = self._nominal_da
            else:
                a = smart.target_a(i + 1, wall, s.start_time if tx else None)
                sc[i] = None if a is None else deci(a)
        station_sc = smart.limit_a(0, wall) if on else None
        if station_sc is not None:
            station_sc = deci(station_sc)
        temp_dc = self.board.io.temperature_dc()
        lb = self.balancer
        derate = lb.derating.cap_dc(temp_dc, self._tlow_dc, self._tlow_da, self._tup_dc, self._tup_da)
        alloc = lb.allocate_into(wall, self._cp_limit_da, self._maxc_da, self._minc_da,
                                 active, demand, sc, station_sc, derate)
        self.warnings.derating(derate, temp_dc)
        for i in range(self.n):
            c = self.mirrors[i]
            if on:
                self.warnings.limit(i + 1, active[i], None if sc[i] is None else sc[i] / 10, c.max_da)
            else:
                self.warnings.limit(i + 1, False, None, c.max_da)
            da = alloc[i] if active[i] else c.max_da
            cap = self.overcurrent.cap_da[i]
            if 0 <= cap < da:
                da = cap        # an EV that overdrew is offered the minimum
            if self.conditions.blocks(i + 1):
                da = 0          # a blocking MCU-side condition: no energy (PWM below 6 A)
            elif self.sessions[i].suspended:
                da = 0          # invalidated id past MaxEnergyOnInvalidId: SuspendedEVSE (session.py)
            if da != self._limits[i]:
                self._limits[i] = da
                self.port.set_limit_da(i + 1, int(da))

    def _reservations(self) -> None:
        r = self._resv
        if r is not None:
            for cid in r.expire(self.clock.now()):
                self.log.add("reservation on c%d expired" % cid)
            for i in range(self.n):
                st = self.status_codes[i + 1]
                if st == cstatus.FAULTED or st == cstatus.UNAVAILABLE:
                    r.terminate(i + 1)
        self._sync_reservations()

    # ---- status ---------------------------------------------------------------------------
    def derive_status(self, i: int) -> int:
        c = self.mirrors[i]
        s = self.sessions[i]
        r = self._resv
        reserved = r is not None and r.on_connector(i + 1) is not None and s.state == IDLE
        code = cstatus.of(c, reserved=reserved, finishing=s.state == FINISHING,
                          preparing=s.state == AUTHORIZED or s.plug_wait or s.state == TX)
        # OCPP 1.6 4.9: the EV left a transaction that goes on
        # (StopTransactionOnEVSideDisconnect false) -> SuspendedEV; a stopped
        # one whose cable is still in the socket is not available to a new
        # user yet -> Finishing
        if s.state == TX and code == cstatus.PREPARING:
            code = cstatus.SUSPENDED_EV
        elif s.state == AUTHORIZED and (code == cstatus.SUSPENDED_EV or code == cstatus.SUSPENDED_EVSE):
            code = cstatus.PREPARING    # the cable is being locked: no transaction yet
        elif s.state == FINISHING and code == cstatus.AVAILABLE:
            code = cstatus.FINISHING
        if self.conditions.blocks(i + 1) and code != cstatus.UNAVAILABLE:
            code = cstatus.FAULTED
        return code

    def station_status(self) -> int:
        if self.port.error or self.conditions.blocks(0):
            return cstatus.FAULTED
        if not self.avail[0]:
            return cstatus.UNAVAILABLE
        return cstatus.AVAILABLE

    def connector_status_name(self, cid: int) -> str:
        if cid == 0:
            return cstatus.NAMES[self.station_status()]
        return cstatus.NAMES[self.derive_status(cid - 1)]

    def _status_fields(self, cid: int):
        if cid == 0:
            err = self.port.error
            if err:
                return errors.ocpp(err)
            top = self.conditions.top(0)
            if top is not None:
                return top
            if self.cards.reader_failure():
                return "ReaderFailure", "", "RFID"
            return "NoError", "", ""
        c = self.mirrors[cid - 1]
        if c.error:
            return errors.ocpp(c.error)
        m = self.meters[cid - 1]
        if not m.ok():
            # the meter says why (e.g. "Modbus 2: timeout", "MeterType 7: no register map");
            # a Modbus meter whose first poll is still under way says nothing: no failure yet
            why = m.info() if hasattr(m, "info") else "meter"
            if why:
                return "PowerMeterFailure", "", why
        top = self.conditions.top(cid)
        if top is not None:
            return top
        s = self.sessions[cid - 1]
        if not s.ev_connected and (s.state == TX or (s.state == FINISHING
                                                     and s.stop_reason == S.R_EV_DISCONNECTED)):
            return "NoError", "", "EV side disconnected"     # OCPP 1.6 4.9
        return "NoError", "", ""

    def _update_status(self) -> None:
        for cid in range(self.n + 1):
            code = self.station_status() if cid == 0 else self.derive_status(cid - 1)
            ocpp_code, vendor, info = self._status_fields(cid)
            key = "" if ocpp_code == "NoError" else ocpp_code + "/" + vendor
            # a new NoError info with the same status is news too (OCPP 1.6
            # 4.9: SuspendedEV, info "EV side disconnected")
            if (code != self.status_codes[cid] or key != self.status_errs[cid]
                    or (info and not key and info != self.status_infos[cid])):
                self.status_infos[cid] = info
                if not key and self.status_errs[cid]:
                    # NoError with info naming what cleared (manual 8.2)
                    info = ("cleared " + self.status_errs[cid].rstrip("/"))[:50]
                self.status_codes[cid] = code
                self.status_errs[cid] = key
                name = cstatus.NAMES[code]
                self._send_status(cid, name, ocpp_code, info, vendor)
                for fn in self.status_listeners:
                    fn(cid, name, ocpp_code, info, vendor)
            if cid:
                self._update_led(cid - 1, cstatus.NAMES[code])

    def _update_led(self, i: int, name: str) -> None:
        s = self.sessions[i]
        auth = s.state == AUTHORIZED
        if (auth and name == "Preparing" and s.reservation_id is not None
                and self._resv is not None and self._resv.get(s.reservation_id) is not None):
            name = "Reserved"      # the reserving card was presented: Reserved_Authorized
        if name != self._led_name[i] or auth != self._led_auth[i]:
            self._led_name[i] = name
            self._led_auth[i] = auth
            self.indicators.set_status(i, name, auth)

    def _send_status(self, cid: int, name: str, code: str, info: str, vendor: str,
                     coalesce: bool = True) -> None:
        p = {"connectorId": cid, "status": name, "errorCode": code,
             "timestamp": iso8601(self.clock.now())}
        if info:
            p["info"] = info[:50]
        if vendor:
            p["vendorErrorCode"] = vendor[:255]
        # a state report may replace an unsent older one; an event may not
        self.ocpp.send("StatusNotification", p, connector=cid if coalesce else -1)

    def resend_status(self, cid: int, code: str) -> None:
        """A condition that persists is reported again (a repeat of the
        grid warning, manual VoltageLimitMaxSequentialStatusNotification),
        if it is still what the connector's StatusNotification carries."""
        ocpp_code, vendor, info = self._status_fields(cid)
        if ocpp_code != code:
            return
        st = self.station_status() if cid == 0 else self.derive_status(cid - 1)
        self._send_status(cid, cstatus.NAMES[st], ocpp_code, info, vendor, False)

    def _warning_event(self, cid: int, code: str, vendor: str, info: str) -> None:
        """A pulse warning: one StatusNotification with the current status."""
        st = self.station_status() if cid == 0 else self.derive_status(cid - 1)
        self._send_status(cid, cstatus.NAMES[st], code, info, vendor, False)

    def sensor_status(self, cid: int, name: str, triggered: bool) -> None:
        """Sensor scenario action StatusNotification (manual 5.6)."""
        code = self.station_status() if cid == 0 else self.derive_status(cid - 1)
        if triggered:
            self._send_status(cid, cstatus.NAMES[code], "OtherError", name, "SENSOR_TRIGGERED", False)
        else:
            self._send_status(cid, cstatus.NAMES[code], "NoError", name + " recovered", "", False)

    def on_registered(self) -> None:
        """First BootNotification Accepted: report every connector."""
        if self._fw is not None:       # nothing on trial, nothing to report without one
            self._fw.confirm_boot()
        for cid in range(self.n + 1):
            code = self.station_status() if cid == 0 else self.derive_status(cid - 1)
            ocpp_code, vendor, info = self._status_fields(cid)
            self._send_status(cid, cstatus.NAMES[code], ocpp_code, info, vendor)

    # ---- OCPP client hooks --------------------------------------------------------------
    def meter_type_name(self) -> str:
        name = getattr(self.meters[0], "type_name", "") if self.meters else ""
        if name:
            return name
        f = getattr(self.board, "meter_type_name", None)    # the board's HAL
        return f() if f is not None else ""

    def basic_auth(self):
        # OCPP security profiles 1/2: HTTP Basic with the charge point id and
        # the AuthorizationKey, whenever one is configured.
        key = self.config.get("AuthorizationKey")
        return (self.config.get("NodeId"), key) if key else None

    def cadata(self):
        if not self.config.get("UseWebsocketSecure") and self.config.get("SecurityProfile") < 2:
            return None
        name = self.config.get("RootCertificate")
        return self.storage.read(name) if name else None

    def _online(self) -> bool:
        return self.ocpp.online()

    def _ask_cs(self, tag: str, cb) -> None:
        if not self.ocpp.online():
            cb(None)
            return

        def answer(conf):
            cb(conf.get("idTagInfo") if conf is not None else None)
        self.ocpp.send("Authorize", {"idTag": tag}, answer)

    def _card_result(self, res: dict) -> None:
        r = res.get("result")
        if r == "accepted" or r == "stopped" or r == "unlocked":
            self.indicators.beep("accept")
        elif r == "rejected":
            self.indicators.beep("reject")

    def _notify(self, action: str, payload: dict) -> None:
        self.ocpp.send(action, payload)

    def _net_changed(self, net) -> None:
        self.log.add(net.last)
        self.ocpp.network_changed(net.up, net.replaced)

    def _diag_info(self) -> dict:
        return {"model": self.model, "firmware": VERSION, "connectors": [
            {"id": i + 1, "status": cstatus.NAMES[self.derive_status(i)],
             "error": errors.name(c.error) if c.error else ""} for i, c in enumerate(self.mirrors)],
            "ocpp": {"connected": self.ocpp.connected, "registered": self.ocpp.registered,
                     "queued": self.ocpp.queued(), "log": self.ocpp.log[-10:],
                     "journal": self.journal.stats()}}

    def _fw_reboot(self) -> None:
        # a new firmware is installed: restart once the queued messages
        # (FirmwareStatusNotification Installing) are out
        self.reboot_request = "Firmware"

    # ---- operations for the OCPP handlers ------------------------------------------------
    def change_availability(self, cid: int, operative: bool) -> str:
        targets = range(1, self.n + 1) if cid == 0 else (cid,)
        busy = False
        for c in targets:
            if self.sessions[c - 1].state == TX:
                busy = True
        if busy:
            self.avail_scheduled[cid] = operative
            return "Scheduled"
        self._set_avail(cid, operative)
        return "Accepted"

    def _set_avail(self, cid: int, operative: bool) -> None:
        if cid == 0:
            for k in range(self.n + 1):
                self.avail[k] = operative
        else:
            self.avail[cid] = operative
            if operative and not self.avail[0]:
                self.avail[0] = True
                for k in range(1, self.n + 1):
                    if k != cid:
                        self.avail[k] = False
        self._save_availability()
        self._apply_operative()
        if not operative:
            for c in (range(1, self.n + 1) if cid == 0 else (cid,)):
                self.sessions[c - 1].cancel_authorization()

    def _apply_scheduled(self) -> None:
        # from step() after a tx_stopped(): the session has left TX by then
        self._avail_due = False
        for cid in range(self.n + 1):
            v = self.avail_scheduled[cid]
            if v is None:
                continue
            targets = range(1, self.n + 1) if cid == 0 else (cid,)
            if not any(self.sessions[c - 1].state == TX for c in targets):
                self.avail_scheduled[cid] = None
                self._set_avail(cid, v)

    def clear_cache(self) -> str:
        return self.cache.clear()

    def remote_start(self, tag: str, cid, profile) -> str:
        if profile is not None:
            on = self._smart is not None and self._smart.enabled()
            if profile.get("chargingProfilePurpose") != "TxProfile" or not on:
                profile = None if not on else profile
            if profile is not None and profile.get("chargingProfilePurpose") != "TxProfile":
                return "Rejected"
        if cid is not None and not self.mirrors[cid - 1].operative:
            return "Rejected"
        res = self.cards.remote_start(cid, tag, profile)
        self.log.add("remote start %s c%s: %s" % (tag, cid, res.get("result")))
        return "Accepted" if res.get("result") in ("accepted", "pending") else "Rejected"

    def remote_stop(self, txid: int) -> str:
        for s in self.sessions:
            if s.state == TX and self.transaction_id(s) == txid:
                s.stop(S.R_REMOTE)
                return "Accepted"
        return "Rejected"

    def unlock(self, cid: int, done=None) -> str:
        """UnlockConnector (OCPP 1.6 5.18 / 7.46): "NotSupported" without a
        lock; "UnlockFailed" when a welded contactor forbids it; "Unlocked"
        when the lock switch already reads released. Else "": the answer
        comes through done(status) once the lock has moved: Unlocked when
        its feedback confirms the release, UnlockFailed when the driver gave
        up (still engaged, e.g. stuck) or after UNLOCK_WAIT_MS."""
        c = self.mirrors[cid - 1]
        s = self.sessions[cid - 1]
        if not c.lock.fitted:
            return "NotSupported"
        if s.state == TX:
            s.stop(S.R_UNLOCK)
        elif s.state == AUTHORIZED:
            s.cancel_authorization()
        elif s.cable_held:
            s.release_cable()
        if not self.port.request_unlock(cid):
            return "UnlockFailed"
        if c.lock.settled(False):
            return "Unlocked"
        w = self._unlocks[cid - 1]
        if w is None:
            w = self._unlocks[cid - 1] = [[], 0]
        w[1] = ticks_add(self.clock.ticks_ms(), UNLOCK_WAIT_MS)
        if done is not None:
            w[0].append(done)
        return ""

    def _unlock_poll(self, now: int) -> None:
        for i in range(self.n):
            w = self._unlocks[i]
            if w is None:
                continue
            lk = self.mirrors[i].lock
            if lk.settled(False):
                r = "Unlocked"
            elif lk.state == L.FAILED or ticks_diff(now, w[1]) >= 0:
                r = "UnlockFailed"
            else:
                continue
            self._unlocks[i] = None
            self.log.add("unlock c%d: %s" % (i + 1, r))
            for fn in w[0]:
                fn(r)

    def reset_accepted(self, kind: str) -> str:
        """Accepted, or Rejected with a StatusNotification ResetFailure on
        connector 0 (manual 8.2) when the reset cannot be carried out now."""
        why = self._fw.reset_blocker() if self._fw is not None else None
        if why is None:
            return "Accepted"
        self.log.add("reset %s refused: %s" % (kind, why))
        self._warning_event(0, "ResetFailure", "", why)
        return "Rejected"

    def reset(self, kind: str, local: bool = False) -> bool:
        """Reset.req from the Central System (reasons HardReset/SoftReset), or
        a local reboot (website, sensor scenario HardReset): reason Reboot. A
        local one is refused (False, ResetFailure) as reset_accepted says."""
        if local and self.reset_accepted(kind) != "Accepted":
            return False
        if local:
            reason = S.R_REBOOT
        else:
            reason = S.R_HARD_RESET if kind == "Hard" else S.R_SOFT_RESET
        for s in self.sessions:
            if s.state == TX:
                s.stop(reason)
            elif s.state == AUTHORIZED:
                s.cancel_authorization()
        self.log.add("reset " + kind)
        self.reboot_request = kind
        return True

    def get_diagnostics(self, location, retries, interval, start, stop):
        return self.diagnostics.request(location, retries, interval, start, stop)

    def update_firmware(self, location, retrieve, retries, interval) -> None:
        self.firmware.request(location, retrieve, retries, interval)

    def local_list_version(self) -> int:
        return self.authlist.version()

    def send_local_list(self, version: int, kind: str, entries: list) -> str:
        return self.authlist.send_local_list(version, kind, entries)

    def reserve_now(self, cid: int, expiry: str, tag: str, parent, rid: int) -> str:
        try:
            exp = parse_iso8601(expiry)
        except ValueError:
            return "Rejected"
        r = self.reservations.reserve(cid, exp, tag, parent, rid, self.connector_status_name)
        self._sync_reservations()
        return r

    def cancel_reservation(self, rid: int) -> str:
        r = self.reservations.cancel(rid)
        self._sync_reservations()
        return r

    def set_charging_profile(self, cid: int, profile: dict) -> str:
        from evse.ocpp import rpc
        err = self.smart.profile_error(cid, profile)
        if err is not None:
            raise rpc.CallError(err[0], err[1])

        def tx_active(c: int):
            if 1 <= c <= self.n:
                s = self.sessions[c - 1]
                if s.state == TX:
                    t = self.transaction_id(s)
                    return t if t is not None else True
            return None
        r = self.smart.set_profile(cid, profile, tx_active)
        self._limits = [-1] * self.n
        return r

    def clear_charging_profile(self, pid, cid, purpose, level) -> str:
        r = self.smart.clear(pid, cid, purpose, level)
        self._limits = [-1] * self.n
        return r

    def composite_schedule(self, cid: int, duration: int, unit):
        from evse.ocpp import rpc
        start = None
        cap = None
        floor = 0
        if 1 <= cid <= self.n:
            if self.sessions[cid - 1].state == TX:
                start = self.sessions[cid - 1].start_time
            cap = self._offer_cap_da(cid - 1, start)
            floor = self.mirrors[cid - 1].min_da
        try:
            res = self.smart.composite_schedule(cid, duration, unit, self.clock.now(), start,
                                                cap, floor)
        except ValueError as e:
            raise rpc.CallError("PropertyConstraintViolation", str(e))
        if res is None:
            return None
        return {"scheduleStart": res["scheduleStart"], "chargingSchedule": res["chargingSchedule"]}

    def _offer_cap_da(self, i: int, start):
        """What limits connector index i now besides the charging profiles and
        the configured maxima (GetCompositeSchedule reports what is offered):
        the plugged cable's rating, temperature derating, and a load-balancing
        share below the connector's own target. Deci-amps or None."""
        c = self.mirrors[i]
        cap = None
        if c.cable_in() and c.cable_da >= 0:
            cap = c.cable_da
        v = self.balancer.derating.cap     # the derating cap in force, or None
        if v is not None:
            cap = v if cap is None or v < cap else cap
        if self.sessions[i].state == TX:
            own = int(round(self._target_a(i + 1, self.clock.now(), start) * 10))
            for x in (c.max_da, cap):
                if x is not None and x < own:
                    own = x
            share = self.balancer.alloc[i]
            if share < own:
                cap = share
        return cap

    def trigger(self, what: str, cid) -> None:
        if what == "BootNotification":
            self.ocpp.trigger("BootNotification")
        elif what == "Heartbeat":
            self.ocpp.send("Heartbeat", {}, self.ocpp.time_from)
        elif what == "StatusNotification":
            for c in ((cid,) if cid is not None else range(self.n + 1)):
                code = self.station_status() if c == 0 else self.derive_status(c - 1)
                ocpp_code, vendor, info = self._status_fields(c)
                self._send_status(c, cstatus.NAMES[code], ocpp_code, info, vendor)
        elif what == "MeterValues":
            from evse.services.metering import _csl
            names = _csl(self.config.get("MeterValuesSampledData"))
            for c in ((cid,) if cid else range(1, self.n + 1)):
                mv = self.metering.meter_value(c - 1, names, "Trigger")
                self._persist_meter(c - 1)
                p = {"connectorId": c, "meterValue": [mv]}
                t = self.transaction_id(self.sessions[c - 1])
                if t is not None and t > 0:
                    p["transactionId"] = t
                self.ocpp.send("MeterValues", p)
        elif what == "DiagnosticsStatusNotification":
            d = self._diag
            self.ocpp.send(what, {"status": d.status() if d is not None else "Idle"})
        elif what == "FirmwareStatusNotification":
            f = self._fw
            self.ocpp.send(what, {"status": f.status() if f is not None else "Idle"})
        if self.ocpp.boot_status == "Pending":
            self.ocpp.trigger(what)

    def data_transfer(self, vendor_id: str, message_id=None, data=None, cb=None) -> bool:
        """A vendor-specific DataTransfer.req to the Central System (OCPP 4.3).
        cb(conf or None). False (nothing sent) while not registered: vendor
        data is not transaction-related, so it is not queued offline."""
        if not self.ocpp.online():
            if cb is not None:
                cb(None)
            return False
        p = {"vendorId": vendor_id}
        if message_id is not None:
            p["messageId"] = message_id
        if data is not None:
            p["data"] = data
        self.ocpp.send("DataTransfer", p, cb)
        return True

    # ---- the async shell ---------------------------------------------------------------
    async def start(self, loop: bool = True) -> None:
        """Start the station's services. loop: run the MCU loop (_run_real)
        on the clock; False when whoever drives the clock steps the station
        (evse.simdrive on the virtual clock)."""
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
            self.web = await web.start(self, addr)

    def _log_level_changed(self, name: str) -> None:
        if name == "LogLevel" and not self._log_fixed:
            from evse.services import log as LG
            LG.set_console(LG.level_of(self.config.get_str("LogLevel")))

    async def stop_web(self) -> None:
        """The website ends at once when a reset is decided, before the
        queued messages are flushed: no page of the old station, no old
        session, no open connection (issue: reset closes everything)."""
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
        tk = self.ticker
        if tk is not None:
            tk.stop()
        if self._task is not None:
            try:
                self._task.cancel()
            except Exception:
                pass

    async def _run_real(self) -> None:
        """The MCU loop on a real clock (docs/design-notes.md, the safety
        tick). Every TICK_MS it looks for work: without the board's timer it
        ticks the safety core itself (the real-clock simulator); the MCU
        services run on an event (safety-core events, an OCPP frame, bytes
        on the RS485 bus, a configuration change, a card or control
        operation), when one of
        them is due, and at least once a second (which feeds the heartbeat).
        Allocates nothing while there is nothing to do."""
        clock = self.clock
        port = self.port
        stats = self.ocpp.stats
        self._mcu_due = clock.ticks_ms()
        while self.running:
            now = clock.ticks_ms()
            if not self.timer_ticks():
                self.iocu.tick(now)
            rx = stats["received"]
            if (self._wake or len(port.events) or rx != self._rx_seen or ticks_diff(now, self._mcu_due) >= 0
                    or self._bus_rx()):
                self._wake = False
                self._rx_seen = rx
                self.mcu_step()
                d = self.next_deadline_ms(False)
                if d > MCU_MAX_MS:
                    d = MCU_MAX_MS
                self._mcu_due = ticks_add(clock.ticks_ms(), d)
            await sleep_ms(TICK_MS)

    def _bus_rx(self) -> bool:
        """Bytes wait on the RS485 bus (a master/slave frame, a Modbus
        reply): an event for the MCU loop, whose services read them."""
        lk = self.link
        if lk is not None and lk.bus.any():
            return True
        mb = self._rtu
        return mb is not None and mb.port.any() > 0

    def poke(self) -> None:
        """A change from outside (a control operation): the MCU loop looks at
        it at once; a station without a loop of its own (driven from outside)
        is stepped now, so that the change shows at once."""
        self._wake = True
        if self._task is None:
            self.step()

    # ---- inputs from the readers ----------------------------------------------
    def rfid(self, reader: int, tag: str) -> dict:
        self._wake = True
        if self.link is not None:   # RS485 master: maybe the slave's card; slave: no reader
            res = self.link.card(reader, tag, self.clock.ticks_ms())
        else:
            res = self.cards.present(reader, tag)
        self._card_result(res)
        return res

    # ---- status for the simulator ----------------------------------------------------------
    def phases(self) -> int:
        g = self.config.get
        return 3 if (g("L2Active") or g("L3Active")) else 1

    def _lock_seen(self, c) -> str:
        """The lock as its feedback switch reports it (not as commanded):
        none (no actuator), failed (the driver gave up its attempts),
        locked, unlocked, unknown (not read yet)."""
        lk = c.lock
        if not lk.fitted:
            return "none"
        if lk.state == L.FAILED:
            return "failed"
        f = lk.feedback()
        return "locked" if f == 1 else ("unlocked" if f == 0 else "unknown")

    def status(self) -> dict:
        conns = []
        for i, c in enumerate(self.mirrors):
            s = self.sessions[i]
            m = self.meters[i]
            code = self.derive_status(i)
            ocpp_code, vendor, info = self._status_fields(i + 1)
            conns.append({
                "id": i + 1, "status": cstatus.NAMES[code], "error_code": ocpp_code,
                "vendor_error": vendor, "info": info, "pilot": P.NAMES[c.pilot] if c.pilot < len(P.NAMES) else "?",
                "duty": c.duty_permille / 10, "offered_a": c.offered_da / 10,
                "contactor": bool(c.contactor_closed), "locked": bool(c.locked),
                "lock": self._lock_seen(c),
                "transaction_id": self.transaction_id(s),
                "id_tag": s.id_tag if s.state in (TX, AUTHORIZED) else None,
                "energy_wh": int(m.energy_wh()),
                "current_a": [round(m.current_a(p), 1) for p in range(3)],
                "voltage_v": [round(m.voltage_v(p), 1) for p in range(3)],
                "power_w": int(m.power_w()),
                # the running transaction: seconds since its start, Wh since
                "session_s": self.clock.now() - s.start_time if s.state == TX else None,
                "session_wh": int(m.energy_wh()) - s.meter_start if s.state == TX else None,
                "led": self.indicators.led_state(i),
                "session": S.STATE_NAMES[s.state],
            })
        oc = self.ocpp
        ocpp_code, vendor, info = self._status_fields(0)
        out = {
            "time": iso8601(self.clock.now()), "model": self.model,
            "station": {"status": cstatus.NAMES[self.station_status()], "error_code": ocpp_code,
                        "vendor_error": vendor, "info": info},
            "ocpp": {"connected": oc.connected, "registered": oc.registered, "queued": oc.queued(),
                     "boot": oc.boot_status, "log": oc.log[-12:], "connecting": oc.connecting,
                     "journal": self.journal.stats()},
            "connectors": conns,
            "network": self.network.info(),
        }
        if self.link is not None:
            out["rs485"] = self.link.info()
        mb = self._rtu
        if mb is not None:              # Modbus meters: bus counters and each meter's state
            bus = mb.stats()
            bus["meters"] = [m.stats() for m in self.meters]
            out["modbus"] = bus
        return out
