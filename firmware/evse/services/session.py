# The charging session of one connector, on the MCU side (manual 4.4 keys
# ConnectionTimeOut, PlugPresentTimeout, StopTransactionOnEVSideDisconnect,
# UnlockConnectorOnEVSideDisconnect, TaglessCharging/TaglessIdTagN,
# StopTransactionOnInvalidId/MaxEnergyOnInvalidId, StartTransactionDelay).
#
# Who may charge is decided by evse.services.auth; this module decides *when*
# a transaction starts and stops and tells the safety core through the IOCU
# port (evse.iocu.port: port.authorize(cid, on), framed commands); it reads
# the connector's state from the port's mirror of it. The safety core alone decides whether the contactor
# may close. Transaction messages go to `sink` (the OCPP layer's journal):
#   sink.tx_started(session), sink.tx_stopped(session, reason)
#
# Rules chosen where the manual and OCPP 1.6 leave room:
# - PlugPresentTimeout: an EV left unauthorized that long gets no session
#   (manual: "no charging session will be activated") until it is
#   disconnected and connected again; cards and remote starts pass over that
#   connector (plug_expired).
# - EV side disconnect (OCPP 1.6 4.10): StopTransactionOnEVSideDisconnect
#   false keeps the transaction and the cable locked whatever
#   UnlockConnectorOnEVSideDisconnect says (it has priority); reconnecting
#   continues the session. True stops it (EVDisconnected); the cable is then
#   released if UnlockConnectorOnEVSideDisconnect is true, else it stays
#   locked (cable_held) until the owner's card, a card of its group or
#   UnlockConnector releases it. Every other stop releases the cable (4.10:
#   "as part of the normal transaction termination").
# - A latched safety-core error that ends the session (connector
#   session_ended()) stops the transaction: EVDisconnected when the EV is
#   gone (pilot A or cable out), else Other (an error state E/F is not a
#   disconnection); the cable is released as the safety core decided.
# - StartTransaction.conf not Accepted with StopTransactionOnInvalidId false
#   (OCPP 1.6 3.5.4, moved to 4.8 by errata v4: "only stop energy delivery to
#   the vehicle"): the transaction stays open, the cable stays locked, and
#   after MaxEnergyOnInvalidId Wh the station suspends the energy (offers
#   0 A: SuspendedEVSE); 0 suspends at once. The energy is counted from the
#   invalidation, not from the start: 9.1.14 is the energy "delivered when an
#   identifier is invalidated ... after start of a transaction", and the
#   manual calls it "a (small) amount of added energy" to drive away with; a
#   transaction that charged offline before its StartTransaction.conf came
#   back still gets it. Reaching the cap is no stop trigger: the transaction
#   ends as any other (card, EV side disconnect, RemoteStop, UnlockConnector).
# - A lock fitted (socket with actuator): the transaction starts only once
#   the safety core confirms the cable locked (Session.locking, state
#   Authorized meanwhile); a lock that fails first (ERR_SERVO_LOCK_FAILED,
#   Faulted / ConnectorLockFailure) gives no transaction (OCTT TC_024).
# - StopTransaction.idTag: the identifier that stopped it (stop_tag: the
#   card, or its group member), else the one that started it.
# - TaglessCharging does not start on a connector reserved for a tag: the EV
#   waits for the reserving card as for any other.
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
_R_DEAUTHORIZED = const("DeAuthorized")
_R_EMERGENCY = const("EmergencyStop")
R_OTHER = "Other"
R_REBOOT = "Reboot"
R_UNLOCK = "UnlockCommand"



# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("ConnectionTimeOut", "MaxEnergyOnInvalidId", "PlugPresentTimeout",
                      "StopTransactionOnInvalidId", "TaglessCharging", "TaglessIdTag1", "TaglessIdTag2"))


