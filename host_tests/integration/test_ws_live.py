# The WebSocket client of the firmware (evse.ocpp.ws + evse.hal.net) against a
# real `websockets` server on 127.0.0.1: run under the MicroPython Unix port
# (subprocess) and in-process on CPython. Plain ws:// and wss:// (throwaway
# self-signed certificates made with the openssl CLI), basic auth (security
# profiles 1 and 2), a server that refuses ocpp1.6, server pings, close codes.
import asyncio
import base64
import json
import os
import ssl
import subprocess
import sys
import threading
import time

import pytest
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
FIRMWARE = os.path.join(ROOT, "firmware")
if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)

USER, PASSWORD = "CP1", "0123456789abcdef0123"
HEARTBEAT = '[2,"1","Heartbeat",{}]'


class LiveServer:
    """A websockets server in a thread. mode: echo (echo one message, ping
    the client, send "after-pong", wait for the client's close), big (send
    a 20000-byte message) or frag (receive one message frame by frame, send
    it back in 3000-byte fragments with a ping between each, then as one
    frame). protos=None: no subprotocol negotiated (refusal)."""

    def __init__(self, mode="echo", protos=("ocpp1.6",), ssl_ctx=None, password=None):
        self.mode = mode
        self.protos = list(protos) if protos else None
        self.ssl_ctx = ssl_ctx
        self.password = password
        self.events = []
        self.port = 0

    def __enter__(self):
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "server did not start"
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self):
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", 0, subprotocols=self.protos,
                         ssl=self.ssl_ctx, process_request=self._auth,
                         ping_interval=None) as srv:
            self.port = srv.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def _auth(self, conn, request):
        self.events.append(("request", request.path, request.headers.get("Authorization")))
        if self.password is not None:
            want = "Basic " + base64.b64encode(("%s:%s" % (USER, self.password)).encode()).decode()
            if request.headers.get("Authorization") != want:
                return conn.respond(401, "Unauthorized\n")
        return None

    async def _handler(self, conn):
        ev = self.events
        ev.append(("open", conn.subprotocol))
        try:
            if conn.subprotocol is None:
                # OCPP-J 3.2: complete the handshake without the header, then close
                await conn.close(1002, "ocpp1.6 required")
                return
            if self.mode == "big":
                await conn.send("x" * 20000)
                await conn.recv()
                return
            if self.mode == "frag":
                await self._frag(conn)
                return
            msg = await conn.recv()
            ev.append(("recv", msg))
            await conn.send(msg)
            waiter = await conn.ping(b"srv-ping")
            await asyncio.wait_for(waiter, 5)
            ev.append(("pong",))
            await conn.send("after-pong")
            await conn.recv()
        except ConnectionClosed:
            pass
        finally:
            try:
                await asyncio.wait_for(conn.wait_closed(), 5)
            except asyncio.TimeoutError:
                pass
            ev.append(("closed", conn.close_code, conn.close_reason))

    async def _frag(self, conn):
        ev = self.events
        parts = []
        async for part in conn.recv_streaming(decode=False):
            parts.append(part)
        ev.append(("frames", [len(p) for p in parts]))
        msg = b"".join(parts).decode()     # strict UTF-8 across the fragment cuts
        ev.append(("recv", msg))
        raw = msg.encode()
        waiters = []

        async def pieces():
            for i in range(0, len(raw), 3000):
                if i:
                    waiters.append(await conn.ping(b"mid-%d" % i))
                yield raw[i:i + 3000]

        await conn.send(pieces(), text=True)
        await asyncio.wait_for(asyncio.gather(*waiters), 5)
        ev.append(("pongs", len(waiters)))
        await conn.send(msg)
        await conn.recv()

    def wait_closed(self, timeout=5):
        end = time.time() + timeout
        while time.time() < end:
            if any(e[0] == "closed" for e in self.events):
                return
            time.sleep(0.02)

    def event(self, name):
        for e in self.events:
            if e[0] == name:
                return e
        return None


# ------------------------------------------------------------- clients

CLIENT = r'''
import asyncio, json
from evse.ocpp.ws import WSClient
from evse.ocpp.wsframe import WSClosed
from evse.ocpp.wshandshake import WSHandshakeError
from evse.hal.net import Net

async def main(url, auth, cadata):
    c = WSClient()
    out = {}
    try:
        await c.connect(url, basic_auth=auth, cadata=cadata, net=Net(), timeout_s=10)
    except WSHandshakeError as e:
        return {"handshake_error": str(e), "status": e.status}
    except Exception as e:
        return {"error": repr(e)}
    try:
        await c.send_text(%(msg)r)
        out["echo"] = await c.recv()
        out["second"] = await c.recv()
        await c.close(1000, "bye")
    except WSClosed as e:
        out["closed_by"] = e.code
    out["close_code"] = c.close_code
    return out
'''


