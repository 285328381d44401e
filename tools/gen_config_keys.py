# Generates firmware/evse/config/keys.py (the configuration key table) from the
# extracted key data (config_keys.json, outside this repository), applying the
# firmware's decisions on the manual's ambiguities (OVERRIDES below).
#
# keys.py is generated once and committed; keep this generator so that the table
# can be re-made when the data or a decision changes: edit OVERRIDES here, never
# keys.py by hand, then run
#
#   python3 tools/gen_config_keys.py [--json PATH] [--check]
#   python3 tools/gen_config_docs.py            # docs/configuration.md follows keys.py
#
# --check exits 1 when keys.py differs from what would be generated.
#
# Each key's comment block in keys.py carries its one-line summary (paraphrased
# from the manual by the data extraction), "Values:" labels, "Decision:" (a
# firmware choice, from OVERRIDES) and "Source:" (how the extraction read a
# damaged passage). tools/gen_config_docs.py turns those into the documentation.
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from genfile import write_or_check  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "firmware", "evse", "config", "keys.py")
DEFAULT_JSON = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data", "config_keys.json")

TYPES = ("Integer", "Float", "Boolean", "String", "CSL", "List")
TYPE_CONST = ("INTEGER", "FLOAT", "BOOLEAN", "STRING", "CSL", "LIST")

# ---- shared value sets (one tuple each in keys.py) ---------------------------------
LED_COLORS = ("RED", "RED_BLINKING", "GREEN", "GREEN_BLINKING", "BLUE", "BLUE_BLINKING",
              "YELLOW", "YELLOW_BLINKING", "MAGENTA", "MAGENTA_BLINKING", "CYAN", "CYAN_BLINKING")
# OCPP 1.6 Measurand enumeration (MeterValues.json schema of OCPP 1.6).
MEASURANDS = ("Energy.Active.Export.Register", "Energy.Active.Import.Register",
              "Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
              "Energy.Active.Export.Interval", "Energy.Active.Import.Interval",
              "Energy.Reactive.Export.Interval", "Energy.Reactive.Import.Interval",
              "Power.Active.Export", "Power.Active.Import", "Power.Offered",
              "Power.Reactive.Export", "Power.Reactive.Import", "Power.Factor",
              "Current.Import", "Current.Export", "Current.Offered",
              "Voltage", "Frequency", "Temperature", "SoC", "RPM")
ALIGNED_MEASURANDS = ("Current.Import", "Energy.Active.Export.Register", "Energy.Active.Import.Register",
                      "Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
                      "Power.Active.Import", "Voltage", "Frequency")
# OCPP 1.6 Phase enumeration: "Voltage.L1" style suffixes in the measurand CSLs.
PHASES = ("L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1")
# The eight fixed scenario actions of the sensor Trigger/Recover lists (manual 5.6).
SENSOR_ACTIONS = ("StatusNotification", "StopTransaction", "UnlockConnector", "SetError",
                  "ClearError", "HardReset", "SetLEDIntensityLow", "SetLEDIntensityHigh")
SENSOR_TYPES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 99)
FEATURE_PROFILES = "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"

SHARED = (
    ("LED_COLORS", LED_COLORS),
    ("MEASURANDS", MEASURANDS),
    ("ALIGNED_MEASURANDS", ALIGNED_MEASURANDS),
    ("SENSOR_TYPES", SENSOR_TYPES),
)

# Keys whose value the firmware fills in at boot (set_internal) and never persists.
_VOLATILE_DECISION = ("Device fact filled in by the firmware at boot (Config.set_internal); "
                      "empty until then and never persisted, so a stale value cannot survive "
                      "a board or SIM swap. The manual prints a placeholder default.")

