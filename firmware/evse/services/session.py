# The charging session of one connector, on the MCU side (manual 4.4 keys
# ConnectionTimeOut, PlugPresentTimeout, StopTransactionOnEVSideDisconnect,
# UnlockConnectorOnEVSideDisconnect, TaglessCharging/TaglessIdTagN,
# StopTransactionOnInvalidId/MaxEnergyOnInvalidId, StartTransactionDelay).
#
# Who may charge is decided by evse.services.auth; this module decides *when*
# a transaction starts and stops and tells the safety core (iocu.Connector)
# through authorize(on). The safety core alone decides whether the contactor
# may close. Transaction messages go to `sink` (the OCPP layer's journal):
#   sink.tx_started(session), sink.tx_stopped(session, reason)
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ticks import ticks_add, ticks_diff
from evse.iocu import pilot as P

IDLE = const(0)         # nobody authorized, no transaction
AUTHORIZED = const(1)   # tag accepted, waiting for the EV (ConnectionTimeOut)
TX = const(2)           # transaction running (charging or suspended)
FINISHING = const(3)    # transaction stopped, cable not yet removed

STATE_NAMES = ("Idle", "Authorized", "Transaction", "Finishing")

# StopTransaction reasons (OCPP 1.6 Reason)
R_LOCAL = "Local"
R_REMOTE = "Remote"
R_EV_DISCONNECTED = "EVDisconnected"
R_HARD_RESET = "HardReset"
R_SOFT_RESET = "SoftReset"
R_POWER_LOSS = "PowerLoss"
R_DEAUTHORIZED = "DeAuthorized"
R_EMERGENCY = "EmergencyStop"
R_OTHER = "Other"
R_REBOOT = "Reboot"
R_UNLOCK = "UnlockCommand"



