# Malformed and unknown OCPP-J frames from the Central System (OCPP-J 1.6
# section 4, errata): each gets the right CALLERROR (or, for answers, none),
# and the station keeps working.
import json

from ocpp_rig import rig_run

# (frame, expected error code, expected message id in the reply)
BAD_CALLS = [
    ("this is not json", "FormationViolation", "-1"),
    ('{"a": 1}', "FormationViolation", "-1"),
    ("[]", "FormationViolation", "-1"),
    ('["2","m1","Reset",{"type":"Soft"}]', "FormationViolation", "m1"),
    ('[2,17,"Reset",{"type":"Soft"}]', "FormationViolation", "-1"),
    ('[2,"m2","Reset"]', "ProtocolError", "m2"),
    ('[2,"m3","Reset",{"type":"Soft"},{}]', "FormationViolation", "m3"),
    ('[2,"m4",42,{}]', "FormationViolation", "m4"),
    ('[2,"m5","Reset",[1,2]]', "FormationViolation", "m5"),
    # unknown action; an OCPP action the Central System may not send
    ('[2,"m6","MakeCoffee",{}]', "NotImplemented", "m6"),
    ('[2,"m7","Heartbeat",{}]', "NotSupported", "m7"),
    # payload: missing required field, wrong types, value outside the enum,
    # unknown field, string too long, malformed date
    ('[2,"m8","ChangeAvailability",{"connectorId":1}]', "ProtocolError", "m8"),
    ('[2,"m9","ChangeAvailability",{"connectorId":"1","type":"Operative"}]', "TypeConstraintViolation", "m9"),
    ('[2,"m10","ChangeAvailability",{"connectorId":true,"type":"Operative"}]', "TypeConstraintViolation", "m10"),
    ('[2,"m11","ChangeAvailability",{"connectorId":1,"type":"Sideways"}]', "PropertyConstraintViolation", "m11"),
    ('[2,"m12","ChangeAvailability",{"connectorId":1,"type":"Operative","x":1}]', "FormationViolation", "m12"),
    ('[2,"m13","RemoteStartTransaction",{"idTag":"%s"}]' % ("X" * 21), "TypeConstraintViolation", "m13"),
    ('[2,"m14","ReserveNow",{"connectorId":1,"expiryDate":"tomorrow","idTag":"A","reservationId":1}]',
     "TypeConstraintViolation", "m14"),
    ('[2,"m15","Reset",{"type":null}]', "TypeConstraintViolation", "m15"),
    ('[2,"m16","SendLocalList",{"listVersion":1.5,"updateType":"Full"}]', "TypeConstraintViolation", "m16"),
    ("[" * 300 + "]" * 300, "FormationViolation", "-1"),
]

# answers to CALLs the station never sent, and message types it does not know:
# ignored, never answered (no error loops)
IGNORED = [
    '[3,"no-such-call",{}]',
    '[4,"no-such-call","InternalError","",{}]',
    '[3,"broken"]',
    '[4,"x",5]',
    '[5,"m20","Reset",{}]',
    '[3,12,{}]',
]


def test_bad_frames_get_the_right_callerror_and_the_station_keeps_working(tmp_path):
    async def body(rig):
        await rig.start()
        for frame, code, mid in BAD_CALLS:
            reply = await rig.cs.send_raw(rig.cp, frame, timeout=3)
            assert reply is not None, frame
            msg = json.loads(reply)
            assert msg[0] == 4 and msg[1] == mid and msg[2] == code, (frame, msg)
            assert isinstance(msg[3], str) and isinstance(msg[4], dict)
        for frame in IGNORED:
            assert await rig.cs.send_raw(rig.cp, frame, timeout=0.3) is None, frame
        # still registered, still answering, still sending
        st = await rig.status()
        assert st["ocpp"]["connected"] and st["ocpp"]["registered"]
        assert len(rig.cs.connections) == 1
        assert await rig.call("GetLocalListVersion") == {"listVersion": 0}
        assert await rig.call("ChangeAvailability", connectorId=1, type="Inoperative") == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(1)[-1] == "Unavailable"
        # a valid raw CALL gets a CALLRESULT with its id
        reply = json.loads(await rig.cs.send_raw(rig.cp, '[2,"ok1","ClearCache",{}]'))
        assert reply == [3, "ok1", {"status": "Accepted"}]
        # a null payload is read as an empty object
        reply = json.loads(await rig.cs.send_raw(rig.cp, '[2,"ok2","GetLocalListVersion",null]'))
        assert reply == [3, "ok2", {"listVersion": 0}]
    rig_run(tmp_path, body)


def test_callerror_answer_to_a_transaction_message_is_retried(tmp_path):
    """The Central System answers the station's StartTransaction with a
    CALLERROR: the message counts as failed, nothing is sent back, and the
    journal retries it after TransactionMessageRetryInterval."""
    async def body(rig):
        rig.cs.fail_transaction_messages = 1        # StartTransaction gets a CALLERROR
        await rig.start()
        await rig.plug_ev(1, state="C")
        await rig.op("rfid", reader=1, id="TAGX")
        await rig.advance(1)
        starts = rig.calls("StartTransaction")
        assert starts[0].answer[0] == "error"
        # retried after TransactionMessageRetryInterval
        await rig.advance(11)
        starts = rig.calls("StartTransaction")
        assert len(starts) == 2 and starts[1].answer[0] == "result"
        txid = (await rig.connector(1))["transaction_id"]
        assert txid == starts[1].answer[1]["transactionId"]
        assert rig.cs.violations == []
    rig_run(tmp_path, body, settings={"TransactionMessageRetryInterval": "10"})


# 64 entries (SendLocalListMaxLength) of the longest fields: about 10 KB
BIG_LIST = [{"idTag": "TAG%017d" % i,
             "idTagInfo": {"status": "Accepted", "expiryDate": "2031-12-31T23:59:59.000+00:00",
                           "parentIdTag": "PARENT%014d" % i}} for i in range(64)]
DATA10K = "".join("%05d \u00e9\u20ac\U0001f600|" % i for i in range(641))


def test_messages_over_10kb_both_ways(tmp_path):
    """The station's frames are 1 KiB: a longer message goes out as
    fragments, and one coming in is assembled in a buffer of its own."""
    async def body(rig):
        await rig.start()
        assert len(json.dumps(BIG_LIST)) > 10000
        conf = await rig.call("SendLocalList", listVersion=7, updateType="Full",
                              localAuthorizationList=BIG_LIST)
        assert conf == {"status": "Accepted"}
        assert await rig.call("GetLocalListVersion") == {"listVersion": 7}
        # 10 KB of raw 1- to 4-byte UTF-8 characters (the ocpp library would
        # escape them): parsed whole, or the answer would be a
        # FormationViolation or a close 1007
        frame = '[2,"big1","DataTransfer",{"vendorId":"NoSuchVendor","data":"%s"}]' % DATA10K
        assert 10000 < len(frame.encode()) < 16384
        reply = await rig.cs.send_raw(rig.cp, frame)
        assert json.loads(reply) == [3, "big1", {"status": "UnknownVendorId"}]
        # the whole configuration: the station's longest message (13 KB)
        keys = (await rig.call("GetConfiguration"))["configurationKey"]
        assert len(json.dumps(keys)) > 10000 and len(keys) > 150
        assert {"HeartbeatInterval", "LocalAuthListEnabled"} <= {k["key"] for k in keys}
        st = await rig.status()
        assert st["ocpp"]["connected"] and len(rig.cs.connections) == 1
        assert rig.cs.violations == []
    rig_run(tmp_path, body, settings={"LocalAuthListEnabled": "true"})
