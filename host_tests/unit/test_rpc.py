# OCPP-J RPC framing (evse.ocpp.rpc): parsing of every malformed case,
# frame builders, message ids, the pending CALL tracker (virtual ticks).
import json

from evse.ocpp import rpc
from support import raises


def _reply(m):
    assert m.kind == rpc.INVALID, m
    return json.loads(m.reply) if m.reply is not None else None


# ------------------------------------------------------------- well-formed

def test_parse_call():
    m = rpc.parse('[2,"19223201","Reset",{"type":"Soft"}]')
    assert m.kind == rpc.CALL and m.id == "19223201" and m.action == "Reset"
    assert m.payload == {"type": "Soft"} and m.reply is None


def test_parse_call_null_payload_is_empty_object():
    m = rpc.parse('[2,"1","ClearCache",null]')
    assert m.kind == rpc.CALL and m.payload == {}


def test_parse_callresult_and_callerror():
    m = rpc.parse('[3,"19223201",{"status":"Accepted","currentTime":"2013-02-01T20:53:32.486Z","interval":300}]')
    assert m.kind == rpc.CALLRESULT and m.id == "19223201" and m.payload["interval"] == 300
    m = rpc.parse('[3,"7",null]')
    assert m.kind == rpc.CALLRESULT and m.payload == {}
    m = rpc.parse('[4,"162376037","NotSupported","SendLocalList.req not implemented",{}]')
    assert m.kind == rpc.CALLERROR and m.id == "162376037" and m.code == "NotSupported"
    assert m.desc == "SendLocalList.req not implemented" and m.details == {}


def test_parse_callerror_lenient_about_desc_and_details():
    m = rpc.parse('[4,"1","GenericError"]')
    assert m.kind == rpc.CALLERROR and m.desc == "" and m.details == {}
    m = rpc.parse('[4,"1","GenericError",5,"x"]')
    assert m.kind == rpc.CALLERROR and m.desc == "" and m.details == {}


# ------------------------------------------------------------- malformed

def test_not_json_answers_with_id_minus_one():
    for text in ("", "not json", "[2,\"1\",\"Reset\",{}", "{'a':1}", "[2,\"1\",\"Reset\",{}]]"):
        m = rpc.parse(text)
        assert _reply(m) == [4, "-1", "FormationViolation", "not JSON", {}], text
        assert m.id is None and m.mtype is None


def test_not_an_array():
    for text in ('{"a":1}', '"x"', "3", "null", "[]"):
        r = _reply(rpc.parse(text))
        assert r[:3] == [4, "-1", "FormationViolation"], text


def test_bad_message_type():
    r = _reply(rpc.parse('["2","abc","Reset",{}]'))
    assert r[:3] == [4, "abc", "FormationViolation"]  # id readable: echoed
    r = _reply(rpc.parse('[true,"abc","Reset",{}]'))  # bool is not an int
    assert r[:3] == [4, "abc", "FormationViolation"]
    r = _reply(rpc.parse('[2.0,5]'))
    assert r[:3] == [4, "-1", "FormationViolation"]


def test_unknown_message_type_number_is_ignored():
    m = rpc.parse('[5,"1","x",{}]')
    assert m.kind == rpc.INVALID and m.reply is None and m.mtype == 5 and m.id == "1"
    m = rpc.parse('[6,"1",{}]')  # OCPP 2.1 SEND: ignored too
    assert m.kind == rpc.INVALID and m.reply is None


def test_call_bad_id():
    for text in ('[2,19223201,"Reset",{"type":"Soft"}]', '[2,null,"Reset",{}]', "[2]"):
        m = rpc.parse(text)
        assert _reply(m)[:3] == [4, "-1", "FormationViolation"], text
        assert m.mtype == 2


def test_call_long_id_is_echoed():
    long_id = "x" * 40
    m = rpc.parse('[2,"%s","Nope",{}]' % long_id)
    assert _reply(m)[1] == long_id


