# File transfer for GetDiagnostics and UpdateFirmware (OCPP 1.6 chapter 8):
# small FTP (passive mode, binary) and HTTP/1.1 clients over the HAL's streams,
# net.open_connection(host, port, tls=, cadata=, server_hostname=) -> (reader, writer).
#
#   parse_url(url) -> Url        ftp://[user[:pass]@]host[:port]/path, http://, https://
#                                (user and password percent-decoded; ftps is not supported)
#   await upload(net, location, name, data, ...)
#       FTP: STOR <location dir>/<name>; HTTP(S): POST multipart/form-data, field "file"
#   await download(net, url, storage, name, ...) -> bytes received
#       FTP: RETR (checked against SIZE when the server has it); HTTP(S): GET with
#       Content-Length, chunked or read-to-close bodies, up to 3 redirects.
#       Streams into storage NAME.part in _CHUNK pieces, then renames it to NAME:
#       the file never has to fit in RAM and NAME is either complete or absent.
#   Job                          the attempts of one request (OCPP retries/retryInterval)
#
# FTP credentials: those in the URL; where the URL has none, the caller's fallback
# (the FTPUserName / FTPPassword keys, manual 4.4); "anonymous" if both are empty.
# The data connection goes to the control connection's host with the port of the
# PASV (or EPSV) reply: the address inside a PASV reply is ignored (NAT, FTP bounce).
# Errors: TransferError (protocol, status, size), ValueError (bad URL), OSError
# (network), asyncio.TimeoutError (no progress within timeout_s).
from evse.aio import asyncio

import binascii

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_CHUNK = const(2048)        # bytes moved per read/write (one preallocated buffer)
_MAX_REDIRECTS = const(3)
DEFAULT_TIMEOUT_S = 30
DEFAULT_RETRIES = 2         # when the request has no `retries`
DEFAULT_INTERVAL_S = 60     # when the request has no `retryInterval`
DEFAULT_MAX_BYTES = 1048576

_PORTS = {"ftp": 21, "http": 80, "https": 443}
_UA = "micro-evse"


class TransferError(Exception):
    pass


class Url:
    def __init__(self, scheme: str, host: str, port: int, path: str, user, password) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path          # raw (still percent-encoded), starts with "/"
        self.user = user          # None when the URL has none (percent-decoded)
        self.password = password  # None when the URL has none (percent-decoded)

    def hostport(self) -> str:
        h = "[" + self.host + "]" if ":" in self.host else self.host
        if self.port != _PORTS[self.scheme]:
            h += ":%d" % self.port
        return h

    def safe(self) -> str:
        """The URL without credentials, for logs."""
        return "%s://%s%s" % (self.scheme, self.hostport(), self.path)

    def ftp_path(self) -> str:
        """Path for FTP commands: relative to the login directory (RFC 1738:
        the first '/' separates host and path; %2F makes it absolute)."""
        p = self.path[1:]
        i = p.find(";type=")
        if i >= 0:
            p = p[:i]
        p = unquote(p)
        for c in "\r\n\0":
            if c in p:
                raise ValueError("bad character in FTP path")
        return p


def unquote(s: str) -> str:
    """Percent-decoding (UTF-8); a '%' not followed by two hex digits stays."""
    if "%" not in s:
        return s
    b = s.encode()
    out = bytearray()
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if c == 0x25 and i + 2 < n and _hex2(b[i + 1:i + 3]) >= 0:
            out.append(_hex2(b[i + 1:i + 3]))
            i += 3
        else:
            out.append(c)
            i += 1
    return bytes(out).decode()


def _hex2(b) -> int:
    if len(b) != 2:
        return -1
    try:
        return int(bytes(b).decode(), 16)
    except ValueError:
        return -1