# ---- decisions -------------------------------------------------------------------
# key -> dict of field overrides + "decision" (why). Fields: type, lo, hi, enum,
# default, unit, add (flag names), remove (flag names), summary.
OVERRIDES = {
    "AuthorizationKey": dict(
        add=("WRITEONLY",),
        decision="Security whitepaper key, added: write-only (GetConfiguration lists it without a "
                 "value, diagnostics and the website never show it); empty = no Basic "
                 "authentication; otherwise 16..40 characters (A00.FR.205)."),
    "SecurityProfile": dict(
        decision="Security whitepaper key, added: only raised, never lowered (A05.FR.01); 1 and 2 "
                 "need an AuthorizationKey, 2 needs UseWebsocketSecure's RootCertificate; 3 (client "
                 "certificates) is refused: no charge point certificate management."),
    "HeartBeatInterval": dict(
        hi=65535, unit="s",
        decision="Maximum printed as 65234 is read as a typo for 65535 (the 16-bit range used by "
                 "BESPortnumber and MaxEnergyOnInvalidId); unit s as OCPP 1.6 9.1.10 defines it. "
                 "OCPP 1.6 9.1.10 spells it HeartbeatInterval: an alias of this key (see "
                 "OCPP key names)."),
    "AuthorisationCacheEnabled": dict(
        decision="OCPP 1.6 9.1.2 spells it AuthorizationCacheEnabled: an alias of this key (see "
                 "OCPP key names)."),
    "ChargingProfileMaxStackLevel": dict(
        decision="OCPP 1.6 9.4.1 names it ChargeProfileMaxStackLevel: an alias of this key (see "
                 "OCPP key names)."),
    "ChargingSchedulesMaxPeriods": dict(
        decision="OCPP 1.6 9.4.3 names it ChargingScheduleMaxPeriods: an alias of this key (see "
                 "OCPP key names)."),
    "StopTxnSampledData": dict(
        enum="MEASURANDS",
        decision="OCPP 1.6 9.1.27 key, added (required in Core, missing from the manual). Items "
                 "as for MeterValuesSampledData, at most StopTxnSampledDataMaxLength. Empty "
                 "default: StopTransaction.transactionData then carries only the "
                 "Transaction.Begin and Transaction.End energy readings. The readings kept "
                 "for one transaction are bounded to 8192 bytes of their MeterValue JSON (kept "
                 "in RAM in a compact form, lost on a power cut); when full, every second kept "
                 "reading is dropped and only every second later one is kept (the readings go "
                 "on spanning the whole transaction, at twice the spacing)."),
    "StopTxnAlignedData": dict(
        enum="ALIGNED_MEASURANDS",
        decision="OCPP 1.6 9.1.25 key, added (required in Core, missing from the manual). Items "
                 "as for MeterValuesAlignedData, at most StopTxnAlignedDataMaxLength; read at "
                 "every ClockAlignedDataInterval boundary of the transaction (context "
                 "Sample.Clock). Empty default; the same 8192-byte bound as StopTxnSampledData "
                 "(one budget for both)."),
    "TempLowerOffsetLimit": dict(
        type="Float", lo=0.0, hi=80.0, default=16.0,
        decision="Float, not Integer: the range 0.0 .. 80.0 and the default 16.0 are printed as "
                 "decimals like the other Float current keys (MinCurrentConnection, "
                 "NominalAmperage); integer text such as \"16\" is still accepted."),
    "TempUpperOffsetLimit": dict(
        type="Float", lo=0.0, hi=80.0, default=0.0,
        decision="Float, not Integer (same reasoning as TempLowerOffsetLimit)."),
    "NumberOfConnectors": dict(
        default=(1, 2), remove=("REBOOT", "VALIDATE"),
        decision="Default depends on the model: 1 on the SSCU, 2 on the DSCU. Read-only, so "
                 "the printed Reboot/Validation flags do not apply."),
    "PINCode": dict(
        type="String", lo=0, hi=8, default="", add=("DIGITS",),
        decision="Typed String of digits (empty allowed, at most 8): the manual says Integer but "
                 "its default is blank, and an Integer would drop a PIN's leading zeros."),
    "MessageResponseTimeOut": dict(
        unit="s", decision="Unit s (not printed; the description says it is a delay time)."),
    "OCPPProtocolsSupported": dict(
        default="ocpp1.6", enum=None, add=("RO",), remove=("REBOOT", "VALIDATE"),
        decision="Read-only CSL \"ocpp1.6\": this firmware speaks only OCPP 1.6-J, so a "
                 "ChangeConfiguration is Rejected. The manual prints it writable with JSON-array "
                 "text [\"ocpp1.6\"]; OCPP CSL values are plain comma-separated text."),
    "OCPPProtocolUsed": dict(
        default="ocpp1.6", add=("VOLATILE",),
        decision="Default \"ocpp1.6\" (the only protocol implemented); the OCPP layer may "
                 "set_internal() the negotiated subprotocol. Not persisted."),
    "MeterValuesSampledData": dict(
        enum="MEASURANDS", default="Energy.Active.Import.Register,Current.Import,Current.Offered",
        decision="Each item must be an OCPP 1.6 measurand, optionally with a phase suffix "
                 "(\"Voltage.L1\"); at most MeterValuesSampledDataMaxLength items, no duplicates; "
                 "validated although Field validation is printed No (OCPP 1.6 3.16.4 requires "
                 "Rejected for unsupported measurands). Default normalised to no spaces."),
    "MeterValuesAlignedData": dict(
        enum="ALIGNED_MEASURANDS",
        decision="Items limited to the eight measurands the manual lists (what the meters "
                 "deliver), optionally with a phase suffix; at most MeterValuesAlignedDataMaxLength "
                 "items, no duplicates; validated although Field validation is printed No."),
    "ChargingScheduleAllowedChargingRateUnit": dict(
        default="Current",
        decision="Value \"Current\" (OCPP 1.6 9.4.2 allows only Current and Power) instead of the "
                 "printed \"Current [A]\", which a Central System would not recognise."),
    "SupportedFeatureProfiles": dict(
        default=FEATURE_PROFILES,
        decision="Lists the six OCPP 1.6 profiles whose actions manual chapter 3 implements "
                 "(Reserve Now, Send Local List, Trigger Message, Set Charging Profile...), which is "
                 "also SupportedFeatureProfilesMaxLength = 6; the printed default names only three. "
                 "The OCPP layer may set_internal() what it really registers."),
    "ConnectorPhaseRotation": dict(
        default=("1.Unknown", "1.Unknown,2.Unknown"), enum=None,
        decision="Default depends on the model (one item per connector): \"1.Unknown\" on the "
                 "SSCU, \"1.Unknown,2.Unknown\" on the DSCU. Read-only, items "
                 "<connectorId>.<rotation>."),
    "ExternalSensor1Type": dict(
        enum="SENSOR_TYPES",
        decision="0 (not used) added to the allowed codes: it is the printed default and the way "
                 "to switch the sensor off again."),
    "ExternalSensor2Type": dict(
        enum="SENSOR_TYPES", decision="0 (not used) added to the allowed codes, as for ExternalSensor1Type."),
    "ExternalSensor1Name": dict(
        lo=0, hi=50,
        decision="At most 50 characters (it is reported in StatusNotification info, CiString50); "
                 "empty allowed (the manual's examples leave it empty for predefined types)."),
    "ExternalSensor2Name": dict(lo=0, hi=50, decision="As ExternalSensor1Name."),
    "TaglessIdTag1": dict(
        lo=1, hi=20,
        decision="1..20 characters (an OCPP IdToken is CiString20) and must differ from "
                 "TaglessIdTag2, compared case-insensitively like IdTokens."),
    "TaglessIdTag2": dict(
        lo=1, hi=20,
        decision="1..20 characters; rejected when equal to TaglessIdTag1 ignoring case (IdTokens "
                 "are case-insensitive). Support kept as printed (DSCU, SSCU)."),
    "ChargePointVendor": dict(
        lo=1, hi=20,
        decision="1..20 characters: it is sent as BootNotification chargePointVendor (CiString20); "
                 "a longer value would make every BootNotification invalid."),
    "Model": dict(lo=1, hi=20, decision="1..20 characters (BootNotification chargePointModel, CiString20)."),
    "TaglessCharging": dict(
        add=("VALIDATE",), decision="No Field validation line is printed; validated like every Boolean."),
    "LocalManagementPassword": dict(
        decision="Rotated by the firmware whenever a GetConfiguration reply would carry it "
                 "(Config.get_configuration with rng_bytes, manual 3.20), so the reply always "
                 "holds the password that is active; the new password is persisted."),
    "SerialNumber": dict(add=("VOLATILE",), decision=_VOLATILE_DECISION),
    "FirmwareVersionIOCU": dict(default="", add=("VOLATILE",), decision=_VOLATILE_DECISION),
    "FirmwareVersionMCU": dict(default="", add=("VOLATILE",), decision=_VOLATILE_DECISION),
    "MACAddress": dict(default="", add=("VOLATILE",), decision=_VOLATILE_DECISION),
    "ModemICCID": dict(default="", add=("VOLATILE",), decision=_VOLATILE_DECISION),
    "ModemIMSI": dict(default="", add=("VOLATILE",), decision=_VOLATILE_DECISION),
    "MinCurrentConnection": dict(
        decision="Must be <= MaxCurrentConnection (4.4) on both models and, on the DSCU only, "
                 "2 x MinCurrentConnection <= ChargePointCurrentLimit (6.2: \"smaller than "
                 "ChargePointCurrentLimit / 2\", read as \"both connectors can get their minimum\"; "
                 "load balancing exists only on the DSCU). Checked against the configured values "
                 "when any of the three keys changes."),
    "NominalAmperage": dict(
        decision="The charge rate of every connector while SmartChargingEnabled is false (manual "
                 "SmartChargingEnabled: \"charging will be done at nominal amperage\"), still "
                 "capped by MaxCurrentConnection, the cable and load balancing; with smart "
                 "charging, the rate of the first NominalPeriod seconds and wherever no "
                 "TxProfile/TxDefaultProfile applies. GetCompositeSchedule reports it."),
    "LEDIntensityLow": dict(
        decision="Default 5 kept as printed: SetLEDIntensityLow changes nothing until "
                 "LEDIntensityLow is configured lower."),
    "Connector2FlexCable": dict(
        decision="Support kept as printed (DSCU, SSCU) although connector 2 exists only on the DSCU."),
    "PrimaryConnection": dict(
        decision="Interfaces (evse.services.network): 1 (ethernet) is the board's wired "
                 "network.LAN (NUCLEO-F429ZI; an ESP32 with an Ethernet PHY set up in pins.py). "
                 "The boards have no modem, so on an ESP32 0 (mobile) stands for its wireless "
                 "uplink, the WLAN station (network.WLAN(STA_IF), NetworkWLANSSID): both are "
                 "the radio link of the manual's hardware. A value whose interface the board "
                 "lacks (0 on the NUCLEO, 1 on a plain ESP32; WLAN without an SSID) counts as "
                 "down at once: the other one is used and the missing one is not retried. The "
                 "primary gets 60 s to come up, then the secondary is tried; while on the "
                 "secondary the primary is tried again every 4 hours (kept if it comes up "
                 "within 60 s). The simulator has one interface, \"sim\" (always up), for both "
                 "values."),
    "SecondaryConnection": dict(
        decision="As PrimaryConnection: 0 = the ESP32's WLAN station, 1 = the wired LAN. Equal "
                 "to PrimaryConnection means no fallback: the one interface is retried."),
    "NetworkWLANPassword": dict(
        add=("WRITEONLY",),
        decision="Vendor key, added: write-only like AuthorizationKey (GetConfiguration lists "
                 "it without a value, diagnostics and the website never show it); empty = an "
                 "open network, otherwise 8..63 characters (WPA2 passphrase)."),
    "NetworkDHCP": dict(
        decision="Vendor key, added. false needs NetworkIPAddress and NetworkNetmask (checked "
                 "whenever one of the three changes); NetworkGateway and NetworkDNS may stay "
                 "empty (0.0.0.0: no route / no name server, so BESURL must then be an "
                 "address)."),
    "ModemSignalStrengthInterval": dict(
        decision="Unit s kept as the description states, although 10080/1440 look like minutes."),
}

