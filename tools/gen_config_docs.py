# Writes docs/configuration.md from firmware/evse/config/keys.py: the data of each
# entry plus the comment lines above it (summary, "Values:", "Decision:",
# "Source:"), and the store's general rules (STORE_RULES below, which describe
# firmware/evse/config/store.py: keep them in step).
#
# It also writes firmware/evse/web/keyhelp.py, the summaries the website's
# configuration page shows under each key (one constant tuple in KEYS order:
# flash on a board, no heap).
#
#   python3 tools/gen_config_docs.py           # rewrite docs/configuration.md and keyhelp.py
#   python3 tools/gen_config_docs.py --check   # exit 1 if either is stale
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from genfile import generate  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS_PY = os.path.join(ROOT, "firmware", "evse", "config", "keys.py")
OUT = os.path.join(ROOT, "docs", "configuration.md")
HELP_OUT = os.path.join(ROOT, "firmware", "evse", "web", "keyhelp.py")

STORE_RULES = (
    ("Key names", "matched exactly, then ignoring case (OCPP 1.6 types the ChangeConfiguration and "
     "GetConfiguration key as CiString, a case-insensitive string), against the manual's names "
     "and the OCPP 1.6 chapter 9 names of the keys the manual spells differently (see OCPP key "
     "names below). An OCPP name is an alias: the same key, one stored value, persisted under "
     "the manual's name; a ChangeConfiguration under either name changes it. GetConfiguration "
     "with keys answers each under the spelling asked."),
    ("Unknown keys", "ChangeConfiguration answers NotSupported; GetConfiguration lists them in "
     "unknownKey."),
    ("Model", "keys whose support does not include the running model (DSCU-only keys such as "
     "BuzzerActive, Connector2Enabled, RFIDReader2Enabled on an SSCU; SSCU-only keys such as the "
     "external and voltage sensor keys on a DSCU) are treated as unknown by OCPP: NotSupported, "
     "unknownKey, absent from a full GetConfiguration (OCPP 1.6 chapter 9: a missing key means "
     "the function is not provided). Config.get() still returns their default, so shared code "
     "reads them without a model check; Config.supported() tells."),
    ("Validation", "every writable key is validated, whatever the manual prints for Field "
     "validation: type, range, listed values, text formats and the cross-key rules. A value the "
     "firmware cannot apply is answered Rejected and nothing changes (OCPP 1.6 5.3: out-of-range "
     "and badly formatted values are Rejected). Read-only keys answer Rejected."),
    ("Text", "every value is printable ASCII of at most 500 characters (CiString500). Free text "
     "is kept exactly as sent (no trimming); numbers, booleans and listed values ignore "
     "surrounding spaces."),
    ("Booleans", "\"true\" or \"false\" in any letter case; reported as \"true\"/\"false\"."),
    ("Numbers", "Integer: optional sign and decimal digits. Float: optional sign, digits with an "
     "optional decimal point, no exponent, no nan/inf; three decimals are kept and values are "
     "reported with at least one decimal (\"16.0\", \"12.5\") identically on CPython and "
     "MicroPython. Integer text is accepted for Float keys."),
    ("Listed values", "matched ignoring case and stored in the listed spelling (\"green\" -> "
     "\"GREEN\")."),
    ("CSL", "items are trimmed and must be non-empty and distinct; a key with a <Key>MaxLength "
     "companion is limited to that many items; an empty value means no items. Reported "
     "comma-separated without spaces. Measurand items may carry an OCPP phase suffix "
     "(\"Voltage.L1\")."),
    ("List (sensor actions)", "JSON text with the eight fixed actions (StatusNotification, "
     "StopTransaction, UnlockConnector, SetError, ClearError, HardReset, SetLEDIntensityLow, "
     "SetLEDIntensityHigh), each exactly once, in any order, names ignoring case (the manual also "
     "spells SetLedIntensity*), priorities integers 0..8 (0 = skip). Reported as compact JSON "
     "in the fixed order, as the manual prints it: [[0, \"StatusNotification\"], ...]. "
     "Config.get() returns a list of [priority, action] pairs."),
    ("Reboot-required keys", "the store keeps the active value (Config.get(), in effect since "
     "boot) and the configured value (persisted, active after the next boot). ChangeConfiguration "
     "answers RebootRequired when the configured value now differs from the active one, and "
     "Accepted when it equals it (e.g. setting back the value in effect). GetConfiguration "
     "reports configured values, so a Central System reads back what it set. "
     "Config.reboot_pending() lists the keys waiting for a reboot."),
    ("Cross-key rules", "checked against the configured values whenever one of the keys "
     "changes: TaglessIdTag2 differs from TaglessIdTag1 ignoring case (both ways); "
     "MinCurrentConnection <= MaxCurrentConnection; on the DSCU, 2 x MinCurrentConnection <= "
     "ChargePointCurrentLimit; NetworkDHCP false needs NetworkIPAddress and NetworkNetmask. "
     "The defaults satisfy every rule; on load, stored values breaking "
     "a rule fall back to their defaults."),
    ("GetConfiguration", "without keys: every key of the model in table order, each aliased key "
     "followed by its OCPP name with the same value and read-only flag (OCPP 1.6 5.8: the "
     "Charge Point reports all its keys; a generic Central System looks for the chapter 9 "
     "names, the manual's tools for the manual's; both are listed rather than one hidden, so "
     "HeartBeatInterval and HeartbeatInterval, which differ only in case, appear both). The "
     "local website and diagnostics list the manual's names only. With keys: only "
     "the first GetConfigurationMaxKeys (255) requested keys are answered, the rest are ignored "
     "(OCPP lets the Charge Point limit the number; no key is reported unknown that is not); "
     "a key requested twice is answered once."),
    ("LocalManagementPassword", "when a GetConfiguration from the Central System would report "
     "it, a new random password (12 characters from a 64-symbol alphabet, bytes from the board's "
     "RNG) is made and persisted first, so the reply always carries the password that is active "
     "(manual 3.20: only the Central System can learn it; the printed default stays until the "
     "first such GetConfiguration). A request without that key leaves the password unchanged, "
     "otherwise it would become unknown to everyone."),
    ("Firmware-owned keys", "read-only keys are set by the firmware with Config.set_internal(). "
     "VOLATILE ones (firmware versions, MAC address, modem ICCID/IMSI, serial number, protocol in "
     "use) are filled in at every boot and never persisted; the others (LocalManagementPassword, "
     "Registered) are persisted."),
    ("Persistence", "only configured values that differ from the default are written, to the "
     "storage file config.json: one JSON line {\"format\": 1, \"values\": {key: OCPP text}} and "
     "a line with its Adler-32 checksum, written atomically (temporary file + rename). On load a "
     "missing file means defaults; an unreadable file (bad checksum, truncated, not JSON, "
     "unknown layout) is kept as config.bad and removed, and every key takes its default; a "
     "value that no longer validates, a non-text value or an unknown key is dropped and that key "
     "takes its default. Each case adds a line to Config.errors; loading never raises. A failed "
     "write leaves the value unchanged and the change is Rejected."),
    ("Listeners", "Config.subscribe(fn, keys): fn(name) is called after a key's configured value "
     "changed (unchanged values notify nobody), with the manual's name whatever spelling was "
     "sent; for the names in keys only (a service passes the keys it owns or reads), for every "
     "key without keys. An exception in a listener is recorded in Config.errors and does not "
     "affect the reply."),
)


