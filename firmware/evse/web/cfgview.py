# The configuration as the local management website shows it: keys grouped by
# subject, each with its value, what values it takes, read-only/reboot marks
# and a change form; the reason a change was refused; the JSON of /api/config.
#
# Reading the configuration here never rotates LocalManagementPassword (only a
# GetConfiguration from the Central System does, manual 3.20), and secret
# values (passwords, keys, PIN, tagless ids: diagnostics.is_secret) are never
# shown: a secret key reads "(hidden)" and its form starts empty.
from evse.config import keys as K
from evse.services.log import is_secret
from evse.web.markup import esc, hidden, message

# (group, name prefixes); the first group with a matching prefix wins
GROUPS = (
    ("Device", ("FirmwareVersion", "MACAddress", "Model", "SerialNumber", "NumberOfConnectors",
                "ChargePointVendor", "DetailedWarningMessages")),
    ("Central System", ("BES", "NodeId", "HeartBeat", "WebSocket", "UseWebsocket", "OCPP",
                        "MessageResponse", "TransactionMessage", "Registered", "OfflineMode",
                        "GetConfiguration", "SupportedFeature", "ReserveConnector", "ResetRetries",
                        "PrimaryConnection", "SecondaryConnection", "Network", "ClientCertificate",
                        "ClientKey", "RootCertificate", "FTP")),
    ("Authorization", ("Authori", "LocalAuth", "LocalPre", "LocalManagement", "AllowOffline",
                       "Tagless", "RFID", "MaxEnergyOnInvalidId", "StopTransactionOnInvalidId",
                       "SendLocalList", "PINCode")),
    ("Smart charging", ("ChargeProfile", "ChargingProfile", "ChargingSchedule", "SmartCharging",
                        "MaxChargingProfiles")),
    ("Connectors", ("Connector", "MaxCurrent", "MinCurrent", "ChargePointCurrentLimit", "L1Active",
                    "L2Active", "L3Active", "Flex", "3Stage", "InversedServo", "SafetyRelay",
                    "RelayHelper", "PlugPresent", "ConnectionTimeOut", "StartTransactionDelay", "StopTransactionOnEV",
                    "UnlockConnector", "Nominal", "MainsVoltage")),
    ("Metering", ("Meter", "ClockAligned")),
    ("Sensors", ("ExternalSensor", "VoltageSensor", "VoltageLimit", "OverVoltage", "UnderVoltage",
                 "Temp")),
    ("Indicators", ("Led", "LED", "IdleLed", "Blinking", "Buzzer")),
    ("Modem", ("gprs", "Modem", "SMS")),
)
OTHER = "Other"

# keys checked together with another one (evse.config.store cross-key rules)
RELATED = (
    ("TaglessIdTag1", "TaglessIdTag2", "the two tagless ids must differ"),
    ("MinCurrentConnection", "MaxCurrentConnection", "MinCurrentConnection <= MaxCurrentConnection"),
    ("MinCurrentConnection", "ChargePointCurrentLimit",
     "2 x MinCurrentConnection <= ChargePointCurrentLimit on a DSCU"),
    ("NetworkDHCP", "NetworkIPAddress", "NetworkDHCP false needs NetworkIPAddress"),
    ("NetworkDHCP", "NetworkNetmask", "NetworkDHCP false needs NetworkNetmask"),
)


def group_of(name: str) -> str:
    for g, prefixes in GROUPS:
        for p in prefixes:
            if name.startswith(p):
                return g
    return OTHER


def _entry(name: str):
    for e in K.KEYS:
        if e[K.NAME] == name:
            return e
    return None