# Every List key: same rules, same canonical default.
_LIST_DECISION = ("Exactly the eight fixed actions, each once, in any order; action names match "
                  "ignoring case (the manual spells both SetLEDIntensity* and SetLedIntensity*); "
                  "priorities are integers 0..8. Stored and reported as compact JSON text in the "
                  "fixed action order with the manual's spelling.")

# Keys that are validated against their enum although Field validation is printed No.
_ENUM_DECISION = ("Validated against the listed values although Field validation is printed No: "
                  "any other value could not be applied. Matched ignoring case, stored in the "
                  "listed spelling.")


def _flags_of(k, ov):
    names = []
    if k["readonly"]:
        names.append("RO")
    else:
        if k["reboot_required"]:
            names.append("REBOOT")
        if k["field_validation"]:
            names.append("VALIDATE")
    sup = k["support"]
    if "DSCU" in sup and "SSCU" in sup:
        names.append("BOTH")
    elif "DSCU" in sup:
        names.append("DSCU")
    else:
        names.append("SSCU")
    if k["future_use"]:
        names.append("FUTURE")
    if k.get("format"):
        names.append(k["format"])
    for n in ov.get("add", ()):
        if n not in names:
            names.append(n)
    if "RO" in names:  # reboot / validation are N/A for read-only keys
        names = [n for n in names if n not in ("REBOOT", "VALIDATE")]
    for n in ov.get("remove", ()):
        if n in names:
            names.remove(n)
    return names


