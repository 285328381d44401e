# RFID readers and card routing (manual 4.4 RFIDReader1Enabled,
# RFIDReader2Enabled, StartTransactionDelay; 8.2 errorCode ReaderFailure;
# OCPP 1.6 3.4/4.1 stop by the same or a group card, 3.10 Parent idTag,
# 5.13 reservations, 5.11 RemoteStartTransaction).
#
# CardRouter(config, authorizer, sessions, reservations, ask_cs, online)
#   sessions      evse.services.session.Session per connector (index 0 = connector 1)
#   reservations  evse.services.reservations.Reservations or None
#   ask_cs(tag, callback)  sends Authorize.req; later callback(idTagInfo), or
#                 callback(None) on timeout / no connection (may be immediate)
#   online()      True while the Central System link is up
#   connector_state_fn(connector_id) optional: OCPP ChargePointStatus name,
#                 used to skip Faulted/Unavailable connectors and for
#                 connector-0 reservations
#   on_result(dict) optional: told the outcome of a card whose answer came
#                 later (LED/buzzer feedback)
#
# present(reader, tag) -> {"result": R, "connector": n, ...}
#   R = "stopped"  the card ended (or cancelled the authorization of) a session
#       "unlocked" the card released the cable its session kept locked after
#                  the EV left (Session.holds_cable, OCPP 1.6 4.10)
#       "accepted" session.authorized(tag, parent) was called on `connector`
#       "rejected" refused ("status": the AuthorizationStatus, or "reason")
#       "pending"  Authorize.req sent; the outcome goes to on_result
#       "ignored"  reader disabled/faulted, StartTransactionDelay, not an IdToken
#   connector 0 = none.
#
# Routing rules:
# - Two readers enabled: reader N serves connector N only. Reader 2 disabled
#   on a DSCU: reader 1 serves both connectors (manual RFIDReader1Enabled).
#   Reader 1 disabled, reader 2 enabled: reader 2 serves connector 2 only.
#   A disabled reader (or reader 2 on an SSCU) ignores cards; so does a
#   reader marked faulted (it cannot deliver reads).
# - StartTransactionDelay: a card that started or stopped a session less than
#   that many seconds ago is ignored (Session.tag_ignored), station-wide.
# - A card that owns a session on a served connector stops it at once, with
#   no Authorize.req (OCPP 4.1: none for the same identifier). A card of the
#   same group (equal parentIdTag, 3.10) stops it once authorized (list,
#   cache, or Authorize.conf): any valid status, Accepted or ConcurrentTx.
# - A card already owning a session on a connector this reader does not serve
#   is rejected as ConcurrentTx: one card, one transaction per station.
# - The StopTransaction.req idTag is the card that stopped (Session.stop tag).
# - A card (or, once authorized, a card of its group) whose stopped session
#   still keeps the cable locked unlocks it.
# - Reservations: the matching reservation's id goes on the session
#   (StartTransaction.req reservationId); the reservation itself ends when
#   the transaction starts (5.13), so a ConnectionTimeOut gives it back.
# - Start target, among served connectors that are idle, operative (not
#   Faulted/Unavailable) and allowed by reservations, ordered by:
#   (an EV past its PlugPresentTimeout, Session.plug_expired, gets none)
#   1. EV plugged in waiting for authorization (Session.plug_wait),
#   2. a reservation for this card on that connector,
#   3. the lowest connector id (DSCU: connector 1, then 2).
from evse.iocu import status as cstatus
from evse.callerror import connector_id
from evse.services.auth import may_start, may_stop
from evse.services.authlist import norm, valid_tag
from evse.services.session import IDLE, R_LOCAL

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_DOWN = const(("Faulted", "Unavailable"))


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("RFIDReader1Enabled", "RFIDReader2Enabled", "StartTransactionDelay"))


def _res(result: str, connector: int = 0, **extra) -> dict:
    d = {"result": result, "connector": connector}
    for k in extra:
        d[k] = extra[k]
    return d


