# Local identifier stores of OCPP 1.6 section 3.5 (Local Authorization &
# Offline Behavior): the Local Authorization List (3.5.2, SendLocalList 5.15,
# GetLocalListVersion 5.10) and the Authorization Cache (3.5.1, ClearCache 5.4).
# Both persist in Storage (evse.hal.fsstore) with atomic writes; a corrupt or
# unreadable file loads as empty and sets `error`, it never raises.
#
# Which store is consulted, when, and what an entry means for starting a
# transaction is decided in one place only: evse.services.auth.Authorizer.
#
# IdToken is CiString20Type, case-insensitive (OCPP 7.28, errata 3.74): both
# stores key their entries by the upper-cased tag.
#
# An entry is held as a compact list, not a dict per tag:
#   list  "authlist.json":  {"version": V, "tags": {TAG: [status, expiry, parent]}}
#   cache "authcache.json": {"seq": S, "tags": {TAG: [status, expiry, parent, keep, seq]}}
# expiry = the idTagInfo expiryDate in UTC seconds (0: none); keep = the end of
# the cache's 7-day memory (manual AuthorisationCacheEnabled); seq = update
# order, for oldest-first eviction (a counter, since the wall clock may be set
# backwards by BootNotification).
import json

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.clock import iso8601, parse_iso8601

_LIST_FILE = const("authlist.json")
_CACHE_FILE = const("authcache.json")

ACCEPTED = const("Accepted")
BLOCKED = const("Blocked")
_EXPIRED = const("Expired")
INVALID = const("Invalid")
_CONCURRENT_TX = const("ConcurrentTx")
STATUSES = (ACCEPTED, BLOCKED, _EXPIRED, INVALID, _CONCURRENT_TX)
# "valid" identifiers of OCPP 3.5.2: Accepted/ConcurrentTx; the others are
# NOT-valid (3.5.1). Whether a valid one may *start* is auth.py's business.
VALID = (ACCEPTED, _CONCURRENT_TX)

_TAG_MAX = const(20)                 # IdToken = CiString20Type
_CACHE_KEEP_S = const(604800)        # 7 days (manual: AuthorisationCacheEnabled)
_CACHE_MAX = const(64)               # default bound of the cache (RAM, flash)


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("AuthorisationCacheEnabled", "LocalAuthListEnabled", "LocalAuthListMaxLength",
                      "SendLocalListMaxLength"))


def norm(tag) -> str:
    """The key of an IdToken (case-insensitive, OCPP 7.28)."""
    return tag.upper()


def valid_tag(tag) -> bool:
    return type(tag) is str and 0 < len(tag) <= _TAG_MAX


def parse_info(info):
    """idTagInfo dict -> (status, expiry_s or 0, parent) or None if malformed."""
    if type(info) is not dict:
        return None
    status = info.get("status")
    if status not in STATUSES:
        return None
    exp = 0
    d = info.get("expiryDate")
    if d is not None:
        if type(d) is not str:
            return None
        try:
            exp = parse_iso8601(d)
        except ValueError:
            return None
    parent = info.get("parentIdTag")
    if parent is None or parent == "":
        parent = ""                  # absent (some CSs send "" for none)
    elif not valid_tag(parent):
        return None
    return (status, exp, parent)


def make_info(status: str, exp: int, parent: str) -> dict:
    d = {"status": status}
    if exp:
        d["expiryDate"] = iso8601(exp)
    if parent:
        d["parentIdTag"] = parent
    return d


def _effective(status: str, exp: int, now: int) -> str:
    # an entry past its expiryDate is no longer valid: it reads as Expired
    # (OCPP 3.5.1 "changed to expired"; 3.5.4 "apparently expired ... MUST
    # be rejected"). NOT-valid statuses keep their own meaning.
    if exp and now >= exp and status in VALID:
        return _EXPIRED
    return status


def _load(storage, name: str):
    """-> (parsed dict or None, error string)."""
    try:
        raw = storage.read(name)
    except OSError as e:
        return None, "%s: read failed (%s)" % (name, e)
    if raw is None:
        return None, ""
    try:
        d = json.loads(raw)
    except (ValueError, UnicodeError):
        return None, "%s: corrupt, ignored" % name
    if type(d) is not dict or type(d.get("tags")) is not dict:
        return None, "%s: bad layout, ignored" % name
    return d, ""


