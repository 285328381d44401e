# The local management website's routes on a real Station (simulated board,
# virtual clock, offline), without sockets: raw request heads go through
# evse.web.http.parse_head and App.handle, as the server would pass them.
import json

from support import tmpdir

from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.station import Station
from evse.web import auth as A
from evse.web.app import App
from evse.web.http import parse_head

PW = "$r33nFI^x"
FORM = "application/x-www-form-urlencoded"


def quote(s: str) -> str:
    out = []
    for ch in s:
        if "a" <= ch <= "z" or "A" <= ch <= "Z" or "0" <= ch <= "9" or ch in "-_.":
            out.append(ch)
        else:
            out.append("".join(["%%%02X" % b for b in ch.encode()]))
    return "".join(out)


def encode(fields: dict) -> bytes:
    return "&".join([quote(k) + "=" + quote(str(v)) for k, v in fields.items()]).encode()


def b64(s: str) -> str:
    import binascii
    return binascii.b2a_base64(s.encode()).decode().strip()


class Web:
    def __init__(self, **cfg) -> None:
        self.board = SimBoard(2, tmpdir("web"), True)
        c = Config(self.board.storage, model="dscu")
        for k in cfg:
            assert c.change(k, cfg[k]) in ("Accepted", "RebootRequired")
        if cfg:
            c = Config(self.board.storage, model="dscu")
        self.st = Station(self.board, c, "dscu")
        self.st.step()
        self.app = App(self.st.web_view())
        self.sid = ""
        self.csrf = ""

    def send(self, method: str, path: str, body=b"", headers=None, ctype: str = FORM):
        if type(body) is dict:
            body = encode(body)
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: evse.local"]
        if body:
            lines += ["Content-Length: %d" % len(body), "Content-Type: " + ctype]
        if self.sid:
            lines.append("Cookie: %s=%s" % (A.COOKIE, self.sid))
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        req = parse_head(("\r\n".join(lines) + "\r\n\r\n").encode())
        req.body = body
        req.peer = "192.0.2.7"
        resp = self.app.handle(req)
        b = resp.body
        text = b if type(b) is str else (b.decode() if type(b) is bytes else "".join(list(b)))
        return resp, text

    def login_form(self):
        """GET /login as a browser: -> the form's token (cookie and hidden field)."""
        resp, text = self.send("GET", "/login")
        pre = resp.headers.split("Set-Cookie: evse_pre=")[1].split(";")[0]
        assert 'name="pre" value="%s"' % pre in text
        return pre

    def login(self, pw: str = PW, pre=None, headers=None):
        pre = self.login_form() if pre is None else pre
        h = {"Cookie": "evse_pre=" + pre}
        h.update(headers or {})
        resp, text = self.send("POST", "/login", {"user": "admin", "password": pw, "pre": pre}, h)
        if resp.status == 303:
            cookie = resp.headers.split("Set-Cookie: ")[1].split(";")[0]
            self.sid = cookie.split("=")[1]
            self.csrf = self.app.auth.session(self.sid)
        return resp, text

    def post(self, path: str, fields: dict, headers=None):
        f = dict(fields)
        f["csrf"] = self.csrf
        return self.send("POST", path, f, headers)


def test_pages_need_a_login():
    w = Web()
    for path in ("/", "/config", "/locallist", "/actions"):
        resp, text = w.send("GET", path)
        assert resp.status == 401 and "name=\"password\"" in text, path
        assert "WWW-Authenticate" in resp.headers
    resp, _ = w.send("POST", "/config", {"key": "HeartBeatInterval", "value": "1"})
    assert resp.status == 401
    assert w.st.config.get("HeartBeatInterval") == 900
    assert w.send("GET", "/login")[0].status == 200


def test_login_wrong_and_right():
    w = Web()
    resp, text = w.login("wrong")
    assert resp.status == 401 and "Wrong user or password" in text
    resp, _ = w.login()
    assert resp.status == 303 and "Location: /\r\n" in resp.headers
    assert "HttpOnly" in resp.headers and "SameSite=Strict" in resp.headers
    resp, text = w.send("GET", "/")
    assert resp.status == 200 and "Connectors" in text and "Available" in text


