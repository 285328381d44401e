# Transfer URLs (OCPP 1.6 GetDiagnostics location, UpdateFirmware location):
# ftp://[user[:pass]@]host[:port]/path, http://, https:// (user and password
# percent-decoded; ftps is not supported). Synchronous, no I/O.

_PORTS = {"ftp": 21, "http": 80, "https": 443}


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