class LocalList:
    """The Local Authorization List (OCPP 3.5.2). Only SendLocalList changes it."""
    OPERATIONS = ("GetLocalListVersion", "SendLocalList")   # evse.ocpp.operations

    def __init__(self, storage, config, clock) -> None:
        self.storage = storage
        self.config = config
        self.clock = clock
        self.error = ""
        self.listeners: list = []    # fn(keys) after an update (the cache drops them)
        self._version = 0
        self._tags = {}
        d, self.error = _load(storage, _LIST_FILE)
        if d is None:
            return
        v = d.get("version")
        tags = {}
        bad = 0
        for k, e in d["tags"].items():
            if (type(e) is list and len(e) == 3 and e[0] in STATUSES and type(e[1]) is int
                    and type(e[2]) is str and valid_tag(k)):
                tags[norm(k)] = e
            else:
                bad += 1
        if type(v) is not int or v < 0:
            self.error = "%s: bad version, list ignored" % _LIST_FILE
            return
        if bad:
            # a partly readable list is not the list the Central System sent:
            # drop it all and report version 0 so the CS sends a Full one.
            self.error = "%s: %d bad entries, list ignored" % (_LIST_FILE, bad)
            return
        self._version = v
        self._tags = tags

    def enabled(self) -> bool:
        return bool(self.config.get("LocalAuthListEnabled"))

    def ocpp_get_local_list_version(self, p: dict) -> dict:
        return {"listVersion": self.version()}

    def ocpp_send_local_list(self, p: dict) -> dict:
        return {"status": self.send_local_list(p["listVersion"], p["updateType"],
                                               p.get("localAuthorizationList") or [])}

    def version(self) -> int:
        """GetLocalListVersion.conf listVersion (OCPP 5.10): 0 = empty list.
        The list is supported (LocalAuthListManagement), so never -1; the
        stored version is reported even while LocalAuthListEnabled is false."""
        return self._version

    def __len__(self) -> int:
        return len(self._tags)

    def contains(self, tag: str) -> bool:
        return valid_tag(tag) and norm(tag) in self._tags

    def has_key(self, key: str) -> bool:
        """`key` already normalised (norm())."""
        return key in self._tags

    def lookup(self, tag: str):
        """idTagInfo dict of `tag`, expiryDate honoured against clock.now()
        (a valid entry past it reads Expired), or None when not listed.
        Independent of LocalAuthListEnabled: the Authorizer checks that."""
        if not valid_tag(tag):
            return None
        e = self._tags.get(norm(tag))
        if e is None:
            return None
        return make_info(_effective(e[0], e[1], self.clock.now()), e[1], e[2])

    def entries(self) -> list:
        """[(TAG, idTagInfo as lookup() gives it)], sorted (local management)."""
        return [(k, self.lookup(k)) for k in sorted(self._tags)]

    def send_local_list(self, list_version, update_type, entries) -> str:
        """SendLocalList.req -> UpdateStatus (OCPP 5.15, 6.41, 7.47)."""
        if not self.enabled():
            return "NotSupported"
        if update_type not in ("Full", "Differential") or type(list_version) is not int:
            return "Failed"
        if entries is None:
            entries = []
        if type(entries) is not list:
            return "Failed"
        full = update_type == "Full"
        # errata 3.52: listVersion SHALL NOT be 0 or -1. One lenient case: a
        # Full empty list with version 0 describes exactly the state that
        # GetLocalListVersion 0 means (empty), so it is accepted as a wipe.
        if list_version < 1 and not (full and list_version == 0 and not entries):
            return "Failed"
        # 7.47: a Differential version <= the current one is VersionMismatch
        if not full and list_version <= self._version:
            return "VersionMismatch"
        smax = self.config.get("SendLocalListMaxLength")
        if type(smax) is int and smax > 0 and len(entries) > smax:
            return "Failed"
        changes: dict = {}
        for a in entries:
            if type(a) is not dict or not valid_tag(a.get("idTag")):
                return "Failed"
            k = norm(a["idTag"])
            if k in changes:
                return "Failed"      # 6.41: idTags MUST be unique
            info = a.get("idTagInfo")
            if info is None:
                if full:
                    return "Failed"  # 7.1: idTagInfo required when Full
                changes[k] = None    # 7.1: Differential without it -> delete
                continue
            p = parse_info(info)
            if p is None:
                return "Failed"
            changes[k] = [p[0], p[1], p[2]]
        if full:
            new = changes
        else:
            new = dict(self._tags)
            for k, e in changes.items():
                if e is None:
                    new.pop(k, None)
                else:
                    new[k] = e
        lmax = self.config.get("LocalAuthListMaxLength")
        if type(lmax) is int and lmax >= 0 and len(new) > lmax:
            return "Failed"
        if not new:
            # 5.10: "0 SHALL be used to indicate that the list is empty", also
            # when Full/Differential emptied it; later Differentials compare
            # against 0 then, consistent with what GetLocalListVersion says.
            list_version = 0
        try:
            self.storage.write(_LIST_FILE, json.dumps({"version": list_version, "tags": new}).encode())
        except OSError:
            return "Failed"          # old list stays in force, in RAM and on flash
        self._tags = new
        self._version = list_version
        self.error = ""
        keys = list(new.keys())
        for fn in self.listeners:
            fn(keys)
        return "Accepted"


