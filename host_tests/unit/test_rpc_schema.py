# Payload validation table (evse.ocpp.schema): error codes per violation kind,
# full valid examples of every action, and (CPython) agreement with the JSON
# schemas shipped in the `ocpp` package.
from evse.ocpp import schema
from support import cpython_only

TS = "2026-01-01T10:00:00Z"
_PROFILE = {
    "chargingProfileId": 1, "transactionId": 7, "stackLevel": 0,
    "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Absolute",
    "recurrencyKind": "Daily", "validFrom": TS, "validTo": "2026-01-02T10:00:00.000+01:00",
    "chargingSchedule": {
        "duration": 3600, "startSchedule": TS, "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
                                   {"startPeriod": 600, "limit": 10}],
        "minChargingRate": 6.0,
    },
}
_INFO = {"expiryDate": TS, "parentIdTag": "PARENT", "status": "Accepted"}

CALL_EXAMPLES = {
    "CancelReservation": {"reservationId": 3},
    "ChangeAvailability": {"connectorId": 0, "type": "Inoperative"},
    "ChangeConfiguration": {"key": "HeartbeatInterval", "value": "300"},
    "ClearCache": {},
    "ClearChargingProfile": {"id": 1, "connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile",
                             "stackLevel": 2},
    "DataTransfer": {"vendorId": "com.example", "messageId": "m", "data": "{}"},
    "GetCompositeSchedule": {"connectorId": 1, "duration": 86400, "chargingRateUnit": "W"},
    "GetConfiguration": {"key": ["HeartbeatInterval", "NodeId"]},
    "GetDiagnostics": {"location": "ftp://diag.example/up", "retries": 3, "retryInterval": 60,
                       "startTime": TS, "stopTime": TS},
    "GetLocalListVersion": {},
    "RemoteStartTransaction": {"connectorId": 1, "idTag": "TAG1", "chargingProfile": _PROFILE},
    "RemoteStopTransaction": {"transactionId": 12},
    "ReserveNow": {"connectorId": 1, "expiryDate": TS, "idTag": "TAG1", "parentIdTag": "P",
                   "reservationId": 5},
    "Reset": {"type": "Soft"},
    "SendLocalList": {"listVersion": 4, "updateType": "Full",
                      "localAuthorizationList": [{"idTag": "A", "idTagInfo": _INFO}, {"idTag": "B"}]},
    "SetChargingProfile": {"connectorId": 1, "csChargingProfiles": _PROFILE},
    "TriggerMessage": {"requestedMessage": "StatusNotification", "connectorId": 1},
    "UnlockConnector": {"connectorId": 1},
    "UpdateFirmware": {"location": "https://fw.example/f.bin", "retries": 2,
                       "retrieveDate": TS, "retryInterval": 30},
}

RESULT_EXAMPLES = {
    "Authorize": {"idTagInfo": _INFO},
    "BootNotification": {"status": "Accepted", "currentTime": TS, "interval": 300},
    "DataTransfer": {"status": "Accepted", "data": "x"},
    "DiagnosticsStatusNotification": {},
    "FirmwareStatusNotification": {},
    "Heartbeat": {"currentTime": TS},
    "MeterValues": {},
    "StartTransaction": {"idTagInfo": _INFO, "transactionId": 99},
    "StatusNotification": {},
    "StopTransaction": {"idTagInfo": {"status": "Invalid"}},
}


def test_tables_cover_ocpp16_actions():
    assert sorted(schema.CALLS) == sorted(CALL_EXAMPLES)
    assert len(schema.CALLS) == 19
    assert sorted(schema.RESULTS) == sorted(RESULT_EXAMPLES)
    for a in schema.CALLS:
        assert schema.known(a)
    for a in ("BootNotification", "SignedUpdateFirmware", "GetLog"):
        assert schema.known(a)
    assert not schema.known("MakeCoffee")


def test_full_examples_are_valid():
    for action, payload in CALL_EXAMPLES.items():
        assert schema.check_call(action, payload) is None, action
    for action, payload in RESULT_EXAMPLES.items():
        assert schema.check_result(action, payload) is None, action


def test_unknown_action():
    assert schema.check_call("MakeCoffee", {})[0] == "NotImplemented"
    assert schema.check_result("MakeCoffee", {})[0] == "NotImplemented"


