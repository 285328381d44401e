# The WebSocket opening handshake of the OCPP-J link (RFC 6455 4, OCPP-J
# 3.1): the connection URL from the manual's keys (build_url, parse_url),
# the HTTP Upgrade request with the ocpp1.6 subprotocol and basic auth
# (security profile 1/2), and the check of the server's answer
# (check_handshake, accept_key). Synchronous, no I/O: the client
# (evse.ocpp.ws) writes the request and reads the answer.
import binascii
import struct

try:
    import hashlib
    _sha1 = hashlib.sha1

    def sha1(data: bytes) -> bytes:
        return _sha1(data).digest()
except (ImportError, AttributeError):  # builds without SSL have no sha1
    from evse.ocpp.sha1 import sha1  # type: ignore[assignment]

from evse.ocpp.wsframe import WSError

SUBPROTOCOL = "ocpp1.6"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEADER_BYTES = 8192  # the server's answer, status line + headers


class WSHandshakeError(WSError):
    """Opening handshake failed. status = HTTP status (0 when none)."""

    def __init__(self, msg: str, status: int = 0) -> None:
        super().__init__(msg)
        self.status = status



def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data)[:-1].decode()


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    return _b64(sha1((key + GUID).encode()))


def new_key(rand) -> str:
    """A Sec-WebSocket-Key: 16 bytes from rand(bits), base64 (RFC 6455 4.1)."""
    return _b64(struct.pack(">IIII", rand(32), rand(32), rand(32), rand(32)))


# ---------------------------------------------------------------- URLs

def parse_url(url: str) -> tuple:
    """'ws[s]://host[:port][/path]' -> (secure, host, port, path)."""
    i = url.find("://")
    if i < 0:
        raise ValueError("not a ws:// or wss:// URL")
    scheme = url[:i].lower()
    if scheme == "ws":
        secure = False
    elif scheme == "wss":
        secure = True
    else:
        raise ValueError("not a ws:// or wss:// URL")
    rest = url[i + 3:]
    j = rest.find("/")
    hostport = rest if j < 0 else rest[:j]
    path = "/" if j < 0 else rest[j:]
    if "@" in hostport:
        raise ValueError("credentials in URL")
    port = 443 if secure else 80
    if hostport.startswith("["):  # IPv6 literal
        k = hostport.find("]")
        if k < 0:
            raise ValueError("bad host")
        host = hostport[1:k]
        tail = hostport[k + 1:]
        if tail:
            if not tail.startswith(":"):
                raise ValueError("bad host")
            port = _port(tail[1:])
    else:
        k = hostport.find(":")
        host = hostport if k < 0 else hostport[:k]
        if k >= 0:
            port = _port(hostport[k + 1:])
    if not host:
        raise ValueError("no host")
    return secure, host, port, path


def _port(s: str) -> int:
    if not s or not s.isdigit():
        raise ValueError("bad port")
    p = int(s)
    if not 0 < p < 65536:
        raise ValueError("bad port")
    return p


_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def quote(s: str) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters."""
    out = []
    for ch in s:
        if ch in _UNRESERVED:
            out.append(ch)
        else:
            for byte in ch.encode():
                out.append("%%%02X" % byte)
    return "".join(out)


def build_url(besurl: str, port: int, path: str, node_id: str, secure: bool) -> str:
    """OCPP-J connection URL (OCPP-J 3.1.1) from the manual's keys:
    BESURL (host, optionally with scheme, port and base path), BESPortnumber
    (used unless BESURL names a port; 0 = scheme default), BESPath (joined
    under BESURL's path), NodeId (percent-encoded, last path segment) and
    UseWebsocketSecure (picks wss when BESURL has no scheme; an explicit
    scheme in BESURL wins). A BESPath that is itself a ws:// or wss:// URL
    (the manual's UseWebsocketSecure text suggests putting the wss address
    there) replaces BESURL."""
    if not node_id:
        raise ValueError("empty NodeId")
    base = besurl.strip()
    extra = (path or "").strip()
    if "://" in extra:
        base = extra
        extra = ""
    if "://" not in base:
        base = ("wss://" if secure else "ws://") + base.lstrip("/")
    sec, host, p, bpath = parse_url(base)
    i = base.find("://") + 3
    j = base.find("/", i)
    hostport = base[i:] if j < 0 else base[i:j]
    named = ("]:" in hostport) if hostport.startswith("[") else (":" in hostport)
    if port and not named:
        p = port
    segs = [s for s in (bpath + "/" + extra).split("/") if s]
    segs.append(quote(node_id))
    h = "[" + host + "]" if ":" in host else host
    scheme = "wss" if sec else "ws"
    if p != (443 if sec else 80):
        h = "%s:%d" % (h, p)
    return "%s://%s/%s" % (scheme, h, "/".join(segs))


# ---------------------------------------------------------------- handshake

def handshake_request(host: str, port: int, path: str, key: str, secure: bool = False,
                      subprotocol: str = SUBPROTOCOL, basic_auth=None) -> bytes:
    h = "[" + host + "]" if ":" in host else host
    if port != (443 if secure else 80):
        h = "%s:%d" % (h, port)
    lines = [
        "GET %s HTTP/1.1" % path,
        "Host: " + h,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: " + key,
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: " + subprotocol,
    ]
    if basic_auth is not None:
        user, pw = basic_auth
        cred = user.encode() + b":" + (pw if type(pw) is bytes else pw.encode())
        lines.append("Authorization: Basic " + _b64(cred))
    lines.append("\r\n")
    return "\r\n".join(lines).encode()


def check_handshake(status_line: str, headers: dict, key: str,
                    subprotocol: str = SUBPROTOCOL) -> None:
    """Raise WSHandshakeError unless the server's answer completes the
    handshake for `key` with `subprotocol`. headers: lower-case names."""
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise WSHandshakeError("bad HTTP status line")
    status = int(parts[1])
    if status != 101:
        what = {401: "unauthorized (basic auth rejected)",
                403: "forbidden",
                404: "unknown charge point id"}.get(status, parts[2].strip() if len(parts) > 2 else "")
        raise WSHandshakeError("HTTP %d %s" % (status, what), status)
    if headers.get("upgrade", "").lower() != "websocket":
        raise WSHandshakeError("no Upgrade: websocket", status)
    if "upgrade" not in [t.strip() for t in headers.get("connection", "").lower().split(",")]:
        raise WSHandshakeError("no Connection: Upgrade", status)
    if headers.get("sec-websocket-accept", "") != accept_key(key):
        raise WSHandshakeError("bad Sec-WebSocket-Accept", status)
    if headers.get("sec-websocket-extensions"):
        raise WSHandshakeError("unrequested extension", status)
    proto = headers.get("sec-websocket-protocol")
    if proto is None:
        raise WSHandshakeError("server refused subprotocol " + subprotocol, status)
    if proto.strip() != subprotocol:
        raise WSHandshakeError("server selected subprotocol %s, not %s" % (proto, subprotocol), status)

