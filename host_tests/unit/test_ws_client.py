# The async shell of evse.ocpp.ws (WSClient) against a scripted in-memory
# server: handshake checks, ping/pong, close handshake, failures, keepalive.
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")  # the frozen asyncio, when MICROPYPATH hides it
import asyncio

from evse.ocpp import wsframe, wshandshake, ws
from test_ws_codec import sframe, unmask


class FakeConn:
    """Reader and writer of one scripted server connection (plain state)."""

    def __init__(self, mode="ok", after=b"", chunk=0, echo_close=True, auto_pong=True,
                 slow_drain=False):
        self.mode = mode            # ok | noproto | otherproto | 401 | badaccept | silent
        self.after = after          # server frames sent right after the 101
        self.chunk = chunk          # bytes per read() (0 = all available)
        self.echo_close = echo_close
        self.auto_pong = auto_pong
        self.rx = bytearray()       # what the client will read
        self.tx = bytearray()       # what the client wrote, not yet parsed
        self.request = None
        self.frames = []            # client frames: (fin, opcode, payload)
        self.masks = []             # their masking keys
        self.slow_drain = slow_drain  # drain() lets other tasks run
        self.closed = False
        self.eof = False
        self._ev = asyncio.Event()

    def push(self, data):
        self.rx += data
        self._ev.set()

    async def _wait(self):
        self._ev.clear()
        await self._ev.wait()

    # --- reader side
    async def readline(self):
        while True:
            i = self.rx.find(b"\n")
            if i >= 0:
                line = bytes(self.rx[:i + 1])
                self.rx = self.rx[i + 1:]
                return line
            if self.eof or self.closed:
                return b""
            await self._wait()

    async def read(self, n):
        while not self.rx:
            if self.eof or self.closed:
                return b""
            await self._wait()
        k = min(n, len(self.rx), self.chunk or n)
        data = bytes(self.rx[:k])
        self.rx = self.rx[k:]
        return data

    # --- writer side
    def write(self, data):
        assert not self.closed, "write after close"
        self.tx += bytes(data)
        if self.request is None:
            i = self.tx.find(b"\r\n\r\n")
            if i >= 0:
                self.request = bytes(self.tx[:i + 4]).decode()
                self.tx = self.tx[i + 4:]
                self._respond()
        else:
            self._frames()

    async def drain(self):
        if self.slow_drain:
            await asyncio.sleep(0)

    def close(self):
        self.closed = True
        self._ev.set()

    async def wait_closed(self):
        pass

    def header(self, name):
        for line in self.request.split("\r\n")[1:]:
            if line.lower().startswith(name.lower() + ":"):
                return line.split(":", 1)[1].strip()
        return None

    def _respond(self):
        if self.mode == "silent":
            return
        if self.mode == "401":
            self.push(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            self.eof = True
            return
        acc = wshandshake.accept_key(self.header("Sec-WebSocket-Key"))
        if self.mode == "badaccept":
            acc = "AAAA" + acc[4:]
        lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Accept: " + acc]
        if self.mode == "ok":
            lines.append("Sec-WebSocket-Protocol: ocpp1.6")
        elif self.mode == "otherproto":
            lines.append("Sec-WebSocket-Protocol: ocpp2.0.1")
        self.push(("\r\n".join(lines) + "\r\n\r\n").encode() + self.after)

    def _frames(self):
        while len(self.tx) >= 6:
            n = self.tx[1] & 0x7F
            off = 2 + (2 if n == 126 else 8 if n == 127 else 0)
            if n == 126:
                n = (self.tx[2] << 8) | self.tx[3]
            end = off + 4 + n
            if len(self.tx) < end:
                return
            fin, op, payload = unmask(bytes(self.tx[:end]))
            self.masks.append(bytes(self.tx[off:off + 4]))
            self.tx = self.tx[end:]
            self.frames.append((fin, op, payload))
            if op == wsframe.OP_PING and self.auto_pong:
                self.push(sframe(wsframe.OP_PONG, payload))
            elif op == wsframe.OP_CLOSE and self.echo_close:
                self.push(sframe(wsframe.OP_CLOSE, payload))
                self.eof = True

    def sent(self, op):
        return [p for (fin, o, p) in self.frames if o == op]


class FakeNet:
    def __init__(self, conn):
        self.conn = conn
        self.calls = []

    async def open_connection(self, host, port, tls=False, cadata=None):
        self.calls.append((host, port, tls, cadata))
        return self.conn, self.conn


def _counter_rand():
    state = [0]

    def rand(bits):
        state[0] += 1
        return (0x9E3779B1 * state[0]) & ((1 << bits) - 1)

    return rand


def run(coro):
    return asyncio.run(coro)


async def _connected(conn, url="ws://cs.example:9000/ocpp/CP1", **kw):
    c = ws.WSClient(1024, rand=_counter_rand())
    net = FakeNet(conn)
    await c.connect(url, net=net, **kw)
    return c, net


def _close_code(payload):
    return (payload[0] << 8) | payload[1]


# ------------------------------------------------------------- handshake

def test_connect_send_recv_and_request_headers():
    async def main():
        conn = FakeConn(after=sframe(wsframe.OP_TEXT, "[3,\"1\",{}]"))
        c, net = await _connected(conn, basic_auth=("CP1", "pw"))
        assert not c.closed and c.subprotocol == "ocpp1.6"
        assert net.calls == [("cs.example", 9000, False, None)]
        assert conn.request.startswith("GET /ocpp/CP1 HTTP/1.1\r\n")
        assert conn.header("Host") == "cs.example:9000"
        assert conn.header("Sec-WebSocket-Protocol") == "ocpp1.6"
        assert conn.header("Sec-WebSocket-Version") == "13"
        assert conn.header("Authorization") == "Basic Q1AxOnB3"
        assert len(conn.header("Sec-WebSocket-Key")) == 24
        await c.send_text("[2,\"a\",\"Heartbeat\",{}]")
        assert conn.frames == [(True, wsframe.OP_TEXT, b"[2,\"a\",\"Heartbeat\",{}]")]
        assert await c.recv() == "[3,\"1\",{}]"
    run(main())


def test_connect_tls_parts_and_cadata_go_to_net():
    async def main():
        conn = FakeConn()
        c = ws.WSClient(256, rand=_counter_rand())
        net = FakeNet(conn)
        await c.connect((True, "cs.example", 443, "/x/CP1"), cadata=b"PEM", net=net)
        assert net.calls == [("cs.example", 443, True, b"PEM")]
        assert conn.header("Host") == "cs.example"
        assert conn.header("Authorization") is None
    run(main())


def _handshake_error(mode):
    async def main():
        conn = FakeConn(mode)
        c = ws.WSClient(256, rand=_counter_rand())
        try:
            await c.connect("ws://h/CP1", net=FakeNet(conn), timeout_s=1)
        except wshandshake.WSHandshakeError as e:
            assert c.closed and conn.closed
            return e
        raise AssertionError("no handshake error")
    return run(main())


def test_subprotocol_refused_fails_clearly():
    e = _handshake_error("noproto")
    assert str(e) == "server refused subprotocol ocpp1.6"
    e = _handshake_error("otherproto")
    assert "ocpp2.0.1" in str(e)


def test_http_401_and_bad_accept():
    e = _handshake_error("401")
    assert e.status == 401
    e = _handshake_error("badaccept")
    assert "Accept" in str(e)


def test_handshake_timeout():
    async def main():
        conn = FakeConn("silent")
        c = ws.WSClient(256, rand=_counter_rand())
        try:
            await c.connect("ws://h/CP1", net=FakeNet(conn), timeout_s=0.05)
        except wshandshake.WSHandshakeError as e:
            assert "timeout" in str(e) and conn.closed
            return
        raise AssertionError("no timeout")
    run(main())


def test_byte_by_byte_delivery():
    async def main():
        frames = (sframe(wsframe.OP_PING, "p") + sframe(wsframe.OP_TEXT, "ab", fin=False)
                  + sframe(wsframe.OP_CONT, "cd"))
        conn = FakeConn(after=frames, chunk=1)
        c, net = await _connected(conn)
        assert await c.recv() == "abcd"
        assert conn.sent(wsframe.OP_PONG) == [b"p"]
    run(main())


# ------------------------------------------------------------- messages

def test_ping_answered_with_same_payload():
    async def main():
        conn = FakeConn(after=sframe(wsframe.OP_PING, b"\x01\x02xyz") + sframe(wsframe.OP_TEXT, "m"))
        c, _ = await _connected(conn)
        assert await c.recv() == "m"
        assert conn.sent(wsframe.OP_PONG) == [b"\x01\x02xyz"]
    run(main())


def test_server_close_is_echoed_and_reported():
    async def main():
        conn = FakeConn(after=sframe(wsframe.OP_CLOSE, b"\x03\xe9bye"))
        c, _ = await _connected(conn)
        try:
            await c.recv()
            raise AssertionError("no WSClosed")
        except wsframe.WSClosed as e:
            assert e.code == 1001 and e.reason == "bye"
        assert c.closed and c.close_code == 1001 and conn.closed
        assert [_close_code(p) for p in conn.sent(wsframe.OP_CLOSE)] == [1001]
        try:
            await c.send_text("x")
            raise AssertionError("send after close")
        except wsframe.WSClosed:
            pass
    run(main())


def _failed_with(after, code):
    async def main():
        conn = FakeConn(after=after)
        c, _ = await _connected(conn)
        try:
            await c.recv()
            raise AssertionError("no WSClosed")
        except wsframe.WSClosed as e:
            assert e.code == code, e.code
        assert c.closed and conn.closed
        assert [_close_code(p) for p in conn.sent(wsframe.OP_CLOSE)] == [code]
    run(main())


def test_oversize_message_fails_with_1009():
    _failed_with(sframe(wsframe.OP_TEXT, b"x" * 1025), 1009)
    _failed_with(sframe(wsframe.OP_TEXT, b"x" * 600, fin=False) + sframe(wsframe.OP_CONT, b"y" * 600), 1009)


def test_protocol_violations_fail_the_connection():
    _failed_with(sframe(wsframe.OP_TEXT, "x", mask=1), 1002)
    _failed_with(sframe(wsframe.OP_TEXT, b"\xff\xfe"), 1007)
    _failed_with(sframe(wsframe.OP_BINARY, b"\x00"), 1003)


def test_eof_is_1006():
    async def main():
        conn = FakeConn()
        c, _ = await _connected(conn)
        conn.eof = True
        conn._ev.set()
        try:
            await c.recv()
            raise AssertionError("no WSClosed")
        except wsframe.WSClosed as e:
            assert e.code == 1006
        assert c.closed
    run(main())


# ------------------------------------------------------------- closing

def test_client_close_handshake():
    async def main():
        conn = FakeConn()
        c, _ = await _connected(conn)
        await c.close(1000, "done")
        assert c.closed and c.close_code == 1000 and conn.closed
        assert conn.sent(wsframe.OP_CLOSE) == [b"\x03\xe8done"]
        await c.close()  # idempotent
        assert len(conn.sent(wsframe.OP_CLOSE)) == 1
    run(main())


def test_client_close_while_a_task_is_reading():
    async def main():
        conn = FakeConn()
        c, _ = await _connected(conn)
        got = []

        async def reader():
            try:
                await c.recv()
            except wsframe.WSClosed as e:
                got.append(e.code)

        t = asyncio.create_task(reader())
        await asyncio.sleep(0)
        await c.close(1001)
        await t
        assert got == [1001] and c.closed and conn.closed
    run(main())


def test_client_close_without_answer_times_out():
    async def main():
        conn = FakeConn(echo_close=False)
        c, _ = await _connected(conn)
        await c.close(1000, timeout_s=0.05)
        assert c.closed and conn.closed
    run(main())


# ------------------------------------------------------------- keepalive

class FakeTime:
    def __init__(self):
        self.t = 0

    def ticks_ms(self):
        return self.t

    async def sleep_ms(self, ms):
        self.t += ms
        await asyncio.sleep(0)


def test_keepalive_pings_and_pongs():
    async def main():
        conn = FakeConn()
        c, _ = await _connected(conn)
        ft = FakeTime()

        async def reader():
            try:
                while True:
                    await c.recv()
            except wsframe.WSClosed:
                pass

        rt = asyncio.create_task(reader())
        kt = asyncio.create_task(c.keepalive(10, ft.ticks_ms, ft.sleep_ms))
        while len(conn.sent(wsframe.OP_PING)) < 3:
            await asyncio.sleep(0)
        assert ft.t >= 30000 and not c.closed
        await c.close()
        await kt
        await rt
    run(main())


def test_keepalive_detects_dead_peer():
    async def main():
        conn = FakeConn(auto_pong=False)
        c, _ = await _connected(conn)
        ft = FakeTime()
        await c.keepalive(10, ft.ticks_ms, ft.sleep_ms)   # returns when it gives up
        assert c.closed and c.close_code == 1006 and c.close_reason == "ping timeout"
        assert len(conn.sent(wsframe.OP_PING)) == 1 and 20000 <= ft.t < 21100
        assert conn.closed
    run(main())


def test_keepalive_zero_disables():
    async def main():
        conn = FakeConn()
        c, _ = await _connected(conn)
        ft = FakeTime()
        await c.keepalive(0, ft.ticks_ms, ft.sleep_ms)
        assert conn.sent(wsframe.OP_PING) == [] and not c.closed
    run(main())


def test_client_is_reusable_after_close():
    async def main():
        c = ws.WSClient(256, rand=_counter_rand())
        for i in range(3):
            conn = FakeConn(after=sframe(wsframe.OP_TEXT, "n%d" % i))
            await c.connect("ws://h/CP1", net=FakeNet(conn))
            try:
                await c.connect("ws://h/CP1", net=FakeNet(FakeConn()))
                raise AssertionError("second connect accepted")
            except wsframe.WSError:
                pass
            assert await c.recv() == "n%d" % i
            await c.close()
            assert c.closed and conn.closed
    run(main())


def test_send_too_large_is_value_error():
    async def main():
        conn = FakeConn()
        c, _ = await _connected(conn)
        try:
            await c.send_text("x" * 1025)
            raise AssertionError("oversize send accepted")
        except ValueError:
            pass
        await c.send_text("x" * 1024)
        assert conn.frames[-1][2] == b"x" * 1024
    run(main())


# ------------------------------------------------------------- fragments

TEXT10K = "".join("%05d \u00e9\u20ac\U0001f600|" % i for i in range(640))   # 10.2 KB of UTF-8


def test_long_message_goes_out_as_masked_fragments():
    async def main():
        conn = FakeConn()
        c = ws.WSClient(16384, rand=_counter_rand())
        await c.connect("ws://h/CP1", net=FakeNet(conn))
        raw = TEXT10K.encode()
        assert len(raw) > 10000 and len(c._enc._buf) == wsframe.FRAME_SIZE + 14
        await c.send_text(TEXT10K)
        f = conn.frames
        assert [(fin, op) for fin, op, _ in f] == (
            [(False, wsframe.OP_TEXT)] + [(False, wsframe.OP_CONT)] * (len(f) - 2) + [(True, wsframe.OP_CONT)])
        assert [len(p) for _, _, p in f[:-1]] == [wsframe.FRAME_SIZE] * (len(f) - 1)
        assert b"".join(p for _, _, p in f) == raw
        assert len(set(conn.masks)) == len(f)        # a masking key of its own each
        # a message that fits a frame is still one frame
        n = len(f)
        await c.send_text("x" * wsframe.FRAME_SIZE)
        assert conn.frames[n:] == [(True, wsframe.OP_TEXT, b"x" * wsframe.FRAME_SIZE)]
        try:
            await c.send_text("x" * 16385)
            raise AssertionError("oversize send accepted")
        except ValueError:
            pass
    run(main())


def test_ping_during_a_fragmented_send_is_answered_after_its_last_fragment():
    async def main():
        conn = FakeConn(slow_drain=True)
        c = ws.WSClient(16384, rand=_counter_rand())
        await c.connect("ws://h/CP1", net=FakeNet(conn))

        async def reader():
            return await c.recv()

        t = asyncio.create_task(reader())
        await asyncio.sleep(0)
        conn.push(sframe(wsframe.OP_PING, "mid"))
        await c.send_text(TEXT10K)
        conn.push(sframe(wsframe.OP_TEXT, "done"))
        assert await t == "done"
        ops = [op for _, op, _ in conn.frames]
        k = ops.index(wsframe.OP_PONG)
        assert ops[:k] == [wsframe.OP_TEXT] + [wsframe.OP_CONT] * (k - 1) and conn.frames[k - 1][0]
        assert conn.sent(wsframe.OP_PONG) == [b"mid"]
    run(main())


def test_long_messages_received_whole_or_fragmented_with_pings_between():
    async def main():
        raw = TEXT10K.encode()
        # fragments cut inside UTF-8 sequences, a ping between each
        frames = b""
        cuts = list(range(0, len(raw), 1001)) + [len(raw)]
        for i in range(len(cuts) - 1):
            op = wsframe.OP_TEXT if i == 0 else wsframe.OP_CONT
            frames += sframe(op, raw[cuts[i]:cuts[i + 1]], fin=i == len(cuts) - 2)
            frames += sframe(wsframe.OP_PING, "p%d" % i)
        conn = FakeConn(after=sframe(wsframe.OP_TEXT, raw) + frames, chunk=700)
        c = ws.WSClient(16384, rand=_counter_rand())
        await c.connect("ws://h/CP1", net=FakeNet(conn))
        assert await c.recv() == TEXT10K
        assert c._dec.msgbuf is c._dec._small        # its buffer was given back
        assert await c.recv() == TEXT10K
        assert conn.sent(wsframe.OP_PONG)[:len(cuts) - 2] == [b"p%d" % i for i in range(len(cuts) - 2)]
    run(main())


def test_bad_continuation_sequence_fails_with_1002():
    raw = TEXT10K.encode()
    _failed_with(sframe(wsframe.OP_TEXT, raw[:600], fin=False) + sframe(wsframe.OP_TEXT, raw[600:900]), 1002)
    _failed_with(sframe(wsframe.OP_TEXT, raw[:600], fin=False) + sframe(wsframe.OP_BINARY, b"cd"), 1002)


def test_max_size_change_keeps_the_buffers():
    c = ws.WSClient(16384)
    bufs = (c._enc._buf, c._dec._small)
    c.set_max_size(4096)
    assert c.max_size == 4096 and c._dec.max_size == 4096
    assert (c._enc._buf, c._dec._small) == bufs and bufs[0] is c._enc._buf