def test_lockout_and_the_password_never_shown_or_logged():
    w = Web()
    for i in range(A.MAX_FAILURES):
        assert w.login("Guess<%d>" % i)[0].status == 401
    resp, text = w.login()
    assert resp.status == 429 and "Retry-After: 60" in resp.headers and "try again" in text
    w.st.clock.advance_ms(60000)
    assert w.login()[0].status == 303
    pages = "".join([w.send("GET", p)[1] for p in ("/", "/config", "/locallist", "/actions")])
    pages += w.send("GET", "/api/config")[1]
    log = "\n".join(w.st.log.lines() + w.st.error_log.lines())
    assert "login failed from 192.0.2.7 (5/5)" in log and "logins locked" in log
    for secret in (PW, "Guess"):
        assert secret not in pages and secret not in log


def test_logout_needs_csrf_and_ends_the_session():
    w = Web()
    w.login()
    sid = w.sid
    assert w.send("POST", "/logout", {"csrf": "x"})[0].status == 403
    resp, _ = w.post("/logout", {})
    assert resp.status == 303 and "Max-Age=0" in resp.headers
    assert w.app.auth.session(sid) is None


def test_config_change_results():
    w = Web()
    w.login()
    resp, text = w.post("/config", {"key": "HeartBeatInterval", "value": "300"})
    assert resp.status == 200 and "HeartBeatInterval: Accepted" in text
    assert w.st.config.get("HeartBeatInterval") == 300
    _, text = w.post("/config", {"key": "HeartBeatInterval", "value": "70000"})
    assert "HeartBeatInterval: Rejected (invalid value: expected Integer 0..65535)" in text
    assert w.st.config.get("HeartBeatInterval") == 300
    _, text = w.post("/config", {"key": "MaxCurrentConnection", "value": "20"})
    assert "MaxCurrentConnection: RebootRequired" in text and "Active after the next reboot" in text
    _, text = w.post("/config", {"key": "SerialNumber", "value": "1"})
    assert "SerialNumber: Rejected (read-only key)" in text
    _, text = w.post("/config", {"key": "NoSuchKey", "value": "1"})
    assert "NoSuchKey: NotSupported" in text
    _, text = w.post("/config", {"key": "MinCurrentConnection", "value": "17"})
    assert "MinCurrentConnection &lt;= MaxCurrentConnection" in text


def test_config_page_groups_marks_and_escapes():
    w = Web()
    w.login()
    _, text = w.post("/config", {"key": "ChargePointVendor", "value": "<b>x</b>\"'&"})
    assert "ChargePointVendor: RebootRequired" in text
    assert "<b>x</b>" not in text
    assert "&lt;b&gt;x&lt;/b&gt;&quot;&#39;&amp;" in text
    for g in ("<h2>Device</h2>", "<h2>Central System</h2>", "<h2>Authorization</h2>",
              "<h2>Connectors</h2>", "<h2>Metering</h2>"):
        assert g in text, g
    row = text.split('<tr data-k="LocalManagementPassword"')[1].split("</tr>")[0]
    assert '<td id="v-LocalManagementPassword" data-s="1">(hidden)</td>' in row and "default" not in row
    items = w.st.config.get_configuration()[0]
    assert text.count("name=\"key\"") == len([i for i in items if not i["readonly"]])