def code(action, payload):
    r = schema.check_call(action, payload)
    return r[0] if r else None


def test_missing_required_is_protocol_error():
    assert schema.MISSING == "ProtocolError"
    assert code("Reset", {}) == "ProtocolError"
    assert code("SetChargingProfile", {"connectorId": 1}) == "ProtocolError"
    p = dict(_PROFILE)
    del p["stackLevel"]
    r = schema.check_call("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": p})
    assert r == ("ProtocolError", "missing csChargingProfiles.stackLevel")
    bad = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [{"idTagInfo": _INFO}]}
    assert code("SendLocalList", bad) == "ProtocolError"


def test_unknown_field_and_non_object_are_formation_violation():
    assert code("Reset", {"type": "Hard", "delay": 5}) == "FormationViolation"
    assert code("Reset", []) == "FormationViolation"
    assert code("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": "x"}) == "FormationViolation"
    s = dict(CALL_EXAMPLES["SendLocalList"])
    s["localAuthorizationList"] = [{"idTag": "A", "idTagInfo": {"status": "Accepted", "x": 1}}]
    assert schema.check_call("SendLocalList", s) == (
        "FormationViolation", "unknown field localAuthorizationList[0].idTagInfo.x")


def test_wrong_types_are_type_constraint_violation():
    assert code("UnlockConnector", {"connectorId": "1"}) == "TypeConstraintViolation"
    assert code("UnlockConnector", {"connectorId": 1.0}) == "TypeConstraintViolation"
    assert code("UnlockConnector", {"connectorId": True}) == "TypeConstraintViolation"
    assert code("UnlockConnector", {"connectorId": None}) == "TypeConstraintViolation"
    assert code("ChangeConfiguration", {"key": "k", "value": 5}) == "TypeConstraintViolation"
    assert code("GetConfiguration", {"key": "HeartbeatInterval"}) == "TypeConstraintViolation"
    assert code("GetConfiguration", {"key": [1]}) == "TypeConstraintViolation"
    assert code("ReserveNow", dict(CALL_EXAMPLES["ReserveNow"], expiryDate="tomorrow")) == \
        "TypeConstraintViolation"
    assert code("ReserveNow", dict(CALL_EXAMPLES["ReserveNow"], expiryDate=1767225600)) == \
        "TypeConstraintViolation"
    p = dict(_PROFILE)
    p["chargingSchedule"] = dict(_PROFILE["chargingSchedule"], chargingSchedulePeriod=[{"startPeriod": 0, "limit": "16"}])
    assert code("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": p}) == "TypeConstraintViolation"


def test_too_long_string_is_type_constraint_violation():
    assert code("RemoteStartTransaction", {"idTag": "x" * 20}) is None
    r = schema.check_call("RemoteStartTransaction", {"idTag": "x" * 21})
    assert r == ("TypeConstraintViolation", "idTag longer than 20")
    assert code("ChangeConfiguration", {"key": "k" * 51, "value": "v"}) == "TypeConstraintViolation"
    assert code("GetConfiguration", {"key": ["k" * 51]}) == "TypeConstraintViolation"
    # length counts characters, not UTF-8 bytes
    assert code("RemoteStartTransaction", {"idTag": "\u00e9" * 20}) is None


def test_enum_violation_is_property_constraint_violation():
    # OCPP 1.6 errata: invalid chargingRateUnit -> PropertyConstraintViolation
    r = schema.check_call("GetCompositeSchedule", {"connectorId": 0, "duration": 60, "chargingRateUnit": "kW"})
    assert r[0] == "PropertyConstraintViolation"
    assert code("ChangeAvailability", {"connectorId": 1, "type": "operative"}) == "PropertyConstraintViolation"
    assert code("TriggerMessage", {"requestedMessage": "StartTransaction"}) == "PropertyConstraintViolation"
    assert code("ChangeAvailability", {"connectorId": 1, "type": 1}) == "TypeConstraintViolation"


def test_min_items_is_occurence_constraint_violation():
    fields = (("sampledValue", 1, schema.ARR, (schema.STR, 0, 1)),)
    assert schema.check(fields, {"sampledValue": []}) == ("OccurenceConstraintViolation",
                                                          "sampledValue needs 1 item(s)")
    assert schema.check(fields, {"sampledValue": ["1"]}) is None


