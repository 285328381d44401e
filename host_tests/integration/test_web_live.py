"""The local management website, live: the simulator on the Unix port with
`--web`, driven through its control channel (tools/simclient.py) and browsed
with urllib from CPython. Login and lockout, the status page during a tagless
session, configuration changes through the form, a local list entry added on
the website and then used offline, and the JSON endpoints. In a real browser: test_web_browser.py."""
import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from simclient import Simulator, free_port

PW = "$r33nFI^x"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


class Browser:
    """urllib with one session cookie, no redirects followed; every answer
    (2xx, 3xx, 4xx) comes back as (status, headers, text)."""

    def __init__(self, port: int) -> None:
        self.base = "http://127.0.0.1:%d" % port
        self.opener = urllib.request.build_opener(NoRedirect)
        self.cookie = ""
        self.csrf = ""

    def fetch(self, path, form=None, data=None, headers=None, method=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=data, headers=h, method=method)
        try:
            with self.opener.open(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def login(self, password=PW, user="admin"):
        # the login form first: its token comes as a cookie and a hidden field
        _, h0, page = self.fetch("/login")
        pre = re.search(r'name="pre" value="([0-9a-f]+)"', page).group(1)
        assert h0["Set-Cookie"].split(";")[0] == "evse_pre=" + pre
        saved, self.cookie = self.cookie, "evse_pre=" + pre
        st, hdrs, text = self.fetch("/login", {"user": user, "password": password, "pre": pre})
        self.cookie = saved
        if st == 303:
            self.cookie = hdrs["Set-Cookie"].split(";")[0]
            page = self.fetch("/")[2]
            self.csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        return st, hdrs, text

    def post(self, path, fields):
        f = dict(fields)
        f["csrf"] = self.csrf
        return self.fetch(path, f)


def api(b: Browser, path, body=None, password=PW, csrf=True):
    auth = base64.b64encode(("admin:" + password).encode()).decode()
    h = {"Authorization": "Basic " + auth}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
        if csrf:
            h["X-CSRF-Token"] = "1"
    st, _, text = b.fetch(path, data=data, headers=h)
    return st, json.loads(text)


def sim(tmp_path, *extra):
    port = free_port()
    s = Simulator(["--clock", "virtual", "--model", "dscu", "--web", "127.0.0.1:%d" % port,
                   "--set", "OfflineMode=true"] + list(extra), state_dir=str(tmp_path / "state"))
    return s, Browser(port)


def message(text: str) -> str:
    m = re.search(r'<p class="msg[^"]*">([^<]*)</p>', text)
    return m.group(1) if m else ""


def test_login_lockout_status_config_and_api(tmp_path):
    s, b = sim(tmp_path, "--set", "TaglessCharging=true", "--set", "MaxCurrentConnection=16")
    with s:
        # login required
        st, hdrs, text = b.fetch("/")
        assert st == 401 and 'name="password"' in text
        assert b.fetch("/api/status")[0] == 401
        assert api(b, "/api/status", password="nope")[0] == 401
        # wrong passwords, then the lockout refuses even the right one
        for i in range(4):
            assert b.login("guess%d" % i)[0] == 401
        st, hdrs, text = b.login()
        assert st == 429 and hdrs["Retry-After"] == "60"
        assert api(b, "/api/status")[0] == 429
        s.call("advance", seconds=61)
        st, hdrs, _ = b.login()
        assert st == 303 and "HttpOnly" in hdrs["Set-Cookie"]
        # a tagless session shows on the status page
        s.call("plug", connector=1, cable_amps=32)
        s.call("ev", connector=1, state="B", max_current=16, phases=3)
        s.call("advance", seconds=1)
        s.call("ev", connector=1, state="C", max_current=16, phases=3)
        s.call("advance", seconds=60)
        st, _, page = b.fetch("/")
        assert st == 200
        def cell(k):
            return re.search(r'<td id="%s">([^<]*)</td>' % k, page).group(1)
        assert re.search(r'id="c1-status">Charging<', page)
        assert cell("c1-pilot").startswith("C ") and cell("c1-offered") == "16.0 A"
        assert cell("c1-current") == "16.0 / 16.0 / 16.0 A" and int(cell("c1-energy").split()[0]) > 0
        assert cell("c1-session").startswith("0:01:0") and cell("c1-session").endswith("TAGLESS1")
        assert cell("c1-error") == "NoError"
        assert re.search(r'id="c2-status">Available<', page)
        st, d = api(b, "/api/status")
        assert st == 200 and d["connectors"][0]["status"] == "Charging"
        assert d["connectors"][0]["id_tag"] == "TAGLESS1"
        # configuration through the form
        st, _, page = b.post("/config", {"key": "HeartBeatInterval", "value": "300"})
        assert message(page) == "HeartBeatInterval: Accepted"
        assert s.call("config", key="HeartBeatInterval")["value"] == "300"
        st, _, page = b.post("/config", {"key": "HeartBeatInterval", "value": "99999"})
        assert message(page).startswith("HeartBeatInterval: Rejected (invalid value")
        assert s.call("config", key="HeartBeatInterval")["value"] == "300"
        st, _, page = b.fetch("/config", {"key": "HeartBeatInterval", "value": "1", "csrf": "x"})
        assert st == 403
        # JSON endpoints
        st, d = api(b, "/api/config?key=HeartBeatInterval")
        assert d["configuration"][0]["value"] == "300"
        assert api(b, "/api/config", {"key": "HeartBeatInterval", "value": 600}, csrf=False)[0] == 403
        st, d = api(b, "/api/config", {"key": "HeartBeatInterval", "value": 600})
        assert st == 200 and d["status"] == "Accepted"
        st, d = api(b, "/api/config", {"key": "MaxCurrentConnection", "value": 81})
        assert d["status"] == "Rejected" and "0..80" in d["reason"]
        assert s.call("config", key="HeartBeatInterval")["value"] == "600"
        # bounded requests
        assert b.fetch("/config", data=b"x" * 5000, method="POST",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 413
        # the password appears nowhere
        st, d = api(b, "/api/config")
        assert PW not in json.dumps(d) and PW not in b.fetch("/config")[2]


def test_local_list_entry_added_on_the_website_starts_an_offline_session(tmp_path):
    s, b = sim(tmp_path, "--set", "LocalAuthListEnabled=true",
               "--set", "AllowOfflineTxForUnknownId=false")
    with s:
        assert s.call("rfid", reader=1, id="WEBCARD1")["result"] == "rejected"
        assert b.login()[0] == 303
        st, _, page = b.post("/locallist", {"op": "add", "tag": "WEBCARD1", "status": "Accepted",
                                            "expiry": "", "parent": ""})
        assert message(page) == "added WEBCARD1: Accepted, list version 1"
        assert "<td>WEBCARD1</td><td>Accepted</td>" in page
        s.call("advance", seconds=1)
        r = s.call("rfid", reader=1, id="WEBCARD1")
        assert r["result"] == "accepted", r
        s.call("plug", connector=1, cable_amps=32)
        s.call("ev", connector=1, state="B", max_current=16, phases=3)
        s.call("advance", seconds=1)
        s.call("ev", connector=1, state="C", max_current=16, phases=3)
        s.call("advance", seconds=5)
        c = s.connector(1)
        assert c["status"] == "Charging" and c["id_tag"] == "WEBCARD1"
        # the entry survives a restart of the station (Hard reset from the website)
        st, _, page = b.post("/actions", {"op": "reset", "kind": "Hard"})
        assert "Hard reset: Accepted" in message(page)
        s.call("advance", seconds=2)
        assert b.fetch("/")[0] == 401           # sessions end with the reboot
        b.cookie = ""
        assert b.login()[0] == 303
        page = b.fetch("/locallist")[2]
        assert "<td>WEBCARD1</td><td>Accepted</td>" in page and "List version 1," in page
