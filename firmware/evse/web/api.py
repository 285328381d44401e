# JSON endpoints of the local management website, for tools:
#   GET  /api/status              Station.status() (the simulator's `status` shape)
#   GET  /api/config[?key=K]      {"configuration": [{key, value, readonly, group}],
#                                  "reboot_pending": [...]}; secret values are null
#   POST /api/config              {"key": K, "value": V} -> {"key", "status", "reason"
#                                 [, "warning"]} (status: Accepted, RebootRequired,
#                                 Rejected, NotSupported; warning: accepted, will not work)
# Authentication: HTTP Basic (admin / LocalManagementPassword; failures count
# toward the same lockout as the login form) or the page session cookie.
# CSRF: a POST must carry an X-CSRF-Token header: any non-empty value with
# Basic (a cross-site page cannot add a custom header without a CORS
# preflight, which this server never grants), the session's token with the
# cookie. POST bodies must be application/json.
import json

from evse.web import auth as A
from evse.web.http import HttpError, Response, json_response


def _basic(value: str):
    """'Basic base64(user:password)' -> (user, password), or None."""
    scheme, _, cred = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    import binascii
    try:
        raw = binascii.a2b_base64(cred.strip().encode()).decode()
    except (ValueError, UnicodeError):
        return None
    user, sep, pw = raw.partition(":")
    return (user, pw) if sep else None


def _config_json(entries, pending: list):
    # streamed: the whole document is ~12 KB, one entry at a time is ~100 bytes
    yield "{\"configuration\": ["
    sep = ""
    for d in entries:
        yield sep + json.dumps(d)
        sep = ", "
    yield "], \"reboot_pending\": " + json.dumps(pending) + "}"


class Api:
    def __init__(self, app) -> None:
        self.app = app

    def _refuse(self, req, status: int, text: str, headers: str = ""):
        return json_response(status, {"error": text}, headers)

    def gate(self, req, post: bool):
        """None when the request may go on, else the Response refusing it."""
        app = self.app
        authz = req.header("authorization")
        if authz:
            cred = _basic(authz)
            refused = app.attempt(req, cred[0], cred[1]) if cred is not None else (
                "malformed Authorization header", "")
            if refused is not None:
                if refused[1]:
                    return self._refuse(req, 429, refused[0], refused[1])
                return self._refuse(req, 401, refused[0],
                                    "WWW-Authenticate: Basic realm=\"EVSE local management\"\r\n")
            if post and not req.header("x-csrf-token"):
                return self._refuse(req, 403, "POST needs an X-CSRF-Token header")
            return None
        csrf = app.auth.session(req.cookie(A.COOKIE))
        if csrf is None:
            return self._refuse(req, 401, "authentication required",
                                "WWW-Authenticate: Basic realm=\"EVSE local management\"\r\n")
        if post and (not app.same_origin(req) or not A.same(req.header("x-csrf-token"), csrf)):
            return self._refuse(req, 403, "POST needs the session's X-CSRF-Token header")
        return None

    def get_status(self, req):
        refused = self.gate(req, False)
        if refused is not None:
            return refused
        return json_response(200, self.app.st.status())

    def get_config(self, req):
        from evse.web.cfgview import as_json
        refused = self.gate(req, False)
        if refused is not None:
            return refused
        cfg = self.app.st.config
        key = req.query().get("key", "")
        if key and not cfg.supported(key):
            return self._refuse(req, 404, "unknown key " + key)
        return Response(200, _config_json(as_json(cfg, key), cfg.reboot_pending()), "application/json")

    def post_config(self, req):
        refused = self.gate(req, True)
        if refused is not None:
            return refused
        if req.header("content-type").split(";")[0].strip().lower() != "application/json":
            raise HttpError(415, "the body must be application/json")
        try:
            doc = json.loads(req.body.decode())
        except (ValueError, UnicodeError):
            raise HttpError(400, "the body is not JSON")
        if type(doc) is not dict or type(doc.get("key")) is not str:
            raise HttpError(400, "expected {\"key\": ..., \"value\": ...}")
        v = doc.get("value")
        if type(v) is bool:
            v = "true" if v else "false"
        elif type(v) is int or type(v) is float:
            v = str(v)
        elif type(v) is not str:
            raise HttpError(400, "value must be a string, number or boolean")
        key = doc["key"]
        r, why = self.app.change(key, v)
        name = self.app.st.config.canonical(key) or key
        out = {"key": name, "status": r, "reason": why}
        if r in ("Accepted", "RebootRequired"):
            from evse.web.cfgview import warning
            w = warning(name, v)
            if w:
                out["warning"] = w
        return json_response(200, out)