class CardRouter:
    OPERATIONS = ("ReserveNow", "CancelReservation")   # evse.ocpp.operations

    def __init__(self, config, authorizer, sessions, reservations, ask_cs, online,
                 connector_state_fn=None, on_result=None, storage=None, clock=None) -> None:
        self.config = config
        self.storage = storage          # to load the reservations on first use (lazy service)
        self.clock = clock
        self.authorizer = authorizer
        self.sessions = sessions
        self.reservations = reservations
        self.ask_cs = ask_cs
        self.online = online
        self.connector_state_fn = connector_state_fn
        self.on_result = on_result
        self._fault = [False, False]     # per reader: stopped answering
        self._pending: dict = {}         # norm(tag) -> True while Authorize.req is out
        self._last: dict | None = None   # outcome of the latest answer
        self._asking = ""                # norm(tag) while inside ask_cs()

    # ---- readers -----------------------------------------------------------------------
    def reader_enabled(self, reader: int) -> bool:
        if reader == 1:
            return bool(self.config.get("RFIDReader1Enabled"))
        if reader == 2:
            return len(self.sessions) >= 2 and bool(self.config.get("RFIDReader2Enabled"))
        return False

    def connectors_for(self, reader: int) -> tuple:
        """Connector ids (1-based) a reader serves; () when disabled."""
        if not self.reader_enabled(reader):
            return ()
        if reader == 1 and not self.reader_enabled(2):
            return tuple(range(1, len(self.sessions) + 1))
        return (reader,)

    def reader_fault(self, reader: int, active: bool) -> None:
        """The reader stopped (active) or resumed answering."""
        if reader in (1, 2):
            self._fault[reader - 1] = bool(active)

    def reader_failure(self) -> bool:
        """True while an enabled reader is faulted: the station reports
        StatusNotification(connectorId 0, errorCode ReaderFailure)."""
        for r in (1, 2):
            if self._fault[r - 1] and self.reader_enabled(r):
                return True
        return False

    # ---- a card ------------------------------------------------------------------------
    def present(self, reader: int, tag: str) -> dict:
        if not valid_tag(tag):
            return _res("ignored", reason="not an IdToken")
        conns = self.connectors_for(reader)
        if not conns:
            return _res("ignored", reason="reader disabled")
        if self._fault[reader - 1]:
            return _res("ignored", reason="reader fault")
        for i, s in enumerate(self.sessions):
            if s.tag_ignored(tag):
                return _res("ignored", i + 1, reason="StartTransactionDelay")
        for c in conns:                          # 4.1: same card stops, no Authorize.req
            s = self.sessions[c - 1]
            if self._owns(s, tag, ""):
                s.stop(R_LOCAL, s.id_tag)
                return _res("stopped", c, source="local")
            if self._holds(s, tag, ""):
                s.release_cable()
                return _res("unlocked", c, source="local")
        for i, s in enumerate(self.sessions):
            if self._owns(s, tag, ""):
                return _res("rejected", i + 1, status="ConcurrentTx", source="local")
        d = self.authorizer.decide(tag, bool(self.online()))
        if d is not None:
            return self._apply(conns, tag, d, True, None)
        return self._ask(reader, 0, tag, None)

    card = present   # the name evse.station uses

    # ---- reservations (OCPP 5.13; evse.services.reservations, loaded on first use) ----
    def boot(self) -> None:
        """Stored reservations load the service at boot (they survive a reboot)."""
        try:
            stored = self.storage.read("reservations.json") is not None    # reservations.FILE
        except OSError:
            stored = True               # the service reports the read failure
        if stored:
            self.reservation_service()

    def reservation_service(self):
        r = self.reservations
        if r is None:
            from evse.services.reservations import Reservations
            r = self.reservations = Reservations(self.storage, self.config, self.clock, len(self.sessions))
        return r

    def reserve_now(self, cid: int, expiry: str, tag: str, parent, rid: int) -> str:
        from evse.clock import parse_iso8601
        try:
            exp = parse_iso8601(expiry)
        except ValueError:
            return "Rejected"
        r = self.reservation_service().reserve(cid, exp, tag, parent, rid, self.connector_state_fn)
        self.sync_reservations()
        return r

    def cancel_reservation(self, rid: int) -> str:
        r = self.reservation_service().cancel(rid)
        self.sync_reservations()
        return r

    # ---- the operations (evse.ocpp.operations) -------------------------------------------
    def ocpp_reserve_now(self, p: dict) -> dict:
        cid = connector_id(p["connectorId"], len(self.sessions))
        return {"status": self.reserve_now(cid, p["expiryDate"], p["idTag"], p.get("parentIdTag"),
                                           p["reservationId"])}

    def ocpp_cancel_reservation(self, p: dict) -> dict:
        return {"status": self.cancel_reservation(p["reservationId"])}

    def consume_reservation(self, cid: int, tag: str, parent):
        r = self.reservations
        return r.consume(cid, tag, parent) if r is not None else None

    def sync_reservations(self) -> None:
        r = self.reservations
        if r is not None:
            r.sync_sessions(self.sessions)
            return
        for s in self.sessions:         # no reservation: what sync_sessions mirrors
            if s.state == IDLE:
                s.reservation_id = None

    def expire_reservations(self, wall: int, codes, log) -> None:
        """Each MCU step: expired reservations end, and those of a Faulted or
        Unavailable connector (codes: the last reported status per connector)."""
        r = self.reservations
        if r is not None:
            for cid in r.expire(wall):
                log.add("reservation on c%d expired" % cid)
            for i in range(len(self.sessions)):
                st = codes[i + 1]
                if st == cstatus.FAULTED or st == cstatus.UNAVAILABLE:
                    r.terminate(i + 1)
        self.sync_reservations()

    def reserved(self, cid: int) -> bool:
        r = self.reservations
        return r is not None and r.on_connector(cid) is not None

    # ---- RemoteStartTransaction ------------------------------------------------------
    def remote_start(self, connector_id, tag: str, profile=None) -> dict:
        """RemoteStartTransaction.req (5.11). The reply status is "Accepted"
        when the result is "accepted" or "pending", else "Rejected".
        connector_id None/0: the station picks one (same order as cards).
        AuthorizeRemoteTxRequests decides whether the tag is authorized first
        (Authorizer.remote_start_decision). `profile` (a TxProfile) is put on
        the session before it is authorized."""
        n = len(self.sessions)
        if connector_id is None or connector_id == 0:
            conns = tuple(range(1, n + 1))
        elif type(connector_id) is int and 1 <= connector_id <= n:
            conns = (connector_id,)
        else:
            return _res("rejected", reason="unknown connector")
        if not valid_tag(tag):
            return _res("rejected", reason="not an IdToken")
        for i, s in enumerate(self.sessions):
            if self._owns(s, tag, ""):
                return _res("rejected", i + 1, status="ConcurrentTx", source="local")
        d = self.authorizer.remote_start_decision(tag, bool(self.online()))
        if d is not None:
            return self._apply(conns, tag, d, False, profile)
        # Authorize.req first; refuse now if no connector could take it anyway
        loc = self.authorizer.local(tag)
        if self._target(conns, tag, loc[1] if loc is not None else "") == 0:
            return _res("rejected", reason="no free connector")
        return self._ask(0, connector_id or 0, tag, profile)

    # ---- internals ----------------------------------------------------------------------
    def _ask(self, reader: int, connector_id: int, tag: str, profile) -> dict:
        key = norm(tag)
        if key in self._pending:
            return _res("pending", reason="Authorize.req already sent")
        self._pending[key] = True
        self._last = None

        def answer(info):
            return self._answer(reader, connector_id, tag, info, profile)

        self._asking = key
        try:
            self.ask_cs(tag, answer)
        except OSError:
            # could not even send: same as no timely answer (offline rules)
            self._answer(reader, connector_id, tag, None, profile)
        self._asking = ""
        if key not in self._pending and self._last is not None:
            return self._last                    # answered at once (e.g. offline)
        return _res("pending", self._target(self._conns(reader, connector_id), tag, ""))

    def _conns(self, reader: int, connector_id: int) -> tuple:
        if reader:
            return self.connectors_for(reader)
        if connector_id:
            return (connector_id,)
        return tuple(range(1, len(self.sessions) + 1))

    def _answer(self, reader: int, connector_id: int, tag: str, info, profile) -> dict:
        self._pending.pop(norm(tag), None)
        d = self.authorizer.on_cs_answer(tag, info)
        conns = self._conns(reader, connector_id)
        if reader and (not conns or self._fault[reader - 1]):
            res = _res("ignored", reason="reader disabled")
        else:
            res = self._apply(conns, tag, d, bool(reader), profile)
        self._last = res
        if self.on_result is not None and self._asking != norm(tag):
            self.on_result(res)                  # late answers only: present() returns the rest
        return res

    def _apply(self, conns, tag: str, d, may_stop_group: bool, profile) -> dict:
        status, parent, source = d
        if may_stop_group and parent and may_stop(d):
            for c in conns:                      # 3.10: same group stops it
                s = self.sessions[c - 1]
                if self._owns(s, tag, parent):
                    s.stop(R_LOCAL, tag)
                    return _res("stopped", c, status=status, source=source)
                if self._holds(s, tag, parent):
                    s.release_cable()
                    return _res("unlocked", c, status=status, source=source)
        if not may_start(d):
            return _res("rejected", status=status, source=source)
        c = self._target(conns, tag, parent)
        if c == 0:
            return _res("rejected", status=status, source=source, reason="no free connector")
        s = self.sessions[c - 1]
        if self.reservations is not None:
            # StartTransaction.req reservationId (4.8); the sink ends it at the start
            s.reservation_id = self.reservations.used_by(c, tag, parent)
        if profile is not None:
            s.remote_profile = profile
        s.authorized(tag, parent)
        return _res("accepted", c, status=status, source=source)

    def _usable(self, c: int) -> bool:
        s = self.sessions[c - 1]
        if s.state != IDLE or s.plug_expired or not s.connector_enabled():
            return False
        fn = self.connector_state_fn
        return fn is None or fn(c) not in _DOWN

    def _target(self, conns, tag: str, parent: str) -> int:
        best = 0
        best_rank = 99
        res = self.reservations
        for c in conns:
            if not self._usable(c):
                continue
            if res is not None and not res.allows(c, tag, parent, self.connector_state_fn):
                continue
            rank = 0 if self.sessions[c - 1].plug_wait else 2
            if not (res is not None and res.on_connector(c) is not None):
                rank += 1                        # prefer the connector reserved for this card
            if rank < best_rank:                 # conns ascend: ties keep the lowest id
                best, best_rank = c, rank
        return best

    def _owns(self, s, tag: str, parent: str) -> bool:
        # Session.owns_tag compares exactly; IdTokens are case-insensitive
        # (OCPP 7.28), so hand it the session's own spelling when equal.
        if s.id_tag and norm(s.id_tag) == norm(tag):
            tag = s.id_tag
        if parent and s.parent_id_tag and norm(s.parent_id_tag) == norm(parent):
            parent = s.parent_id_tag
        return s.owns_tag(tag, parent)

    def _holds(self, s, tag: str, parent: str) -> bool:
        if not s.cable_held:
            return False
        if s.id_tag and norm(s.id_tag) == norm(tag):
            tag = s.id_tag
        if parent and s.parent_id_tag and norm(s.parent_id_tag) == norm(parent):
            parent = s.parent_id_tag
        return s.holds_cable(tag, parent)