# OCPP 1.6 chapter 9 keys of the profiles the firmware supports (Core,
# LocalAuthListManagement, Reservation, SmartCharging; FirmwareManagement and
# RemoteTrigger define none): (section, name, required). render() says how each
# relates to the table: same name, alias (keys.ALIASES), or not provided.
OCPP_CHAPTER9 = (
    ("9.1.1", "AllowOfflineTxForUnknownId", False), ("9.1.2", "AuthorizationCacheEnabled", False),
    ("9.1.3", "AuthorizeRemoteTxRequests", True), ("9.1.4", "BlinkRepeat", False),
    ("9.1.5", "ClockAlignedDataInterval", True), ("9.1.6", "ConnectionTimeOut", True),
    ("9.1.7", "ConnectorPhaseRotation", True), ("9.1.8", "ConnectorPhaseRotationMaxLength", False),
    ("9.1.9", "GetConfigurationMaxKeys", True), ("9.1.10", "HeartbeatInterval", True),
    ("9.1.11", "LightIntensity", False), ("9.1.12", "LocalAuthorizeOffline", True),
    ("9.1.13", "LocalPreAuthorize", True), ("9.1.14", "MaxEnergyOnInvalidId", False),
    ("9.1.15", "MeterValuesAlignedData", True), ("9.1.16", "MeterValuesAlignedDataMaxLength", False),
    ("9.1.17", "MeterValuesSampledData", True), ("9.1.18", "MeterValuesSampledDataMaxLength", False),
    ("9.1.19", "MeterValueSampleInterval", True), ("9.1.20", "MinimumStatusDuration", False),
    ("9.1.21", "NumberOfConnectors", True), ("9.1.22", "ResetRetries", True),
    ("9.1.23", "StopTransactionOnEVSideDisconnect", True),
    ("9.1.24", "StopTransactionOnInvalidId", True), ("9.1.25", "StopTxnAlignedData", True),
    ("9.1.26", "StopTxnAlignedDataMaxLength", False), ("9.1.27", "StopTxnSampledData", True),
    ("9.1.28", "StopTxnSampledDataMaxLength", False), ("9.1.29", "SupportedFeatureProfiles", True),
    ("9.1.30", "SupportedFeatureProfilesMaxLength", False),
    ("9.1.31", "TransactionMessageAttempts", True), ("9.1.32", "TransactionMessageRetryInterval", True),
    ("9.1.33", "UnlockConnectorOnEVSideDisconnect", True), ("9.1.34", "WebSocketPingInterval", False),
    ("9.2.1", "LocalAuthListEnabled", True), ("9.2.2", "LocalAuthListMaxLength", True),
    ("9.2.3", "SendLocalListMaxLength", True), ("9.3.1", "ReserveConnectorZeroSupported", False),
    ("9.4.1", "ChargeProfileMaxStackLevel", True),
    ("9.4.2", "ChargingScheduleAllowedChargingRateUnit", True),
    ("9.4.3", "ChargingScheduleMaxPeriods", True), ("9.4.4", "ConnectorSwitch3to1PhaseSupported", False),
    ("9.4.5", "MaxChargingProfilesInstalled", True),
)
# what an optional key the firmware does not provide would configure
NOT_PROVIDED = {
    "BlinkRepeat": "no blinking of the lighting on request",
    "LightIntensity": "LED intensity is set by the manual's LEDIntensity* keys",
    "MinimumStatusDuration": "StatusNotification is sent on every change",
    "ConnectorPhaseRotationMaxLength": "ConnectorPhaseRotation has one item per connector",
}


