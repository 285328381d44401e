# evse.services.transfer (and transferurl, ftpclient, httpclient, transferjob):
# URL parsing, the FTP and HTTP clients against scripted
# in-memory servers (FakeNet, FakeFtp, FakeHttp: plain state-recording classes
# with the HAL's signatures, reused by test_firmware.py and
# test_transfer_diagnostics.py), downloads into Storage, the retry schedule.
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")  # the frozen asyncio, when MICROPYPATH hides it
import asyncio

from evse.hal.fsstore import Storage
from evse.services import transfer, transferjob, transferurl
from evse.services.transfer import TransferError
from evse.services.transferurl import parse_url
from support import raises, tmpdir


# ---- fakes ------------------------------------------------------------------------------
class FakeStream:
    """Both ends' view of one in-memory connection, reader and writer in one
    object (as MicroPython's Stream). The server sees drained writes and fills
    `inbox`; an empty inbox reads as end of stream."""

    def __init__(self, server, kind: str) -> None:
        self.server = server
        self.kind = kind
        self.inbox = bytearray()
        self.sent = bytearray()
        self.closed = False
        self.max_read = 700          # short reads, as from a socket

    async def readline(self):
        i = self.inbox.find(b"\n")
        n = len(self.inbox) if i < 0 else i + 1
        data = bytes(self.inbox[:n])
        self.inbox = self.inbox[n:]
        return data

    async def read(self, n):
        n = min(n, self.max_read)
        data = bytes(self.inbox[:n])
        self.inbox = self.inbox[n:]
        return data

    def write(self, data) -> None:
        assert not self.closed
        self.sent.extend(bytes(data))

    async def drain(self) -> None:
        self.server.on_data(self)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.server.on_close(self)

    async def wait_closed(self) -> None:
        pass


class FakeStreamInto(FakeStream):
    """A stream with readinto (MicroPython's), to cover the no-copy path."""

    async def readinto(self, mv):
        n = min(len(mv), self.max_read, len(self.inbox))
        mv[:n] = self.inbox[:n]
        self.inbox = self.inbox[n:]
        return n


class FakeNet:
    def __init__(self, readinto: bool = False) -> None:
        self.servers = {}
        self.opened = []          # (host, port, tls, cadata, server_hostname)
        self.refuse = 0           # refuse this many connections
        self.hang = ()            # hosts whose connect never completes
        self.readinto = readinto

    def add(self, host: str, port: int, server) -> None:
        self.servers[(host, port)] = server

    async def open_connection(self, host, port, tls=False, cadata=None, server_hostname=None):
        self.opened.append((host, port, tls, cadata, server_hostname))
        if host in self.hang:
            await asyncio.Event().wait()
        if self.refuse > 0:
            self.refuse -= 1
            raise OSError(111)
        srv = self.servers.get((host, port))
        if srv is None:
            raise OSError(111)
        s = (FakeStreamInto if self.readinto else FakeStream)(srv, "")
        srv.connected(s, port)
        return s, s


