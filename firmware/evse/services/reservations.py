# Reservations (OCPP 1.6 3.11, 5.13 ReserveNow, 5.1 CancelReservation; manual
# 3.1, 3.14 and key ReserveConnectorZeroSupported). Persisted in Storage as
# "reservations.json" so a reservation survives a reboot; a corrupt file loads
# as "no reservations" and sets `error`.
#
# A reservation is the list [reservation_id, connector_id, expiry_s, id_tag,
# parent_id_tag]. connector_id 0 (only with ReserveConnectorZeroSupported)
# reserves no particular connector: it keeps one connector free for its tag
# for as long as it lasts (5.13).
#
# Connector states come from an injected connector_state_fn(connector_id) ->
# OCPP ChargePointStatus name ("Available", "Preparing", "Charging",
# "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Unavailable",
# "Faulted"); connector_state_fn(0) is the Charge Point as a whole.
#
# Rules where OCPP leaves room:
# - an unknown connectorId, a non-int id or an expiryDate not in the future
#   -> "Rejected" (the request cannot be honoured; 7.40 has no better status).
# - the "Reserved" status a connector shows because of the very reservation
#   being replaced (same reservationId) does not make it Occupied.
# - matching (5.13): the presented idTag equals the reservation's idTag, or
#   both have a parentIdTag and they are equal (case-insensitive, 7.28). A
#   ParentId is not compared with an idTag (3.10).
# - connector 0: Accepted only if, counting the connector-0 reservations
#   already held, at least one more connector is Available; a card not
#   matching any of them may take a connector only if enough Available ones
#   remain for them (allows()).
import json

from evse.services.authlist import norm, valid_tag
from evse.services.session import IDLE

FILE = "reservations.json"

_FREE = "Available"
_NONE = []   # type: list  # expire()'s "nothing expired", shared: callers only read it
_BUSY = ("Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Occupied")


try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("ReserveConnectorZeroSupported",))