def ocpp_names(K):
    """Lines of the "OCPP key names" section."""
    names = [e[K.NAME] for e in K.KEYS]
    alias = dict((a, m) for a, m in K.ALIASES)
    lines = ["## OCPP key names", "",
             ("The manual's key list against OCPP 1.6 chapter 9 (profiles Core, "
              "LocalAuthListManagement, Reservation, SmartCharging; FirmwareManagement and "
              "RemoteTrigger define no key). %d keys carry another name in the manual; the "
              "OCPP name is an alias of the manual's key (same value, same read-only flag, "
              "answered under the name asked, both names listed by a GetConfiguration without "
              "keys). Keys missing from the manual are added to the table (the StopTxn* keys). "
              "Optional keys not provided are absent from GetConfiguration, which OCPP 1.6 "
              "chapter 9 reads as: the function is not there.") % len(K.ALIASES), "",
             "| OCPP | Key | Required | In this firmware |", "|---|---|---|---|"]
    for sec, name, req in OCPP_CHAPTER9:
        if name in alias:
            rel = "alias of the manual's `%s`" % alias[name]
        elif name in ADDED_OCPP:
            rel = "added (not in the manual)"
        elif name in names:
            rel = "same name"
        elif name.lower() in [n.lower() for n in names]:
            rel = "same name, other letter case"
        else:
            rel = "not provided: " + NOT_PROVIDED.get(name, "")
        if name in AS_MANUAL:
            rel += "; " + AS_MANUAL[name]
        lines.append("| %s | `%s` | %s | %s |" % (sec, name, "yes" if req else "no", rel))
    lines.append("")
    return lines


# where the manual's key differs from the OCPP definition, and the manual is kept
AS_MANUAL = {
    "ConnectorPhaseRotation": "read-only as the manual prints it (OCPP: RW): the wiring is "
                              "not configured remotely, ChangeConfiguration is Rejected",
}

# vendor keys of the boards' network interfaces (tools/gen_config_keys.py NETWORK_KEYS)
NETWORK_KEYS = ("NetworkWLANSSID", "NetworkWLANPassword", "NetworkDHCP", "NetworkIPAddress",
                "NetworkNetmask", "NetworkGateway", "NetworkDNS")

# the other vendor keys: the console log's level (evse.services.log), the EKM
# meter numbers of MeterType 10 (evse.metering.ekm)
OTHER_VENDOR_KEYS = ("LogLevel", "EkmMeterNumber1", "EkmMeterNumber2")

# keys of the table that come from OCPP 1.6 chapter 9, not from the manual
ADDED_OCPP = ("StopTxnAlignedData", "StopTxnAlignedDataMaxLength", "StopTxnSampledData",
              "StopTxnSampledDataMaxLength")


