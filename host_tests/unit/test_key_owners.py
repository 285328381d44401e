# Services own their configuration keys (docs/architecture.md, MicroOcpp's
# model): each module that gives keys their effect declares them in a
# module-level _CONFIG_KEYS = const((...)) (compiled away on MicroPython where
# the module does not use it: these checks read it on CPython), every key of the table has exactly one
# owner, the owner is the module that reads the key, and a service's change
# listener hears the keys it names only. docs/configuration.md shows each
# key's owner (tools/gen_config_docs.py reads the same declarations).
from evse.config.keys import KEYS, ALIASES, RO, FUTURE
from support import cpython_only, walk_py as _walk
from session_rig import Rig

FW = "firmware"
NAMES = [e[0] for e in KEYS]
FLAGS = dict((e[0], e[2]) for e in KEYS)
# writable, active keys no module reads, and why (they are stored, validated and
# reported; what they would configure is not on the supported boards)
INERT = (
    ("gprsAPN", "no cellular modem: connection type 0 is the ESP32's WLAN station"),
    ("gprsPASSWORD", "no cellular modem"),
    ("gprsQcfgBand", "no cellular modem"),
    ("gprsUSER", "no cellular modem"),
)


def declared():
    """{module: its _CONFIG_KEYS} for every firmware module that declares keys."""
    out = {}
    for p in _walk(FW + "/evse"):
        with open(p) as f:
            if "\n_CONFIG_KEYS = const((" not in f.read():
                continue
        mod = p[len(FW) + 1:-3].replace("/", ".")
        m = __import__(mod)
        for part in mod.split(".")[1:]:
            m = getattr(m, part)
        out[mod] = m._CONFIG_KEYS
    return out


def owner_problems(owners: dict, names: list) -> list:
    """What breaks "every key has exactly one owner": keys nobody owns, keys
    two modules own, names that are no key of the table."""
    seen = {}
    bad = []
    for mod in sorted(owners):
        for k in owners[mod]:
            if k not in names:
                bad.append("%s: %s is not a key" % (mod, k))
            elif k in seen:
                bad.append("%s: owned by %s and %s" % (k, seen[k], mod))
            else:
                seen[k] = mod
    for k in names:
        if k not in seen:
            bad.append("%s: no owner" % k)
    return bad


@cpython_only
def test_every_key_has_exactly_one_owner():
    owners = declared()
    assert len(owners) >= 20, sorted(owners)        # the services, the client, the store...
    assert owner_problems(owners, NAMES) == []
    assert sum(len(v) for v in owners.values()) == len(NAMES) == 165


@cpython_only
def test_a_missing_a_doubled_and_a_misspelt_key_are_reported():
    owners = dict(declared())
    owners["evse.services.indicators"] = tuple(
        k for k in owners["evse.services.indicators"] if k != "BuzzerPeriod") + ("LEDcolour_Charging",)
    owners["evse.services.session"] = owners["evse.services.session"] + ("HeartBeatInterval",)
    assert owner_problems(owners, NAMES) == [
        "evse.services.indicators: LEDcolour_Charging is not a key",
        "HeartBeatInterval: owned by evse.ocpp.client and evse.services.session",
        "BuzzerPeriod: no owner",
    ]


@cpython_only
def test_aliases_are_not_owned_twice():
    # an OCPP name (HeartbeatInterval) is the manual's key under another name:
    # owned with it, never declared on its own
    owned = [k for v in declared().values() for k in v]
    for ocpp_name, manual in ALIASES:
        assert manual in owned and (ocpp_name == manual or ocpp_name not in owned), ocpp_name


def _literals(path):
    import ast
    with open(path) as f:
        tree = ast.parse(f.read())
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is str]


def reads(lits: list, key: str) -> bool:
    """The module names key: as a literal, or by a prefix it builds the name
    from ("ExternalSensor1" + "Type", "EkmMeterNumber%d")."""
    if key in lits:
        return True
    for s in lits:
        s = s.split("%")[0]
        if len(s) >= 8 and key.startswith(s):
            return True
    return False


def _uses(path, own=()):
    """The string literals of a module, without its own _CONFIG_KEYS declaration."""
    lits = _literals(path)
    return [s for s in lits if s not in own or lits.count(s) > 1]


@cpython_only
def test_the_owner_is_the_module_that_reads_the_key():
    # a writable, active key is read where it takes effect; read-only and
    # future-use keys are owned by the module of their concept
    inert = [k for k, _ in INERT]
    owners = declared()
    bad = []
    for mod, keys in owners.items():
        lits = _uses(FW + "/" + mod.replace(".", "/") + ".py", keys)
        for k in keys:
            if FLAGS[k] & (RO | FUTURE) or k in inert:
                continue
            if not reads(lits, k):
                bad.append("%s owns %s and does not read it" % (mod, k))
    assert bad == []
    # the check can fail: a module that only declares a key
    assert not reads(["Other", "LogLevel"], "HeartBeatInterval")
    assert reads(["ExternalSensor1"], "ExternalSensor1Type") and reads(["EkmMeterNumber%d"], "EkmMeterNumber2")
    # an inert key that gains a reader leaves the list (the key table, its
    # help texts and the website's grouping of keys do not count)
    own = dict((k, m) for m, v in owners.items() for k in v)
    for p in _walk(FW + "/evse"):
        if p.endswith(("/keys.py", "/keyhelp.py", "/cfgview.py")):
            continue
        mod = p[len(FW) + 1:-3].replace("/", ".")
        lits = _uses(p, owners.get(mod, ()))
        for k in inert:
            assert not FLAGS[k] & (RO | FUTURE) and not reads(lits, k), (k, mod)
    assert all(own[k] == "evse.services.network" for k in inert)


def test_listeners_name_real_keys_and_hear_only_those():
    r = Rig("dscu")
    c = r.config
    everything = [fn for fn, keys in c._listeners if keys is None]
    assert len(everything) == 1                     # the MCU loop's wake-up: any change
    for fn, keys in c._listeners:
        for k in keys or ():
            assert k in NAMES, k                    # a misspelt key would never be heard
    # a LED colour is the indicators' key: energy does not re-offer the connectors
    en = r.st.energy
    en.limits[0] = 160
    assert c.change("LEDcolor_Charging", "RED") == "Accepted"
    assert en.limits[0] == 160
    assert c.change("NominalAmperage", "10") == "Accepted"
    assert en.limits[0] == -1                       # energy's input: told again