def parse_url(url: str) -> Url:
    """Split a transfer URL; ValueError if malformed or of an unsupported scheme."""
    if type(url) is not str:
        raise ValueError("URL must be a string")
    i = url.find("://")
    if i <= 0:
        raise ValueError("URL has no scheme")
    scheme = url[:i].lower()
    if scheme not in _PORTS:
        raise ValueError("unsupported scheme " + scheme)
    rest = url[i + 3:]
    j = len(rest)
    for c in "/?#":
        k = rest.find(c)
        if 0 <= k < j:
            j = k
    auth = rest[:j]
    path = rest[j:]
    k = path.find("#")
    if k >= 0:
        path = path[:k]
    if not path:
        path = "/"
    elif path[0] == "?":
        path = "/" + path
    for c in path:
        if c <= " " or c == "\x7f":
            raise ValueError("bad character in URL path")
    user = None
    password = None
    at = auth.rfind("@")
    if at >= 0:
        info = auth[:at]
        auth = auth[at + 1:]
        k = info.find(":")
        if k >= 0:
            user = unquote(info[:k])
            password = unquote(info[k + 1:])
        else:
            user = unquote(info)
    port_s = ""
    if auth.startswith("["):
        e = auth.find("]")
        if e < 0:
            raise ValueError("bad IPv6 host")
        host = auth[1:e]
        tail = auth[e + 1:]
        if tail:
            if tail[0] != ":":
                raise ValueError("bad host")
            port_s = tail[1:]
    else:
        k = auth.rfind(":")
        if k >= 0:
            host = auth[:k]
            port_s = auth[k + 1:]
        else:
            host = auth
    if not host:
        raise ValueError("URL has no host")
    for c in host:
        if c <= " " or c in "/\\@[]":
            raise ValueError("bad host")
    port = _PORTS[scheme]
    if port_s:
        for c in port_s:
            if c not in "0123456789":
                raise ValueError("bad port")
        port = int(port_s)
        if not 0 < port < 65536:
            raise ValueError("bad port")
    return Url(scheme, host, port, path, user, password)


def join_path(directory: str, name: str) -> str:
    if not directory:
        return name
    if directory.endswith("/"):
        return directory + name
    return directory + "/" + name


# ---- streams ------------------------------------------------------------------------
class _Conn:
    """One connection with a timeout on every wait."""

    def __init__(self, reader, writer, timeout_s) -> None:
        self.r = reader
        self.w = writer
        self.t = timeout_s
        self._into = hasattr(reader, "readinto")  # MicroPython streams: no copy

    async def line(self) -> bytes:
        return await asyncio.wait_for(self.r.readline(), self.t)

    async def readinto(self, mv) -> int:
        """Read at most len(mv) bytes into mv; 0 at end of stream."""
        if self._into:
            while True:
                n = await asyncio.wait_for(self.r.readinto(mv), self.t)
                if n is not None:   # None: TLS record not complete yet
                    return n
        data = await asyncio.wait_for(self.r.read(len(mv)), self.t)
        n = len(data)
        mv[:n] = data
        return n

    async def send(self, data) -> None:
        self.w.write(data)
        await asyncio.wait_for(self.w.drain(), self.t)

    async def send_all(self, data) -> None:
        mv = memoryview(data)
        for i in range(0, len(mv), _CHUNK):
            await self.send(mv[i:i + _CHUNK])

    async def close(self) -> None:
        try:
            self.w.close()
            await asyncio.wait_for(self.w.wait_closed(), 2)
        except Exception:  # already reset by the peer: nothing left to release
            pass


async def _connect(net, host: str, port: int, tls: bool, cadata, timeout_s) -> _Conn:
    r, w = await asyncio.wait_for(
        net.open_connection(host, port, tls=tls, cadata=cadata, server_hostname=host), timeout_s)
    return _Conn(r, w, timeout_s)


class _Sink:
    """Download target: one preallocated buffer, appended to storage when full."""

    def __init__(self, storage, name: str, feed, max_bytes: int) -> None:
        self.storage = storage
        self.name = name
        self.feed = feed
        self.max = max_bytes
        self.buf = memoryview(bytearray(_CHUNK))
        self.fill = 0
        self.total = 0

    async def pump(self, readinto) -> None:
        """Move everything readinto(mv) yields (0 = end) into storage."""
        while True:
            n = await readinto(self.buf[self.fill:])
            if n == 0:
                break
            self.fill += n
            self.total += n
            if self.total > self.max:
                raise TransferError("file larger than %d bytes" % self.max)
            if self.fill == _CHUNK:
                self.flush()
        self.flush()

    def flush(self) -> None:
        if self.fill:
            chunk = self.buf[:self.fill]
            if self.feed is not None:
                self.feed(chunk)
            self.storage.append(self.name, chunk)
            self.fill = 0


# ---- public entry points ----------------------------------------------------------------
async def upload(net, location: str, name: str, data, user=None, password=None, cadata=None,
                 timeout_s=DEFAULT_TIMEOUT_S) -> None:
    """Send `data` (bytes) as file `name` to `location` (a directory URL).
    user/password: FTP fallback credentials when the URL has none."""
    u = parse_url(location)
    if u.scheme == "ftp":
        await _ftp_store(net, u, name, data, user, password, timeout_s)
    else:
        await _http_post(net, u, name, data, cadata, timeout_s)


