# TCP_NODELAY on the OCPP socket (evse.hal.net): set where the platform has
# it, silently skipped where it does not (MicroPython's socket module may
# lack the constants; a TLS stream may wrap a socket without setsockopt).
from evse.hal import net


class Sock:
    def __init__(self):
        self.opts = []

    def setsockopt(self, level, opt, value):
        self.opts.append((level, opt, value))


class MpStream:                 # MicroPython's asyncio Stream: .s is the socket
    def __init__(self, s):
        self.s = s


class TlsStream:                # a socket object without setsockopt
    s = object()


def test_nodelay_is_set_when_the_socket_module_has_it_and_skipped_otherwise():
    import socket
    s = Sock()
    ok = net._nodelay(MpStream(s))
    assert ok is True
    # the names where the module has them, else their standard values (6, 1)
    assert s.opts == [(getattr(socket, "IPPROTO_TCP", 6), getattr(socket, "TCP_NODELAY", 1), 1)]
    assert net._nodelay(TlsStream()) is False
    assert net._nodelay(object()) is False


class Ctx:                      # an ssl context: wrap_socket hands back a TLS object
    def __init__(self, log):
        self.log = log

    def wrap_socket(self, sock, **kw):
        self.log.append(("wrap", sock, kw))
        return TlsStream()


class LogSock:
    def __init__(self, log):
        self.log = log

    def setsockopt(self, level, opt, value):
        self.log.append(("setsockopt", level, opt, value))


def test_tls_on_micropython_sets_nodelay_on_the_tcp_socket_before_wrapping():
    log = []
    tls = net._NodelayTLS(Ctx(log))
    raw = LogSock(log)
    out = tls.wrap_socket(raw, server_hostname="cs.example", do_handshake_on_connect=False)
    assert type(out) is TlsStream and tls.nodelay is True
    assert log[0][0] == "setsockopt" and log[0][3] == 1
    assert log[1] == ("wrap", raw, {"server_hostname": "cs.example", "do_handshake_on_connect": False})
    # a socket without setsockopt is still wrapped
    log[:] = []
    tls = net._NodelayTLS(Ctx(log))
    tls.wrap_socket(TlsStream.s)
    assert tls.nodelay is False and log[0][0] == "wrap"


def _run(coro):
    try:
        import asyncio
    except ImportError:
        import uasyncio as asyncio
    return asyncio.run(coro)


def _micropython_tls_connection():
    # MicroPython's asyncio.open_connection(ssl=ctx) wraps its TCP socket with
    # ctx.wrap_socket: the wrapper sets TCP_NODELAY on that real socket first
    # (a context returning the socket itself stands in for mbedTLS)
    import asyncio

    class Plain:
        def wrap_socket(self, sock, **kw):
            self.kw = kw
            self.sock = sock
            return sock

    class PlainNet(net.Net):
        def tls_context(self, cadata=None):
            self.ctx = Plain()
            return self.ctx

    seen = []
    setopt = net._setopt

    def recording(sock):
        ok = setopt(sock)
        seen.append((sock, ok))
        return ok

    async def main():
        async def on_client(r, w):
            w.write(b"hi")
            await w.drain()
        srv = await asyncio.start_server(on_client, "127.0.0.1", 18523)
        n = PlainNet()
        r, w = await n.open_connection("127.0.0.1", 18523, tls=True, server_hostname="cs.example")
        data = await r.read(2)
        w.close()
        srv.close()
        await srv.wait_closed()
        return n.ctx, data

    net._setopt = recording
    try:
        plain, data = _run(main())
    finally:
        net._setopt = setopt
    assert data == b"hi"
    assert plain.kw.get("server_hostname") == "cs.example"
    assert len(seen) == 1 and seen[0][0] is plain.sock and seen[0][1] is True   # the TCP socket


def _cpython_tls_connection():
    # CPython: a real TLS link to a local server with a throwaway certificate;
    # the client's TCP socket under the TLS transport has TCP_NODELAY
    import os
    import shutil
    import socket
    import ssl
    import subprocess
    import asyncio
    from support import tmpdir
    assert shutil.which("openssl"), "the openssl command is needed (apt-get install openssl)"
    d = tmpdir("tls")
    key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(crt, key)

    async def main():
        async def on_client(r, w):
            w.write(b"hi")
            await w.drain()
        srv = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=sctx)
        port = srv.sockets[0].getsockname()[1]
        with open(crt, "rb") as f:
            pem = f.read()
        r, w = await net.Net().open_connection("localhost", port, tls=True, cadata=pem)
        data = await r.read(2)
        sock = w.get_extra_info("socket")
        on = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert w.get_extra_info("ssl_object") is not None      # it is the TLS link
        w.close()
        srv.close()
        await srv.wait_closed()
        return data, on

    data, on = asyncio.run(main())
    assert data == b"hi" and on != 0


def test_tls_connection_has_nodelay():
    from support import IS_MICROPYTHON
    if IS_MICROPYTHON:
        _micropython_tls_connection()
    else:
        _cpython_tls_connection()