def lit(v):
    if v is None or v is True or v is False:
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, tuple):
        inner = ", ".join(lit(x) for x in v)
        return "(" + inner + ("," if len(v) == 1 else "") + ")"
    raise TypeError(v)


def lit_block(name, t, width=92, const=False):
    """NAME = (...) wrapped over several lines; const: NAME = const((...)), a
    constant the compiler puts in place of each use (in flash on a board)."""
    items = [lit(x) for x in t]
    lines = []
    cur = "    "
    for it in items:
        if len(cur) + len(it) + 2 > width and cur.strip():
            lines.append(cur.rstrip())
            cur = "    "
        cur += it + ", "
    lines.append(cur.rstrip())
    if const:
        return "%s = const((\n%s\n))\n" % (name, "\n".join(lines))
    return "%s = (\n%s\n)\n" % (name, "\n".join(lines))


def _enum_ref(enum):
    if enum is None:
        return "None"
    if isinstance(enum, str):
        return enum
    t = tuple(enum)
    for name, val in SHARED:
        if t == val:
            return name
    return lit(t)


def wrap(prefix, text, cont="#   ", width=92):
    words = text.split()
    lines = []
    cur = prefix
    for w in words:
        if len(cur) + 1 + len(w) > width and cur.strip() not in ("#", prefix.strip()):
            lines.append(cur)
            cur = cont + w
        else:
            cur = cur + ("" if cur.endswith(" ") else " ") + w
    lines.append(cur)
    return lines