async def download(net, url: str, storage, name: str, user=None, password=None, cadata=None,
                   timeout_s=DEFAULT_TIMEOUT_S, max_bytes=DEFAULT_MAX_BYTES, feed=None) -> int:
    """Fetch `url` into storage `name` (atomic: NAME.part then rename). feed(mv),
    if given, sees every chunk before it is stored (a streaming verifier); the
    memoryview is reused afterwards, so feed must copy what it keeps."""
    u = parse_url(url)
    part = name + ".part"
    storage.remove(part)
    sink = _Sink(storage, part, feed, max_bytes)
    try:
        if u.scheme == "ftp":
            await _ftp_retr(net, u, sink, user, password, timeout_s)
        else:
            await _http_get(net, u, sink, cadata, timeout_s)
    except BaseException:
        storage.remove(part)
        raise
    if sink.total == 0:
        storage.write(part, b"")  # an empty file still exists afterwards
    storage.rename(part, name)
    return sink.total


# ---- FTP ---------------------------------------------------------------------------------
def _clean(s: str) -> str:
    if "\r" in s or "\n" in s:
        raise ValueError("line break in FTP argument")
    return s


def _credentials(u: Url, user, password):
    usr = u.user if u.user is not None else (user or "")
    pw = u.password if u.password is not None else (password or "")
    if not usr:
        usr = "anonymous"
        if not pw:
            pw = "evse@"
    return _clean(usr), _clean(pw)


def _pasv_port(text: str) -> int:
    """'227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)' -> port, -1 if unreadable."""
    i = text.find("(")
    s = text[i + 1:] if i >= 0 else text[4:]
    j = 0
    while j < len(s) and s[j] not in "0123456789":
        j += 1
    k = j
    while k < len(s) and s[k] in "0123456789,":
        k += 1
    parts = s[j:k].split(",")
    if len(parts) != 6:
        return -1
    try:
        return int(parts[4]) * 256 + int(parts[5])
    except ValueError:
        return -1


def _epsv_port(text: str) -> int:
    """'229 Entering Extended Passive Mode (|||6446|)' -> port, -1 if unreadable."""
    i = text.find("(")
    if i < 0 or i + 1 >= len(text):
        return -1
    d = text[i + 1]
    parts = text[i + 1:].split(d)
    if len(parts) < 5:
        return -1
    try:
        return int(parts[3])
    except ValueError:
        return -1


class _Ftp:
    def __init__(self, net, u: Url, timeout_s) -> None:
        self.net = net
        self.u = u
        self.t = timeout_s
        self.c: "_Conn | None" = None

    async def login(self, user: str, password: str) -> None:
        self.c = await _connect(self.net, self.u.host, self.u.port, False, None, self.t)
        code, _ = await self.reply()
        while 100 <= code < 200:       # 120: ready in n minutes
            code, _ = await self.reply()
        if code != 220:
            raise TransferError("FTP greeting %d" % code)
        code, _ = await self.cmd("USER " + user)
        if code == 331:
            code, _ = await self.cmd("PASS " + password)
        if code not in (230, 202):
            raise TransferError("FTP login refused (%d)" % code)
        code, _ = await self.cmd("TYPE I")
        if code != 200:
            raise TransferError("FTP TYPE I refused (%d)" % code)

    async def reply(self):
        """-> (code, first line); multi-line replies are read to their end."""
        c = self.c
        first = await self._line(c)
        code = first[:3]
        if len(first) > 3 and first[3] == "-":
            end = code + " "
            while True:
                ln = await self._line(c)
                if ln.startswith(end) or ln == code:
                    break
        return int(code), first

    async def _line(self, c) -> str:
        b = await c.line()
        if not b:
            raise TransferError("FTP connection closed")
        s = b.decode().rstrip("\r\n")
        if len(s) < 3 or not ("0" <= s[0] <= "9" and "0" <= s[1] <= "9" and "0" <= s[2] <= "9"):
            raise TransferError("bad FTP reply")
        return s

    async def cmd(self, line: str):
        assert self.c is not None
        await self.c.send((line + "\r\n").encode())
        return await self.reply()

    async def passive(self) -> _Conn:
        code, text = await self.cmd("PASV")
        port = _pasv_port(text) if code == 227 else -1
        if port <= 0:
            code, text = await self.cmd("EPSV")
            port = _epsv_port(text) if code == 229 else -1
        if port <= 0:
            raise TransferError("FTP passive mode refused")
        return await _connect(self.net, self.u.host, port, False, None, self.t)

    async def quit(self) -> None:
        c = self.c
        if c is None:
            return
        try:
            await c.send(b"QUIT\r\n")
            await asyncio.wait_for(c.r.readline(), 2)
        except Exception:  # the transfer result is known already
            pass
        await c.close()