class AuthCache:
    """The Authorization Cache (OCPP 3.5.1): the latest idTagInfo received
    from the Central System per identifier, valid and NOT-valid alike.

    Retention: every entry is remembered for 7 days after its last update
    (manual, AuthorisationCacheEnabled), after which it is forgotten (the tag
    is unknown again). A valid entry past its own expiryDate reads Expired
    until then. So a valid entry authorizes until min(expiryDate, update + 7
    days)."""
    OPERATIONS = ("ClearCache",)   # evse.ocpp.operations

    def __init__(self, storage, config, clock, authlist=None, max_entries: int = _CACHE_MAX) -> None:
        self.storage = storage
        self.config = config
        self.clock = clock
        self.authlist = authlist
        self.max_entries = max_entries
        self.error = ""
        self._seq = 0
        self._tags = {}
        if authlist is not None:
            authlist.listeners.append(self._drop_keys)
        d, self.error = _load(storage, _CACHE_FILE)
        if d is None:
            return
        seq = d.get("seq")
        self._seq = seq if type(seq) is int else 0
        bad = 0
        for k, e in d["tags"].items():
            if (type(e) is list and len(e) == 5 and e[0] in STATUSES and type(e[1]) is int
                    and type(e[2]) is str and type(e[3]) is int and type(e[4]) is int
                    and valid_tag(k)):
                self._tags[norm(k)] = e
                if e[4] > self._seq:
                    self._seq = e[4]
            else:
                bad += 1
        if bad:
            # the cache is only a hint: keep the readable entries
            self.error = "%s: %d bad entries dropped" % (_CACHE_FILE, bad)

    def enabled(self) -> bool:
        return bool(self.config.get("AuthorisationCacheEnabled"))

    def __len__(self) -> int:
        return len(self._tags)

    def _listed(self, key: str) -> bool:
        # 3.5.3: identifiers known in the Local Authorization List SHALL NOT be
        # added to the cache. Only while the list is enabled: a disabled list
        # authorizes nobody, so the cache must be free to serve those tags.
        al = self.authlist
        return al is not None and al.enabled() and al.has_key(key)

    def lookup(self, tag: str):
        """idTagInfo dict or None (unknown, or forgotten after 7 days)."""
        if not valid_tag(tag):
            return None
        k = norm(tag)
        e = self._tags.get(k)
        if e is None:
            return None
        now = self.clock.now()
        if now >= e[3]:
            del self._tags[k]        # forgotten; flash catches up at the next save
            return None
        st = _effective(e[0], e[1], now)
        if st != e[0]:
            e[0] = st                # 3.5.1: "changed to expired in the Cache"
        return make_info(st, e[1], e[2])

    def update(self, tag: str, info) -> bool:
        """Store the idTagInfo of an Authorize.conf / StartTransaction.conf /
        StopTransaction.conf (OCPP 3.5.1, 4.1, 4.8). Returns True if stored."""
        if not self.enabled() or not valid_tag(tag):
            return False
        p = parse_info(info)
        if p is None:
            return False
        k = norm(tag)
        if self._listed(k):
            return False
        now = self.clock.now()
        self._seq += 1
        entry = [_effective(p[0], p[1], now), p[1], p[2], now + _CACHE_KEEP_S, self._seq]
        if k not in self._tags:
            self._make_room(now)
        self._tags[k] = entry
        self._save()
        return True

    def _make_room(self, now: int) -> None:
        # 3.5.1: when full, remove NOT-valid entries first, then the oldest
        # valid ones. Forgotten (past 7 days) entries go before anything else,
        # and NOT-valid ones go oldest first and only as many as needed, so a
        # Blocked card stays known as long as space allows.
        tags = self._tags
        for k in [k for k, e in tags.items() if now >= e[3]]:
            del tags[k]
        while len(tags) >= self.max_entries > 0:
            victim = ""
            vrank = (2, 0)
            for k, e in tags.items():
                rank = (0 if _effective(e[0], e[1], now) not in VALID else 1, e[4])
                if not victim or rank < vrank:
                    victim, vrank = k, rank
            del tags[victim]

    def _drop_keys(self, keys) -> None:
        if not self.authlist.enabled():
            return
        n = len(self._tags)
        for k in keys:
            self._tags.pop(k, None)
        if len(self._tags) != n:
            self._save()

    def ocpp_clear_cache(self, p: dict) -> dict:
        return {"status": self.clear()}

    def clear(self) -> str:
        """ClearCache.req -> ClearCacheStatus (OCPP 5.4, 7.20).
        The cache is implemented (the AuthorisationCacheEnabled key exists), so
        the request is executed even while the cache is disabled: stale
        entries must not come back when it is enabled again. Errata 3.23's
        Rejected is for stations without a cache; here Rejected means only
        that the flash could not be written."""
        self._tags = {}
        try:
            self.storage.write(_CACHE_FILE, json.dumps({"seq": self._seq, "tags": {}}).encode())
        except OSError:
            return "Rejected"
        self.error = ""
        return "Accepted"

    def _save(self) -> None:
        try:
            self.storage.write(_CACHE_FILE, json.dumps({"seq": self._seq, "tags": self._tags}).encode())
            self.error = ""
        except OSError as e:
            self.error = "%s: write failed (%s)" % (_CACHE_FILE, e)
