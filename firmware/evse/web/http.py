# Minimal HTTP/1.1 for the local management website: request-head parsing,
# form/query decoding and response framing. Synchronous and bounded: the
# asyncio shell (server.py) feeds it bytes, never more than MAX_HEAD bytes of
# head and MAX_BODY bytes of body; anything larger is refused with 413 before
# it is read, anything malformed with 400. One request per connection
# (responses carry "Connection: close"), so no pipelining or keep-alive.
#
# Deliberately strict, since the only clients are a browser and tools:
# - request line "METHOD /origin-form HTTP/1.x"; absolute-form targets,
#   other versions, control or non-ASCII bytes in the head -> 400
# - HTTP/1.1 without Host -> 400 (RFC 9112 3.2); obs-fold -> 400
# - Transfer-Encoding (chunked request bodies) -> 501; a bad or conflicting
#   Content-Length -> 400
TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only
    from typing import Any  # TYPE_CHECKING only

MAX_HEAD = 4096         # request line + headers, bytes
MAX_BODY = 4096         # a configuration value is at most 500 chars (x3 encoded)
MAX_HEADERS = 40

REASONS = {
    200: "OK", 303: "See Other", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 413: "Content Too Large", 415: "Unsupported Media Type",
    429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
    503: "Service Unavailable",
}

# sent with every response: nothing cached, no framing, no scripts or
# external assets, forms post back to the station only
SECURITY_HEADERS = (
    "Cache-Control: no-store\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: same-origin\r\n"
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'\r\n"
)

_TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HEX = "0123456789abcdefABCDEF"


class HttpError(Exception):
    """A request the server refuses: status (400, 413, ...) and a short reason."""

    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Request:
    def __init__(self, method: str, path: str, query: str, version: str, headers: dict) -> None:
        self.method = method
        self.path = path
        self.query_string = query
        self.version = version
        self.headers = headers      # lower-case name -> value
        self.body = b""
        self.peer = ""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)

    def content_length(self) -> int:
        v = self.headers.get("content-length")
        return int(v) if v else 0   # validated by parse_head

    def query(self) -> dict:
        return parse_pairs(self.query_string.encode(), b"&")

    def form(self) -> dict:
        """Body fields of an application/x-www-form-urlencoded request ({} otherwise)."""
        ct = self.header("content-type").split(";")[0].strip().lower()
        if ct != "application/x-www-form-urlencoded":
            return {}
        return parse_pairs(self.body, b"&")

    def cookie(self, name: str) -> str:
        for part in self.header("cookie").split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v.strip()
        return ""


def head_end(buf) -> int:
    """Length of the request head in buf (through the blank line), -1 if the
    blank line has not arrived yet. A bare LF line end is accepted too."""
    i = buf.find(b"\r\n\r\n")
    j = buf.find(b"\n\n")
    if i >= 0 and (j < 0 or i + 2 <= j):
        return i + 4
    if j >= 0:
        return j + 2
    return -1


def _check_bytes(raw) -> None:
    for b in raw:
        if b >= 127 or (b < 32 and b not in (9, 10, 13)):
            raise HttpError(400, "control or non-ASCII byte in the request head")


def parse_head(raw) -> Request:
    """The request head (request line + header lines, up to and including the
    blank line) -> Request. HttpError(400/413/501) when it is refused."""
    if len(raw) > MAX_HEAD:
        raise HttpError(413, "request head too large")
    _check_bytes(raw)
    lines = raw.decode().split("\n")
    for k in range(len(lines)):
        if lines[k].endswith("\r"):
            lines[k] = lines[k][:-1]
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if not method or len(method) > 16 or not method.isupper():
        raise HttpError(400, "malformed method")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(400, "unsupported HTTP version")
    if not target.startswith("/") or target.startswith("//") or len(target) > 1024:
        raise HttpError(400, "malformed request target")
    path, _, query = target.partition("?")
    path = path.partition("#")[0]
    headers = {}   # type: dict
    n = 0
    for line in lines[1:]:
        if not line:
            break
        if line[0] in " \t":
            raise HttpError(400, "folded header line")
        name, sep, value = line.partition(":")
        if not sep or not name or not _is_token(name):
            raise HttpError(400, "malformed header line")
        n += 1
        if n > MAX_HEADERS:
            raise HttpError(413, "too many header lines")
        name = name.lower()
        value = value.strip()
        old = headers.get(name)
        if old is None:
            headers[name] = value
        elif name == "content-length":
            if old != value:
                raise HttpError(400, "conflicting Content-Length")
        elif name == "cookie":
            headers[name] = old + "; " + value
        else:
            headers[name] = old + ", " + value
    if version == "HTTP/1.1" and "host" not in headers:
        raise HttpError(400, "Host header missing")
    if "transfer-encoding" in headers:
        raise HttpError(501, "Transfer-Encoding is not supported: send Content-Length")
    cl = headers.get("content-length")
    if cl is not None:
        if not cl or not cl.isdigit() or len(cl) > 9:
            raise HttpError(400, "malformed Content-Length")
        if int(cl) > MAX_BODY:
            raise HttpError(413, "request body too large")
    return Request(method, path, query, version, headers)


def _is_token(s: str) -> bool:
    for ch in s:
        if ch not in _TOKEN:
            return False
    return True


def unquote(b) -> str:
    """application/x-www-form-urlencoded value (bytes) -> str: "+" is a space,
    %XX a byte; the bytes must be UTF-8. HttpError(400) when malformed."""
    if b"%" not in b and b"+" not in b:
        out = bytes(b)
    else:
        buf = bytearray()
        i = 0
        n = len(b)
        while i < n:
            c = b[i]
            if c == 43:                 # "+"
                buf.append(32)
            elif c == 37:               # "%"
                h = b[i + 1:i + 3]
                if len(h) != 2 or chr(h[0]) not in _HEX or chr(h[1]) not in _HEX:
                    raise HttpError(400, "malformed percent-escape")
                buf.append(int(bytes(h).decode(), 16))
                i += 2
            else:
                buf.append(c)
            i += 1
        out = bytes(buf)
    try:
        return out.decode()
    except UnicodeError:
        raise HttpError(400, "form field is not UTF-8")


def parse_pairs(b, sep) -> dict:
    """b"k=v&k2=v2" -> {"k": "v", "k2": "v2"} (the last of repeated names wins)."""
    out = {}
    for part in b.split(sep):
        if not part:
            continue
        k, _, v = part.partition(b"=")
        out[unquote(k)] = unquote(v)
    return out


def response_head(status: int, ctype: str, extra: str = "", length: int = -1) -> bytes:
    """Status line and headers, through the blank line. extra: more header
    lines, each ending in CRLF. length < 0: the body ends when the connection
    closes (streamed pages)."""
    h = "HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, "Status"))
    if ctype:
        h += "Content-Type: " + ctype + "\r\n"
    if length >= 0:
        h += "Content-Length: %d\r\n" % length
    return (h + SECURITY_HEADERS + extra + "Connection: close\r\n\r\n").encode()


class Response:
    """status; body: str, bytes or an iterable of str pieces (streamed);
    headers: extra header lines, each ending in CRLF; after: called once the
    response went out (a reset must not cut its own answer)."""

    def __init__(self, status: int, body, ctype: str = "text/html; charset=utf-8", headers: str = "") -> None:
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = headers
        self.after = None   # type: Any

    def head(self, length: int = -1) -> bytes:
        return response_head(self.status, self.ctype, self.headers, length)


def json_response(status: int, obj, headers: str = "") -> Response:
    import json
    return Response(status, json.dumps(obj), "application/json", headers)