def entry(k):
    name = k["key"]
    ov = OVERRIDES.get(name, {})
    typ = ov.get("type", k["type"])
    t = TYPES.index(typ)
    vals = k["values"] or {}
    enum = ov["enum"] if "enum" in ov else vals.get("enum")
    if typ == "Boolean":
        enum = None
    lo = ov.get("lo", vals.get("min"))
    hi = ov.get("hi", vals.get("max"))
    if typ == "Float":
        lo = None if lo is None else float(lo)
        hi = None if hi is None else float(hi)
    elif typ == "Integer":
        lo = None if lo is None else int(lo)
        hi = None if hi is None else int(hi)
    default = ov["default"] if "default" in ov else k["default"]
    decision = ov.get("decision")
    if typ == "List":
        default = "NO_ACTIONS"
        decision = _LIST_DECISION
        enum = None
    elif typ == "Float" and default is not None and not isinstance(default, tuple):
        default = float(default)
    elif typ == "String" and default is None:
        default = ""
    if name.startswith("LEDcolor_") or name == "gprsQcfgBand":
        decision = _ENUM_DECISION
    flags = _flags_of(k, ov)
    comments = []
    summary = ov.get("summary", k["summary"])
    comments += wrap("#", summary, cont="# ")
    labels = vals.get("labels")
    if enum == "SENSOR_TYPES":
        labels = dict([("0", "not used")] + list(labels.items()))
    if labels:
        comments += wrap("# Values:", ", ".join("%s = %s" % (a, b) for a, b in labels.items()))
    if decision:
        comments += wrap("# Decision:", decision)
    if k.get("resolved"):
        comments += wrap("# Source:", k["resolved"])
    dlit = default if default == "NO_ACTIONS" else lit(default)
    line = "    (%s, %s, %s, %s, %s, %s, %s, %s)," % (
        lit(name), TYPE_CONST[t], " | ".join(flags), lit(lo), lit(hi), _enum_ref(enum), dlit, lit(k["unit"]))
    return ["    " + c for c in comments] + [line]


