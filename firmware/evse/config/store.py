# The configuration store: typed access to the manual's keys (keys.py), OCPP 1.6
# ChangeConfiguration / GetConfiguration semantics, and persistence of the
# non-default values in one checksummed file ("config.json", atomic writes).
#
# Behaviour worth knowing (docs/configuration.md lists every decision):
# - Key names are matched exactly, then ignoring case (OCPP 1.6 types the key as
#   CiString50), against the manual's names and the OCPP 1.6 chapter 9 names of
#   keys.ALIASES ("HeartbeatInterval" for the manual's "HeartBeatInterval"). An
#   alias is the same key: one stored value. For a Central System (ocpp=True)
#   GetConfiguration answers under the spelling asked and, without keys, lists the
#   OCPP names of the aliased keys too, so a generic Central System finds them;
#   for the website and diagnostics it reports the manual's names.
# - Keys the model lacks (DSCU-only keys on an SSCU and vice versa) do not exist
#   for OCPP: ChangeConfiguration -> NotSupported, GetConfiguration -> unknownKey.
#   get() still returns their default so shared code needs no special case.
# - Reboot-required keys keep two values: the active one (get(), in effect since
#   boot) and the configured one (stored, reported by GetConfiguration, active after
#   the next boot). RebootRequired is answered only when they differ.
# - Every value is validated (type, range, listed values, formats, cross-key rules)
#   whatever the manual prints for "Field validation": a value the firmware cannot
#   apply is Rejected and nothing changes.
# - Load never raises: a missing file means defaults; an unreadable or corrupt file
#   is set aside as "config.bad" and defaults are used; a stored value that no
#   longer validates falls back to its default. Each case adds a line to .errors.
import json

from evse.config.keys import KEYS, ORDER, ALIASES, SENSOR_ACTIONS
from evse.config.values import (BAD, printable, digits, ipv4, parse_int, parse_float, fmt_float, match,
                                csl_item, action_index, actions_text, parse_actions,
                                parse_actions_list, adler32)

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

ACCEPTED = "Accepted"
_REJECTED = const("Rejected")
_REBOOT_REQUIRED = const("RebootRequired")
NOT_SUPPORTED = "NotSupported"

FILE = "config.json"
BAD_FILE = "config.bad"

# entry fields (keys.NAME...), repeated here so that const folding applies
_NAME = const(0)
_TYPE = const(1)
_FLAGS = const(2)
_LO = const(3)
_HI = const(4)
_ENUM = const(5)
_DEFAULT = const(6)
# types and flags (keys.INTEGER..., keys.RO...), repeated for the same reason
# (no module globals, no global lookups; test_config_docs checks they match)
_INTEGER = const(0)
_FLOAT = const(1)
_BOOLEAN = const(2)
_STRING = const(3)
_CSL = const(4)
_LIST = const(5)
_RO = const(1)
_REBOOT = const(2)
_SSCU = const(16)
_DSCU = const(8)
_VOLATILE = const(64)
_DIGITS = const(128)
_WRITEONLY = const(256)
_IPV4 = const(512)

_FORMAT = const(1)          # config.json layout version
_MAX_TEXT = const(500)      # ChangeConfiguration value is CiString500
_MAX_ERRORS = const(32)
_PW_LEN = const(12)
# 64 symbols, so a random byte & 63 picks one without bias
_PW_ALPHABET = const("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789$^")

# Cross-key rules: pairs of keys checked together (see _rule_ok).
_RULES = const((
    ("SecurityProfile", "AuthorizationKey"),
    ("TaglessIdTag1", "TaglessIdTag2"),
    ("MinCurrentConnection", "MaxCurrentConnection"),
    ("MinCurrentConnection", "ChargePointCurrentLimit"),
    ("NetworkDHCP", "NetworkIPAddress"),    # static addressing needs an address
    ("NetworkDHCP", "NetworkNetmask"),      # and a netmask
))


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("GetConfigurationMaxKeys", "LocalManagementPassword"))


def _lookup(name):
    """The KEYS entry named exactly name, or None: binary search over keys.ORDER
    (no name -> entry dictionary on the heap: 162 entries cost about 2 KB)."""
    lo = 0
    hi = len(ORDER)
    while lo < hi:
        mid = (lo + hi) >> 1
        e = KEYS[ORDER[mid]]
        n = e[_NAME]
        if n == name:
            return e
        if n < name:
            lo = mid + 1
        else:
            hi = mid
    return None