def test_call_wrong_element_count():
    assert _reply(rpc.parse('[2,"1","Reset"]'))[:3] == [4, "1", "ProtocolError"]
    assert _reply(rpc.parse('[2,"1"]'))[:3] == [4, "1", "ProtocolError"]
    assert _reply(rpc.parse('[2,"1","Reset",{},{}]'))[:3] == [4, "1", "FormationViolation"]


def test_call_wrong_element_types():
    assert _reply(rpc.parse('[2,"1",7,{}]'))[:3] == [4, "1", "FormationViolation"]
    assert _reply(rpc.parse('[2,"1","Reset",[]]'))[:3] == [4, "1", "FormationViolation"]
    assert _reply(rpc.parse('[2,"1","Reset","type=Soft"]'))[:3] == [4, "1", "FormationViolation"]


def test_unknown_and_unsupported_actions():
    r = _reply(rpc.parse('[2,"1","MakeCoffee",{}]'))
    assert r[:3] == [4, "1", "NotImplemented"]
    # known OCPP 1.6 actions this side does not handle: NotSupported
    r = _reply(rpc.parse('[2,"1","BootNotification",{}]'))
    assert r[:3] == [4, "1", "NotSupported"]
    r = _reply(rpc.parse('[2,"1","SignedUpdateFirmware",{}]'))
    assert r[:3] == [4, "1", "NotSupported"]
    r = _reply(rpc.parse('[2,"1","ReserveNow",{}]', supported=("Reset", "ClearCache")))
    assert r[:3] == [4, "1", "NotSupported"]
    m = rpc.parse('[2,"1","Reset",{"type":"Hard"}]', supported={"Reset": None})
    assert m.kind == rpc.CALL


def test_call_payload_validated():
    r = _reply(rpc.parse('[2,"1","Reset",{}]'))
    assert r[:3] == [4, "1", "ProtocolError"]
    r = _reply(rpc.parse('[2,"1","Reset",{"type":"Later"}]'))
    assert r[:3] == [4, "1", "PropertyConstraintViolation"]
    r = _reply(rpc.parse('[2,"1","Reset",{"type":1}]'))
    assert r[:3] == [4, "1", "TypeConstraintViolation"]
    r = _reply(rpc.parse('[2,"1","Reset",{"type":"Hard","when":"now"}]'))
    assert r[:3] == [4, "1", "FormationViolation"]
    # validation off: the payload is the handler's business
    assert rpc.parse('[2,"1","Reset",{}]', validate=False).kind == rpc.CALL


def test_malformed_responses_are_never_answered():
    for text, mid in (('[3,"1"]', "1"), ('[3,"1",[]]', "1"), ('[3,"1",{},{}]', "1"),
                      ('[3,1,{}]', None), ('[4,"2"]', "2"), ('[4,"2",5,"d",{}]', "2"),
                      ('[4,null,"GenericError","",{}]', None)):
        m = rpc.parse(text)
        assert m.kind == rpc.INVALID and m.reply is None, text
        assert m.id == mid, text


def test_parse_never_raises():
    samples = ["[", "]", "[2,", "\x00", "[2,\"1\",\"Reset\",{\"type\":[[[[[]]]]]}]",
               "[" * 5000, "[2,\"1\",\"GetConfiguration\",{\"key\":[1]}]", "[4]", "[3]",
               "[2,\"1\",\"SetChargingProfile\",{\"connectorId\":1,\"csChargingProfiles\":null}]"]
    for s in samples:
        m = rpc.parse(s)
        assert m.kind in (rpc.CALL, rpc.CALLRESULT, rpc.CALLERROR, rpc.INVALID)


# ------------------------------------------------------------- builders

def test_builders():
    mid, text = rpc.call("Heartbeat", {}, msg_id="abc")
    assert mid == "abc" and json.loads(text) == [2, "abc", "Heartbeat", {}]
    assert " " not in text  # compact
    assert json.loads(rpc.result("abc", {"status": "Accepted"})) == [3, "abc", {"status": "Accepted"}]
    assert json.loads(rpc.error("abc", "NotSupported", "no")) == [4, "abc", "NotSupported", "no", {}]
    assert json.loads(rpc.error("abc", "GenericError", details={"k": 1})) == [4, "abc", "GenericError", "", {"k": 1}]
    raises(ValueError, rpc.call, "Heartbeat", {}, "x" * 37)


