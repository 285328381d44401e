# Text on the OCPP link is strict UTF-8 on both runtimes: surrogate escapes
# from the Central System (a pair decodes to the character it encodes, an
# unpaired one is rejected: rpc.py module comment), invalid UTF-8 received
# fails the connection (1007), and nothing sent is ever invalid UTF-8 - not
# even text that picked up a lone surrogate somewhere (wsframe.utf8).
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")  # the frozen asyncio, when MICROPYPATH hides it
import asyncio
import json

from evse.ocpp import rpc, wsframe
from session_rig import Rig
from test_ws_client import FakeConn, _connected, _failed_with
from test_ws_codec import sframe, unmask

CLEF = chr(0x1D11E)                      # MUSICAL SYMBOL G CLEF
CLEF_UTF8 = b"\xf0\x9d\x84\x9e"
FFFD_UTF8 = b"\xef\xbf\xbd"
HI = chr(0xD834)
LO = chr(0xDD1E)


def test_a_surrogate_pair_escape_is_the_character_it_encodes():
    m = rpc.parse('[2,"a1","DataTransfer",{"vendorId":"V","data":"x\\ud834\\udd1ey"}]')
    assert m.kind == rpc.CALL, m
    assert m.payload["data"] == "x" + CLEF + "y"
    assert len(m.payload["data"]) == 3
    # in keys, lists and nested objects too
    m = rpc.parse('[3,"a2",{"k\\ud834\\udd1e":[{"v":"\\ud834\\udd1e"}]}]')
    assert m.kind == rpc.CALLRESULT and m.payload == {"k" + CLEF: [{"v": CLEF}]}
    assert rpc.result("a1", m.payload).encode() == b'[3,"a1",{"k' + CLEF_UTF8 + b'":[{"v":"' + CLEF_UTF8 + b'"}]}]'


def test_an_unpaired_surrogate_rejects_a_call_with_formation_violation():
    for frame in ('[2,"a1","GetConfiguration",{"key":["\\ud800"]}]',
                  '[2,"a1","ChangeConfiguration",{"key":"K","value":"x\\udd1e"}]',
                  '[2,"a1","RemoteStartTransaction",{"idTag":"\\ud834"}]',
                  '[2,"a1","DataTransfer",{"vendorId":"V","data":"\\ud834\\ud834\\udd1e"}]',
                  '[2,"a1","SendLocalList",{"listVersion":1,"updateType":"Full",'
                  '"localAuthorizationList":[{"idTag":"A","idTagInfo":{"\\udfff":1}}]}]'):
        m = rpc.parse(frame)
        assert m.kind == rpc.INVALID, frame
        reply = json.loads(m.reply)
        assert reply[:3] == [4, "a1", "FormationViolation"], reply
        assert "surrogate" in reply[3]
        m.reply.encode()                # the reply itself is clean
    # the id itself: it cannot be echoed, "-1" as for an unreadable id
    m = rpc.parse('[2,"\\ud800","ClearCache",{}]')
    assert json.loads(m.reply)[:3] == [4, "-1", "FormationViolation"]


def test_an_unpaired_surrogate_in_an_answer_makes_it_malformed():
    m = rpc.parse('[3,"a3",{"idTagInfo":{"status":"Accepted","parentIdTag":"\\ud800"}}]')
    assert m.kind == rpc.INVALID and m.reply is None and m.id == "a3" and m.mtype == 3
    m = rpc.parse('[4,"a4","GenericError","\\udc00",{}]')
    assert m.kind == rpc.INVALID and m.reply is None and m.id == "a4"


def test_escapes_that_are_not_surrogates_and_deep_nesting_are_fine():
    m = rpc.parse('[2,"a1","DataTransfer",{"vendorId":"V","data":"\\u00e9\\u20ac\\\\ud800"}]')
    assert m.kind == rpc.CALL and m.payload["data"] == "\u00e9\u20ac\\ud800"
    deep = "[" * 300 + '"\\u0041"' + "]" * 300
    m = rpc.parse('[3,"a5",{"d":%s}]' % deep)
    assert m.kind == rpc.CALLRESULT


