# Payload shapes of OCPP 1.6 (JSON schemas of the `ocpp` package, errata
# applied: BootNotification.conf interval and UpdateFirmware retries are
# integers) as one compact table, and a validator that answers with the
# OCPP-J CALLERROR code to send. No jsonschema on MicroPython: this is data.
#
#   CALLS    the 19 Central-System-initiated actions -> request fields
#   RESULTS  the 10 Charge-Point-initiated actions -> response (.conf) fields
#   OTHER    further OCPP 1.6 action names (the CP's own requests and the
#            security extension): recognised, so NotSupported, not
#            NotImplemented, when received and not handled.
#
# A field is (name, required, kind, arg):
#   STR  arg = maxLength (0 = none)      INT   integer (bool is not one)
#   NUM  int or float (multipleOf 0.1 of limits is not enforced: the
#        smart charging layer rounds)    BOOL
#   TIME ISO 8601 date-time string       URI   string
#   ENUM arg = tuple of values           OBJ   arg = tuple of fields
#   ARR  arg = (item kind, item arg, minItems)
#
# Error codes (OCPP-J 1.6 section 4.2.3, spellings as published and kept by
# the errata's "will not be fixed" list):
#   payload not an object, unknown field   FormationViolation (not the PDU
#                                          structure; additionalProperties)
#   required field missing                 ProtocolError ("payload for Action
#                                          is incomplete"; the `ocpp`
#                                          library does the same). MISSING
#                                          below is the one place to change it.
#   wrong JSON type, null, string longer than its CiString type, malformed
#   dateTime                               TypeConstraintViolation
#   value outside an enumeration           PropertyConstraintViolation (1.6
#                                          errata, chargingRateUnit)
#   array with fewer items than minItems   OccurenceConstraintViolation
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.clock import parse_iso8601

STR = const(1)
INT = const(2)
NUM = const(3)
BOOL = const(4)
TIME = const(5)
URI = const(6)
ENUM = const(7)
OBJ = const(8)
ARR = const(9)

_FORMATION = const("FormationViolation")
_PROTOCOL = const("ProtocolError")
TYPE = "TypeConstraintViolation"
_PROPERTY = const("PropertyConstraintViolation")
_OCCURENCE = const("OccurenceConstraintViolation")
NOT_IMPLEMENTED = "NotImplemented"
MISSING = _PROTOCOL

# const(): the field tuples below that name these stay constant (in flash
# when frozen) instead of being built on the heap at import
_PURPOSE = const(("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"))
_AUTH = const(("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"))

_ID_TAG_INFO = const((
    ("expiryDate", 0, TIME, None),
    ("parentIdTag", 0, STR, 20),
    ("status", 1, ENUM, _AUTH),
))

_PROFILE = const((
    ("chargingProfileId", 1, INT, None),
    ("transactionId", 0, INT, None),
    ("stackLevel", 1, INT, None),
    ("chargingProfilePurpose", 1, ENUM, _PURPOSE),
    ("chargingProfileKind", 1, ENUM, ("Absolute", "Recurring", "Relative")),
    ("recurrencyKind", 0, ENUM, ("Daily", "Weekly")),
    ("validFrom", 0, TIME, None),
    ("validTo", 0, TIME, None),
    ("chargingSchedule", 1, OBJ, (
        ("duration", 0, INT, None),
        ("startSchedule", 0, TIME, None),
        ("chargingRateUnit", 1, ENUM, ("A", "W")),
        ("chargingSchedulePeriod", 1, ARR, (OBJ, (
            ("startPeriod", 1, INT, None),
            ("limit", 1, NUM, None),
            ("numberPhases", 0, INT, None),
        ), 0)),
        ("minChargingRate", 0, NUM, None),
    )),
))

CALLS = {
    "CancelReservation": (("reservationId", 1, INT, None),),
    "ChangeAvailability": (
        ("connectorId", 1, INT, None),
        ("type", 1, ENUM, ("Inoperative", "Operative")),
    ),
    "ChangeConfiguration": (("key", 1, STR, 50), ("value", 1, STR, 500)),
    "ClearCache": (),
    "ClearChargingProfile": (
        ("id", 0, INT, None),
        ("connectorId", 0, INT, None),
        ("chargingProfilePurpose", 0, ENUM, _PURPOSE),
        ("stackLevel", 0, INT, None),
    ),
    "DataTransfer": (("vendorId", 1, STR, 255), ("messageId", 0, STR, 50), ("data", 0, STR, 0)),
    "GetCompositeSchedule": (
        ("connectorId", 1, INT, None),
        ("duration", 1, INT, None),
        ("chargingRateUnit", 0, ENUM, ("A", "W")),
    ),
    "GetConfiguration": (("key", 0, ARR, (STR, 50, 0)),),
    "GetDiagnostics": (
        ("location", 1, URI, None),
        ("retries", 0, INT, None),
        ("retryInterval", 0, INT, None),
        ("startTime", 0, TIME, None),
        ("stopTime", 0, TIME, None),
    ),
    "GetLocalListVersion": (),
    "RemoteStartTransaction": (
        ("connectorId", 0, INT, None),
        ("idTag", 1, STR, 20),
        ("chargingProfile", 0, OBJ, _PROFILE),
    ),
    "RemoteStopTransaction": (("transactionId", 1, INT, None),),
    "ReserveNow": (
        ("connectorId", 1, INT, None),
        ("expiryDate", 1, TIME, None),
        ("idTag", 1, STR, 20),
        ("parentIdTag", 0, STR, 20),
        ("reservationId", 1, INT, None),
    ),
    "Reset": (("type", 1, ENUM, ("Hard", "Soft")),),
    "SendLocalList": (
        ("listVersion", 1, INT, None),
        ("localAuthorizationList", 0, ARR, (OBJ, (
            ("idTag", 1, STR, 20),
            ("idTagInfo", 0, OBJ, _ID_TAG_INFO),
        ), 0)),
        ("updateType", 1, ENUM, ("Differential", "Full")),
    ),
    "SetChargingProfile": (
        ("connectorId", 1, INT, None),
        ("csChargingProfiles", 1, OBJ, _PROFILE),
    ),
    "TriggerMessage": (
        ("requestedMessage", 1, ENUM, (
            "BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
            "Heartbeat", "MeterValues", "StatusNotification")),
        ("connectorId", 0, INT, None),
    ),
    "UnlockConnector": (("connectorId", 1, INT, None),),
    "UpdateFirmware": (
        ("location", 1, URI, None),
        ("retries", 0, INT, None),
        ("retrieveDate", 1, TIME, None),
        ("retryInterval", 0, INT, None),
    ),
}