def test_config_controls_per_type_search_and_warnings():
    w = Web()
    w.login()
    _, text = w.send("GET", "/config")
    assert 'id="q"' in text and '<script src="/app.js"></script>' in text
    w.sid = ""
    resp, js = w.send("GET", "/app.js")
    assert resp.status == 200 and "fetch('/api/config'" in js and "fetch('/live')" in js
    assert resp.ctype.startswith("text/javascript")
    w.login()

    def row(k):
        return text.split('<tr data-k="%s"' % k)[1].split("</tr>")[0]
    r = row("LocalAuthListEnabled")
    assert 'type="checkbox" name="value" value="true"' in r and "true or false; default" in r
    r = row("MeterType")
    assert '<option value="4">4 Eastron SDM630</option>' in r and '<select name="value"' in r
    # every key says what it does (the key table's summary), under its name
    assert ('<p class="d">Turns on the authorization cache, so an accepted RFID tag presented again'
            in row("AuthorisationCacheEnabled"))
    assert text.count('<p class="d">') == text.count('<tr data-k=')
    r = row("HeartBeatInterval")
    assert 'type="number" name="value"' in r and 'min="0" max="65535"' in r
    # an unticked checkbox posts no value: false
    w.post("/config", {"key": "LocalAuthListEnabled", "value": "true", "bool": "1"})
    assert w.st.config.get("LocalAuthListEnabled") is True
    _, text = w.post("/config", {"key": "LocalAuthListEnabled", "bool": "1"})
    assert "LocalAuthListEnabled: Accepted" in text and w.st.config.get("LocalAuthListEnabled") is False
    # accepted, but will not work: a MeterType without a register map
    _, text = w.post("/config", {"key": "MeterType", "value": "7"})
    assert ("MeterType: RebootRequired; warning: MeterType 7 (Tele S6 XM50A 1000VM): no register map"
            in text) and '<p class="msg err">' in text
    assert "no register map; the meter will report PowerMeterFailure</div>" in row("MeterType")
    resp, d = w.send("POST", "/api/config", json.dumps({"key": "MeterType", "value": 4}).encode(),
                     {"X-CSRF-Token": w.csrf}, "application/json")
    assert json.loads(d) == {"key": "MeterType", "status": "RebootRequired", "reason": ""}
    resp, d = w.send("POST", "/api/config", json.dumps({"key": "MeterType", "value": 11}).encode(),
                     {"X-CSRF-Token": w.csrf}, "application/json")
    assert json.loads(d)["warning"].startswith("MeterType 11 (Konect 1.4): no register map")


def test_state_changes_need_the_csrf_token_and_the_own_origin():
    w = Web()
    w.login()
    resp, _ = w.send("POST", "/config", {"key": "HeartBeatInterval", "value": "5"})
    assert resp.status == 403
    resp, _ = w.send("POST", "/config", {"key": "HeartBeatInterval", "value": "5", "csrf": "0" * 32})
    assert resp.status == 403
    resp, _ = w.post("/config", {"key": "HeartBeatInterval", "value": "5"}, {"Origin": "http://evil.example"})
    assert resp.status == 403
    assert w.st.config.get("HeartBeatInterval") == 900
    resp, _ = w.post("/config", {"key": "HeartBeatInterval", "value": "5"}, {"Origin": "http://evse.local"})
    assert resp.status == 200 and w.st.config.get("HeartBeatInterval") == 5
    assert w.send("GET", "/logout")[0].status == 405
    assert w.send("PUT", "/config")[0].status == 405
    assert w.send("GET", "/nope")[0].status == 404


def test_local_list_add_and_remove():
    w = Web()
    w.login()
    _, text = w.post("/locallist", {"op": "add", "tag": "CARD9", "status": "Accepted"})
    assert "NotSupported (LocalAuthListEnabled is false)" in text
    w.post("/config", {"key": "LocalAuthListEnabled", "value": "true"})
    _, text = w.post("/locallist", {"op": "add", "tag": "card9", "status": "Accepted",
                                    "expiry": "2030-01-01T00:00:00Z", "parent": "FLEET"})
    assert "added card9: Accepted, list version 1" in text
    assert "<td>CARD9</td><td>Accepted</td><td>2030-01-01T00:00:00Z</td><td>FLEET</td>" in text
    assert w.st.authlist.lookup("CARD9")["status"] == "Accepted"
    _, text = w.post("/locallist", {"op": "add", "tag": "<X>", "status": "Blocked"})
    assert "list version 2" in text and "&lt;X&gt;" in text and "<X>" not in text
    _, text = w.post("/locallist", {"op": "add", "tag": "T", "status": "Bogus"})
    assert "status must be one of" in text
    _, text = w.post("/locallist", {"op": "add", "tag": "T", "expiry": "tomorrow"})
    assert "expiry must be a UTC time" in text
    _, text = w.post("/locallist", {"op": "add", "tag": "x" * 21})
    assert "1 to 20 characters" in text
    _, text = w.post("/locallist", {"op": "remove", "tag": "CARD9"})
    assert "removed CARD9: Accepted, list version 3" in text
    assert w.st.authlist.lookup("CARD9") is None
    _, text = w.post("/locallist", {"op": "remove", "tag": "CARD9"})
    assert "not in the list" in text