def run_micropython(url, auth=None, cadata=None, msg=HEARTBEAT):
    if not os.path.exists(MICROPYTHON):
        pytest.skip("no MicroPython Unix port in .venv")
    src = CLIENT % {"msg": msg}
    src += "print(json.dumps(asyncio.run(main(%r, %r, %r))))\n" % (
        url, tuple(auth) if auth else None, cadata)
    env = dict(os.environ, MICROPYPATH="firmware:.frozen")
    p = subprocess.run([MICROPYTHON, "-c", src], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_cpython(url, auth=None, cadata=None, msg=HEARTBEAT):
    ns = {}
    exec(CLIENT % {"msg": msg}, ns)
    return asyncio.run(ns["main"](url, auth, cadata))


RUNNERS = [pytest.param(run_micropython, id="micropython"), pytest.param(run_cpython, id="cpython")]


# ------------------------------------------------------------- certificates

def server_ctx(key, crt):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx


# ------------------------------------------------------------- tests

@pytest.mark.parametrize("run", RUNNERS)
def test_echo_ping_close_with_basic_auth(run):
    with LiveServer(password=PASSWORD) as srv:
        out = run("ws://127.0.0.1:%d/ocpp/%s" % (srv.port, USER), (USER, PASSWORD))
        srv.wait_closed()
    assert out == {"echo": HEARTBEAT, "second": "after-pong", "close_code": 1000}, out
    want_auth = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
    assert srv.event("request") == ("request", "/ocpp/CP1", want_auth)
    assert srv.event("open") == ("open", "ocpp1.6")
    assert srv.event("recv") == ("recv", HEARTBEAT)
    assert srv.event("pong") == ("pong",)          # our pong carried the server's payload
    assert srv.event("closed") == ("closed", 1000, "bye")


@pytest.mark.parametrize("run", RUNNERS)
def test_server_refusing_ocpp16(run):
    with LiveServer(protos=None) as srv:
        out = run("ws://127.0.0.1:%d/ocpp/CP1" % srv.port)
    assert out == {"handshake_error": "server refused subprotocol ocpp1.6", "status": 101}, out


@pytest.mark.parametrize("run", RUNNERS)
def test_wrong_password_gets_401(run):
    with LiveServer(password=PASSWORD) as srv:
        out = run("ws://127.0.0.1:%d/ocpp/CP1" % srv.port, (USER, "wrong"))
    assert out["status"] == 401 and "unauthorized" in out["handshake_error"], out
    assert srv.event("open") is None


@pytest.mark.parametrize("run", RUNNERS)
def test_oversize_message_closes_with_1009(run):
    with LiveServer(mode="big") as srv:
        out = run("ws://127.0.0.1:%d/ocpp/CP1" % srv.port)
        srv.wait_closed()
    assert out == {"closed_by": 1009, "close_code": 1009}, out
    assert srv.event("closed")[1] == 1009


# 10.2 KB of UTF-8 (1, 2, 3 and 4-byte characters): fragments cut inside them
TEXT10K = "".join("%05d \u00e9\u20ac\U0001f600|" % i for i in range(641))


@pytest.mark.parametrize("run", RUNNERS)
def test_10k_message_fragmented_both_ways(run):
    # out: 1 KiB fragments (FIN on the last), each masked; in: 3000-byte
    # fragments with pings between them, then the same as one frame
    with LiveServer(mode="frag") as srv:
        out = run("ws://127.0.0.1:%d/ocpp/CP1" % srv.port, msg=TEXT10K)
        srv.wait_closed()
    assert out == {"echo": TEXT10K, "second": TEXT10K, "close_code": 1000}, {
        k: (v if len(str(v)) < 100 else len(v)) for k, v in out.items()}
    n = len(TEXT10K.encode())
    assert srv.event("frames") == ("frames", [min(1024, n - i) for i in range(0, n, 1024)])
    assert srv.event("recv") == ("recv", TEXT10K)
    assert srv.event("pongs") == ("pongs", 3)
    assert srv.event("closed") == ("closed", 1000, "bye")


@pytest.mark.parametrize("run", RUNNERS)
def test_tls_with_basic_auth_profile_2(run, certs):
    key, crt, pem = certs["good"]
    with LiveServer(ssl_ctx=server_ctx(key, crt), password=PASSWORD) as srv:
        out = run("wss://127.0.0.1:%d/ocpp/%s" % (srv.port, USER), (USER, PASSWORD), pem)
        srv.wait_closed()
    assert out == {"echo": HEARTBEAT, "second": "after-pong", "close_code": 1000}, out
    assert srv.event("request")[2].startswith("Basic ")
    assert srv.event("closed") == ("closed", 1000, "bye")


@pytest.mark.parametrize("run", RUNNERS)
def test_tls_ca_bundle_with_several_certificates(run, certs):
    key, crt, pem = certs["good"]
    bundle = certs["other"][2] + pem
    with LiveServer(ssl_ctx=server_ctx(key, crt)) as srv:
        out = run("wss://localhost:%d/ocpp/CP1" % srv.port, None, bundle)
        srv.wait_closed()
    assert out.get("echo") == HEARTBEAT, out


@pytest.mark.parametrize("run", RUNNERS)
def test_tls_untrusted_certificate_refused(run, certs):
    key, crt, _ = certs["good"]
    with LiveServer(ssl_ctx=server_ctx(key, crt)) as srv:
        out = run("wss://127.0.0.1:%d/ocpp/CP1" % srv.port, None, certs["other"][2])
    assert "error" in out, out
    assert srv.event("open") is None


@pytest.mark.parametrize("run", RUNNERS)
def test_tls_hostname_mismatch_refused(run, certs):
    key, crt, pem = certs["wrongname"]
    with LiveServer(ssl_ctx=server_ctx(key, crt)) as srv:
        out = run("wss://127.0.0.1:%d/ocpp/CP1" % srv.port, None, pem)
    assert "error" in out, out
    assert srv.event("open") is None


def test_micropython_tls_without_cadata_is_refused():
    # no CA store on MicroPython: verification cannot be skipped by accident
    out = run_micropython("wss://127.0.0.1:1/ocpp/CP1")
    assert "cadata" in out["error"], out