def test_round_trip_through_parse():
    mid, text = rpc.call("Reset", {"type": "Soft"}, msg_id="42")
    m = rpc.parse(text)
    assert (m.kind, m.id, m.action, m.payload) == (rpc.CALL, "42", "Reset", {"type": "Soft"})
    m = rpc.parse(rpc.error("42", rpc.OCCURENCE_CONSTRAINT_VIOLATION, "d"))
    assert m.kind == rpc.CALLERROR and m.code == "OccurenceConstraintViolation"


def test_error_code_spellings():
    assert rpc.FORMATION_VIOLATION == "FormationViolation"
    assert rpc.OCCURENCE_CONSTRAINT_VIOLATION == "OccurenceConstraintViolation"
    assert rpc.PROTOCOL_ERROR == "ProtocolError"
    assert rpc.TYPE_CONSTRAINT_VIOLATION == "TypeConstraintViolation"
    assert rpc.PROPERTY_CONSTRAINT_VIOLATION == "PropertyConstraintViolation"


def test_call_error_exception():
    e = rpc.CallError(rpc.NOT_SUPPORTED, "no reservations")
    assert e.code == "NotSupported" and e.description == "no reservations" and e.details == {}


# ------------------------------------------------------------- message ids

def test_idgen_injected_and_default():
    ids = rpc.IdGen("p")
    assert [ids(), ids(), ids.next()] == ["p-1", "p-2", "p-3"]
    assert rpc.IdGen(b"\x9f\x03\xa2\xc1")() == "9f03a2c1-1"
    g = rpc.IdGen(rand=lambda bits: 0xAB)
    assert g() == "00ab00ab-1"
    mid, _ = rpc.call("Heartbeat", {}, ids=ids)
    assert mid == "p-4"
    a, _ = rpc.call("Heartbeat", {})
    b, _ = rpc.call("Heartbeat", {})
    assert a != b and len(a) <= 36 and len(b) <= 36
    big = rpc.IdGen("ffffffff", start=10 ** 20)
    assert len(big()) <= 36
    raises(ValueError, rpc.IdGen, "x" * 17)


def test_two_boots_get_different_prefixes():
    seen = set()
    for _ in range(20):
        seen.add(rpc.IdGen().prefix)
    assert len(seen) > 1


# ------------------------------------------------------------- pending

def test_pending_match():
    unknown = []
    p = rpc.Pending(unknown.append)
    assert not p.busy and p.next_deadline() is None
    p.start("1", "Heartbeat", 1000, 30000)
    assert p.busy and p.next_deadline() == 31000
    raises(RuntimeError, p.start, "2", "Authorize", 1000, 30000)
    assert p.match(rpc.parse('[3,"9",{}]')) is None        # unknown id: ignored, logged
    assert unknown == ["9"] and p.busy
    assert p.match(rpc.parse('[4,"1","GenericError","",{}]')) == "Heartbeat"
    assert not p.busy
    assert p.match("1") is None and unknown == ["9", "1"]  # answered twice


def test_pending_match_malformed_answer_with_id():
    p = rpc.Pending()
    p.start("1", "BootNotification", 0, 1000)
    assert p.match(rpc.parse('[3,"1",[]]')) == "BootNotification"


def test_pending_timeout_virtual_ticks_and_wrap():
    p = rpc.Pending()
    p.start("a", "StatusNotification", 5000, 30000)
    assert p.expired(34999) is None and p.busy
    assert p.expired(35000) == "StatusNotification" and not p.busy
    assert p.expired(99999) is None
    near_wrap = (1 << 30) - 100
    p.start("b", "Heartbeat", near_wrap, 1000)
    assert p.next_deadline() == 900        # wrapped
    assert p.expired(near_wrap + 999) is None
    assert p.expired(899) is None
    assert p.expired(900) == "Heartbeat"