def test_actions_availability_and_reset_after_the_answer():
    w = Web()
    w.login()
    _, text = w.post("/actions", {"op": "availability", "connector": "2", "operative": "0"})
    assert "Connector 2 Inoperative: Accepted" in text
    assert w.st.avail[2] is False and w.st.status_report.name(2) == "Unavailable"
    resp, _ = w.post("/actions", {"op": "availability", "connector": "3", "operative": "0"})
    assert resp.status == 400
    resp, text = w.post("/actions", {"op": "reset", "kind": "Soft"})
    assert "Soft reset: Accepted" in text
    assert w.st.reboot_request == ""            # not before the answer went out
    resp.after()
    assert w.st.reboot_request == "Soft"


def test_api_basic_auth_and_csrf_header():
    w = Web()
    resp, text = w.send("GET", "/api/status")
    assert resp.status == 401 and "Basic realm" in resp.headers
    assert json.loads(text)["error"]
    bad = {"Authorization": "Basic " + b64("admin:nope")}
    assert w.send("GET", "/api/status", headers=bad)[0].status == 401
    good = {"Authorization": "Basic " + b64("admin:" + PW)}
    resp, text = w.send("GET", "/api/status", headers=good)
    assert resp.status == 200 and resp.ctype == "application/json"
    assert [c["id"] for c in json.loads(text)["connectors"]] == [1, 2]
    resp, text = w.send("GET", "/api/config?key=heartbeatinterval", headers=good)
    d = json.loads(text)
    assert d["configuration"] == [{"key": "HeartBeatInterval", "value": "900", "readonly": False,
                                   "group": "Central System"}]
    assert w.send("GET", "/api/config?key=Nope", headers=good)[0].status == 404
    body = json.dumps({"key": "HeartBeatInterval", "value": 120}).encode()
    resp, _ = w.send("POST", "/api/config", body, good, "application/json")
    assert resp.status == 403
    hdr = dict(good)
    hdr["X-CSRF-Token"] = "1"
    resp, text = w.send("POST", "/api/config", body, hdr, "application/json")
    assert json.loads(text) == {"key": "HeartBeatInterval", "status": "Accepted", "reason": ""}
    assert w.st.config.get("HeartBeatInterval") == 120
    body = json.dumps({"key": "LocalAuthListEnabled", "value": True}).encode()
    resp, text = w.send("POST", "/api/config", body, hdr, "application/json")
    assert json.loads(text)["status"] == "Accepted" and w.st.config.get("LocalAuthListEnabled") is True
    assert w.send("POST", "/api/config", body, hdr, "text/plain")[0].status == 415
    assert w.send("POST", "/api/config", b"{nope", hdr, "application/json")[0].status == 400
    full = json.loads(w.send("GET", "/api/config", headers=good)[1])["configuration"]
    pw = [x for x in full if x["key"] == "LocalManagementPassword"][0]
    assert pw["value"] is None and pw["secret"] is True
    assert len(full) > 100


def test_api_with_the_page_session():
    w = Web()
    w.login()
    assert w.send("GET", "/api/status")[0].status == 200
    body = json.dumps({"key": "HeartBeatInterval", "value": "60"}).encode()
    assert w.send("POST", "/api/config", body, {"X-CSRF-Token": "1"}, "application/json")[0].status == 403
    resp, text = w.send("POST", "/api/config", body, {"X-CSRF-Token": w.csrf}, "application/json")
    assert resp.status == 200 and json.loads(text)["status"] == "Accepted"