async def _ftp_store(net, u: Url, name: str, data, user, password, timeout_s) -> None:
    usr, pw = _credentials(u, user, password)
    path = join_path(u.ftp_path(), _clean(name))
    f = _Ftp(net, u, timeout_s)
    try:
        await f.login(usr, pw)
        d = await f.passive()
        try:
            code, _ = await f.cmd("STOR " + path)
            if code not in (125, 150):
                raise TransferError("FTP STOR refused (%d)" % code)
            await d.send_all(data)
        finally:
            await d.close()
        code, _ = await f.reply()
        if code not in (226, 250):
            raise TransferError("FTP upload failed (%d)" % code)
    finally:
        await f.quit()


async def _ftp_retr(net, u: Url, sink: _Sink, user, password, timeout_s) -> None:
    usr, pw = _credentials(u, user, password)
    path = u.ftp_path()
    if not path or path.endswith("/"):
        raise ValueError("FTP URL names no file")
    f = _Ftp(net, u, timeout_s)
    try:
        await f.login(usr, pw)
        size = -1
        code, text = await f.cmd("SIZE " + path)
        if code == 213:
            try:
                size = int(text[4:].strip())
            except ValueError:
                size = -1
        if size > sink.max:
            raise TransferError("file larger than %d bytes" % sink.max)
        d = await f.passive()
        try:
            code, _ = await f.cmd("RETR " + path)
            if code not in (125, 150):
                raise TransferError("FTP RETR refused (%d)" % code)
            await sink.pump(d.readinto)
        finally:
            await d.close()
        code, _ = await f.reply()
        if code not in (226, 250):
            raise TransferError("FTP download failed (%d)" % code)
        if size >= 0 and sink.total != size:
            raise TransferError("FTP download truncated (%d of %d)" % (sink.total, size))
    finally:
        await f.quit()


# ---- HTTP ---------------------------------------------------------------------------------
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


async def _response(c: _Conn):
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

    def __init__(self, c: _Conn, hdr: dict) -> None:
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


async def _http_get(net, u: Url, sink: _Sink, cadata, timeout_s) -> None:
    for _ in range(_MAX_REDIRECTS + 1):
        c = await _connect(net, u.host, u.port, u.scheme == "https", cadata, timeout_s)
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


async def _http_post(net, u: Url, name: str, data, cadata, timeout_s) -> None:
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
    c = await _connect(net, u.host, u.port, u.scheme == "https", cadata, timeout_s)
    try:
        await c.send(head.encode() + pre)
        await c.send_all(data)
        await c.send(post)
        status, _ = await _response(c)
        if not 200 <= status < 300:
            raise TransferError("HTTP POST status %d" % status)
    finally:
        await c.close()


def config_credentials(config):
    """(FTPUserName, FTPPassword) of the configuration (manual 4.4): the FTP
    credentials used when the URL has none."""
    out = []
    for k in ("FTPUserName", "FTPPassword"):
        try:
            v = config.get(k) if config is not None else ""
        except KeyError:
            v = ""
        out.append(v if type(v) is str else "")
    return out[0], out[1]


async def sleep_s(s) -> None:
    """asyncio.sleep wrapped in a coroutine (MicroPython's is a generator)."""
    await asyncio.sleep(s)


# ---- retry schedule -----------------------------------------------------------------------
class Job:
    """The attempts of one request: the first at `at` (UTC seconds), then up to
    `retries` more, `interval` s apart (OCPP 1.6 errata 3.50: retries counts the
    tries after the first)."""

    def __init__(self, location: str, at: int, retries=None, interval=None) -> None:
        if type(retries) is not int:
            retries = DEFAULT_RETRIES
        if type(interval) is not int:
            interval = DEFAULT_INTERVAL_S
        self.location = location
        self.next_at = at
        self.left = 1 + max(0, retries)
        self.interval = max(0, interval)
        self.tries = 0

    def due(self, now: int) -> bool:
        return self.left > 0 and now >= self.next_at

    def wait_s(self, now: int) -> int:
        return max(0, self.next_at - now) if self.left > 0 else -1

    def begin(self) -> None:
        self.tries += 1
        self.left -= 1

    def retry(self, now: int) -> bool:
        """After a failed try: schedule the next one; False when none is left."""
        if self.left <= 0:
            return False
        self.next_at = now + self.interval
        return True

    def to_dict(self) -> dict:
        return {"location": self.location, "next_at": self.next_at, "left": self.left,
                "interval": self.interval, "tries": self.tries}

    @staticmethod
    def from_dict(d: dict):
        j = Job(d["location"], int(d["next_at"]), 0, int(d["interval"]))
        j.left = max(1, int(d["left"]))     # a try cut short by a reboot is tried again
        j.tries = int(d["tries"])
        return j