def test_utf8_joins_pairs_and_replaces_lone_surrogates():
    assert wsframe.utf8("plain \u00e9\u20ac" + CLEF) == "plain \u00e9\u20ac".encode() + CLEF_UTF8
    assert wsframe.utf8(HI + LO) == CLEF_UTF8
    assert wsframe.utf8("a" + chr(0xD800) + "b") == b"a" + FFFD_UTF8 + b"b"
    assert wsframe.utf8(LO + HI) == FFFD_UTF8 + FFFD_UTF8
    assert wsframe.utf8(HI) == FFFD_UTF8
    assert wsframe.utf8(HI + HI + LO) == FFFD_UTF8 + CLEF_UTF8
    assert wsframe.clean_text("x" + chr(0xDFFF)) == ("x\ufffd", 1)
    assert wsframe.has_surrogates("a" + chr(0xD800)) and not wsframe.has_surrogates("a\u00e9" + CLEF)


def test_frames_sent_are_strict_utf8_whatever_the_text_holds():
    async def main():
        conn = FakeConn()
        c, _ = await _connected(conn)
        for text in ("[3,\"1\",{\"v\":\"" + HI + LO + "\"}]", "[3,\"2\",{\"v\":\"\ud800x\"}]",
                     rpc.result("3", {"v": chr(0xDC00) + "\u00e9"})):
            await c.send_text(text)
        got = [p for fin, op, p in conn.frames if op == wsframe.OP_TEXT]
        assert got[0] == b'[3,"1",{"v":"' + CLEF_UTF8 + b'"}]'
        assert got[1] == b'[3,"2",{"v":"' + FFFD_UTF8 + b'x"}]'
        assert got[2] == b'[3,"3",{"v":"' + FFFD_UTF8 + b'\xc3\xa9"}]'
        await c.close()
    asyncio.run(main())


def test_invalid_utf8_received_fails_the_connection_with_1007_on_both_runtimes():
    for bad in (b"[\"\xed\xa0\x80\"]",           # an encoded surrogate
                b"[\"\xed\xa0\xb4\xed\xb4\x9e\"]",  # an encoded pair (CESU-8)
                b"[\"\xc0\x80\"]",               # overlong NUL
                b"[\"\xe0\x80\xaf\"]",           # overlong '/'
                b"[\"\xf0\x80\x80\xaf\"]",
                b"[\"\xf4\x90\x80\x80\"]",       # above U+10FFFF
                b"[\"\xf5\x80\x80\x80\"]"):
        _failed_with(sframe(wsframe.OP_TEXT, bad), 1007)


def test_valid_multibyte_text_is_received():
    async def main():
        conn = FakeConn(after=sframe(wsframe.OP_TEXT, b"[\"\xed\x9f\xbf\xee\x80\x80" + CLEF_UTF8 + b"\"]"))
        c, _ = await _connected(conn)
        assert await c.recv() == "[\"\ud7ff\ue000" + CLEF + "\"]"
        await c.close()
    asyncio.run(main())


def test_close_reason_is_cut_between_characters():
    p = wsframe.close_payload(1000, "\u00e9" * 100)
    assert len(p) == 2 + 122 and p[2:].decode() == "\u00e9" * 61
    assert wsframe.close_payload(1000, "a" + HI) == b"\x03\xe8a" + FFFD_UTF8


def test_the_station_answers_surrogate_escapes_in_valid_utf8():
    r = Rig()
    oc = r.st.ocpp
    oc.connected = True
    oc.boot_status = "Accepted"
    oc.registered = True
    # GetConfiguration of an unknown key echoes it in unknownKey
    oc.on_text('[2,"g1","GetConfiguration",{"key":["\\ud834\\udd1e"]}]')
    oc.on_text('[2,"g2","GetConfiguration",{"key":["\\ud800"]}]')
    oc.on_text('[2,"g3","ChangeConfiguration",{"key":"\\ud834\\udd1e","value":"1"}]')
    replies = [wsframe.utf8(t) for t in oc.outbox]
    assert len(replies) == 3
    assert CLEF_UTF8 in replies[0] and b"\\u" not in replies[0], replies[0]
    assert json.loads(replies[0].decode())[2]["unknownKey"] == [CLEF]
    r2 = json.loads(replies[1].decode())
    assert r2[:3] == [4, "g2", "FormationViolation"]
    r3 = json.loads(replies[2].decode())
    assert r3[0] == 3 and r3[1] == "g3" and r3[2]["status"] == "NotSupported", r3
