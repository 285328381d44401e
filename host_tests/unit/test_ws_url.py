# URL parsing/building, handshake request/response checks, reconnect backoff,
# keepalive policy (evse.ocpp.wshandshake, evse.ocpp.ws: synchronous parts).
from evse.ocpp import wshandshake, ws
from support import raises


def test_parse_url():
    assert wshandshake.parse_url("ws://cs.example.com/ocpp/CP1") == (False, "cs.example.com", 80, "/ocpp/CP1")
    assert wshandshake.parse_url("wss://cs.example.com:8443/a") == (True, "cs.example.com", 8443, "/a")
    assert wshandshake.parse_url("wss://cs") == (True, "cs", 443, "/")
    assert wshandshake.parse_url("WS://h:9000") == (False, "h", 9000, "/")
    assert wshandshake.parse_url("ws://[::1]:9000/x") == (False, "::1", 9000, "/x")
    assert wshandshake.parse_url("ws://[fe80::1]/x") == (False, "fe80::1", 80, "/x")


def test_parse_url_rejects():
    for bad in ("http://h/", "h/x", "ws://", "ws://:80/", "ws://h:0/", "ws://h:70000/",
                "ws://h:x/", "ws://u:p@h/", "ws://[::1/"):
        raises(ValueError, wshandshake.parse_url, bad)


def test_build_url_spec_examples():
    # OCPP-J 3.1.1 examples 1 and 2
    assert wshandshake.build_url("ws://centralsystem.example.com/ocpp", 0, "", "CP001", False) == \
        "ws://centralsystem.example.com/ocpp/CP001"
    assert wshandshake.build_url("wss://centralsystem.example.com/ocppj", 0, "", "RDAM 123", True) == \
        "wss://centralsystem.example.com/ocppj/RDAM%20123"


def test_build_url_from_manual_keys():
    # defaults: BESURL host only, BESPortnumber 80, BESPath "/"
    assert wshandshake.build_url("chargepointservicej.greenflux.nl", 80, "/", "NL_GFX_TEMP", False) == \
        "ws://chargepointservicej.greenflux.nl/NL_GFX_TEMP"
    assert wshandshake.build_url("cs.example", 9000, "/ocpp/", "CP1", False) == "ws://cs.example:9000/ocpp/CP1"
    assert wshandshake.build_url("cs.example/", 9000, "ocpp", "CP1", False) == "ws://cs.example:9000/ocpp/CP1"
    assert wshandshake.build_url("/cs.example", 443, "//ocpp//v16/", "CP1", True) == "wss://cs.example/ocpp/v16/CP1"
    assert wshandshake.build_url("cs.example", 8443, "/", "CP1", True) == "wss://cs.example:8443/CP1"
    # port 0: scheme default
    assert wshandshake.build_url("cs.example", 0, "/", "CP1", True) == "wss://cs.example/CP1"


def test_build_url_scheme_and_port_in_besurl():
    assert wshandshake.build_url("ws://cs.example", 9000, "/", "CP1", False) == "ws://cs.example:9000/CP1"
    assert wshandshake.build_url("wss://cs.example/", 443, "/ocpp", "CP1", False) == "wss://cs.example/ocpp/CP1"
    # an explicit scheme wins over UseWebsocketSecure
    assert wshandshake.build_url("ws://cs.example", 80, "/", "CP1", True) == "ws://cs.example/CP1"
    # a port in BESURL wins over BESPortnumber
    assert wshandshake.build_url("ws://cs.example:7000/base/", 80, "/ocpp", "CP1", False) == \
        "ws://cs.example:7000/base/ocpp/CP1"
    assert wshandshake.build_url("cs.example:7000", 80, "", "CP1", False) == "ws://cs.example:7000/CP1"
    assert wshandshake.build_url("ws://[::1]:7000", 80, "", "CP1", False) == "ws://[::1]:7000/CP1"
    assert wshandshake.build_url("[::1]", 7000, "", "CP1", False) == "ws://[::1]:7000/CP1"
    # a BESPath that is a full URL (manual, UseWebsocketSecure) replaces BESURL
    assert wshandshake.build_url("ignored", 443, "wss://cs.example/ocpp", "CP1", True) == "wss://cs.example/ocpp/CP1"
    # BESPortnumber is taken as given (no guessing that 80 meant 443)
    assert wshandshake.build_url("wss://cs.example", 80, "", "CP1", True) == "wss://cs.example:80/CP1"


def test_build_url_round_trips_through_parse():
    url = wshandshake.build_url("cs.example", 9000, "/ocpp", "A/B?c", False)
    assert url == "ws://cs.example:9000/ocpp/A%2FB%3Fc"
    assert wshandshake.parse_url(url) == (False, "cs.example", 9000, "/ocpp/A%2FB%3Fc")


def test_build_url_rejects():
    raises(ValueError, wshandshake.build_url, "cs.example", 80, "/", "", False)
    raises(ValueError, wshandshake.build_url, "", 80, "/", "CP1", False)
    raises(ValueError, wshandshake.build_url, "http://cs.example", 80, "/", "CP1", False)


def test_quote():
    assert wshandshake.quote("Az09-._~") == "Az09-._~"
    assert wshandshake.quote("a b/c:d") == "a%20b%2Fc%3Ad"
    assert wshandshake.quote("\u00e9") == "%C3%A9"


# ------------------------------------------------------------- handshake text

