# A small HTTP/1.1 client for the file transfers (evse.services.transfer):
# post_file() (multipart/form-data, field "file") for GetDiagnostics, get()
# (Content-Length, chunked or read-to-close bodies, up to 3 redirects) for
# UpdateFirmware; https through the HAL's TLS. Loaded on first use.
import binascii

from evse.services.transfer import Conn, Sink, TransferError, connect
from evse.services.transferurl import Url, parse_url

_UA = "micro-evse"


def _auth_header(u: Url) -> str:
    if u.user is None:
        return ""
    cred = (u.user + ":" + (u.password or "")).encode()
    return "Authorization: Basic " + binascii.b2a_base64(cred).decode().strip() + "\r\n"


def _redirect(u: Url, loc: str) -> Url:
    if "://" in loc:
        n = parse_url(loc)
    elif loc.startswith("//"):
        n = parse_url(u.scheme + ":" + loc)
    else:
        if not loc.startswith("/"):
            base = u.path.split("?")[0]
            loc = base[:base.rfind("/") + 1] + loc
        n = parse_url("%s://%s%s" % (u.scheme, u.hostport(), loc))
    if n.host != u.host or n.port != u.port or n.scheme != u.scheme:
        n.user = None       # credentials stay with the host they were meant for
        n.password = None
    elif n.user is None:
        n.user = u.user
        n.password = u.password
    return n


async def _response(c: Conn):
    """-> (status, {name: value}) of the first final (non-1xx) response."""
    while True:
        line = await c.line()
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise TransferError("bad HTTP response")
        try:
            status = int(parts[1])
        except ValueError:
            raise TransferError("bad HTTP status")
        hdr = {}
        n = 0
        while True:
            h = await c.line()
            if not h:
                raise TransferError("HTTP headers cut off")
            if h in (b"\r\n", b"\n"):
                break
            n += 1
            if n > 100:
                raise TransferError("too many HTTP headers")
            i = h.find(b":")
            if i <= 0:
                continue
            k = h[:i].strip().lower().decode()
            if k in ("content-length", "transfer-encoding", "location"):
                hdr[k] = h[i + 1:].strip().decode()
        if status >= 200:
            return status, hdr


class _Body:
    """An HTTP response body: Content-Length, chunked, or up to connection close."""

    def __init__(self, c: Conn, hdr: dict) -> None:
        self.c = c
        self.chunked = "chunked" in hdr.get("transfer-encoding", "").lower()
        self.left = -1
        if not self.chunked and "content-length" in hdr:
            try:
                self.left = int(hdr["content-length"])
            except ValueError:
                raise TransferError("bad Content-Length")
        self.chunk_left = 0
        self.done = False

    async def readinto(self, mv) -> int:
        if self.done:
            return 0
        if self.chunked:
            return await self._chunked(mv)
        if self.left == 0:
            self.done = True
            return 0
        want = len(mv) if self.left < 0 else min(len(mv), self.left)
        n = await self.c.readinto(mv[:want])
        if n == 0:
            if self.left > 0:
                raise TransferError("HTTP body truncated")
            self.done = True
            return 0
        if self.left > 0:
            self.left -= n
        return n

    async def _chunked(self, mv) -> int:
        c = self.c
        if self.chunk_left == 0:
            line = await c.line()
            try:
                size = int(line.split(b";")[0].strip().decode(), 16)
            except ValueError:
                raise TransferError("bad HTTP chunk")
            if size == 0:
                while True:  # trailer fields up to the empty line
                    t = await c.line()
                    if t in (b"", b"\r\n", b"\n"):
                        break
                self.done = True
                return 0
            self.chunk_left = size
        n = await c.readinto(mv[:min(len(mv), self.chunk_left)])
        if n == 0:
            raise TransferError("HTTP chunk truncated")
        self.chunk_left -= n
        if self.chunk_left == 0 and (await c.line()).strip():
            raise TransferError("bad HTTP chunk end")
        return n


async def get(net, u: Url, sink: Sink, cadata, timeout_s) -> None:
    for _ in range(4):          # the request and up to 3 redirects
        c = await connect(net, u.host, u.port, u.scheme == "https", cadata, timeout_s)
        try:
            await c.send(("GET %s HTTP/1.1\r\nHost: %s\r\n%sUser-Agent: %s\r\n"
                          "Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
                          % (u.path, u.hostport(), _auth_header(u), _UA)).encode())
            status, hdr = await _response(c)
            if status in (301, 302, 303, 307, 308) and "location" in hdr:
                nu = _redirect(u, hdr["location"])
            elif status != 200:
                raise TransferError("HTTP GET status %d" % status)
            else:
                await sink.pump(_Body(c, hdr).readinto)
                return
        finally:
            await c.close()
        u = nu
    raise TransferError("too many HTTP redirects")


def _boundary(data) -> str:
    n = 0
    while True:
        b = "micro-evse-%d-boundary" % n
        if b.encode() not in data:
            return b
        n += 1


async def post_file(net, u: Url, name: str, data, cadata, timeout_s) -> None:
    for ch in name:
        if ch in "\"\r\n\\":
            raise ValueError("bad file name")
    b = _boundary(data)
    pre = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n" % (b, name)).encode()
    post = ("\r\n--%s--\r\n" % b).encode()
    head = ("POST %s HTTP/1.1\r\nHost: %s\r\n%sUser-Agent: %s\r\n"
            "Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n"
            % (u.path, u.hostport(), _auth_header(u), _UA, b, len(pre) + len(data) + len(post)))
    c = await connect(net, u.host, u.port, u.scheme == "https", cadata, timeout_s)
    try:
        await c.send(head.encode() + pre)
        await c.send_all(data)
        await c.send(post)
        status, _ = await _response(c)
        if not 200 <= status < 300:
            raise TransferError("HTTP POST status %d" % status)
    finally:
        await c.close()