def describe(name: str, e=None) -> str:
    """What values a key takes, in words: "Integer 0..65535 s", "one of ..."."""
    if e is None:
        e = _entry(name)
    if e is None:
        return ""
    t = e[K.TYPE]
    lo, hi, enum, unit = e[K.LO], e[K.HI], e[K.ENUM], e[K.UNIT]
    if t == K.BOOLEAN:
        return "true or false"
    if t == K.LIST:
        return "actions list [[priority, action], ...]"
    if enum is not None:
        items = ", ".join([str(x) for x in enum])
        return ("comma-separated list of: " if t == K.CSL else "one of: ") + items
    s = K.TYPE_NAMES[t]
    if t == K.STRING:
        if e[K.FLAGS] & K.DIGITS:
            s = "digits"
        if e[K.FLAGS] & K.IPV4:
            s = "empty or an IPv4 address (a.b.c.d)"
        if lo is not None or hi is not None:
            s += " (%s..%s characters)" % ("0" if lo is None else lo, "" if hi is None else hi)
    elif lo is not None or hi is not None:
        s += " %s..%s" % ("" if lo is None else lo, "" if hi is None else hi)
    if unit:
        s += " " + unit
    return s


def reason(config, name: str, result: str, errors_before: int) -> str:
    """Why config.change(name, ...) answered `result` ("" when it was taken)."""
    if result == "NotSupported":
        return "no such key on this controller"
    if result != "Rejected":
        return ""
    key = config.canonical(name)
    if config.readonly(key):
        return "read-only key"
    if len(config.errors) > errors_before:
        return "could not be stored: " + config.errors[-1]
    why = "invalid value: expected " + describe(key)
    for a, b, text in RELATED:
        if key == a or key == b:
            why += "; also checked: " + text
    return why


def shown(config, name: str, configured: bool = True) -> str:
    if is_secret(name):
        # the configured value: a reboot key's secret is set before it is active
        return "(hidden)" if config.get_str(name, configured) else "(not set)"
    return config.get_str(name, configured)


def page(config, csrf: str, msg: str = "", error: bool = False):
    """The configuration page body, streamed: one table per group."""
    items = config.get_configuration()[0]     # no rng: the password stays as it is
    pending = config.reboot_pending()
    yield message(msg, error)
    if pending:
        yield message("Active after the next reboot: " + ", ".join(pending))
    index = {}   # type: dict
    for k in K.KEYS:
        index[k[K.NAME]] = k
    tagged = [(group_of(it["key"]), it) for it in items]
    for g in [g for g, _ in GROUPS] + [OTHER]:
        rows = [it for gi, it in tagged if gi == g]
        if not rows:
            continue
        yield "<h2>" + esc(g) + "</h2><table><tr><th>Key</th><th>Value</th><th>Values</th><th>Change</th></tr>"
        for it in rows:
            name = it["key"]
            value = shown(config, name)
            if name in pending:
                value += " (active until reboot: %s)" % shown(config, name, False)
            e = index.get(name)
            marks = []
            if it["readonly"]:
                marks.append("read-only")
            elif e is not None and e[K.FLAGS] & K.REBOOT:
                marks.append("reboot required")
            if it["readonly"]:
                change = "<td class=\"ro\">read-only</td>"
            else:
                cur = "" if is_secret(name) else config.get_str(name, True)
                change = ("<td><form class=\"i\" method=\"post\" action=\"/config\">"
                          + hidden("csrf", csrf) + hidden("key", name)
                          + "<input type=\"text\" name=\"value\" value=\"" + esc(cur)
                          + "\" aria-label=\"" + esc(name) + "\"><button>Set</button></form></td>")
            yield ("<tr><td" + (" class=\"ro\"" if it["readonly"] else "") + ">" + esc(name)
                   + "</td><td>" + esc(value) + "</td><td>" + esc(describe(name, e))
                   + ("<br><i>" + esc(", ".join(marks)) + "</i>" if marks else "")
                   + "</td>" + change + "</tr>")
        yield "</table>"


def as_json(config, key: str = ""):
    """/api/config entries, one at a time: {"key", "value", "readonly",
    "group"} (secret values null)."""
    for it in config.get_configuration([key] if key else None)[0]:
        d = {"key": it["key"], "value": it.get("value"), "readonly": it["readonly"],
             "group": group_of(it["key"])}
        if is_secret(it["key"]):
            d["value"] = None
            d["secret"] = True
        yield d