HEADER = '''\
# The configuration keys of the manual (chapter 4, 149 keys), plus the OCPP 1.6 keys
# it lacks (security whitepaper: AuthorizationKey, SecurityProfile; chapter 9:
# StopTxnAlignedData, StopTxnSampledData and their MaxLength keys) and the vendor
# Network* keys of the boards' interfaces (evse.services.network), LogLevel and the
# EKM meter numbers (EkmMeterNumber1/2, evse.metering.ekm), as compact data: one
# tuple per key, no object per key (docs/architecture.md, memory).
#
# GENERATED by tools/gen_config_keys.py: change a decision there and re-run it,
# then tools/gen_config_docs.py (docs/configuration.md is made from this file,
# including the comment lines above each entry).
#
# Entry: (name, type, flags, lo, hi, enum, default, unit)
#   type     INTEGER FLOAT BOOLEAN STRING CSL LIST
#   flags    RO read-only | REBOOT change active after reboot | VALIDATE field
#            validation printed Yes | DSCU, SSCU, BOTH support | FUTURE inactive in
#            the manual's firmware | VOLATILE firmware fact, not persisted |
#            DIGITS string of digits only | WRITEONLY never shown by GetConfiguration |
#            IPV4 empty or a dotted-quad IPv4 address
#   lo, hi   value range (INTEGER, FLOAT) or length range (STRING); else None
#   enum     allowed values (INTEGER, STRING) or allowed items (CSL); else None
#   default  typed value; a 2-tuple (sscu, dscu) when it depends on the model;
#            LIST defaults are the canonical JSON text
#   unit     str or None
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

INTEGER = const(0)
FLOAT = const(1)
BOOLEAN = const(2)
STRING = const(3)
CSL = const(4)
LIST = const(5)
TYPE_NAMES = ("Integer", "Float", "Boolean", "String", "CSL", "List")

RO = const(1)
REBOOT = const(2)
VALIDATE = const(4)
DSCU = const(8)
SSCU = const(16)
BOTH = const(24)
FUTURE = const(32)
VOLATILE = const(64)
DIGITS = const(128)
WRITEONLY = const(256)
IPV4 = const(512)

# entry field indexes
NAME = const(0)
TYPE = const(1)
FLAGS = const(2)
LO = const(3)
HI = const(4)
ENUM = const(5)
DEFAULT = const(6)
UNIT = const(7)

'''


def _chunks(s, n=80):
    """Split s at ", " boundaries into pieces of at most about n characters."""
    parts = []
    cur = ""
    for piece in s.split(", "):
        nxt = piece if not cur else cur + ", " + piece
        if len(nxt) > n and cur:
            parts.append(cur + ", ")
            cur = piece
        else:
            cur = nxt
    parts.append(cur)
    return parts


# OCPP 1.6 security whitepaper (edition 3, section 7) keys the manual lacks:
# security profile 1/2 need AuthorizationKey (HTTP Basic password).
SECURITY_KEYS = [
    {"key": "AuthorizationKey", "support": ["DSCU", "SSCU"], "type": "String", "readonly": False,
     "values": {"min": 16, "max": 40}, "default": "", "reboot_required": False,
     "field_validation": True, "unit": None, "future_use": False,
     "summary": "Password of HTTP Basic authentication to the Central System (security "
                "profiles 1 and 2; user = the charge point identity). Write-only: "
                "GetConfiguration never shows it. A change reconnects with the new password.",
     "resolved": None, "note": "OCPP 1.6 security whitepaper 7.2; not in the manual."},
    {"key": "SecurityProfile", "support": ["DSCU", "SSCU"], "type": "Integer", "readonly": False,
     "values": {"min": 0, "max": 2}, "default": 0, "reboot_required": False,
     "field_validation": True, "unit": None, "future_use": False,
     "summary": "0 no authentication, 1 HTTP Basic over ws, 2 HTTP Basic over wss (TLS). "
                "Can only be raised; 1 and 2 need AuthorizationKey, 2 needs RootCertificate. "
                "Profile 3 (client certificates) is not supported.",
     "resolved": None, "note": "OCPP 1.6 security whitepaper 7.6; not in the manual."},
]
OVERRIDES_WRITEONLY = ("AuthorizationKey", "NetworkWLANPassword")


def _net_key(name, typ, values, default, summary, fmt=None):
    return {"key": name, "support": ["DSCU", "SSCU"], "type": typ, "readonly": False,
            "values": values, "default": default, "reboot_required": True,
            "field_validation": True, "unit": None, "future_use": False,
            "summary": summary, "resolved": None, "format": fmt,
            "note": "vendor key (evse.services.network); not in the manual."}