def test_results_checked():
    assert schema.check_result("BootNotification", {"status": "Accepted", "currentTime": TS})[0] == "ProtocolError"
    # errata: interval is an integer
    r = schema.check_result("BootNotification", {"status": "Accepted", "currentTime": TS, "interval": 30.5})
    assert r[0] == "TypeConstraintViolation"
    assert schema.check_result("StartTransaction", {"idTagInfo": {"status": "Accepted"}})[0] == "ProtocolError"
    assert schema.check_result("Heartbeat", {"currentTime": "noon"})[0] == "TypeConstraintViolation"


# ------------------------------------------------------------- against the JSON schemas

def _from_json(p):
    t = p.get("type")
    if "enum" in p:
        return schema.ENUM, tuple(p["enum"])
    if t == "string":
        f = p.get("format")
        if f == "date-time":
            return schema.TIME, None
        if f == "uri":
            return schema.URI, None
        return schema.STR, p.get("maxLength", 0)
    if t == "integer":
        return schema.INT, None
    if t == "number":
        return schema.NUM, None
    if t == "boolean":
        return schema.BOOL, None
    if t == "object":
        return schema.OBJ, _fields(p)
    if t == "array":
        k, a = _from_json(p["items"])
        return schema.ARR, (k, a, p.get("minItems", 0))
    raise AssertionError(p)


def _fields(s):
    req = set(s.get("required", []))
    out = []
    for name, p in s.get("properties", {}).items():
        k, a = _from_json(p)
        out.append((name, 1 if name in req else 0, k, a))
    return tuple(sorted(out))


def _norm(fields):
    out = []
    for name, req, kind, arg in fields:
        if kind == schema.OBJ:
            arg = _norm(arg)
        elif kind == schema.ARR and arg[0] == schema.OBJ:
            arg = (arg[0], _norm(arg[1]), arg[2])
        out.append((name, req, kind, arg))
    return tuple(sorted(out))


def _schema_file(name):
    import json
    import os
    import ocpp
    d = os.path.join(os.path.dirname(ocpp.__file__), "v16", "schemas")
    with open(os.path.join(d, name + ".json"), encoding="utf-8-sig") as f:
        return json.load(f)


@cpython_only
def test_table_matches_ocpp_json_schemas():
    for action, fields in schema.CALLS.items():
        assert _norm(fields) == _fields(_schema_file(action)), action
    for action, fields in schema.RESULTS.items():
        assert _norm(fields) == _fields(_schema_file(action + "Response")), action


def _mutations(payload):
    """(description, mutated payload) for every top-level and nested field."""
    out = []

    def walk(obj, setter, where):
        for k in list(obj):
            v = obj[k]
            for label, nv in (("type", {"x": 1} if type(v) is not dict else 5),
                              ("null", None), ("long", "y" * 600)):
                def m(d, k=k, nv=nv):
                    d[k] = nv
                out.append((where + k + ":" + label, setter(m)))

            def drop(d, k=k):
                del d[k]
            out.append((where + k + ":drop", setter(drop)))
            if type(v) is dict:
                walk(v, lambda f, k=k, setter=setter: setter(lambda d: f(d[k])), where + k + ".")
        out.append((where + "extra", setter(lambda d: d.__setitem__("zz", 1))))

    import copy

    def top(f):
        c = copy.deepcopy(payload)
        f(c)
        return c
    walk(payload, top, "")
    return out


@cpython_only
def test_validity_agrees_with_jsonschema():
    from jsonschema import Draft4Validator
    for table, examples, suffix in ((schema.CALLS, CALL_EXAMPLES, ""),
                                    (schema.RESULTS, RESULT_EXAMPLES, "Response")):
        for action, payload in examples.items():
            v = Draft4Validator(_schema_file(action + suffix))
            for what, p in _mutations(payload):
                ours = schema.check(table[action], p) is None
                theirs = v.is_valid(p)
                if not theirs or ours:
                    assert ours == theirs, (action, what, p)
                else:
                    # stricter than jsonschema (which skips "format") only
                    # on malformed dateTime strings
                    field = what.split(":")[0].split(".")[-1]
                    assert what.endswith(":long") and field in _TIME_FIELDS, (action, what)


_TIME_FIELDS = ("startTime", "stopTime", "validFrom", "validTo", "startSchedule", "expiryDate",
                "retrieveDate", "currentTime")
