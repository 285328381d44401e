# The OCPP client's connection task survives every failure of an attempt
# (MemoryError near the heap limit, OSError, bugs) and reconnects; its one
# WSClient, with its frame buffers, is reused by every attempt. The network
# is scripted (FakeConn of test_ws_client), the clock virtual.
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")  # the frozen asyncio, when MICROPYPATH hides it
import asyncio
import json

from evse.ocpp import client as client_mod
from evse.ocpp import wsframe
from session_rig import Rig
from test_ws_client import FakeConn
from test_ws_codec import sframe


class CsConn(FakeConn):
    """A scripted Central System that answers every CALL at once."""

    def _frames(self):
        n = len(self.frames)
        FakeConn._frames(self)
        for fin, op, payload in self.frames[n:]:
            if op != wsframe.OP_TEXT:
                continue
            m = json.loads(payload.decode())
            if m[0] != 2:
                continue
            conf = {}
            if m[2] == "BootNotification":
                conf = {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z", "interval": 300}
            elif m[2] == "Heartbeat":
                conf = {"currentTime": "2026-01-01T00:00:00Z"}
            self.push(sframe(wsframe.OP_TEXT, json.dumps([3, m[1], conf]).encode()))


class FlakyNet:
    """board.net: open_connection raises the scripted faults first, then
    hands out FakeConn connections (a server completing the handshake)."""

    def __init__(self, faults):
        self.faults = list(faults)
        self.conns = []

    async def open_connection(self, host, port, tls=False, cadata=None, server_hostname=None):
        if self.faults:
            raise self.faults.pop(0)
        c = CsConn()
        self.conns.append(c)
        return c, c


def _texts(conn):
    return [json.loads(p.decode()) for fin, op, p in conn.frames if op == wsframe.OP_TEXT]


async def _until(r, pred, rounds=200):
    """Settle the link, jump virtual time to its next deadline, until pred()."""
    oc = r.st.ocpp
    for _ in range(rounds):
        await oc.settle_io()
        if pred():
            return
        d = oc.next_deadline_ms(r.clock.ticks_ms())
        r.clock.advance_ms(d if d > 0 else 100)
    raise AssertionError("not reached; log: %r" % (oc.log,))


async def _registered(r, conn):
    """Wait until the BootNotification sent on conn was accepted."""
    oc = r.st.ocpp
    await _until(r, lambda: oc.online())
    assert any(m[0] == 2 and m[2] == "BootNotification" for m in _texts(conn)), _texts(conn)


def test_connect_faults_never_end_the_connection_task():
    r = Rig()
    oc = r.st.ocpp
    net = FlakyNet([MemoryError("memory allocation failed, allocating 16384 bytes"),
                    OSError(113), ValueError("bad certificate"), RuntimeError("a bug")])
    r.board.net = net
    real = client_mod.WSClient
    built = []

    def flaky_ws_client(*a, **kw):
        # the first attempt cannot even get the WebSocket buffers
        if not built:
            built.append(None)
            raise MemoryError("memory allocation failed, allocating 16398 bytes")
        w = real(*a, **kw)
        built.append(w)
        return w

    async def body():
        client_mod.WSClient = flaky_ws_client
        try:
            await oc.start()
            await _until(r, lambda: oc.connected)
            task = oc._tasks[0]
            assert not task.done()
            # one attempt failed on the buffers, four in open_connection
            assert len(built) == 2 and len(net.conns) == 1, (built, net.conns)
            notes = " ".join(oc.log)
            for what in ("MemoryError", "OSError", "ValueError", "RuntimeError"):
                assert what in notes, (what, oc.log)
            await _registered(r, net.conns[0])
            assert oc.online()
        finally:
            client_mod.WSClient = real
            await oc.stop()
    asyncio.run(body())


def test_a_fault_while_connected_drops_the_link_and_the_task_reconnects():
    r = Rig()
    oc = r.st.ocpp
    net = FlakyNet([])
    r.board.net = net
    real_pump_loop = oc._pump_loop
    hits = []

    async def failing_pump_loop(w):
        # the second connection's pump hits an exhausted heap at once
        if len(net.conns) == 2 and not hits:
            hits.append(1)
            raise MemoryError("memory allocation failed, allocating 2560 bytes")
        await real_pump_loop(w)

    async def body():
        await oc.start()
        await _until(r, lambda: oc.connected)
        await _registered(r, net.conns[0])
        oc._pump_loop = failing_pump_loop
        c = net.conns[0]
        c.eof = True                    # the Central System went away
        c._ev.set()
        await _until(r, lambda: len(net.conns) == 3 and oc.connected)
        assert hits == [1] and not oc._tasks[0].done()
        assert net.conns[1].closed       # the failed link was closed, not leaked
        assert any("MemoryError" in n for n in oc.log), oc.log
        assert oc.online()              # registered since the first boot
        await oc.stop()
    asyncio.run(body())


def test_websocket_buffers_are_the_same_objects_across_reconnects():
    r = Rig()
    oc = r.st.ocpp
    net = FlakyNet([])
    r.board.net = net

    async def body():
        await oc.start()
        seen = []
        for i in range(3):
            await _until(r, lambda: oc.connected and len(net.conns) == i + 1)
            w = oc.ws
            seen.append((w, w._enc._buf, w._dec._small, w._dec._ctl))
            if i == 0:
                await _registered(r, net.conns[0])
            c = net.conns[i]
            c.eof = True
            c._ev.set()
            await _until(r, lambda: not oc.connected)
        await oc.stop()
        first = seen[0]
        for other in seen[1:]:
            for a, b in zip(first, other):
                assert a is b
        # 2 KiB each way, whatever the largest message (max_frame, 16 KiB)
        assert len(first[1]) == wsframe.FRAME_SIZE + 14 and len(first[2]) == wsframe.FRAME_SIZE
        assert first[0].max_size == r.st.ocpp.max_frame
    asyncio.run(body())