# Vendor keys the manual's hardware did not need (it had a modem and a fixed
# Ethernet setup): credentials and addressing of the boards' interfaces
# (evse.services.network). All take effect after a reboot, like
# PrimaryConnection: a remote change never cuts the link it arrives on.
NETWORK_KEYS = [
    _net_key("NetworkWLANSSID", "String", {"min": 0, "max": 32}, "",
             "Name (SSID) of the wireless network the ESP32's WLAN station joins (connection "
             "0 on an ESP32, see PrimaryConnection); empty = no WLAN."),
    _net_key("NetworkWLANPassword", "String", {"min": 8, "max": 63}, "",
             "Passphrase of NetworkWLANSSID. Write-only: GetConfiguration never shows it."),
    _net_key("NetworkDHCP", "Boolean", None, True,
             "true: address, netmask, gateway and name server come from DHCP; false: the "
             "static NetworkIPAddress, NetworkNetmask, NetworkGateway, NetworkDNS are used "
             "(on every interface)."),
    _net_key("NetworkIPAddress", "String", None, "",
             "Static IPv4 address (dotted quad) when NetworkDHCP is false.", fmt="IPV4"),
    _net_key("NetworkNetmask", "String", None, "",
             "Static IPv4 netmask (dotted quad, e.g. 255.255.255.0) when NetworkDHCP is false.",
             fmt="IPV4"),
    _net_key("NetworkGateway", "String", None, "",
             "Static default gateway (dotted quad) when NetworkDHCP is false; empty = none.",
             fmt="IPV4"),
    _net_key("NetworkDNS", "String", None, "",
             "Static name server (dotted quad) when NetworkDHCP is false; empty = none.",
             fmt="IPV4"),
]


# The console log's level (evse.services.log; docs/troubleshooting.md, logs):
# a vendor key, so that an engineer can raise it from the website or the
# Central System without a new image; the simulator's --log-level overrides it.
LOG_KEYS = [
    {"key": "LogLevel", "support": ["DSCU", "SSCU"], "type": "String", "readonly": False,
     "values": {"enum": ["off", "error", "warn", "info", "debug"]}, "default": "warn",
     "reboot_required": False, "field_validation": True, "unit": None, "future_use": False,
     "summary": "Lines printed on the controller's console (the simulator's stdout): off, or "
                "error, warn, info or debug and everything more severe. The error history "
                "and the recent events keep error, warn and info lines whatever the level "
                "(the website's Log page, GetDiagnostics); debug lines only reach the console.",
     "resolved": None, "note": "vendor key (evse.services.log); not in the manual."},
]


# The meter numbers of MeterType 10 (EKM Omnimeter Pulse UL v.4, EKM's own
# protocol, evse.metering.ekm): an EKM meter answers only requests naming its
# 12-digit meter number, its serial number, fixed at the factory. The
# manual's controller has no key for it; the defaults are the numbers the
# driver asked before the keys existed (connector N: meter number N).
def _ekm_key(n, support):
    return {"key": "EkmMeterNumber%d" % n, "support": support, "type": "String",
            "readonly": False, "values": {"min": 1, "max": 12}, "default": "%012d" % n,
            "reboot_required": True, "field_validation": True, "unit": None,
            "future_use": False, "format": "DIGITS",
            "summary": "MeterType 10 (EKM v.4): the number of connector %d's EKM meter, "
                       "printed on it; 1 to 12 digits." % n,
            "resolved": None, "note": "vendor key (evse.metering.ekm); not in the manual."}


METER_KEYS = [_ekm_key(1, ["DSCU", "SSCU"]), _ekm_key(2, ["DSCU"])]


def _ocpp_key(name, typ, readonly, values, default, section, summary):
    return {"key": name, "support": ["DSCU", "SSCU"], "type": typ, "readonly": readonly,
            "values": values, "default": default, "reboot_required": False,
            "field_validation": not readonly, "unit": None, "future_use": False,
            "summary": summary, "resolved": None,
            "note": "OCPP 1.6 %s; not in the manual." % section}


# OCPP 1.6 chapter 9 keys of the supported profiles the manual lacks (9.1.25-9.1.28:
# StopTxn*Data are required in Core; their MaxLength companions are optional, read-only
# and listed so a Central System knows the bound). Every other key of 9.1-9.4 exists
# in the manual, under the same name or under a spelling ALIASES maps (OCPP_ALIASES).
OCPP_KEYS = [
    _ocpp_key("StopTxnAlignedData", "CSL", False, None, "", "9.1.25",
              "Clock-aligned measurands put into StopTransaction.transactionData for every "
              "ClockAlignedDataInterval boundary during the transaction."),
    _ocpp_key("StopTxnAlignedDataMaxLength", "Integer", True, None, 8, "9.1.26",
              "Read-only maximum number of measurands in StopTxnAlignedData."),
    _ocpp_key("StopTxnSampledData", "CSL", False, None, "", "9.1.27",
              "Sampled measurands put into StopTransaction.transactionData every "
              "MeterValueSampleInterval seconds from the start of the transaction."),
    _ocpp_key("StopTxnSampledDataMaxLength", "Integer", True, None, 8, "9.1.28",
              "Read-only maximum number of measurands in StopTxnSampledData."),
]