class Session:
    def __init__(self, index: int, connector, config, clock, sink, meter, port) -> None:
        self.index = index              # 0-based; OCPP connectorId = index + 1
        self.cid = index + 1
        self.connector = connector      # the port's mirror (evse.iocu.port.ConnectorMirror): read only
        self.port = port                # evse.iocu.port.IocuPort: every command
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
        self.plug_expired = False       # PlugPresentTimeout passed: no session until re-plug
        self.cable_held = False         # stopped by the EV leaving, cable kept locked
        self.stop_tag = ""              # the identifier that stopped the transaction
        self.invalid_cap_wh = -1        # energy left after an Invalid StartTransaction.conf
        self.invalid_from_wh = 0        # meter reading at the invalidation
        self.suspended = False          # energy stopped, transaction open (offered 0 A)
        self.locking = False            # authorized, EV there, waiting for the cable lock
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

    def ev_gone(self) -> bool:
        """The EV has left: pilot A (or never seen), or the cable is out.
        An error state (E, F, invalid) is not a disconnection: the safety
        core's error ends the session then (reason Other)."""
        return self.connector.pilot <= P.A or not self.connector.cable_in()

    def step(self, now: int) -> None:
        ev = self.ev_present()
        if ev != self.ev_connected:
            if ev:
                self.ev_connected = True
                self._on_ev_connected(now)
            elif self.ev_gone():
                self.ev_connected = False
                self._on_ev_disconnected(now)
        if self.deadline_on and ticks_diff(now, self.deadline) >= 0:
            self.deadline_on = False
            if self.state == AUTHORIZED:         # ConnectionTimeOut
                self._reset_idle()
            elif self.plug_wait:                 # PlugPresentTimeout
                self.plug_wait = False
                self.plug_expired = True
        if self.plug_wait and self.state == IDLE:
            self._tagless(now)   # the reservation or Unavailable that held it back ended
        if self.ignore_on and ticks_diff(now, self.ignore_until) >= 0:
            self.ignore_on = False
        if self.locking and self.state == AUTHORIZED:
            c = self.connector
            if c.locked:
                self.locking = False
                self._begin()
            elif c.session_ended():
                # the lock failed (or another latched error) before the
                # transaction started: none is started (OCTT TC_024)
                self._reset_idle()
        if self.state == TX and self.invalid_cap_wh >= 0 and not self.suspended:
            if self.meter.energy_wh() - self.invalid_from_wh >= self.invalid_cap_wh:
                self.suspended = True          # energy stops, the transaction goes on
        if self.state == TX and self.connector.session_ended():
            # the safety core ended it (latched error): so does the transaction
            self.stop(R_OTHER if self.ev_connected else R_EV_DISCONNECTED)
        if self.state == FINISHING and not self.ev_connected and (not self.connector.cable_in()
                                                                  or not self.connector.flex_cable):
            self._reset_idle()

    def next_deadline_ms(self, now: int) -> int:
        d = -1
        if self.deadline_on:
            d = max(0, ticks_diff(self.deadline, now))
        if self.ignore_on:
            x = max(0, ticks_diff(self.ignore_until, now))
            d = x if d < 0 else min(d, x)
        if self.state == TX and self.invalid_cap_wh >= 0 and not self.suspended:
            d = 1000 if d < 0 else min(d, 1000)
        return d

    def _on_ev_connected(self, now: int) -> None:
        if self.state == AUTHORIZED:
            self.deadline_on = False
            self._start(now)
        elif self.state == IDLE:
            self.plug_wait = True
            self._arm(now, self.config.get("PlugPresentTimeout"))
            self._tagless(now)
        elif self.state == TX:
            pass  # reconnect continues the session (StopTransactionOnEVSideDisconnect false)

    def _on_ev_disconnected(self, now: int) -> None:
        self.plug_wait = False
        self.plug_expired = False
        if self.state == AUTHORIZED and self.locking:
            # gone before the cable was locked: wait for it again
            self.locking = False
            self.port.authorize(self.cid, False)
            self._arm(now, self.config.get("ConnectionTimeOut"))
            return
        if self.state == TX:
            # false: the transaction goes on and the cable stays locked (the
            # safety core keeps it; OCPP 4.10, priority over Unlock...)
            if self.config.get("StopTransactionOnEVSideDisconnect"):
                self.stop(R_EV_DISCONNECTED, "",
                          not self.config.get("UnlockConnectorOnEVSideDisconnect"))
            return
        if self.state == FINISHING and not self.cable_held:
            if not self.connector.flex_cable:
                self._reset_idle()      # tethered: the EV leaving ends it
            else:
                self.port.request_unlock(self.cid)

    def _tagless(self, now: int) -> None:
        """TaglessCharging: an EV waiting on an operative, unreserved
        connector starts with TaglessIdTag1/2 at once."""
        if (self.config.get("TaglessCharging") and self.connector_enabled()
                and self.reservation_id is None):
            self.id_tag = self.config.get("TaglessIdTag1" if self.index == 0 else "TaglessIdTag2")
            self.parent_id_tag = ""
            self._start(now)

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
        # IdTokens are case-insensitive (OCPP 7.28)
        return self.ignore_on and tag.upper() == self.ignore_tag.upper()

    def holds_cable(self, tag: str, parent: str = "") -> bool:
        """The cable is kept locked after the EV left (cable_held) and `tag`
        (or its group) is the one that may take it."""
        if self.state != FINISHING or not self.cable_held:
            return False
        if tag == self.id_tag:
            return True
        return bool(parent) and parent == self.parent_id_tag

    def release_cable(self) -> None:
        """The owner presented the identifier: unlock (OCPP 1.6 4.10)."""
        if self.cable_held:
            self.cable_held = False
            self.port.keep_lock(self.cid, False)
            self.port.request_unlock(self.cid)

    def stop(self, reason: str, tag: str = "", hold: bool = False) -> bool:
        """End the authorization or the transaction. `tag`: the identifier
        that stopped it (StopTransaction.req idTag), if not the owner's.
        hold: keep the cable locked until the owner comes back (the EV left,
        UnlockConnectorOnEVSideDisconnect false)."""
        if self.state == AUTHORIZED:
            self._reset_idle()
            return True
        if self.state != TX:
            return False
        self.stop_reason = reason
        self.stop_tag = tag or self.id_tag
        self.port.authorize(self.cid, False)
        self.invalid_cap_wh = -1
        self.suspended = False
        self.sink.tx_stopped(self, reason)
        self._ignore(self.stop_tag)         # the card just presented (StartTransactionDelay)
        self.state = FINISHING
        if not self.ev_connected:
            c = self.connector
            if c.flex_cable and c.cable_in():
                if hold and c.lock.fitted:
                    self.cable_held = True
                    self.port.keep_lock(self.cid, True)         # until the owner's identifier (4.10)
                else:
                    self.port.request_unlock(self.cid)        # let the driver take the cable
            else:
                self._reset_idle()
        return True

    def start_rejected(self, status: str) -> None:
        """StartTransaction.conf idTagInfo not Accepted (OCPP 1.6 5.x)."""
        if self.state != TX:
            return
        if self.config.get("StopTransactionOnInvalidId"):
            self.stop(_R_DEAUTHORIZED)
        elif self.invalid_cap_wh < 0:
            # only the energy stops, after MaxEnergyOnInvalidId more Wh
            # (0 = at once); the transaction and the lock stay (see top)
            cap = self.config.get("MaxEnergyOnInvalidId")
            self.invalid_cap_wh = cap
            self.invalid_from_wh = int(self.meter.energy_wh())
            self.suspended = cap <= 0

    # ---- internals ------------------------------------------------------------
    def _start(self, now: int) -> None:
        self.plug_wait = False
        self.deadline_on = False
        c = self.connector
        if c.lock.fitted and c.flex_cable and not c.locked:
            # the safety core locks the cable first (authorize: lock, no
            # energy until locked); step() starts the transaction once it is
            self.state = AUTHORIZED
            self.locking = True
            self.port.authorize(self.cid, True)
            return
        self._begin()

    def _begin(self) -> None:
        self.state = TX
        self.transaction_id = None
        self.meter_start = int(self.meter.energy_wh())
        self.start_time = self.clock.now()
        self.stop_reason = ""
        self.port.authorize(self.cid, True)
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
        self.suspended = False
        self.locking = False
        self.remote_profile = None
        self.reservation_id = None      # re-mirrored by Reservations.sync_sessions
        self.stop_tag = ""
        if self.cable_held:
            self.cable_held = False
            self.port.keep_lock(self.cid, False)
        self.port.authorize(self.cid, False)