def _named(name):
    """The KEYS entry of a name the firmware spells (KeyError if none)."""
    e = _lookup(name)
    if e is None:
        raise KeyError(name)
    return e


class Config:
    """The configuration of one controller. storage: evse.hal.fsstore.Storage
    (read/write/remove); model: "sscu" or "dscu"."""
    OPERATIONS = ("ChangeConfiguration", "GetConfiguration")   # evse.ocpp.operations

    def __init__(self, storage, model: str = "dscu") -> None:
        m = model.lower() if type(model) is str else ""
        if m not in ("sscu", "dscu"):
            raise ValueError("model must be sscu or dscu")
        self.model = m
        self._sup = _SSCU if m == "sscu" else _DSCU
        self._storage = storage
        self._values: dict = {}      # name -> active value, only where it differs from the default
        self._pending: dict = {}     # name -> configured value of a REBOOT key, until reboot
        self._listeners: list = []
        self.errors: list = []       # load problems, failed writes, failing listeners (newest last)
        self.rng = None              # the board's random_bytes(n): GetConfiguration rotates the password
        self._load()

    # ---- lookups ------------------------------------------------------------------
    def _find(self, name):
        if type(name) is not str:
            return None
        e = _lookup(name)
        if e is not None:
            return e
        ln = name.lower()
        for e in KEYS:
            if e[_NAME].lower() == ln:
                return e
        for alias, real in ALIASES:
            if alias.lower() == ln:
                return _named(real)
        return None

    def _entry(self, name):
        e = self._find(name)
        if e is None:
            raise KeyError(name)
        return e

    def _default(self, e):
        d = e[_DEFAULT]
        if type(d) is tuple:
            return d[0] if self._sup == _SSCU else d[1]
        return d

    def _active(self, e):
        v = self._values.get(e[_NAME])
        return self._default(e) if v is None else v

    def _configured(self, e):
        v = self._pending.get(e[_NAME])
        return self._active(e) if v is None else v

    def canonical(self, name):
        """The key's name as the manual spells it, or None if unknown on this model."""
        e = self._find(name)
        if e is None or not e[_FLAGS] & self._sup:
            return None
        return e[_NAME]

    def supported(self, name) -> bool:
        return self.canonical(name) is not None

    def readonly(self, name) -> bool:
        return bool(self._entry(name)[_FLAGS] & _RO)

    def default(self, name):
        e = self._entry(name)
        d = self._default(e)
        return parse_actions_list(d) if e[_TYPE] == _LIST else d

    # ---- typed access ---------------------------------------------------------------
    def get(self, name):
        """Active value: int, float, bool, str (String and CSL) or, for List keys,
        a new list of [priority, action] pairs. KeyError for an unknown key."""
        e = self._entry(name)
        v = self._active(e)
        if e[_TYPE] == _LIST:
            return parse_actions_list(v)
        return v

    def get_str(self, name, configured: bool = False) -> str:
        """OCPP text of the active value (configured=True: the stored value, which
        differs for a reboot-required key changed since boot)."""
        e = self._entry(name)
        return self._fmt(e, self._configured(e) if configured else self._active(e))

    def reboot_pending(self) -> list:
        """Names of keys whose configured value becomes active at the next boot."""
        return sorted(self._pending)

    def _fmt(self, e, v) -> str:
        t = e[_TYPE]
        if t == _BOOLEAN:
            return "true" if v else "false"
        if t == _FLOAT:
            return fmt_float(v)
        if t == _INTEGER:
            return "%d" % v
        if t == _LIST and type(v) is not str:
            prios = [0] * len(SENSOR_ACTIONS)
            for p, a in v:
                prios[action_index(a)] = p
            return actions_text(prios)
        return v

    # ---- validation -------------------------------------------------------------------
    def _parse(self, e, text):
        """OCPP text -> canonical typed value for entry e, or BAD."""
        t = e[_TYPE]
        if type(text) is not str or len(text) > _MAX_TEXT or not printable(text, t == _LIST):
            return BAD
        if e[_FLAGS] & _WRITEONLY and text == "":
            return ""   # a secret may be unset again
        enum = e[_ENUM]
        lo = e[_LO]
        hi = e[_HI]
        if t == _INTEGER:
            v = parse_int(text)
            if v is None:
                return BAD
            if enum is not None:
                return v if v in enum else BAD
        elif t == _FLOAT:
            v = parse_float(text)
            if v is None:
                return BAD
        elif t == _BOOLEAN:
            s = text.strip().lower()
            if s == "true":
                return True
            if s == "false":
                return False
            return BAD
        elif t == _STRING:
            if enum is not None:
                v = match(enum, text.strip())
                return BAD if v is None else v
            n = len(text)
            if (lo is not None and n < lo) or (hi is not None and n > hi):
                return BAD
            if e[_FLAGS] & _DIGITS and not digits(text):
                return BAD
            if e[_FLAGS] & _IPV4 and text and not ipv4(text):
                return BAD
            return text
        elif t == _CSL:
            return self._parse_csl(e, text)
        else:
            v = parse_actions(text)
            return BAD if v is None else v
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return BAD
        return v

    def _parse_csl(self, e, text):
        s = text.strip()
        if not s:
            return ""
        enum = e[_ENUM]
        items = []
        for item in s.split(","):
            item = item.strip()
            if not item:
                return BAD
            if enum is not None:
                item = csl_item(enum, item)
                if item is None:
                    return BAD
            if item in items:
                return BAD
            items.append(item)
        lim = _lookup(e[_NAME] + "MaxLength")
        if lim is not None and len(items) > self._active(lim):
            return BAD
        return ",".join(items)

    def _rule_ok(self, rule, get) -> bool:
        a, b = rule
        if a == "SecurityProfile":
            # security whitepaper A05: only raised; 1/2 need a Basic password,
            # 2 needs TLS with a root certificate to check the server with
            p = get(a)
            if p < self._configured(_named(a)):
                return False
            if p >= 1 and len(get("AuthorizationKey")) < 16:
                return False
            return p < 2 or (bool(get("UseWebsocketSecure")) and bool(get("RootCertificate")))
        if a == "NetworkDHCP":
            return bool(get(a)) or get(b) != ""
        if a == "TaglessIdTag1":  # IdTokens compare ignoring case
            return get(a).lower() != get(b).lower()
        if b == "MaxCurrentConnection":
            return get(a) <= get(b)
        # manual 6.2: both connectors of a DSCU must be able to get the minimum
        return self._sup == _SSCU or 2 * get(a) <= get(b)

    def _cross_ok(self, name: str, value) -> bool:
        def get(n):
            return value if n == name else self._configured(_named(n))
        for rule in _RULES:
            if name in rule and not self._rule_ok(rule, get):
                return False
        return True

    # ---- changes --------------------------------------------------------------------------
    def change(self, name, value) -> str:
        """OCPP ChangeConfiguration: "Accepted", "Rejected", "RebootRequired" or
        "NotSupported". On anything but Accepted/RebootRequired nothing changes."""
        e = self._find(name)
        if e is None or not e[_FLAGS] & self._sup:
            return NOT_SUPPORTED
        if e[_FLAGS] & _RO:
            return _REJECTED
        v = self._parse(e, value)
        if v is BAD or not self._cross_ok(e[_NAME], v):
            return _REJECTED
        if not self._store(e, v):
            return _REJECTED
        if e[_FLAGS] & _REBOOT and v != self._active(e):
            return _REBOOT_REQUIRED
        return ACCEPTED

    def set_internal(self, name, value) -> bool:
        """Set a read-only key the firmware owns (FirmwareVersionMCU, MACAddress,
        OCPPProtocolUsed, SerialNumber, ...): value as OCPP text or typed. Active at
        once; persisted unless the key is VOLATILE. ValueError for a writable key or
        an invalid value; False if it could not be persisted."""
        e = self._entry(name)
        if not e[_FLAGS] & _RO:
            raise ValueError("%s is writable: use change()" % e[_NAME])
        t = e[_TYPE]
        if type(value) is not str:
            if t == _BOOLEAN and type(value) is not bool:
                raise ValueError("%s needs a bool" % e[_NAME])
            value = self._fmt(e, value)
        v = self._parse(e, value)
        if v is BAD:
            raise ValueError("invalid value for %s" % e[_NAME])
        return self._store(e, v)

    def rotate_local_password(self, rng_bytes) -> str:
        """New random LocalManagementPassword (manual 3.20): rng_bytes(n) -> n random
        bytes (os.urandom or the board's RNG). Returns the password now active."""
        raw = rng_bytes(_PW_LEN)
        if len(raw) < _PW_LEN:
            raise ValueError("rng_bytes gave too few bytes")
        pw = "".join([_PW_ALPHABET[raw[i] & 63] for i in range(_PW_LEN)])
        e = _named("LocalManagementPassword")
        self._store(e, pw)
        return self._active(e)

    def _set(self, store: dict, e, v) -> None:
        if v == self._default(e):
            store.pop(e[_NAME], None)
        else:
            store[e[_NAME]] = v

    def _store(self, e, v) -> bool:
        """Make v the configured value of e (and the active one unless e needs a
        reboot); persist; notify. False (and nothing changed) if the write failed."""
        name = e[_NAME]
        if v == self._configured(e):
            return True
        old_v = self._values.get(name)
        old_p = self._pending.get(name)
        if e[_FLAGS] & _REBOOT:
            if v == self._active(e):
                self._pending.pop(name, None)
            else:
                self._pending[name] = v
        else:
            self._set(self._values, e, v)
        if not e[_FLAGS] & _VOLATILE:
            try:
                self._save()
            except OSError as ex:
                self._restore(name, old_v, old_p)
                self._error("%s not changed: write failed (%r)" % (name, ex))
                return False
        self._notify(name)
        return True

    def _restore(self, name, old_v, old_p) -> None:
        for store, old in ((self._values, old_v), (self._pending, old_p)):
            if old is None:
                store.pop(name, None)
            else:
                store[name] = old

    # ---- the operations (evse.ocpp.operations) -------------------------------------------
    def ocpp_change_configuration(self, p: dict) -> dict:
        return {"status": self.change(p["key"], p["value"])}

    def ocpp_get_configuration(self, p: dict) -> dict:
        keys = p.get("key")
        # manual 3.20 / LocalManagementPassword: reading the configuration
        # rotates the local management password; the reply carries the new one.
        # OCPP 1.6 9: without keys every supported key is listed, including the
        # OCPP names of keys the manual spells differently (ALIASES)
        items, unknown = self.get_configuration(keys if keys else None, rng_bytes=self.rng, ocpp=True)
        out = {"configurationKey": items}
        if unknown:
            out["unknownKey"] = unknown
        return out

    # ---- GetConfiguration ---------------------------------------------------------------------
    def get_configuration(self, keys=None, rng_bytes=None, ocpp: bool = False):
        """OCPP GetConfiguration: (configurationKey list of {"key", "readonly",
        "value"}, unknownKey list). keys None/empty: every key of this model, in
        table order. With keys, only the first GetConfigurationMaxKeys requested keys
        are answered, the rest are ignored; a key asked twice (ignoring case) once.
        Keys are reported under the manual's names, except with ocpp=True (a
        Central System's request): each requested key is answered under the
        spelling asked, and the full list adds after each aliased key its OCPP 1.6
        name (keys.ALIASES) with the same value. Values are the configured ones.
        rng_bytes: pass it for a request from the Central System: when the reply
        carries LocalManagementPassword, the password is rotated first (manual
        3.20) so the reply holds the password now active."""
        sel = []        # (spelling to answer with, entry)
        unknown = []
        if keys:
            seen = []
            for k in keys[:self.get("GetConfigurationMaxKeys")]:
                e = self._find(k)
                if e is None or not e[_FLAGS] & self._sup:
                    unknown.append(k)
                else:
                    k = k if ocpp else e[_NAME]
                    if k.lower() not in seen:
                        seen.append(k.lower())
                        sel.append((k, e))
        else:
            for e in KEYS:
                if e[_FLAGS] & self._sup:
                    sel.append((e[_NAME], e))
                    if ocpp:
                        for alias, real in ALIASES:
                            if real == e[_NAME]:
                                sel.append((alias, e))
        if rng_bytes is not None:
            for k, e in sel:
                if e[_NAME] == "LocalManagementPassword":
                    self.rotate_local_password(rng_bytes)
                    break
        items = []
        for k, e in sel:
            it = {"key": k, "readonly": bool(e[_FLAGS] & _RO)}
            if not e[_FLAGS] & _WRITEONLY:   # a secret is listed, never shown
                it["value"] = self._fmt(e, self._configured(e))
            items.append(it)
        return items, unknown

    # ---- listeners ------------------------------------------------------------------------------
    def subscribe(self, fn, keys=None) -> None:
        """fn(name) is called after a key's configured value changed (change,
        set_internal, password rotation): for the names in keys only (a
        tuple of the manual's names; a service passes the keys it owns or
        reads), for every key when keys is None. Subscribing fn again
        replaces its keys."""
        ls = self._listeners
        for i in range(len(ls)):
            if ls[i][0] == fn:
                ls[i] = (fn, keys)
                return
        ls.append((fn, keys))

    def unsubscribe(self, fn) -> None:
        ls = self._listeners
        for i in range(len(ls)):
            if ls[i][0] == fn:
                del ls[i]
                return

    def _notify(self, name: str) -> None:
        for fn, keys in tuple(self._listeners):
            if keys is not None and name not in keys:
                continue
            try:
                fn(name)
            except Exception as ex:  # a broken listener must not break the OCPP reply
                self._error("listener failed on %s: %r" % (name, ex))

    def _error(self, msg: str) -> None:
        self.errors.append(msg)
        if len(self.errors) > _MAX_ERRORS:
            del self.errors[0]

    # ---- persistence ---------------------------------------------------------------------------------
    # config.json: one line of JSON {"format": 1, "values": {name: OCPP text}} with the
    # configured non-default values, then a line with its Adler-32 (8 hex digits).
    def _save(self) -> None:
        vals = {}
        for e in KEYS:
            if e[_FLAGS] & _VOLATILE:
                continue
            name = e[_NAME]
            v = self._pending.get(name)
            if v is None:
                v = self._values.get(name)
            if v is not None:
                vals[name] = self._fmt(e, v)
        body = json.dumps({"format": _FORMAT, "values": vals}).encode()
        self._storage.write(FILE, body + ("\n%08x\n" % adler32(body)).encode())

    def _decode(self, raw):
        """File bytes -> {name: text}; ValueError saying why it is unusable."""
        if type(raw) is not bytes:
            raw = bytes(raw)
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        cut = raw.rfind(b"\n")
        if cut < 0:
            raise ValueError("no checksum line")
        body = raw[:cut]
        if raw[cut + 1:] != ("%08x" % adler32(body)).encode():
            raise ValueError("checksum mismatch")
        doc = json.loads(body.decode())
        if type(doc) is not dict or doc.get("format") != _FORMAT or type(doc.get("values")) is not dict:
            raise ValueError("unknown layout")
        return doc["values"]

    def _load(self) -> None:
        try:
            raw = self._storage.read(FILE)
        except Exception as ex:  # storage trouble: run on defaults, keep the file
            self._error("config.json not read (%r): defaults used" % (ex,))
            return
        if raw is None:
            return
        try:
            vals = self._decode(raw)
        except Exception as ex:
            self._error("config.json unusable (%r): defaults used, file kept as %s" % (ex, BAD_FILE))
            try:
                self._storage.write(BAD_FILE, raw)
                self._storage.remove(FILE)
            except Exception:
                pass
            return
        for name in vals:
            e = _lookup(name)
            if e is None or e[_FLAGS] & _VOLATILE:
                self._error("config.json: key %r dropped" % (name,))
                continue
            v = self._parse(e, vals[name])
            if v is BAD:
                self._error("config.json: %s=%r invalid, default used" % (name, vals[name]))
                continue
            self._set(self._values, e, v)
        self._fix_rules()

    def _fix_rules(self) -> None:
        """Stored values breaking a cross-key rule fall back to defaults."""
        def get(n):
            return self._active(_named(n))
        again = True
        while again:
            again = False
            for rule in _RULES:
                if self._rule_ok(rule, get):
                    continue
                self._error("config.json: %s and %s conflict, defaults used" % rule)
                for n in rule:
                    if n in self._values:
                        del self._values[n]
                        again = True