def load_keys():
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    try:
        import evse.config.keys as K
    finally:
        sys.path.pop(0)
    return K


def load_owners():
    """key -> the firmware module that owns it (its module-level _CONFIG_KEYS;
    host_tests/unit/test_key_owners.py checks there is exactly one)."""
    import ast
    out = {}
    base = os.path.join(ROOT, "firmware")
    for d, _, files in os.walk(os.path.join(base, "evse")):
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            p = os.path.join(d, f)
            with open(p) as fh:
                tree = ast.parse(fh.read())
            mod = os.path.relpath(p, base)[:-3].replace(os.sep, ".")
            for n in tree.body:
                if isinstance(n, ast.Assign) and [getattr(t, "id", None) for t in n.targets] == ["_CONFIG_KEYS"]:
                    for k in ast.literal_eval(n.value.args[0]):     # const((...))
                        out[k] = mod
    return out


def parse_comments(path=KEYS_PY):
    """name -> {"summary", "values", "decision", "source"} from the comment lines
    above each entry of KEYS."""
    out = {}
    inside = False
    cur = {}
    part = None
    with open(path) as f:
        for line in f:
            s = line.strip()
            if s.startswith("KEYS = ("):
                inside = True
                continue
            if not inside:
                continue
            if s == ")":
                break
            if s.startswith("#"):
                text = s[1:]
                for tag, field in (("Values:", "values"), ("Decision:", "decision"), ("Source:", "source")):
                    if text.strip().startswith(tag):
                        part = field
                        cur[field] = text.strip()[len(tag):].strip()
                        break
                else:
                    if text.startswith("   ") and part in ("values", "decision", "source"):
                        cur[part] += " " + text.strip()
                    else:
                        part = "summary"
                        cur["summary"] = (cur.get("summary", "") + " " + text.strip()).strip()
                continue
            if s.startswith('("'):
                name = s[2:s.index('"', 2)]
                out[name] = cur
                cur = {}
                part = None
    return out


def _fmt_default(K, e):
    d = e[K.DEFAULT]
    if type(d) is tuple:
        return "SSCU: %s, DSCU: %s" % (_fmt_value(K, e, d[0]), _fmt_value(K, e, d[1]))
    return _fmt_value(K, e, d)


def _fmt_value(K, e, v):
    t = e[K.TYPE]
    if t == K.BOOLEAN:
        return "true" if v else "false"
    if t == K.FLOAT:
        s = ("%.3f" % v).rstrip("0")
        return s + "0" if s.endswith(".") else s
    if t == K.LIST:
        return "all 0 (no actions)" if v == K.NO_ACTIONS else v
    if isinstance(v, str):
        return '"%s"' % v if v else "(empty)"
    return str(v)


def _fmt_values(K, e, labels):
    t = e[K.TYPE]
    lo, hi, enum = e[K.LO], e[K.HI], e[K.ENUM]
    if t == K.BOOLEAN:
        return "true, false"
    if t == K.LIST:
        return "8 fixed actions, priority 0..8"
    if enum is not None:
        if labels and t == K.INTEGER:
            return labels
        s = ", ".join(str(x) for x in enum)
        if t == K.CSL:
            s = "items from: " + s + " (optional .phase suffix)"
        return s
    if t in (K.INTEGER, K.FLOAT):
        if lo is None:
            return ""
        return "%s .. %s" % (lo, hi)
    if t == K.STRING:
        s = "text"
        if e[K.FLAGS] & K.DIGITS:
            s = "digits"
        if e[K.FLAGS] & K.IPV4:
            s = "empty or IPv4 address"
        if lo is not None or hi is not None:
            s += " (%s..%s chars)" % (lo or 0, hi)
        return s
    return "text"


def _access(K, f):
    if f & K.RO:
        return "RO"
    return "RW, reboot" if f & K.REBOOT else "RW"


def _support(K, f):
    if f & K.BOTH == K.BOTH:
        return "both"
    return "DSCU" if f & K.DSCU else "SSCU"


def _notes(K, e):
    f = e[K.FLAGS]
    n = []
    if f & K.FUTURE:
        n.append("future use")
    if f & K.VOLATILE:
        n.append("set by firmware")
    if not f & K.RO and not f & K.VALIDATE:
        n.append("printed: no field validation")
    return ", ".join(n)


