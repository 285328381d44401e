# The local management website's HTTP request parser, response framing,
# bounded stream reading and HTML escaping (evse.web.http, server, markup).
# Runs on CPython (pytest) and on the Unix port (tools/mp_test_runner.py).
from support import raises

from evse.web import http as H
from evse.web.markup import esc


def head(*lines) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(raw) -> int:
    return raises(H.HttpError, H.parse_head, raw).status


# ---- head_end ----------------------------------------------------------------------
def test_head_end_finds_the_blank_line():
    assert H.head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY") == 27
    assert H.head_end(b"GET / HTTP/1.1\r\nHost: x\r\n") == -1
    assert H.head_end(b"GET / HTTP/1.1\nHost: x\n\nB") == 24
    assert H.head_end(b"") == -1


# ---- parse_head ----------------------------------------------------------------------
def test_parse_get_with_query_and_headers():
    r = H.parse_head(head("GET /api/config?key=Heart%42eat+x&y=%C3%A9 HTTP/1.1", "Host: 10.0.0.5",
                          "User-Agent: t/1", "X-Multi: a", "x-multi: b"))
    assert r.method == "GET" and r.path == "/api/config" and r.version == "HTTP/1.1"
    assert r.header("host") == "10.0.0.5" and r.header("user-agent") == "t/1"
    assert r.header("x-multi") == "a, b"
    assert r.query() == {"key": "HeartBeat x", "y": "\u00e9"}
    assert r.content_length() == 0 and r.header("missing", "d") == "d"


def test_parse_post_form_body():
    r = H.parse_head(head("POST /config HTTP/1.1", "Host: h", "Content-Length: 27",
                          "Content-Type: application/x-www-form-urlencoded; charset=UTF-8"))
    r.body = b"key=NodeId&value=a%26b%3Dc+"
    assert r.content_length() == 27
    assert r.form() == {"key": "NodeId", "value": "a&b=c "}
    r.headers["content-type"] = "text/plain"
    assert r.form() == {}


def test_cookies():
    r = H.parse_head(head("GET / HTTP/1.1", "Host: h", "Cookie: a=1; evse_sid=abc", "Cookie: z=9"))
    assert r.cookie("evse_sid") == "abc" and r.cookie("z") == "9" and r.cookie("q") == ""


def test_http10_needs_no_host_but_11_does():
    assert H.parse_head(head("GET / HTTP/1.0")).version == "HTTP/1.0"
    assert status_of(head("GET / HTTP/1.1")) == 400


def test_malformed_request_lines_are_400():
    for line in ("GET /", "GET  / HTTP/1.1", "get / HTTP/1.1", "GET / HTTP/2.0", "GET / HTTP/1.1 x",
                 "GET http://evil/ HTTP/1.1", "GET //evil/ HTTP/1.1", "GET x HTTP/1.1", ""):
        assert status_of(head(line, "Host: h")) == 400, line


def test_malformed_headers_are_400():
    assert status_of(head("GET / HTTP/1.1", "Host: h", "Bad Name: x")) == 400
    assert status_of(head("GET / HTTP/1.1", "Host: h", "NoColon")) == 400
    assert status_of(head("GET / HTTP/1.1", "Host: h", ": empty")) == 400
    assert status_of(head("GET / HTTP/1.1", "Host: h", "X: a", " folded")) == 400
    assert status_of(b"GET / HTTP/1.1\r\nHost: h\r\nX: \xc3\xa9\r\n\r\n") == 400
    assert status_of(b"GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n") == 400


