# Self-test of the development Central System (tools/csms.py) against a small
# charge point built from the `ocpp` library's own ChargePoint class, plus a
# bare websocket client for what that library would refuse to send.
import asyncio
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))

from ocpp.exceptions import OCPPError  # noqa: E402
from ocpp.routing import on  # noqa: E402
from ocpp.v16 import ChargePoint, call, call_result  # noqa: E402
from ocpp.v16.enums import Action  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from csms import CallErrorReply, CentralSystem  # noqa: E402


class ClientCP(ChargePoint):
    """A charge point with two CS->CP handlers (others: NotImplemented)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.config = {"HeartbeatInterval": "300"}

    @on(Action.change_configuration)
    def client_change_configuration(self, key, value, **kw):
        self.config[key] = value
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.get_configuration)
    def client_get_configuration(self, key=None, **kw):
        keys = [{"key": k, "readonly": False, "value": v} for k, v in self.config.items()
                if not key or k in key]
        return call_result.GetConfiguration(configuration_key=keys)


async def _connect(cs, cp_id="CP1", timeout=3.0):
    ws = await connect(cs.url(cp_id), subprotocols=["ocpp1.6"], proxy=None, compression=None)
    cp = ClientCP(cp_id, ws, response_timeout=timeout)

    async def serve():
        try:
            await cp.start()
        except ConnectionClosed:
            pass

    task = asyncio.ensure_future(serve())
    await cs.wait_connected(cp_id, 3)
    return cp, ws, task


async def _close(ws, task):
    await ws.close()
    await asyncio.wait_for(task, 3)


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_session_flow():
    async def go():
        async with CentralSystem(auth_tags={"BAD": "Blocked"}) as cs:
            cp, ws, task = await _connect(cs)
            boot = await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
            assert boot.status == "Accepted" and boot.interval == 300
            assert (await cp.call(call.Heartbeat())).current_time.endswith("Z")
            assert (await cp.call(call.Authorize(id_tag="TAG1"))).id_tag_info["status"] == "Accepted"
            assert (await cp.call(call.Authorize(id_tag="BAD"))).id_tag_info["status"] == "Blocked"
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                                  status="Preparing"))
            st = await cp.call(call.StartTransaction(connector_id=1, id_tag="TAG1", meter_start=100,
                                                     timestamp="2026-01-01T00:00:00Z"))
            assert st.transaction_id == 1 and st.id_tag_info["status"] == "Accepted"
            await cp.call(call.MeterValues(connector_id=1, transaction_id=1, meter_value=[
                {"timestamp": "2026-01-01T00:01:00Z", "sampledValue": [{"value": "150"}]}]))
            sp = await cp.call(call.StopTransaction(meter_stop=900, timestamp="2026-01-01T01:00:00Z",
                                                    transaction_id=1, id_tag="TAG1", reason="Local"))
            assert sp.id_tag_info["status"] == "Accepted"
            st2 = await cp.call(call.StartTransaction(connector_id=2, id_tag="T2", meter_start=0,
                                                      timestamp="2026-01-01T02:00:00Z"))
            assert st2.transaction_id == 2
            assert [r.action for r in cs.calls()] == [
                "BootNotification", "Heartbeat", "Authorize", "Authorize", "StatusNotification",
                "StartTransaction", "MeterValues", "StopTransaction", "StartTransaction"]
            rec = cs.calls("StartTransaction")[0]
            assert rec.payload["idTag"] == "TAG1" and rec.cp_id == "CP1" and rec.time > 0
            assert rec.answer == ("result", {"transactionId": 1, "idTagInfo": {"status": "Accepted"}})
            assert cs.transactions[1]["meterStop"] == 900 and cs.transactions[1]["reason"] == "Local"
            assert cs.status[("CP1", 1)] == ("Preparing", "NoError")
            assert cs.violations == []
            dirs = [f[1] for f in cs.frames]
            assert dirs.count("in") == 9 and dirs.count("out") == 9
            await _close(ws, task)
            await cs.wait_for(lambda rs: not cs.connected("CP1"), 3)
            assert [c[1] for c in cs.connections] == ["connect", "disconnect"]
    _run(go())


def test_boot_status_and_start_tags():
    async def go():
        async with CentralSystem(boot_status="Pending", heartbeat_interval=7) as cs:
            cs.start_tags = {"LATE": "Invalid"}
            cs.next_transaction_id = 500
            cp, ws, task = await _connect(cs)
            b = await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
            assert (b.status, b.interval) == ("Pending", 7)
            cs.boot_status = "Rejected"
            b = await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
            assert b.status == "Rejected"
            st = await cp.call(call.StartTransaction(connector_id=1, id_tag="LATE", meter_start=0,
                                                     timestamp="2026-01-01T00:00:00Z"))
            assert st.transaction_id == 500 and st.id_tag_info["status"] == "Invalid"
            assert cs.violations == []
            await _close(ws, task)
    _run(go())


def test_calls_to_charge_point():
    async def go():
        async with CentralSystem() as cs:
            cp, ws, task = await _connect(cs)
            res = await cs.call("CP1", "ChangeConfiguration", key="HeartbeatInterval", value="60")
            assert res == {"status": "Accepted"}
            assert cp.config["HeartbeatInterval"] == "60"
            res = await cs.call("CP1", "GetConfiguration", {"key": ["HeartbeatInterval"]})
            assert res["configurationKey"] == [{"key": "HeartbeatInterval", "readonly": False,
                                                "value": "60"}]
            reply = [r for r in cs.records if r.kind == "result"][-1]
            assert reply.action == "GetConfiguration"
            # the client has no Reset handler: CALLERROR NotImplemented
            try:
                await cs.call("CP1", "Reset", type="Soft")
                raise AssertionError("no CALLERROR")
            except CallErrorReply as e:
                assert e.code == "NotImplemented"
            assert cs.records[-1].kind == "error" and cs.records[-1].action == "Reset"
            # our own request is schema-checked unless validate=False
            try:
                await cs.call("CP1", "ChangeConfiguration", key="K")
                raise AssertionError("invalid request sent")
            except OCPPError:
                pass
            try:
                await cs.call("CP1", "ChangeConfiguration", key="K", validate=False)
                raise AssertionError("no CALLERROR")
            except CallErrorReply as e:
                assert e.code == "ProtocolError"  # ocpp's answer to a missing field
            # a charge point that is not connected
            try:
                await cs.call("NOPE", "ClearCache")
                raise AssertionError("unknown cp")
            except KeyError:
                pass
            assert cs.violations == []
            await _close(ws, task)
    _run(go())


def test_raw_frames():
    async def go():
        async with CentralSystem() as cs:
            cp, ws, task = await _connect(cs)
            raw = await cs.send_raw("CP1", '[2,"r1","ChangeConfiguration",{"key":"A"}]')
            m = json.loads(raw)
            assert m[0] == 4 and m[1] == "r1" and m[2] == "ProtocolError"
            raw = await cs.send_raw("CP1", '[2,"r2","NoSuchAction",{}]')
            assert json.loads(raw)[:3] == [4, "r2", "NotSupported"]
            raw = await cs.send_raw("CP1", '[2,"r3","ChangeConfiguration",{"key":"A","value":"1","x":1}]')
            assert json.loads(raw)[:3] == [4, "r3", "FormatViolation"]
            # the ocpp library ignores text that is not JSON: no reply
            assert await cs.send_raw("CP1", "this is not json", timeout=0.5) is None
            assert await cs.send_raw("CP1", "[3,\"zz\",{}]", expect_reply=False) is None
            # normal calls still work after raw traffic
            assert (await cs.call("CP1", "ChangeConfiguration", key="A", value="2"))["status"] == "Accepted"
            assert [f[2] for f in cs.frames if f[1] == "out"][:1] == [
                '[2,"r1","ChangeConfiguration",{"key":"A"}]']
            assert cs.violations == []
            await _close(ws, task)
    _run(go())


def test_schema_violations_from_cp_are_recorded():
    async def go():
        async with CentralSystem() as cs:
            cp, ws, task = await _connect(cs)
            # meterStart missing (None is stripped): required -> ProtocolError
            bad = call.StartTransaction(connector_id=1, id_tag="T", meter_start=None,
                                        timestamp="2026-01-01T00:00:00Z")
            try:
                await cp.call(bad, suppress=False, skip_schema_validation=True)
                raise AssertionError("no CALLERROR")
            except OCPPError as e:
                assert e.code == "ProtocolError"
            assert len(cs.violations) == 1
            v = cs.violations[0]
            assert (v.cp_id, v.kind, v.action, v.code) == ("CP1", "schema", "StartTransaction",
                                                            "ProtocolError")
            assert "meterStart" in v.detail
            assert cs.calls("StartTransaction")[0].answer[0] == "error"
            assert cs.transactions == {}  # not processed
            # an unknown field: ocpp 2.1.0 answers "FormatViolation" (2.0 spelling)
            await ws.send('[2,"u1","Heartbeat",{"extra":1}]')
            await cs.wait_for(lambda rs: len(cs.violations) == 2, 3)
            assert cs.violations[1].code == "FormatViolation"
            assert cs.calls("Heartbeat")[0].answer == ("error", "FormatViolation")
            # not OCPP-J at all, a too-long unique id, an action the CP may not send
            await ws.send("garbage")
            await ws.send('[2,"%s","Heartbeat",{}]' % ("x" * 37))
            await ws.send('[2,"u3","RemoteStartTransaction",{"idTag":"T"}]')
            await cs.wait_for(lambda rs: len(cs.violations) == 5, 3)
            assert [v.kind for v in cs.violations[2:]] == ["frame", "frame", "unknown-action"]
            await _close(ws, task)
    _run(go())


def test_silent_and_failure_modes():
    async def go():
        async with CentralSystem() as cs:
            cp, ws, task = await _connect(cs, timeout=0.5)
            cs.silent = True
            try:
                await cp.call(call.Heartbeat())
                raise AssertionError("silent CS answered")
            except asyncio.TimeoutError:
                pass
            assert cs.calls("Heartbeat")[0].answer is None
            cs.silent = False
            cs.ignore_actions = {"Authorize"}
            try:
                await cp.call(call.Authorize(id_tag="T"))
                raise AssertionError("ignored action answered")
            except asyncio.TimeoutError:
                pass
            cs.ignore_actions = set()
            cs.fail_transaction_messages = 2
            start = call.StartTransaction(connector_id=1, id_tag="T", meter_start=0,
                                          timestamp="2026-01-01T00:00:00Z")
            for _ in range(2):
                try:
                    await cp.call(start, suppress=False)
                    raise AssertionError("no CALLERROR")
                except OCPPError as e:
                    assert e.code == "InternalError"
            assert cs.fail_transaction_messages == 0
            # non-transaction messages are not affected; the third try passes
            assert (await cp.call(call.Heartbeat())).current_time
            assert (await cp.call(start)).transaction_id == 1
            assert [r.answer[0] for r in cs.calls("StartTransaction")] == ["error", "error", "result"]
            cs.delays = {"Heartbeat": 0.2}
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            await cp.call(call.Heartbeat())
            assert loop.time() - t0 >= 0.2
            assert cs.violations == []
            await _close(ws, task)
    _run(go())


def test_wait_for():
    async def go():
        async with CentralSystem() as cs:
            cp, ws, task = await _connect(cs)

            async def later():
                await asyncio.sleep(0.1)
                await cp.call(call.Heartbeat())

            asyncio.ensure_future(later())
            got = await cs.wait_for(lambda rs: [r for r in rs if r.action == "Heartbeat"], 3, "CP1")
            assert got[0].kind == "call"
            try:
                await cs.wait_for(lambda rs: False, 0.2)
                raise AssertionError("no timeout")
            except asyncio.TimeoutError as e:
                assert "Heartbeat" in str(e)
            await _close(ws, task)
    _run(go())


def test_reply_schema_and_subprotocol_violations():
    async def go():
        async with CentralSystem() as cs:
            # no ocpp1.6 subprotocol: closed, recorded
            ws = await connect(cs.url("BARE"), proxy=None)
            try:
                await asyncio.wait_for(ws.recv(), 3)
                raise AssertionError("not closed")
            except ConnectionClosed:
                pass
            assert [v.kind for v in cs.violations] == ["subprotocol"]
            # a bare client that answers GetConfiguration with a wrong type
            ws = await connect(cs.url("BARE"), subprotocols=["ocpp1.6"], proxy=None)
            await cs.wait_connected("BARE", 3)

            async def answer():
                m = json.loads(await ws.recv())
                await ws.send(json.dumps([3, m[1], {"configurationKey": "oops"}]))

            t = asyncio.ensure_future(answer())
            res = await cs.call("BARE", "GetConfiguration")
            await t
            assert res == {"configurationKey": "oops"}
            v = cs.violations[-1]
            assert (v.kind, v.action, v.code) == ("reply-schema", "GetConfiguration",
                                                  "TypeConstraintViolation")
            # CS side timeout when the CP never answers
            try:
                await cs.call("BARE", "ClearCache", timeout=0.3)
                raise AssertionError("no timeout")
            except asyncio.TimeoutError:
                pass
            await ws.close()
    _run(go())


def test_disconnect_reject_and_basic_auth():
    async def go():
        async with CentralSystem() as cs:
            cp, ws, task = await _connect(cs)
            await cs.disconnect("CP1")
            await asyncio.wait_for(task, 3)
            await cs.wait_for(lambda rs: not cs.connected("CP1"), 3)
            cs.reject_connections = True
            try:
                await connect(cs.url("CP1"), subprotocols=["ocpp1.6"], proxy=None)
                raise AssertionError("accepted")
            except InvalidStatus as e:
                assert e.response.status_code == 503
            cs.reject_connections = False
            cs.passwords = {"CP1": "secret"}
            try:
                await connect(cs.url("CP1"), subprotocols=["ocpp1.6"], proxy=None)
                raise AssertionError("accepted without password")
            except InvalidStatus as e:
                assert e.response.status_code == 401
            url = "ws://CP1:secret@127.0.0.1:%d/CP1" % cs.port
            ws = await connect(url, subprotocols=["ocpp1.6"], proxy=None)
            await cs.wait_connected("CP1", 3)
            await ws.close()
            assert cs.violations == []
    _run(go())