class Session:
    def __init__(self, index: int, connector, config, clock, sink, meter) -> None:
        self.index = index              # 0-based; OCPP connectorId = index + 1
        self.connector = connector      # evse.iocu.connector.Connector
        self.config = config
        self.clock = clock
        self.sink = sink
        self.meter = meter              # energy_wh() of this connector
        self.state = IDLE
        self.id_tag = ""
        self.parent_id_tag = ""
        self.tx_ref = 0                 # local transaction reference (journal key)
        self.transaction_id = None      # as assigned by the Central System
        self.meter_start = 0
        self.start_time = 0
        self.reservation_id = None
        self.remote_profile = None      # chargingProfile of a RemoteStartTransaction
        self.deadline = 0               # ticks of ConnectionTimeOut / PlugPresentTimeout
        self.deadline_on = False
        self.plug_wait = False          # EV present without authorization
        self.invalid_cap_wh = -1        # energy limit after an Invalid StartTransaction.conf
        self.ev_connected = False
        self.stop_reason = ""
        self.ignore_tag = ""            # StartTransactionDelay: same card ignored...
        self.ignore_until = 0           # ...until this tick
        self.ignore_on = False

    # ---- inputs from the safety core ----------------------------------------
    def ev_present(self) -> bool:
        """An EV is connected: pilot B, C or D with the cable at the station."""
        p = self.connector.pilot
        return P.B <= p <= P.D and self.connector.cable_in()

    def step(self, now: int) -> None:
        ev = self.ev_present()
        if ev != self.ev_connected:
            self.ev_connected = ev
            if ev:
                self._on_ev_connected(now)
            else:
                self._on_ev_disconnected(now)
        if self.deadline_on and ticks_diff(now, self.deadline) >= 0:
            self.deadline_on = False
            if self.state == AUTHORIZED:         # ConnectionTimeOut
                self._reset_idle()
            elif self.plug_wait:                 # PlugPresentTimeout
                self.plug_wait = False
        if self.ignore_on and ticks_diff(now, self.ignore_until) >= 0:
            self.ignore_on = False
        if self.state == TX and self.invalid_cap_wh >= 0:
            if self.meter.energy_wh() - self.meter_start >= self.invalid_cap_wh:
                self.stop(R_DEAUTHORIZED)
        if self.state == FINISHING and not ev and (not self.connector.cable_in()
                                                   or not self.connector.flex_cable):
            self._reset_idle()

    def next_deadline_ms(self, now: int) -> int:
        d = -1
        if self.deadline_on:
            d = max(0, ticks_diff(self.deadline, now))
        if self.ignore_on:
            x = max(0, ticks_diff(self.ignore_until, now))
            d = x if d < 0 else min(d, x)
        if self.state == TX and self.invalid_cap_wh >= 0:
            d = 1000 if d < 0 else min(d, 1000)
        return d

    def _on_ev_connected(self, now: int) -> None:
        if self.state == AUTHORIZED:
            self.deadline_on = False
            self._start(now)
        elif self.state == IDLE:
            if self.config.get("TaglessCharging") and self.connector_enabled():
                tag = self.config.get("TaglessIdTag1" if self.index == 0 else "TaglessIdTag2")
                self.id_tag = tag
                self.parent_id_tag = ""
                self._start(now)
            else:
                self.plug_wait = True
                self._arm(now, self.config.get("PlugPresentTimeout"))
        elif self.state == TX:
            pass  # reconnect continues the session (StopTransactionOnEVSideDisconnect false)

    def _on_ev_disconnected(self, now: int) -> None:
        self.plug_wait = False
        if self.state == TX:
            if self.config.get("StopTransactionOnEVSideDisconnect"):
                self.stop(R_EV_DISCONNECTED)
            if self.config.get("UnlockConnectorOnEVSideDisconnect"):
                self.connector.request_unlock()
        if self.state == FINISHING:
            if not self.connector.flex_cable:
                self._reset_idle()      # tethered: the EV leaving ends it
            else:
                self.connector.request_unlock()

    def connector_enabled(self) -> bool:
        return self.connector.operative

    # ---- commands from the MCU side ------------------------------------------
    def authorized(self, tag: str, parent: str = "") -> None:
        """An accepted tag (card, remote start) for this connector."""
        now = self.clock.ticks_ms()
        self.id_tag = tag
        self.parent_id_tag = parent or ""
        if self.ev_present():
            self.plug_wait = False
            self.deadline_on = False
            self._start(now)
        else:
            self.state = AUTHORIZED
            self._arm(now, self.config.get("ConnectionTimeOut"))

    def cancel_authorization(self) -> None:
        if self.state == AUTHORIZED:
            self._reset_idle()

    def owns_tag(self, tag: str, parent: str = "") -> bool:
        if self.state not in (AUTHORIZED, TX):
            return False
        if tag == self.id_tag:
            return True
        return bool(parent) and parent == self.parent_id_tag

    def tag_ignored(self, tag: str) -> bool:
        return self.ignore_on and tag == self.ignore_tag

    def stop(self, reason: str) -> bool:
        if self.state == AUTHORIZED:
            self._reset_idle()
            return True
        if self.state != TX:
            return False
        self.stop_reason = reason
        self.connector.authorize(False)
        self.invalid_cap_wh = -1
        self.sink.tx_stopped(self, reason)
        self._ignore(self.id_tag)
        self.state = FINISHING
        if not self.ev_present():
            if self.connector.flex_cable and self.connector.cable_in():
                self.connector.request_unlock()   # let the driver take the cable
            else:
                self._reset_idle()
        return True

    def start_rejected(self, status: str) -> None:
        """StartTransaction.conf idTagInfo not Accepted (OCPP 1.6 5.x)."""
        if self.state != TX:
            return
        if self.config.get("StopTransactionOnInvalidId"):
            self.stop(R_DEAUTHORIZED)
        else:
            # keep charging up to MaxEnergyOnInvalidId Wh (0 = suspend now)
            cap = self.config.get("MaxEnergyOnInvalidId")
            self.invalid_cap_wh = cap
            if cap <= 0:
                self.connector.authorize(False)

    # ---- internals ------------------------------------------------------------
    def _start(self, now: int) -> None:
        self.state = TX
        self.plug_wait = False
        self.deadline_on = False
        self.transaction_id = None
        self.meter_start = int(self.meter.energy_wh())
        self.start_time = self.clock.now()
        self.stop_reason = ""
        self.connector.authorize(True)
        self.sink.tx_started(self)
        self._ignore(self.id_tag)

    def _ignore(self, tag: str) -> None:
        delay = self.config.get("StartTransactionDelay")
        if delay > 0 and tag:
            self.ignore_tag = tag
            self.ignore_until = ticks_add(self.clock.ticks_ms(), delay * 1000)
            self.ignore_on = True

    def _arm(self, now: int, seconds: int) -> None:
        self.deadline = ticks_add(now, seconds * 1000)
        self.deadline_on = True

    def _reset_idle(self) -> None:
        self.state = IDLE
        self.id_tag = ""
        self.parent_id_tag = ""
        self.transaction_id = None
        self.tx_ref = 0
        self.deadline_on = False
        self.invalid_cap_wh = -1
        self.remote_profile = None
        self.connector.authorize(False)