def test_content_length_rules():
    assert status_of(head("POST / HTTP/1.1", "Host: h", "Content-Length: x1")) == 400
    assert status_of(head("POST / HTTP/1.1", "Host: h", "Content-Length: -1")) == 400
    assert status_of(head("POST / HTTP/1.1", "Host: h", "Content-Length: 1", "Content-Length: 2")) == 400
    r = H.parse_head(head("POST / HTTP/1.1", "Host: h", "Content-Length: 3", "Content-Length: 3"))
    assert r.content_length() == 3
    assert status_of(head("POST / HTTP/1.1", "Host: h", "Content-Length: %d" % (H.MAX_BODY + 1))) == 413
    assert status_of(head("POST / HTTP/1.1", "Host: h", "Content-Length: 99999999999")) == 400
    assert H.parse_head(head("POST / HTTP/1.1", "Host: h",
                             "Content-Length: %d" % H.MAX_BODY)).content_length() == H.MAX_BODY
    assert status_of(head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked")) == 501


def test_oversize_heads_are_413():
    big = head("GET / HTTP/1.1", "Host: h", "X: " + "a" * H.MAX_HEAD)
    assert status_of(big) == 413
    many = ["GET / HTTP/1.1", "Host: h"] + ["X%d: 1" % i for i in range(H.MAX_HEADERS)]
    assert status_of(head(*many)) == 413


def test_unquote():
    assert H.unquote(b"a+b%20c") == "a b c"
    assert H.unquote(b"%24r33nFI%5Ex") == "$r33nFI^x"
    assert H.unquote(b"plain") == "plain"
    for bad in (b"%", b"%4", b"%zz", b"%C3"):
        assert raises(H.HttpError, H.unquote, bad).status == 400
    assert H.parse_pairs(b"a=1&&b=&c&a=2", b"&") == {"a": "2", "b": "", "c": ""}


def test_response_head():
    h = H.response_head(404, "text/plain", "X-A: 1\r\n", 5).decode()
    assert h.startswith("HTTP/1.1 404 Not Found\r\n")
    assert "Content-Length: 5\r\n" in h and "Content-Type: text/plain\r\n" in h
    assert "X-A: 1\r\n" in h and "Connection: close\r\n" in h and h.endswith("\r\n\r\n")
    assert "Content-Security-Policy: default-src 'none'" in h and "X-Frame-Options: DENY" in h
    assert "Content-Length" not in H.response_head(200, "text/html").decode()


# ---- escaping ------------------------------------------------------------------------------
def test_escape():
    assert esc("<script>alert('x') & \"y\"</script>") == (
        "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;")
    assert esc("&amp;") == "&amp;amp;"
    assert esc("plain text 123") == "plain text 123"
    assert esc(None) == "" and esc(12) == "12" and esc(1.5) == "1.5"
    assert esc("\u00e9<") == "\u00e9&lt;"


# ---- the stream side (evse.web.server) ----------------------------------------------------
class FakeReader:
    """A stream that gives `data` in pieces of at most `step` bytes."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self.data = data
        self.step = step
        self.pos = 0

    async def read(self, n: int) -> bytes:
        k = min(n, self.step)
        out = self.data[self.pos:self.pos + k]
        self.pos += len(out)
        return out


class FakeWriter:
    def __init__(self) -> None:
        self.out = b""
        self.drains = 0

    def write(self, b) -> None:
        self.out += b

    async def drain(self) -> None:
        self.drains += 1


def run(coro):
    import asyncio
    return asyncio.run(coro)


def read(data: bytes, step: int = 7):
    from evse.web.server import read_request
    return run(read_request(FakeReader(data, step)))


def read_status(data: bytes, step: int = 7) -> int:
    try:
        read(data, step)
    except H.HttpError as e:
        return e.status
    raise AssertionError("no HttpError")


def test_read_request_across_pieces():
    r = read(head("POST /login HTTP/1.1", "Host: h", "Content-Length: 11") + b"user=admin&EXTRA", 3)
    assert r.method == "POST" and r.body == b"user=admin&"
    assert read(b"") is None


def test_read_request_refuses_without_reading_everything():
    from evse.web.server import read_request
    src = FakeReader(b"GET / HTTP/1.1\r\nX: " + b"a" * 100000, 512)
    try:
        run(read_request(src))
        raise AssertionError("no HttpError")
    except H.HttpError as e:
        assert e.status == 413
    assert src.pos <= H.MAX_HEAD + 1024
    assert read_status(b"GET / HTTP/1.1\r\nHost: h\r\n") == 400           # EOF inside the head
    assert read_status(head("POST / HTTP/1.1", "Host: h", "Content-Length: 10") + b"abc") == 400


def test_send_streams_pieces_and_frames_strings():
    from evse.web.server import send
    w = FakeWriter()
    run(send(w, H.Response(200, "h\u00e9llo", "text/plain")))
    assert w.out.endswith(b"\r\n\r\nh\xc3\xa9llo") and b"Content-Length: 6\r\n" in w.out
    w = FakeWriter()
    run(send(w, H.Response(200, iter(["<p>%d</p>" % i for i in range(300)]))))
    body = w.out.split(b"\r\n\r\n", 1)[1]
    assert body == "".join(["<p>%d</p>" % i for i in range(300)]).encode()
    assert b"Content-Length" not in w.out and w.drains > 2
    w = FakeWriter()
    run(send(w, H.Response(200, "body"), True))
    assert w.out.endswith(b"\r\n\r\n") and b"Content-Length: 4" in w.out


class ConnWriter(FakeWriter):
    """A connection's writer as WebServer._client uses it."""

    def __init__(self) -> None:
        FakeWriter.__init__(self)
        self.closed = False

    def get_extra_info(self, name):
        return ("192.0.2.1", 5555)

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        pass


class SlowReader:
    async def read(self, n: int) -> bytes:
        import asyncio
        await asyncio.sleep(10)
        return b""


class EchoApp:
    def __init__(self) -> None:
        self.logged = []
        self.after_ran = 0

    def handle(self, req):
        r = H.Response(200, "%s %s from %s" % (req.method, req.path, req.peer), "text/plain")

        def after():
            self.after_ran += 1
        r.after = after
        return r

    def error(self, req, status, text):
        return H.Response(status, text, "text/plain")

    def log(self, line):
        self.logged.append(line)


def serve(reader, busy: int = 0):
    from evse.web.server import WebServer
    app = EchoApp()
    srv = WebServer(app, ("127.0.0.1", 0))
    for _ in range(busy):
        srv._open.append(object())
    w = ConnWriter()
    run(srv._client(reader, w))
    assert w.closed and len(srv._open) == busy
    return w.out.decode(), app


def test_server_answers_one_request_then_runs_after():
    out, app = serve(FakeReader(head("GET /x?y=1 HTTP/1.1", "Host: h")))
    assert out.startswith("HTTP/1.1 200 OK") and out.endswith("GET /x from 192.0.2.1")
    assert app.after_ran == 1
    out, _ = serve(FakeReader(head("HEAD /x HTTP/1.1", "Host: h")))
    assert out.endswith("\r\n\r\n") and "Content-Length: 22" in out
    out, _ = serve(FakeReader(b""))
    assert out == ""


def test_server_refusals():
    out, app = serve(FakeReader(head("GET / HTTP/1.1", "Host: h")), busy=3)
    assert out.startswith("HTTP/1.1 503") and "Retry-After: 1" in out and app.after_ran == 0
    out, _ = serve(FakeReader(b"BROKEN\r\n\r\n"))
    assert out.startswith("HTTP/1.1 400")
    from evse.web import server
    old = server.TIMEOUT_S
    server.TIMEOUT_S = 0.05
    try:
        out, _ = serve(SlowReader())
    finally:
        server.TIMEOUT_S = old
    assert out.startswith("HTTP/1.1 408")


def test_sim_web_option():
    from evsesim import sim
    assert sim.parse_args(["--web", "127.0.0.1:8080"])["web_addr"] == ("127.0.0.1", 8080)
    assert sim.parse_args([])["web"] is None
    for bad in ("8080", "host:", ":80", "h:99999", "h:x"):
        raises(sim.UsageError, sim.parse_args, ["--web", bad])