class FakeFtp:
    """A passive-mode FTP server: files by path, a command log, fault switches."""

    def __init__(self, net, host="ftp.example", port=21, user="u", password="p") -> None:
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.files = {}
        self.log = []
        self.data_port = 50123
        self.no_pasv = False
        self.no_size = False
        self.cut = 0              # RETR sends this many bytes less, then 426
        self.fail_stor = False
        self._user = None
        self._stor = None
        self.ctl = None
        self.data = None
        net.add(host, port, self)
        net.add(host, self.data_port, self)

    def connected(self, s, port) -> None:
        if port == self.port:
            s.kind = "ctl"
            self.ctl = s
            self.reply("220-Welcome to the fake FTP server\r\n220-second line\r\n220 ready")
        else:
            s.kind = "data"
            self.data = s

    def reply(self, text: str) -> None:
        self.ctl.inbox.extend((text + "\r\n").encode())

    def on_data(self, s) -> None:
        if s.kind != "ctl":
            return
        while b"\n" in s.sent:
            i = s.sent.find(b"\n")
            line = bytes(s.sent[:i]).decode().rstrip("\r")
            s.sent = s.sent[i + 1:]
            self.command(line)

    def command(self, line: str) -> None:
        self.log.append(line)
        cmd, _, arg = line.partition(" ")
        if cmd == "USER":
            self._user = arg
            self.reply("331 password please")
        elif cmd == "PASS":
            ok = (self._user, arg) == (self.user, self.password)
            self.reply("230 logged in" if ok else "530 login incorrect")
        elif cmd == "TYPE":
            self.reply("200 type set")
        elif cmd == "PASV":
            p = self.data_port
            self.reply("502 no" if self.no_pasv else
                       "227 Entering Passive Mode (10,9,8,7,%d,%d)." % (p // 256, p % 256))
        elif cmd == "EPSV":
            self.reply("229 Entering Extended Passive Mode (|||%d|)" % self.data_port)
        elif cmd == "SIZE":
            if self.no_size or arg not in self.files:
                self.reply("550 no size")
            else:
                self.reply("213 %d" % len(self.files[arg]))
        elif cmd == "RETR":
            if arg not in self.files:
                self.reply("550 not found")
                return
            body = self.files[arg]
            self.reply("150 opening data connection")
            self.data.inbox.extend(body[:len(body) - self.cut])
            self.reply("426 connection closed; transfer aborted" if self.cut else "226 done")
        elif cmd == "STOR":
            if self.fail_stor:
                self.reply("553 not allowed")
                return
            self._stor = arg
            self.reply("150 ok, send")
        elif cmd == "QUIT":
            self.reply("221 bye")
        else:
            self.reply("502 not implemented")

    def on_close(self, s) -> None:
        if s.kind == "data" and self._stor is not None:
            self.files[self._stor] = bytes(s.sent)
            self._stor = None
            self.reply("226 stored")


def http_response(status: int, body: bytes = b"", mode: str = "length", headers=()) -> bytes:
    out = ["HTTP/1.1 %d X" % status]
    out.extend(headers)
    if mode == "length":
        out.append("Content-Length: %d" % len(body))
    elif mode == "chunked":
        out.append("Transfer-Encoding: chunked")
    head = ("\r\n".join(out) + "\r\n\r\n").encode()
    if mode != "chunked":
        return head + body
    parts = [head]
    i = 0
    step = 1000
    while i < len(body):
        piece = body[i:i + step]
        parts.append(("%x;ext=1\r\n" % len(piece)).encode() + piece + b"\r\n")
        i += step
        step += 333
    parts.append(b"0\r\nX-Trailer: 1\r\n\r\n")
    return b"".join(parts)


class FakeHttp:
    """An HTTP/1.1 server: routes[path] = raw response bytes (default 404);
    requests = [(method, path, headers, body)]."""

    def __init__(self, net, host="web.example", port=80) -> None:
        self.routes = {}
        self.requests = []
        net.add(host, port, self)

    def connected(self, s, port) -> None:
        s.kind = "http"

    def on_data(self, s) -> None:
        data = bytes(s.sent)
        i = data.find(b"\r\n\r\n")
        if i < 0 or s.kind == "answered":
            return
        lines = data[:i].decode().split("\r\n")
        method, path, _ = lines[0].split(" ")
        hdr = {}
        for h in lines[1:]:
            k, _, v = h.partition(":")
            hdr[k.strip().lower()] = v.strip()
        body = data[i + 4:]
        if len(body) < int(hdr.get("content-length", "0")):
            return
        s.kind = "answered"
        self.requests.append((method, path, hdr, body))
        resp = self.routes.get(path)
        if resp is None:
            resp = http_response(404, b"not found")
        s.inbox.extend(resp)

    def on_close(self, s) -> None:
        pass


def run(coro):
    return asyncio.run(coro)


def payload(n: int) -> bytes:
    return bytes((i * 7 + i // 251) & 255 for i in range(n))


def new_storage() -> Storage:
    return Storage(tmpdir("xfer"))


# ---- URLs ---------------------------------------------------------------------------------
def test_parse_ftp_url_with_credentials_and_port():
    u = parse_url("ftp://alice:s3cret@ftp.example.com:2121/diag/in")
    assert (u.scheme, u.host, u.port, u.path) == ("ftp", "ftp.example.com", 2121, "/diag/in")
    assert (u.user, u.password) == ("alice", "s3cret")
    assert u.ftp_path() == "diag/in"
    assert u.safe() == "ftp://ftp.example.com:2121/diag/in"


def test_parse_url_percent_decodes_user_and_password():
    u = parse_url("ftp://us%40er%3A1:p%40ss%3Aw%2Fd%25@h/")
    assert u.user == "us@er:1"
    assert u.password == "p@ss:w/d%"
    u = parse_url("ftp://a%C3%A9:100%zz@h/f")     # UTF-8, and a stray '%' stays
    assert u.user == "a\u00e9"
    assert u.password == "100%zz"


def test_parse_url_user_without_password_and_no_credentials():
    u = parse_url("ftp://bob@h/x")
    assert (u.user, u.password) == ("bob", None)
    u = parse_url("ftp://h")
    assert (u.user, u.password, u.port, u.path) == (None, None, 21, "/")
    assert u.ftp_path() == ""


def test_parse_url_at_sign_in_password_uses_last_at():
    u = parse_url("ftp://u:p@ss@host/d")
    assert (u.user, u.password, u.host) == ("u", "p@ss", "host")


def test_parse_http_urls_default_ports_query_and_ipv6():
    u = parse_url("http://Example.org/upload?id=7#frag")
    assert (u.port, u.path, u.hostport()) == (80, "/upload?id=7", "Example.org")
    u = parse_url("HTTPS://h:8443")
    assert (u.scheme, u.port, u.path, u.hostport()) == ("https", 8443, "/", "h:8443")
    u = parse_url("http://[fe80::1]:8080/fw.bin")
    assert (u.host, u.port, u.hostport()) == ("fe80::1", 8080, "[fe80::1]:8080")
    u = parse_url("https://h?x=1")
    assert u.path == "/?x=1"


def test_ftp_path_decodes_and_keeps_absolute_marker():
    assert parse_url("ftp://h/a%20dir/f%2Bx.txt;type=i").ftp_path() == "a dir/f+x.txt"
    assert parse_url("ftp://h/%2Fabs/dir/").ftp_path() == "/abs/dir/"
    e = raises(ValueError, parse_url("ftp://h/a%0D%0ADELE%20x").ftp_path)
    assert "FTP path" in str(e)


def test_parse_url_rejects_malformed():
    for bad in ("", "host/path", "://h/x", "ftps://h/x", "ws://h/", "file:///etc/passwd",
                "ftp:///nohost", "ftp://h:0/x", "ftp://h:70000/x", "ftp://h:2a/x",
                "http://h/a b", "http://[::1/x", "http://h\r\n/x", "ftp://u:p@/x"):
        raises(ValueError, parse_url, bad)
    raises(ValueError, parse_url, None)


def test_join_path():
    assert transferurl.join_path("", "f") == "f"
    assert transferurl.join_path("d", "f") == "d/f"
    assert transferurl.join_path("d/", "f") == "d/f"


# ---- FTP -----------------------------------------------------------------------------------
def test_ftp_upload_with_url_credentials():
    net = FakeNet()
    srv = FakeFtp(net, user="alice", password="p@ss")
    data = payload(5000)
    run(transfer.upload(net, "ftp://alice:p%40ss@ftp.example/diag/", "d1.txt", data,
                        user="FTPUSER", password="FTPPASS"))
    assert srv.files["diag/d1.txt"] == data
    assert srv.log[:4] == ["USER alice", "PASS p@ss", "TYPE I", "PASV"]
    assert srv.log[4:] == ["STOR diag/d1.txt", "QUIT"]
    assert srv.ctl.closed and srv.data.closed


def test_ftp_data_connection_uses_control_host_not_pasv_address():
    net = FakeNet()
    FakeFtp(net)
    run(transfer.upload(net, "ftp://u:p@ftp.example/", "f", b"x"))
    assert [o[:3] for o in net.opened] == [("ftp.example", 21, False), ("ftp.example", 50123, False)]


def test_ftp_upload_falls_back_to_configured_credentials():
    net = FakeNet()
    srv = FakeFtp(net, user="FTPUSER", password="FTPPASS")
    run(transfer.upload(net, "ftp://ftp.example/up", "f.txt", b"abc", "FTPUSER", "FTPPASS"))
    assert srv.files["up/f.txt"] == b"abc"
    # a user in the URL without a password takes the configured password
    srv.user = "bob"
    run(transfer.upload(net, "ftp://bob@ftp.example/up", "g.txt", b"abc", "FTPUSER", "FTPPASS"))
    assert srv.files["up/g.txt"] == b"abc"
    assert "PASS FTPPASS" in srv.log


def test_ftp_anonymous_when_no_credentials_anywhere():
    net = FakeNet()
    srv = FakeFtp(net, user="anonymous", password="evse@")
    run(transfer.upload(net, "ftp://ftp.example/", "f", b"1", "", ""))
    assert srv.files["f"] == b"1"
    assert srv.log[0] == "USER anonymous"


def test_ftp_login_refused():
    net = FakeNet()
    srv = FakeFtp(net, password="right")
    e = raises(TransferError, run, transfer.upload(net, "ftp://u:wrong@ftp.example/", "f", b"1"))
    assert "login" in str(e)
    assert "f" not in srv.files
    assert srv.ctl.closed


def test_ftp_epsv_when_pasv_refused():
    net = FakeNet()
    srv = FakeFtp(net)
    srv.no_pasv = True
    run(transfer.upload(net, "ftp://u:p@ftp.example/d", "f", b"zz"))
    assert srv.files["d/f"] == b"zz"
    assert "EPSV" in srv.log


def test_ftp_stor_refused():
    net = FakeNet()
    srv = FakeFtp(net)
    srv.fail_stor = True
    e = raises(TransferError, run, transfer.upload(net, "ftp://u:p@ftp.example/d", "f", b"zz"))
    assert "553" in str(e)
    assert srv.data.closed and srv.ctl.closed


def test_ftp_unreachable_is_oserror():
    net = FakeNet()
    raises(OSError, run, transfer.upload(net, "ftp://u:p@nowhere/d", "f", b"zz"))


def test_ftp_download_streams_into_storage():
    for into in (False, True):
        net = FakeNet(readinto=into)
        srv = FakeFtp(net)
        data = payload(9000)
        srv.files["fw/b.jsonl"] = data
        st = new_storage()
        seen = bytearray()
        n = run(transfer.download(net, "ftp://u:p@ftp.example/fw/b.jsonl", st, "dl",
                                  feed=lambda mv: seen.extend(bytes(mv))))
        assert n == 9000
        assert st.read("dl") == data
        assert bytes(seen) == data
        assert "dl.part" not in st.names()
        assert srv.log[3:] == ["SIZE fw/b.jsonl", "PASV", "RETR fw/b.jsonl", "QUIT"]


def test_ftp_download_truncated_leaves_nothing():
    net = FakeNet()
    srv = FakeFtp(net)
    srv.files["f"] = payload(3000)
    srv.cut = 100
    st = new_storage()
    st.write("dl", b"old")
    raises(TransferError, run, transfer.download(net, "ftp://u:p@ftp.example/f", st, "dl"))
    assert st.read("dl") == b"old"          # the previous complete file stays
    assert "dl.part" not in st.names()


def test_ftp_download_checks_size_when_server_reports_it():
    net = FakeNet()
    srv = FakeFtp(net)
    srv.files["f"] = payload(10)
    srv.no_size = True
    st = new_storage()
    assert run(transfer.download(net, "ftp://u:p@ftp.example/f", st, "dl")) == 10
    srv.no_size = False
    e = raises(TransferError, run, transfer.download(net, "ftp://u:p@ftp.example/f", st, "dl2",
                                                     max_bytes=9))
    assert "larger" in str(e)
    assert "PASV" not in srv.log[-2:]     # refused before opening a data connection


def test_ftp_download_missing_file_and_directory_url():
    net = FakeNet()
    FakeFtp(net)
    st = new_storage()
    e = raises(TransferError, run, transfer.download(net, "ftp://u:p@ftp.example/none", st, "dl"))
    assert "550" in str(e)
    raises(ValueError, run, transfer.download(net, "ftp://u:p@ftp.example/dir/", st, "dl"))
    assert st.names() == []


def test_download_size_limit_without_size_reply():
    net = FakeNet()
    http = FakeHttp(net)
    http.routes["/big"] = http_response(200, payload(5000), mode="close")
    st = new_storage()
    e = raises(TransferError, run, transfer.download(net, "http://web.example/big", st, "dl",
                                                     max_bytes=4096))
    assert "larger" in str(e)
    assert st.names() == []


# ---- HTTP -----------------------------------------------------------------------------------
def test_http_get_content_length_chunked_and_close_delimited():
    data = payload(7000)
    for mode in ("length", "chunked", "close"):
        for into in (False, True):
            net = FakeNet(readinto=into)
            http = FakeHttp(net)
            http.routes["/fw/b.jsonl"] = http_response(200, data, mode=mode)
            st = new_storage()
            n = run(transfer.download(net, "http://web.example/fw/b.jsonl", st, "dl"))
            assert (mode, n) == (mode, 7000)
            assert st.read("dl") == data
            method, path, hdr, _ = http.requests[0]
            assert (method, path, hdr["host"], hdr["connection"]) == ("GET", "/fw/b.jsonl", "web.example", "close")
            assert "authorization" not in hdr


def test_http_get_empty_body_creates_empty_file():
    net = FakeNet()
    http = FakeHttp(net)
    http.routes["/e"] = http_response(200, b"")
    st = new_storage()
    assert run(transfer.download(net, "http://web.example/e", st, "dl")) == 0
    assert st.read("dl") == b""


def test_http_get_basic_auth_and_port_in_host_header():
    net = FakeNet()
    http = FakeHttp(net, port=8080)
    http.routes["/f"] = http_response(200, b"ok")
    st = new_storage()
    run(transfer.download(net, "http://us%40r:pw@web.example:8080/f", st, "dl"))
    hdr = http.requests[0][2]
    assert hdr["authorization"] == "Basic dXNAcjpwdw=="   # base64("us@r:pw")
    assert hdr["host"] == "web.example:8080"


def test_http_get_follows_redirects():
    net = FakeNet()
    http = FakeHttp(net)
    other = FakeHttp(net, host="cdn.example")
    http.routes["/a/fw"] = http_response(302, headers=("Location: next",))
    http.routes["/a/next"] = http_response(301, headers=("Location: http://cdn.example/x",))
    other.routes["/x"] = http_response(200, b"payload")
    st = new_storage()
    run(transfer.download(net, "http://u:p@web.example/a/fw", st, "dl"))
    assert st.read("dl") == b"payload"
    assert [r[1] for r in http.requests] == ["/a/fw", "/a/next"]
    assert "authorization" in http.requests[1][2]
    assert "authorization" not in other.requests[0][2]     # not sent to another host


def test_http_get_redirect_loop_and_error_status():
    net = FakeNet()
    http = FakeHttp(net)
    http.routes["/loop"] = http_response(307, headers=("Location: /loop",))
    st = new_storage()
    e = raises(TransferError, run, transfer.download(net, "http://web.example/loop", st, "dl"))
    assert "redirect" in str(e)
    e = raises(TransferError, run, transfer.download(net, "http://web.example/missing", st, "dl"))
    assert "404" in str(e)
    assert st.names() == []


def test_http_get_truncated_bodies_fail():
    data = payload(3000)
    full = http_response(200, data, mode="chunked")
    for resp in (http_response(200, data)[:-10], full[:-40], full[:len(full) // 2]):
        net = FakeNet()
        http = FakeHttp(net)
        http.routes["/f"] = resp
        st = new_storage()
        raises(TransferError, run, transfer.download(net, "http://web.example/f", st, "dl"))
        assert st.names() == []


def test_http_skips_interim_responses():
    net = FakeNet()
    http = FakeHttp(net)
    http.routes["/f"] = b"HTTP/1.1 100 Continue\r\n\r\n" + http_response(200, b"abc")
    st = new_storage()
    run(transfer.download(net, "http://web.example/f", st, "dl"))
    assert st.read("dl") == b"abc"


def _multipart_file(hdr, body):
    ct = hdr["content-type"]
    assert ct.startswith("multipart/form-data; boundary=")
    b = ct.split("boundary=")[1].encode()
    assert int(hdr["content-length"]) == len(body)
    assert body.startswith(b"--" + b + b"\r\n")
    assert body.endswith(b"\r\n--" + b + b"--\r\n")
    head, _, rest = body.partition(b"\r\n\r\n")
    return head.decode(), rest[:-len(b"\r\n--" + b + b"--\r\n")]


def test_http_post_multipart_upload():
    net = FakeNet()
    http = FakeHttp(net)
    http.routes["/upload?station=1"] = http_response(201)
    data = payload(6000)
    run(transfer.upload(net, "http://web.example/upload?station=1", "diag-1.txt", data))
    method, path, hdr, body = http.requests[0]
    assert (method, path) == ("POST", "/upload?station=1")
    head, content = _multipart_file(hdr, body)
    assert 'name="file"; filename="diag-1.txt"' in head
    assert content == data


def test_http_post_boundary_avoids_the_data():
    net = FakeNet()
    http = FakeHttp(net)
    http.routes["/u"] = http_response(204, mode="none")
    data = b"--micro-evse-0-boundary--\r\n" * 3
    run(transfer.upload(net, "http://web.example/u", "f", data))
    _, _, hdr, body = http.requests[0]
    _, content = _multipart_file(hdr, body)
    assert content == data
    assert "micro-evse-0-" not in hdr["content-type"]


def test_http_post_error_status():
    net = FakeNet()
    http = FakeHttp(net)
    http.routes["/u"] = http_response(500, b"boom")
    e = raises(TransferError, run, transfer.upload(net, "http://web.example/u", "f", b"x"))
    assert "500" in str(e)


def test_https_asks_the_net_for_tls_with_hostname_and_ca():
    net = FakeNet()
    http = FakeHttp(net, port=443)
    http.routes["/u"] = http_response(200)
    run(transfer.upload(net, "https://web.example/u", "f", b"x", cadata=b"CA"))
    assert net.opened == [("web.example", 443, True, b"CA", "web.example")]


# ---- retry schedule, storage rename -----------------------------------------------------------
def test_job_retries_count_after_the_first_try():
    j = transferjob.Job("ftp://h/", 100, 2, 30)
    assert not j.due(99) and j.wait_s(90) == 10 and j.due(100)
    for k in range(3):
        assert j.due(j.next_at)
        j.begin()
        more = j.retry(1000 * (k + 1))
        assert more == (k < 2)
    assert j.tries == 3 and j.next_at == 2030 and not j.due(10 ** 9) and j.wait_s(0) == -1
    j = transferjob.Job("ftp://h/", 0, None, None)
    assert (j.left, j.interval) == (1 + transferjob.DEFAULT_RETRIES, transferjob.DEFAULT_INTERVAL_S)
    j = transferjob.Job("ftp://h/", 0, -5, -1)
    assert (j.left, j.interval) == (1, 0)
    j2 = transferjob.Job.from_dict(j.to_dict())
    assert j2.to_dict() == j.to_dict()


def test_storage_rename_replaces_atomically():
    st = new_storage()
    st.write("a", b"new")
    st.write("b", b"old")
    st.rename("a", "b")
    assert st.read("b") == b"new" and st.read("a") is None
    raises(OSError, st.rename, "a", "c")
    raises(ValueError, st.rename, "b", "x/y")


def test_config_credentials():
    class Cfg:
        def get(self, k):
            if k == "FTPPassword":
                raise KeyError(k)
            return "user1"
    assert transferjob.config_credentials(Cfg()) == ("user1", "")
    assert transferjob.config_credentials(None) == ("", "")


def test_no_progress_times_out():
    net = FakeNet()
    net.hang = ("slow.example",)
    raises(asyncio.TimeoutError, run, transfer.upload(net, "http://slow.example/u", "f", b"x",
                                                      timeout_s=0.05))
    st = new_storage()
    raises(asyncio.TimeoutError, run, transfer.download(net, "ftp://slow.example/f", st, "dl",
                                                        timeout_s=0.05))
    assert st.names() == []