# OCPP 1.6 chapter 9 names of keys the manual spells differently: (OCPP name, manual
# name, OCPP section). Aliases, not copies: both names reach one stored value; a
# GetConfiguration answers under the name asked, and one without keys lists both.
OCPP_ALIASES = (
    ("AuthorizationCacheEnabled", "AuthorisationCacheEnabled", "9.1.2"),
    ("HeartbeatInterval", "HeartBeatInterval", "9.1.10"),
    ("ChargeProfileMaxStackLevel", "ChargingProfileMaxStackLevel", "9.4.1"),
    ("ChargingScheduleMaxPeriods", "ChargingSchedulesMaxPeriods", "9.4.3"),
)


def render(data):
    out = [HEADER]
    for name, val in SHARED:
        out.append(lit_block(name, val, const=True))
    out.append("# OCPP 1.6 phases, allowed as a \".<phase>\" suffix of a measurand item\n")
    out.append(lit_block("PHASES", PHASES))
    out.append("# the fixed actions of the sensor Trigger/Recover lists (manual 5.6), in list order\n")
    out.append(lit_block("SENSOR_ACTIONS", SENSOR_ACTIONS))
    noact = "[" + ", ".join('[0, "%s"]' % a for a in SENSOR_ACTIONS) + "]"
    out.append("NO_ACTIONS = const((\n    %s\n))\n" % "\n    ".join(repr(x) for x in _chunks(noact)))
    out.append("# OCPP 1.6 chapter 9 spellings of keys the manual names differently\n"
               "# (OCPP name, manual name): aliases of one stored value\n")
    out.append("ALIASES = (\n%s)\n\n" % "".join(
        "    (%s, %s),  # OCPP 1.6 %s\n" % (lit(a), lit(m), sec) for a, m, sec in OCPP_ALIASES))
    out.append("KEYS = (\n")
    for k in data:
        out.append("\n".join(entry(k)) + "\n")
    out.append(")\n")
    names = [k["key"] for k in data]
    order = sorted(range(len(names)), key=lambda i: names[i])
    out.append("\n# KEYS indexes in the order of the names (str comparison): the store finds a\n"
               "# key by binary search over it, a constant in flash, instead of a name -> entry\n"
               "# dictionary on the heap. The shared tuples (MEASURANDS, NO_ACTIONS...) are\n"
               "# const(): the compiler puts each in place of its uses, so every entry and\n"
               "# KEYS itself are constants in flash (measured on the emulated Cortex-M3:\n"
               "# the module's import cost 2,368 -> 544 bytes of heap, +1.4 KB of flash;\n"
               "# the .mpy repeats the tuples' strings, a frozen image stores them once)\n")
    out.append(lit_block("ORDER", order))
    return "".join(out)


def main(argv):
    path = DEFAULT_JSON
    check = False
    i = 0
    while i < len(argv):
        if argv[i] == "--json":
            path = argv[i + 1]
            i += 1
        elif argv[i] == "--check":
            check = True
        else:
            print("usage: gen_config_keys.py [--json PATH] [--check]", file=sys.stderr)
            return 2
        i += 1
    with open(path) as f:
        data = json.load(f) + SECURITY_KEYS + OCPP_KEYS + NETWORK_KEYS + LOG_KEYS + METER_KEYS
    unknown = set(OVERRIDES) - set(k["key"] for k in data)
    if unknown:
        print("OVERRIDES name unknown keys: %s" % sorted(unknown), file=sys.stderr)
        return 2
    names = set(k["key"] for k in data)
    bad = [a for a, m, _ in OCPP_ALIASES if a in names or m not in names]
    if bad:
        print("OCPP_ALIASES: %s must name a missing key as an existing one" % bad, file=sys.stderr)
        return 2
    text = render(data)
    return write_or_check(OUT, text, check, "tools/gen_config_keys.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
