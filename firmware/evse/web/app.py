# Routing and the page handlers of the local management website: Request in,
# Response out, synchronous (server.py moves the bytes). The JSON endpoints
# live in api.py; login/session/lockout rules in auth.py.
#
# Every page but /login needs a session (else 401 with the login form). Every
# state change is a POST carrying the session's CSRF token in a form field
# ("csrf"), and, when the browser sends an Origin header other than "null",
# that origin must be this station (403 otherwise). GET never changes state.
from evse import VERSION
from evse.web import auth as A
from evse.web import cfgview, pages
from evse.web.http import HttpError, Response, json_response
from evse.web.markup import head, TAIL

HTML = "text/html; charset=utf-8"


PRE_COOKIE = "evse_pre"         # the login form's token (login CSRF)

class App:
    def __init__(self, view) -> None:
        # view: what the website sees of the station (evse.web.view.StationView)
        self.st = view
        self.auth = A.Auth(view.config, view.clock, view.random_bytes)
        from evse.web.api import Api
        self.api = Api(self)
        # path -> (GET handler, POST handler)
        self.routes = {
            "/": (self.get_status, None),
            "/live": (self.get_live, None),
            "/log": (self.get_log, None),
            "/app.js": (self.get_js, None),
            "/login": (self.get_login, self.post_login),
            "/logout": (None, self.post_logout),
            "/config": (self.get_config, self.post_config),
            "/locallist": (self.get_locallist, self.post_locallist),
            "/actions": (self.get_actions, self.post_actions),
            "/api/status": (self.api.get_status, None),
            "/api/config": (self.api.get_config, self.api.post_config),
        }

    def log(self, line: str) -> None:
        self.st.log.add("web: " + line)

    # ---- dispatch ----------------------------------------------------------------
    def handle(self, req) -> Response:
        if self.st.reboot_request:
            # a reset is decided: the old station answers nothing more, and
            # its sessions are gone (the server stops a moment later)
            self.auth.end_all()
            return self.error(req, 503, "the controller is restarting: log in again in a minute",
                              "Retry-After: 5\r\n")
        r = self.routes.get(req.path)
        if r is None:
            return self.error(req, 404, "no such page")
        m = req.method
        fn = r[0] if m in ("GET", "HEAD") else (r[1] if m == "POST" else None)
        if fn is None:
            allow = ", ".join([x for x, f in (("GET, HEAD", r[0]), ("POST", r[1])) if f is not None])
            return self.error(req, 405, "method not allowed", "Allow: %s\r\n" % allow)
        try:
            return fn(req)
        except HttpError as e:
            return self.error(req, e.status, e.reason)

    def error(self, req, status: int, text: str, headers: str = "") -> Response:
        if req is not None and req.path.startswith("/api/"):
            return json_response(status, {"error": text}, headers)
        return Response(status, pages.error_page(status, text), HTML, headers)

    def settle(self) -> None:
        # a change made here shows at once (the station's loop looks at it;
        # a station driven from outside is stepped now)
        self.st.poke()

    # ---- authentication gates ---------------------------------------------------------
    def same_origin(self, req) -> bool:
        o = req.header("origin")
        if not o or o == "null":
            return True     # the CSRF token decides
        return o.split("://", 1)[-1] == req.header("host")

    def session(self, req, post: bool):
        """(session id, csrf token) of a logged-in request, or the Response
        refusing it. post: also check the origin and the form's CSRF token."""
        sid = req.cookie(A.COOKIE)
        csrf = self.auth.session(sid)
        if csrf is None:
            return self.login_page(401, "Log in first.", False)
        if post:
            if not self.same_origin(req) or not A.same(req.form().get("csrf", ""), csrf):
                return self.error(req, 403, "request not from this site's own form (CSRF check)")
        return sid, csrf

    def login_page(self, status: int, msg: str, error: bool, headers: str = "") -> Response:
        if status == 401:
            headers += "WWW-Authenticate: Form realm=\"EVSE local management\"\r\n"
        # login CSRF: a pre-session token in a cookie and in the form (double
        # submit); a page of another site can neither read nor set it
        pre = "".join("%02x" % b for b in self.st.random_bytes(8))
        headers += "Set-Cookie: %s=%s; Path=/login; HttpOnly; SameSite=Strict\r\n" % (PRE_COOKIE, pre)
        return Response(status, pages.login(msg, error, pre), HTML, headers)

    def attempt(self, req, user: str, password: str):
        """A login attempt: None when it succeeded, else the refusal."""
        r = self.auth.check(user, password)
        if r == A.OK:
            return None
        if r == A.LOCKED:
            left = self.auth.locked_s()
            return ("Too many failed logins: try again in %d s." % left,
                    "Retry-After: %d\r\n" % left)
        self.log("login failed from %s (%d/%d)" % (req.peer or "?", self.auth.failures, A.MAX_FAILURES))
        if self.auth.locked_s():
            self.log("logins locked for %d s" % (A.LOCK_MS // 1000))
        return ("Wrong user or password.", "")

    # ---- pages ------------------------------------------------------------------------------
    def get_login(self, req) -> Response:
        return self.login_page(200, "", False)

    def post_login(self, req) -> Response:
        f = req.form()
        pre = req.cookie(PRE_COOKIE)
        if not self.same_origin(req) or not pre or not A.same(f.get("pre", ""), pre):
            # not a login attempt of this site's form: no lockout count
            self.log("login refused from %s: form token missing or foreign" % (req.peer or "?"))
            return self.login_page(403, "The login form expired or came from another site: log in again.", True)
        refused = self.attempt(req, f.get("user", ""), f.get("password", ""))
        if refused is not None:
            if refused[1]:
                return self.login_page(429, refused[0], True, refused[1])
            return self.login_page(401, refused[0], True)
        sid, _ = self.auth.login()
        self.log("login from %s" % (req.peer or "?"))
        return Response(303, "", HTML, "Location: /\r\nSet-Cookie: %s=%s; Path=/; HttpOnly; "
                        "SameSite=Strict\r\n" % (A.COOKIE, sid))

    def post_logout(self, req) -> Response:
        s = self.session(req, True)
        if type(s) is not tuple:
            return s
        self.auth.logout(s[0])
        return Response(303, "", HTML, "Location: /login\r\nSet-Cookie: %s=; Path=/; Max-Age=0; "
                        "HttpOnly; SameSite=Strict\r\n" % A.COOKIE)

    def _info(self) -> dict:
        st = self.st
        from evse.iocu import errors
        return {"version": VERSION, "station_status": st.status_name(0),
                "station_error": errors.name(st.error) if st.error else "-"}

    def get_status(self, req) -> Response:
        s = self.session(req, False)
        if type(s) is not tuple:
            return s
        return Response(200, pages.status(self.st.status(), self._info(), s[1]))

    def get_live(self, req) -> Response:
        s = self.session(req, False)
        if type(s) is not tuple:
            return s
        return Response(200, pages.live(self.st.status(), self._info()))

    def get_js(self, req) -> Response:
        # the pages' one script: code only, no data, so no session needed
        from evse.web.appjs import JS
        return Response(200, JS, "text/javascript; charset=utf-8", "Cache-Control: max-age=3600\r\n")

    def get_log(self, req) -> Response:
        s = self.session(req, False)
        if type(s) is not tuple:
            return s
        return Response(200, pages.logs(self.st.error_log.lines(), self.st.log.lines(), s[1]))

    def _config_page(self, csrf: str, msg: str = "", error: bool = False):
        yield head("Configuration", csrf)
        yield from cfgview.page(self.st.config, csrf, msg, error)
        yield TAIL

    def get_config(self, req) -> Response:
        s = self.session(req, False)
        if type(s) is not tuple:
            return s
        return Response(200, self._config_page(s[1]))

    def change(self, key, value: str) -> tuple:
        """Config.change from the website -> (result, reason)."""
        cfg = self.st.config
        n = len(cfg.errors)
        r = cfg.change(key, value)
        why = cfgview.reason(cfg, key, r, n)
        name = cfg.canonical(key) or key
        from evse.services.log import is_secret
        self.log("config %s=%s: %s" % (name, "***" if is_secret(name) else value[:40], r))
        if r in ("Accepted", "RebootRequired"):
            self.settle()
        return r, why

    def post_config(self, req) -> Response:
        s = self.session(req, True)
        if type(s) is not tuple:
            return s
        f = req.form()
        key = f.get("key", "")
        # an unticked checkbox sends no value: the boolean is false
        value = f.get("value", "false" if f.get("bool") else "")
        r, why = self.change(key, value)
        msg = "%s: %s" % (key, r) + (" (" + why + ")" if why else "")
        warn = cfgview.warning(self.st.config.canonical(key) or key, value) if r in (
            "Accepted", "RebootRequired") else ""
        if warn:
            msg += "; warning: " + warn
        return Response(200, self._config_page(s[1], msg, warn != "" or r not in ("Accepted", "RebootRequired")))

    def _list_page(self, csrf: str, msg: str = "", error: bool = False):
        al = self.st.authlist
        return pages.locallist(al.entries(), al.version(), al.enabled(), csrf, msg, error)

    def get_locallist(self, req) -> Response:
        s = self.session(req, False)
        if type(s) is not tuple:
            return s
        return Response(200, self._list_page(s[1]))

    def post_locallist(self, req) -> Response:
        s = self.session(req, True)
        if type(s) is not tuple:
            return s
        from evse.web.listedit import edit
        msg, ok = edit(self.st, req.form())
        self.log("local list: " + msg)
        if ok:
            self.settle()
        return Response(200, self._list_page(s[1], msg, not ok))

    def _actions_page(self, csrf: str, msg: str = "", error: bool = False):
        return pages.actions(self.st.avail, self.st.avail_scheduled, csrf, msg, error)

    def get_actions(self, req) -> Response:
        s = self.session(req, False)
        if type(s) is not tuple:
            return s
        return Response(200, self._actions_page(s[1]))

    def post_actions(self, req) -> Response:
        s = self.session(req, True)
        if type(s) is not tuple:
            return s
        f = req.form()
        op = f.get("op")
        st = self.st
        if op == "reset":
            kind = f.get("kind")
            if kind not in ("Soft", "Hard"):
                raise HttpError(400, "kind must be Soft or Hard")
            self.log("reset " + kind)
            if st.reset_accepted(kind) != "Accepted":
                why = st.reset_blocker() or "not possible now"
                return Response(200, self._actions_page(
                    s[1], "%s reset: Rejected (%s). Try again in a minute." % (kind, why)))
            resp = Response(200, self._actions_page(
                s[1], "%s reset: Accepted. The controller restarts; log in again." % kind))

            def later():
                st.reset(kind, local=True)
            resp.after = later
            return resp
        if op == "availability":
            k = f.get("connector", "")
            if not k.isdigit() or not 0 <= int(k) <= st.n or f.get("operative") not in ("0", "1"):
                raise HttpError(400, "connector must be 0..%d and operative 0 or 1" % st.n)
            operative = f.get("operative") == "1"
            r = st.change_availability(int(k), operative)
            self.log("availability c%s %s: %s" % (k, "Operative" if operative else "Inoperative", r))
            self.settle()
            return Response(200, self._actions_page(
                s[1], "Connector %s %s: %s" % (k, "Operative" if operative else "Inoperative", r)))
        raise HttpError(400, "unknown action")