class Reservations:
    def __init__(self, storage, config, clock, n_connectors: int) -> None:
        self.storage = storage
        self.config = config
        self.clock = clock
        self.n = n_connectors
        self.error = ""
        self._res = []
        try:
            raw = storage.read(FILE)
        except OSError:
            raw = None
            self.error = "%s: read failed" % FILE
        if raw is None:
            return
        try:
            d = json.loads(raw)
            items = d["reservations"]
            ok = []
            for r in items:
                if (type(r) is list and len(r) == 5 and type(r[0]) is int and type(r[1]) is int
                        and 0 <= r[1] <= n_connectors and type(r[2]) is int
                        and valid_tag(r[3]) and type(r[4]) is str):
                    ok.append(r)
                else:
                    self.error = "%s: bad entries dropped" % FILE
            self._res = ok
        except (ValueError, KeyError, TypeError, UnicodeError):
            self.error = "%s: corrupt, ignored" % FILE
            self._res = []

    # ---- queries -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._res)

    def get(self, reservation_id: int):
        for r in self._res:
            if r[0] == reservation_id:
                return r
        return None

    def on_connector(self, connector_id: int):
        """The reservation of that exact connector (0: the first connector-0
        one), or None. A list [id, connector, expiry, idTag, parentIdTag]."""
        for r in self._res:
            if r[1] == connector_id:
                return r
        return None

    def reservation_id(self, connector_id: int):
        r = self.on_connector(connector_id)
        return r[0] if r is not None else None

    def _match(self, r, tag: str, parent: str) -> bool:
        if valid_tag(tag) and norm(tag) == norm(r[3]):
            return True
        return bool(parent) and bool(r[4]) and norm(parent) == norm(r[4])

    def matches(self, connector_id: int, tag: str, parent: str = "") -> bool:
        """True if a reservation on this connector, or a connector-0 one, is
        for this tag (its idTag or parentIdTag)."""
        for r in self._res:
            if (r[1] == connector_id or r[1] == 0) and self._match(r, tag, parent):
                return True
        return False

    def allows(self, connector_id: int, tag: str, parent: str = "", connector_state_fn=None) -> bool:
        """May `tag` charge on `connector_id` as far as reservations go?
        5.13: a reserved connector refuses every idTag but the reserved one
        (or its group). Connector-0 reservations need one Available connector
        each; without connector_state_fn they are not enforced here."""
        r = self.on_connector(connector_id) if connector_id else None
        if r is not None:
            return self._match(r, tag, parent)
        zero = [z for z in self._res if z[1] == 0]
        if not zero or connector_state_fn is None:
            return True
        for z in zero:
            if self._match(z, tag, parent):
                return True
        others = 0
        for c in range(1, self.n + 1):
            if (c != connector_id and connector_state_fn(c) == _FREE
                    and self.on_connector(c) is None):
                others += 1
        return others >= len(zero)

    # ---- ReserveNow / CancelReservation ----------------------------------------------
    def reserve(self, connector_id, expiry_epoch, id_tag, parent_id_tag, reservation_id,
                connector_state_fn) -> str:
        """ReserveNow.req -> ReservationStatus (OCPP 5.13, 7.40)."""
        if (type(connector_id) is not int or type(reservation_id) is not int
                or type(expiry_epoch) is not int or not valid_tag(id_tag)
                or not (0 <= connector_id <= self.n)):
            return "Rejected"
        if parent_id_tag is None:
            parent_id_tag = ""
        if parent_id_tag and not valid_tag(parent_id_tag):
            return "Rejected"
        if connector_id == 0 and not self.config.get("ReserveConnectorZeroSupported"):
            return "Rejected"
        if expiry_epoch <= self.clock.now():
            return "Rejected"
        old = self.get(reservation_id)
        # the reservation being replaced does not count against the new one
        others = [r for r in self._res if r[0] != reservation_id]

        def state(c: int) -> str:
            s = connector_state_fn(c)
            if s == "Reserved" and old is not None and old[1] == c:
                s = _FREE if not any(r[1] == c for r in others) else s
            return s

        cp = connector_state_fn(0)
        if cp == "Faulted":
            return "Faulted"
        if cp == "Unavailable":
            return "Unavailable"
        if connector_id:
            s = state(connector_id)
            if s == "Faulted":
                return "Faulted"
            if s == "Unavailable":
                return "Unavailable"
            if s != _FREE or any(r[1] == connector_id for r in others):
                return "Occupied"
            # a specific reservation must leave room for the connector-0 ones
            zero = sum(1 for r in others if r[1] == 0)
            if zero:
                free = sum(1 for c in range(1, self.n + 1)
                           if c != connector_id and state(c) == _FREE
                           and not any(r[1] == c for r in others))
                if free < zero:
                    return "Occupied"
        else:
            free = 0
            faulted = unavailable = 0
            for c in range(1, self.n + 1):
                s = state(c)
                if s == "Faulted":
                    faulted += 1
                elif s == "Unavailable":
                    unavailable += 1
                elif s == _FREE and not any(r[1] == c for r in others):
                    free += 1
            zero = sum(1 for r in others if r[1] == 0)
            if free <= zero:
                if faulted == self.n:
                    return "Faulted"
                if faulted + unavailable == self.n:
                    return "Unavailable"
                return "Occupied"
        new = [reservation_id, connector_id, expiry_epoch, id_tag, parent_id_tag]
        if not self._save(others + [new]):
            return "Rejected"
        return "Accepted"

    def cancel(self, reservation_id) -> str:
        """CancelReservation.req -> "Accepted" | "Rejected" (OCPP 5.1)."""
        if self.get(reservation_id) is None:
            return "Rejected"
        if not self._save([r for r in self._res if r[0] != reservation_id]):
            return "Rejected"
        return "Accepted"

    # ---- ending reservations ---------------------------------------------------------
    def expire(self, now: int) -> list:
        """Drop reservations whose expiryDate is reached (5.13 (2)); returns
        the connector ids that are free again (0 for connector-0 ones), so the
        station sends StatusNotification Available for them."""
        for r in self._res:              # nothing due: no list made (the MCU step)
            if r[2] <= now:
                break
        else:
            return _NONE
        gone = [r for r in self._res if r[2] <= now]
        self._save([r for r in self._res if r[2] > now])
        return [r[1] for r in gone]

    def next_expiry(self):
        """UTC seconds of the earliest expiry, or None (for deadline scheduling)."""
        best = None
        for r in self._res:
            if best is None or r[2] < best:
                best = r[2]
        return best

    def _used_by(self, connector_id: int, tag: str, parent: str):
        r = self.on_connector(connector_id) if connector_id else None
        if r is not None and tag and not self._match(r, tag, parent):
            r = None
        if r is None and tag:
            for z in self._res:
                if z[1] == 0 and self._match(z, tag, parent):
                    r = z
                    break
        return r

    def used_by(self, connector_id: int, tag: str, parent: str = ""):
        """Id of the reservation a session of `tag` on connector_id would
        use (what consume() would end), or None. Nothing changes: a
        reservation ends when the transaction starts (5.13 (1)), not when
        its card is presented, so it survives a ConnectionTimeOut."""
        r = self._used_by(connector_id, tag, parent)
        return r[0] if r is not None else None

    def consume(self, connector_id: int, tag: str = "", parent: str = ""):
        """A transaction starts on connector_id: end the reservation it uses
        (5.13 (1)) and return its id for StartTransaction.req reservationId
        (4.8), or None. With a tag: the connector's own reservation if it
        matches, else a matching connector-0 one. Without a tag: the
        connector's own reservation."""
        r = self._used_by(connector_id, tag, parent)
        if r is None:
            return None
        self._save([x for x in self._res if x is not r])
        return r[0]

    def terminate(self, connector_id: int) -> list:
        """The connector (0: the Charge Point) became Faulted or Unavailable:
        its reservations end (5.13 (3)). Returns the reservation ids dropped."""
        if connector_id == 0:
            gone = list(self._res)
        else:
            gone = [r for r in self._res if r[1] == connector_id]
        if gone:
            self._save([r for r in self._res if r not in gone])
        return [r[0] for r in gone]

    def sync_sessions(self, sessions) -> None:
        """Mirror connector reservations into idle sessions' reservation_id
        (what the status derivation shows as Reserved). Sessions that are
        authorized or in a transaction keep theirs: it is the consumed id
        their StartTransaction.req carries."""
        for i in range(len(sessions)):
            s = sessions[i]
            if s.state == IDLE:
                s.reservation_id = self.reservation_id(i + 1)

    def _save(self, res: list) -> bool:
        try:
            self.storage.write(FILE, json.dumps({"reservations": res}).encode())
        except OSError as e:
            self.error = "%s: write failed (%s)" % (FILE, e)
            return False
        self._res = res
        return True