def _headers(req):
    lines = req.decode().split("\r\n")
    assert lines[-1] == "" and lines[-2] == ""
    h = {}
    for line in lines[1:-2]:
        k, v = line.split(": ", 1)
        h[k] = v
    return lines[0], h


def test_handshake_request():
    req = wshandshake.handshake_request("cs.example", 9000, "/ocpp/CP1", "x3JJHMcDL1EzLkh9GBhXDw==")
    first, h = _headers(req)
    assert first == "GET /ocpp/CP1 HTTP/1.1"
    assert h["Host"] == "cs.example:9000"
    assert h["Upgrade"] == "websocket"
    assert h["Connection"] == "Upgrade"
    assert h["Sec-WebSocket-Key"] == "x3JJHMcDL1EzLkh9GBhXDw=="
    assert h["Sec-WebSocket-Version"] == "13"
    assert h["Sec-WebSocket-Protocol"] == "ocpp1.6"
    assert "Authorization" not in h


def test_handshake_request_default_port_and_basic_auth():
    req = wshandshake.handshake_request("cs.example", 443, "/x", "k", secure=True, basic_auth=("CP1", "secret"))
    first, h = _headers(req)
    assert h["Host"] == "cs.example"
    # base64("CP1:secret")
    assert h["Authorization"] == "Basic Q1AxOnNlY3JldA=="
    req = wshandshake.handshake_request("::1", 80, "/x", "k", basic_auth=("CP1", b"\x00\xff"))
    first, h = _headers(req)
    assert h["Host"] == "[::1]"
    assert h["Authorization"] == "Basic Q1AxOgD/"


def _ok_headers(key, proto="ocpp1.6"):
    h = {"upgrade": "websocket", "connection": "Upgrade", "sec-websocket-accept": wshandshake.accept_key(key)}
    if proto is not None:
        h["sec-websocket-protocol"] = proto
    return h


def test_check_handshake_ok():
    wshandshake.check_handshake("HTTP/1.1 101 Switching Protocols", _ok_headers("abc"), "abc")
    h = _ok_headers("abc")
    h["upgrade"] = "WebSocket"
    h["connection"] = "keep-alive, upgrade"
    wshandshake.check_handshake("HTTP/1.1 101 Switching Protocols", h, "abc")


def test_check_handshake_failures():
    key = "abc"
    e = raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "HTTP/1.1 101 OK", _ok_headers(key, None), key)
    assert str(e) == "server refused subprotocol ocpp1.6"
    e = raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "HTTP/1.1 101 OK", _ok_headers(key, "ocpp2.0.1"), key)
    assert "ocpp2.0.1" in str(e)
    e = raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "HTTP/1.1 404 Not Found", {}, key)
    assert e.status == 404 and "unknown charge point" in str(e)
    e = raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "HTTP/1.1 401 Unauthorized", {}, key)
    assert e.status == 401 and "unauthorized" in str(e)
    e = raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "HTTP/1.1 500 Oops", {}, key)
    assert e.status == 500 and "Oops" in str(e)
    h = _ok_headers(key)
    h["sec-websocket-accept"] = "wrong"
    assert "Accept" in str(raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "HTTP/1.1 101 x", h, key))
    h = _ok_headers(key)
    del h["upgrade"]
    raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "HTTP/1.1 101 x", h, key)
    h = _ok_headers(key)
    h["connection"] = "close"
    raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "HTTP/1.1 101 x", h, key)
    h = _ok_headers(key)
    h["sec-websocket-extensions"] = "permessage-deflate"
    raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "HTTP/1.1 101 x", h, key)
    raises(wshandshake.WSHandshakeError, wshandshake.check_handshake, "garbage", {}, key)


# ------------------------------------------------------------- backoff

def test_backoff_doubles_to_cap_and_resets():
    b = ws.Backoff(1, 300)
    got = [b.next_ms() // 1000 for _ in range(12)]
    assert got == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    b.reset()
    assert b.next_ms() == 1000


def test_backoff_jitter_injected_and_bounded():
    asked = []

    def jitter(n):
        asked.append(n)
        return n  # the most it may take off

    b = ws.Backoff(2, 10, jitter)
    assert [b.next_ms() for _ in range(4)] == [1500, 3000, 6000, 7500]
    assert asked == [500, 1000, 2000, 2500]
    b = ws.Backoff(1, 300, lambda n: 10 * n)  # a jitter source out of range is clamped
    assert b.next_ms() == 750
    b = ws.Backoff(1, 300, lambda n: -5)
    assert b.next_ms() == 1000


# ------------------------------------------------------------- keepalive

def test_keepalive_pings_on_interval_and_detects_dead_peer():
    ka = ws.KeepAlive(10000)
    ka.start(0)
    assert not ka.due(9999) and ka.due(10000)
    assert ka.wait_ms(4000) == 6000
    ka.sent(10000)
    assert not ka.due(15000)
    assert not ka.dead(19999) and ka.dead(20000)
    assert ka.wait_ms(15000) == 5000
    ka.pong()
    assert not ka.dead(25000)
    assert ka.due(20000)


def test_keepalive_timeout_and_tick_wrap():
    ka = ws.KeepAlive(1000, 300)
    start = (1 << 30) - 500  # ticks wrap at 2**30
    ka.start(start)
    t = (start + 1000) & ((1 << 30) - 1)
    assert ka.due(t)
    ka.sent(t)
    assert not ka.dead((t + 299) & ((1 << 30) - 1))
    assert ka.dead((t + 300) & ((1 << 30) - 1))
