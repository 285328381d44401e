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
                "ChargePointVendor", "DetailedWarningMessages", "LogLevel")),
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


# MeterType's names (manual 4.x, docs/configuration.md)
METER_NAMES = ("ABB B23", "Carlo Gavazzi EM24DIN", "Pulse meter", "Eastron SDM630",
               "Carlo Gavazzi EM340", "Phoenix Contacts EEM350", "Tele S6 XM50A 1000VM",
               "Tele S9 XM300A 1000VM", "EKM Omnimeter Pulse UL v.4 Modbus",
               "EKM Metering Omnimeter Pulse UL v.4", "Konect 1.4", "CET PMC-340",
               "Carlo Gavazzi EM111", "Eastron SDM230", "Iskra WM3-6", "Schrack MGRZK465")


def warning(name: str, value: str) -> str:
    """A value the key accepts but with which the station will not work as
    meant ("" when none)."""
    if name == "MeterType" and value.isdigit():
        from evse.metering import regmap
        t = int(value)
        why = regmap.refusal(t)
        if why and t != regmap.PULSE_METER:
            why = why.split(": ", 1)[-1]        # "MeterType 7: no register map"
            return "MeterType %d (%s): %s; the meter will report PowerMeterFailure" % (
                t, METER_NAMES[t - 1] if 0 < t <= len(METER_NAMES) else "?", why)
    return ""


def _default(config, e) -> str:
    d = e[K.DEFAULT]
    if type(d) is tuple:
        d = d[1] if config.model == "dscu" else d[0]
    if type(d) is bool:
        return "true" if d else "false"
    return "(empty)" if d == "" else str(d)


def control(name: str, e, cur: str) -> str:
    """The input of a key's change form: checkbox, select, number or text."""
    lab = " aria-label=\"" + esc(name) + "\""
    if e is not None:
        t, lo, hi, enum = e[K.TYPE], e[K.LO], e[K.HI], e[K.ENUM]
        if t == K.BOOLEAN:
            return (hidden("bool", "1") + "<input type=\"checkbox\" name=\"value\" value=\"true\""
                    + (" checked" if cur == "true" else "") + lab + ">")
        if enum is not None and t != K.CSL:
            out = ["<select name=\"value\"" + lab + ">"]
            for v in enum:
                v = str(v)
                label = v
                if name == "MeterType":
                    label = v + " " + METER_NAMES[int(v) - 1]
                out.append("<option value=\"" + esc(v) + "\"" + (" selected" if v == cur else "")
                           + ">" + esc(label) + "</option>")
            return "".join(out) + "</select>"
        if t == K.INTEGER or t == K.FLOAT:
            return ("<input type=\"number\" name=\"value\" value=\"" + esc(cur) + "\""
                    + ("" if lo is None else " min=\"%s\"" % lo)
                    + ("" if hi is None else " max=\"%s\"" % hi)
                    + (" step=\"any\"" if t == K.FLOAT else "") + lab + ">")
    return "<input type=\"text\" name=\"value\" value=\"" + esc(cur) + "\"" + lab + ">"


def page(config, csrf: str, msg: str = "", error: bool = False):
    """The configuration page body, streamed: one table per group."""
    items = config.get_configuration()[0]     # no rng: the password stays as it is
    pending = config.reboot_pending()
    yield message(msg, error)
    if pending:
        yield message("Active after the next reboot: " + ", ".join(pending))
    yield ("<p><label>Find a key <input type=\"search\" id=\"q\" placeholder=\"name or words, e.g. meter\">"
           "</label> <small>What each key does, its range, unit and default are the key table's "
           "(docs/configuration.md has them with the manual's notes).</small></p>")
    from evse.web.keyhelp import SUMMARY
    index = {}   # type: dict  # name -> KEYS index
    for i in range(len(K.KEYS)):
        index[K.KEYS[i][K.NAME]] = i
    tagged = [(group_of(it["key"]), it) for it in items]
    for g in [g for g, _ in GROUPS] + [OTHER]:
        rows = [it for gi, it in tagged if gi == g]
        if not rows:
            continue
        yield ("<section class=\"grp\"><h2>" + esc(g)
               + "</h2><table><tr><th>Key</th><th>Value</th><th>Change</th></tr>")
        for it in rows:
            name = it["key"]
            value = shown(config, name)
            if name in pending:
                value += " (active until reboot: %s)" % shown(config, name, False)
            i = index.get(name)
            e = None if i is None else K.KEYS[i]
            summary = "" if i is None else SUMMARY[i]
            marks = []
            if it["readonly"]:
                marks.append("read-only")
            elif e is not None and e[K.FLAGS] & K.REBOOT:
                marks.append("reboot required")
            about = describe(name, e)
            if e is not None and not is_secret(name):    # a secret's default is secret too
                about += "; default " + _default(config, e)
            warn = warning(name, config.get_str(name, True))
            if it["readonly"]:
                change = "<td class=\"ro\">read-only</td>"
            else:
                cur = "" if is_secret(name) else config.get_str(name, True)
                change = ("<td><form class=\"i set\" method=\"post\" action=\"/config\">"
                          + hidden("csrf", csrf) + hidden("key", name) + control(name, e, cur)
                          + " <button>Set</button> <span class=\"res\"></span></form></td>")
            yield ("<tr data-k=\"" + esc(name) + "\" id=\"k-" + esc(name) + "\"><td"
                   + (" class=\"ro\"" if it["readonly"] else "") + "><b>" + esc(name) + "</b>"
                   + ("<p class=\"d\">" + esc(summary) + "</p>" if summary else "<br>") + "<small>"
                   + esc(about) + ("<br><i>" + esc(", ".join(marks)) + "</i>" if marks else "")
                   + "</small></td><td id=\"v-" + esc(name) + "\"" + (" data-s=\"1\"" if is_secret(name) else "")
                   + ">" + esc(value) + ("<div class=\"msg err\">" + esc(warn) + "</div>" if warn else "")
                   + "</td>" + change + "</tr>")
        yield "</table></section>"
    yield "<script src=\"/app.js\"></script>"


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