def _cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def render():
    K = load_keys()
    com = parse_comments()
    lines = [
        "# Configuration keys",
        "",
        "Generated by `tools/gen_config_docs.py` from `firmware/evse/config/keys.py` "
        "(itself generated by `tools/gen_config_keys.py`). Do not edit: change the generator "
        "and re-run both. `host_tests/unit/test_config_docs.py` fails when this file is stale.",
        "",
        "%d keys: the 149 of the controller manual (chapter 4), AuthorizationKey and "
        "SecurityProfile of the OCPP 1.6 security whitepaper, and the %d keys of OCPP 1.6 "
        "chapter 9 the manual lacks (%s), %d vendor keys of the boards' network "
        "interfaces (%s, evse.services.network), and the vendor keys %s; served by "
        "`evse.config.store.Config`."
        % (len(K.KEYS), len(ADDED_OCPP), ", ".join(ADDED_OCPP), len(NETWORK_KEYS),
           ", ".join(NETWORK_KEYS), ", ".join(OTHER_VENDOR_KEYS)),
        "",
        "## How the store behaves",
        "",
    ]
    for title, text in STORE_RULES:
        lines.append("- **%s**: %s" % (title, text))
    lines += [
        "",
        "## Keys",
        "",
        "Access: RO read-only, RW writable, reboot = the change is active after a reboot. "
        "Support: the models that have the key. Owner: the firmware module that gives the "
        "key its effect and declares it (_CONFIG_KEYS; docs/architecture.md, Services own "
        "their keys), `evse.` left out.",
        "",
        "| Key | Type | Values | Default | Access | Support | Unit | Owner | Notes | Summary |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    owners = load_owners()
    for e in K.KEYS:
        name = e[K.NAME]
        c = com.get(name, {})
        owner = owners.get(name, "")
        lines.append("| %s |" % " | ".join(_cell(x) for x in (
            "`%s`" % name, K.TYPE_NAMES[e[K.TYPE]], _fmt_values(K, e, c.get("values")),
            _fmt_default(K, e), _access(K, e[K.FLAGS]), _support(K, e[K.FLAGS]),
            e[K.UNIT] or "", owner[5:] if owner.startswith("evse.") else owner,
            _notes(K, e), c.get("summary", ""))))
    lines += [""] + ocpp_names(K)
    lines += ["## Decisions", "",
              "Choices made for this firmware where the manual is ambiguous, inconsistent or "
              "in conflict with OCPP 1.6.", ""]
    groups = []   # (decision, [names]) in table order; one line per distinct decision
    for e in K.KEYS:
        d = com.get(e[K.NAME], {}).get("decision")
        if not d:
            continue
        for g in groups:
            if g[0] == d:
                g[1].append(e[K.NAME])
                break
        else:
            groups.append((d, [e[K.NAME]]))
    for d, names in groups:
        lines.append("- **%s**: %s" % (", ".join(names), d))
    lines += ["", "## Readings of damaged source text", "",
              "How the extracted key data resolved places where the manual's text is broken "
              "(blocks split across pages, orphaned lines).", ""]
    for e in K.KEYS:
        d = com.get(e[K.NAME], {}).get("source")
        if d:
            lines.append("- **%s**: %s" % (e[K.NAME], d))
    return "\n".join(lines) + "\n"


def check_complete():
    """Problems that make the documentation incomplete (every key needs a summary)."""
    K = load_keys()
    com = parse_comments()
    return ["%s has no summary comment" % e[K.NAME] for e in K.KEYS if not com.get(e[K.NAME], {}).get("summary")]


def render_keyhelp():
    """firmware/evse/web/keyhelp.py: SUMMARY[i] is the summary of KEYS[i]."""
    K = load_keys()
    com = parse_comments()
    out = ["# What each configuration key does, as the website's configuration page shows\n"
           "# it under the key: SUMMARY[i] is the summary of config.keys.KEYS[i] (the\n"
           "# comment above its entry; docs/configuration.md has the same text with the\n"
           "# values, decisions and sources). A constant: in flash on a board, loaded\n"
           "# with the configuration page only.\n"
           "#\n"
           "# GENERATED by tools/gen_config_docs.py from firmware/evse/config/keys.py.\n"
           "try:\n"
           "    from micropython import const\n"
           "except ImportError:  # CPython\n"
           "    def const(x):  # type: ignore[no-redef]\n"
           "        return x\n\n"
           "SUMMARY = const((\n"]
    for e in K.KEYS:
        text = com.get(e[K.NAME], {}).get("summary", "")
        out.append("    # %s\n    %r,\n" % (e[K.NAME], text))
    out.append("))\n")
    return "".join(out)


def main(argv):
    rc = generate(OUT, check_complete(), render, argv, "tools/gen_config_docs.py")
    return rc or generate(HELP_OUT, [], render_keyhelp, argv, "tools/gen_config_docs.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