RESULTS = {
    "Authorize": (("idTagInfo", 1, OBJ, _ID_TAG_INFO),),
    "BootNotification": (
        ("status", 1, ENUM, ("Accepted", "Pending", "Rejected")),
        ("currentTime", 1, TIME, None),
        ("interval", 1, INT, None),
    ),
    "DataTransfer": (
        ("status", 1, ENUM, ("Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId")),
        ("data", 0, STR, 0),
    ),
    "DiagnosticsStatusNotification": (),
    "FirmwareStatusNotification": (),
    "Heartbeat": (("currentTime", 1, TIME, None),),
    "MeterValues": (),
    "StartTransaction": (("idTagInfo", 1, OBJ, _ID_TAG_INFO), ("transactionId", 1, INT, None)),
    "StatusNotification": (),
    "StopTransaction": (("idTagInfo", 0, OBJ, _ID_TAG_INFO),),
}

OTHER = (
    "Authorize", "BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
    "Heartbeat", "MeterValues", "StartTransaction", "StatusNotification", "StopTransaction",
    # security extension (OCPP 1.6 security whitepaper)
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage",
    "GetInstalledCertificateIds", "GetLog", "InstallCertificate", "LogStatusNotification",
    "SecurityEventNotification", "SignCertificate", "SignedFirmwareStatusNotification",
    "SignedUpdateFirmware",
)


def known(action: str) -> bool:
    """An OCPP 1.6 action name (so NotSupported rather than NotImplemented)."""
    return action in CALLS or action in OTHER


def check_call(action: str, payload):
    """None when the request payload fits, else (error code, description)."""
    fields = CALLS.get(action)
    if fields is None:
        return NOT_IMPLEMENTED, "unknown action " + action
    return check(fields, payload)


def check_result(action: str, payload):
    """None when the .conf payload fits, else (error code, description)."""
    fields = RESULTS.get(action)
    if fields is None:
        return NOT_IMPLEMENTED, "unknown action " + action
    return check(fields, payload)


def check(fields: tuple, obj, path: str = ""):
    if type(obj) is not dict:
        return _FORMATION, (path or "payload") + " is not an object"
    for name, req, kind, arg in fields:
        if name in obj:
            err = _value(kind, arg, obj[name], path + name)
            if err is not None:
                return err
        elif req:
            return MISSING, "missing " + path + name
    for k in obj:
        for f in fields:
            if f[0] == k:
                break
        else:
            return _FORMATION, "unknown field " + path + str(k)
    return None


def _value(kind: int, arg, v, where: str):
    if kind == STR or kind == URI:
        if type(v) is not str:
            return TYPE, where + " is not a string"
        if arg and len(v) > arg:
            return TYPE, "%s longer than %d" % (where, arg)
    elif kind == INT:
        if type(v) is not int:
            return TYPE, where + " is not an integer"
    elif kind == NUM:
        if type(v) is not int and type(v) is not float:
            return TYPE, where + " is not a number"
    elif kind == BOOL:
        if type(v) is not bool:
            return TYPE, where + " is not a boolean"
    elif kind == TIME:
        if type(v) is not str:
            return TYPE, where + " is not a dateTime"
        try:
            parse_iso8601(v)
        except ValueError:
            return TYPE, where + " is not a dateTime"
    elif kind == ENUM:
        if type(v) is not str:
            return TYPE, where + " is not a string"
        if v not in arg:
            return _PROPERTY, "%s: %s not allowed" % (where, v)
    elif kind == OBJ:
        return check(arg, v, where + ".")
    elif kind == ARR:
        if type(v) is not list:
            return TYPE, where + " is not an array"
        ik, ia, n_min = arg
        if len(v) < n_min:
            return _OCCURENCE, "%s needs %d item(s)" % (where, n_min)
        for i in range(len(v)):
            err = _value(ik, ia, v[i], "%s[%d]" % (where, i))
            if err is not None:
                return err
    return None