def test_login_from_another_site_is_refused_without_a_lockout_count():
    # login CSRF: a foreign page can post the form, but it cannot read or set
    # the form's token cookie
    w = Web()
    resp, text = w.send("POST", "/login", {"user": "admin", "password": PW})
    assert resp.status == 403 and "another site" in text and w.sid == ""
    pre = w.login_form()
    resp, _ = w.send("POST", "/login", {"user": "admin", "password": PW, "pre": pre})   # no cookie
    assert resp.status == 403
    resp, _ = w.login(pre="0" * 16, headers={"Cookie": "evse_pre=" + pre})          # wrong field
    assert resp.status == 403
    resp, _ = w.login(headers={"Origin": "http://evil.example"})
    assert resp.status == 403 and w.sid == ""
    assert w.app.auth.failures == 0
    resp, _ = w.login(headers={"Origin": "http://evse.local"})
    assert resp.status == 303 and w.sid


class Conn:
    """An open connection's writer: records the close and its wait."""

    def __init__(self) -> None:
        self.closed = False
        self.waited = False

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        self.waited = self.closed


class Listener(Conn):
    pass


def test_a_reset_ends_every_session_and_closes_every_connection_at_once():
    from evse.aio import asyncio
    from evse.web.server import WebServer
    w = Web()
    w.login()
    first = w.sid
    w.login()                       # a second browser
    assert w.app.auth.count() == 2
    resp, _ = w.post("/actions", {"op": "reset", "kind": "Hard"})
    resp.after()
    assert w.st.reboot_request == "Hard"
    # between the decision and the stop: nothing answers, the sessions are gone
    w.sid = first
    resp, text = w.send("GET", "/")
    assert resp.status == 503 and "restarting" in text
    assert w.app.auth.count() == 0
    srv = WebServer(w.app, ("127.0.0.1", 0))
    lst = Listener()
    srv._srv = lst
    conns = [Conn(), Conn(), Conn()]
    srv._open = list(conns)
    w.app.auth.login()
    asyncio.run(srv.stop())
    # stopped listening and every connection closed, each close awaited
    assert lst.closed and lst.waited and srv._srv is None
    assert [(c.closed, c.waited) for c in conns] == [(True, True)] * 3 and srv._open == []
    assert w.app.auth.count() == 0
    # a connection accepted in the last moment is closed unanswered
    late = Conn()
    asyncio.run(srv._client(None, late))
    assert late.closed and srv._open == []


def test_status_page_is_live_and_shows_currents_session_and_errors():
    from evse.web import pages
    w = Web()
    w.login()
    resp, text = w.send("GET", "/")
    assert "http-equiv=\"refresh\"" not in text and '<script src="/app.js"></script>' in text
    assert '<td id="c1-current">0.0 / 0.0 / 0.0 A</td>' in text
    resp, frag = w.send("GET", "/live")
    assert resp.status == 200 and "<html" not in frag and 'id="c2-status">Available<' in frag
    assert 'class="conn bad"' not in frag
    # a faulted connector: highlighted, with the meaning and what to check
    st = w.st.status()
    c = st["connectors"][0]
    c.update({"status": "Faulted", "error_code": "ConnectorLockFailure",
              "vendor_error": "ERR_SERVO_LOCK_FAILED", "info": "IOCU"})
    c2 = st["connectors"][1]
    c2.update({"status": "Charging", "current_a": [15.9, 16.0, 16.1], "power_w": 11040,
               "session_s": 3725, "session_wh": 3400, "transaction_id": 7, "id_tag": "CARD1"})
    frag = "".join(pages.live(st, {"version": "x", "station_status": "Available"}))
    sec = frag.split('<section class="conn bad" id="c1">')[1].split("</section>")[0]
    assert "<b>ERR_SERVO_LOCK_FAILED</b> (IOCU): " in sec and "What to check:" in sec
    from evse import errhelp
    assert pages.esc(errhelp.IOCU["ERR_SERVO_LOCK_FAILED"][1]) in sec
    assert '<td id="c2-current">15.9 / 16.0 / 16.1 A</td>' in frag
    assert '<td id="c2-power">11040 W</td>' in frag
    assert '<td id="c2-session">1:02:05, 3400 Wh, transaction 7, CARD1</td>' in frag
    # the log page: errors and events, newest first
    w.st.error_log.add("test: first error")
    w.st.error_log.add("test: second error")
    resp, text = w.send("GET", "/log")
    assert resp.status == 200 and text.index("second error") < text.index("first error")
    assert "web: login from 192.0.2.7" in text
    w.sid = ""
    assert w.send("GET", "/live")[0].status == 401
