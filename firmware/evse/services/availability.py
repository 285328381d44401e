# Availability and the operator's hold on the connectors (MCU side):
# ChangeAvailability (OCPP 1.6 5.2, persistent across reboots, scheduled
# while a transaction runs), the connector keys pushed to the safety core
# (CMD_CFG_* frames: MaxCurrentConnection, flex cable, servo, relays,
# UnlockConnectorOnEVSideDisconnect), ConnectorNEnabled, and UnlockConnector
# (OCPP 1.6 5.18 / 7.46: the answer waits for the lock's own verdict).
#
# Availability(config, storage, port, sessions, clock, model, error_log, log)
#   avail[c]            operative per connector (0 = the station), persistent
#   scheduled[c]        a change waiting for a transaction to end, or None
#   change(cid, op)     ChangeAvailability: "Accepted" / "Scheduled"
#   unlock(cid, done)   UnlockConnector: a status now, or "" and done(status) later
#   step(now)           scheduled changes after a transaction, unlock answers
import json

from evse.iocu import link as K
from evse.iocu import lock as L
from evse.callerror import Later, connector_id
from evse.services.loadbalance import deci
from evse.services.session import TX, AUTHORIZED, R_UNLOCK
from evse.ticks import ticks_add, ticks_diff

FILE = "availability.json"

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the keys the safety core reads (IocuPort configuration frames)
_CONNECTOR_KEYS = const(("MaxCurrentConnection", "Connector1FlexCable", "Connector2FlexCable",
                         "FlexConnectorWithActuator", "3StageServo", "InversedServo", "SafetyRelayEnabled",
                         "RelayHelperContactNormallyOpen", "UnlockConnectorOnEVSideDisconnect",
                         "StopTransactionOnEVSideDisconnect", "ExternalSensor1Type", "Connector1Enabled",
                         "Connector2Enabled", "MinCurrentConnection"))
# UnlockConnector waits for the lock's own verdict: a full series of attempts
UNLOCK_WAIT_MS = L.ATTEMPTS * (L.DRIVE_MS + L.PAUSE_MS) + 1000


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("3StageServo", "Connector1Enabled", "Connector1FlexCable", "Connector2Enabled",
                      "Connector2FlexCable", "FlexConnectorWithActuator", "RelayHelperContactNormallyOpen",
                      "SafetyRelayEnabled", "InversedServo", "StopTransactionOnEVSideDisconnect",
                      "UnlockConnectorOnEVSideDisconnect", "ConnectorPhaseRotation"))


class Availability:
    OPERATIONS = ("ChangeAvailability", "UnlockConnector")   # evse.ocpp.operations

    def __init__(self, config, storage, port, sessions, clock, model, error_log, log, ticker=None) -> None:
        self.config = config
        self.storage = storage
        self.port = port
        self.mirrors = port.conn
        self.sessions = sessions
        self.clock = clock
        self.model = model
        self.log = log
        self.ticker = ticker            # the board's safety tick (held while configuring), or None
        n = self.n = len(port.conn)
        self.avail = [True] * (n + 1)
        self.scheduled = [None] * (n + 1)  # type: list
        self.due = False                # a transaction ended: apply scheduled changes at the next step
        self._unlocks = [None] * n      # type: list  # [callbacks, deadline] of an UnlockConnector
        raw = storage.read(FILE)
        if raw:
            try:
                v = json.loads(raw)
                if type(v) is list and len(v) == n + 1 and all(type(x) is bool for x in v):
                    self.avail[:] = v
                else:
                    raise ValueError("shape")
            except ValueError:
                error_log.add("availability file corrupt: all operative")
        config.subscribe(self._on_config, _CONNECTOR_KEYS)

    def _on_config(self, key: str) -> None:
        # subscribed for the keys the safety core reads (most are reboot-
        # required, so their active value does not change until a reboot)
        self.apply_config()

    def operative(self, cid: int) -> bool:
        return self.mirrors[cid - 1].operative

    # ---- the connector keys to the safety core ----------------------------------------
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
        self.apply_operative()

    def apply_operative(self) -> None:
        g = self.config.get
        a = self.avail
        for i in range(self.n):
            n = i + 1
            enabled = g("Connector%dEnabled" % n) if n <= 2 else True
            self.port.set_operative(n, bool(enabled) and a[0] and a[n])

    # ---- ChangeAvailability ----------------------------------------------------------------
    def _busy(self, cid: int) -> bool:
        for c in (range(1, self.n + 1) if cid == 0 else (cid,)):
            if self.sessions[c - 1].state == TX:
                return True
        return False

    def change(self, cid: int, operative: bool) -> str:
        if self._busy(cid):
            self.scheduled[cid] = operative
            return "Scheduled"
        self._set(cid, operative)
        return "Accepted"

    def _set(self, cid: int, operative: bool) -> None:
        a = self.avail
        if cid == 0:
            for k in range(self.n + 1):
                a[k] = operative
        else:
            a[cid] = operative
            if operative and not a[0]:
                a[0] = True
                for k in range(1, self.n + 1):
                    if k != cid:
                        a[k] = False
        self.storage.write(FILE, json.dumps(a).encode())
        self.apply_operative()
        if not operative:
            for c in (range(1, self.n + 1) if cid == 0 else (cid,)):
                self.sessions[c - 1].cancel_authorization()

    def step(self, now: int) -> None:
        self._unlock_poll(now)
        if self.due:
            # after a tx_stopped(): the session has left TX by then
            self.due = False
            for cid in range(self.n + 1):
                v = self.scheduled[cid]
                if v is not None and not self._busy(cid):
                    self.scheduled[cid] = None
                    self._set(cid, v)

    # ---- UnlockConnector ------------------------------------------------------------------
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
            s.stop(R_UNLOCK)
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

    def next_deadline_ms(self, now: int) -> int:
        best = -1
        for w in self._unlocks:
            if w is not None:
                d = max(0, ticks_diff(w[1], now))
                if best < 0 or d < best:
                    best = d
        return best

    # ---- the operations (evse.ocpp.operations) -------------------------------------------
    def ocpp_change_availability(self, p: dict) -> dict:
        cid = connector_id(p["connectorId"], self.n)
        return {"status": self.change(cid, p["type"] == "Operative")}

    def ocpp_unlock_connector(self, p: dict):  # -> dict | Later
        cid = p["connectorId"]
        if not 1 <= cid <= self.n:
            return {"status": "NotSupported"}   # errata 3.87: unknown connectorId
        # 5.18: the answer says whether the connector was unlocked, so it
        # waits for the lock's feedback when the lock has to move first
        later = Later()
        status = self.unlock(cid, lambda r: later.resolve({"status": r}))
        return {"status": status} if status else later
