# File transfer against real servers on 127.0.0.1: a pyftpdlib FTP server and an
# http.server upload/download handler (plus HTTPS with a throwaway self-signed
# certificate from the openssl CLI). The firmware side (evse.services.diagnostics,
# evse.services.firmware, evse.services.transfer with the real evse.hal.net.Net and
# Storage) runs under the MicroPython Unix port in a subprocess; the assertions
# look at what the servers received and at the controller's storage directory.
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
FIRMWARE = os.path.join(ROOT, "firmware")
if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)

from evse.services.fwbundle import encode_bundle, verify_bundle  # noqa: E402

FTP_USER, FTP_PASS = "evse", "p@ss:w/rd"
# pyftpdlib still uses asyncore/asynchat on Python 3.11
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ---- servers --------------------------------------------------------------------------------
class FtpServer:
    """pyftpdlib in a thread; user FTP_USER with home `root`."""

    def __init__(self, root):
        pytest.importorskip("pyftpdlib")
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer
        auth = DummyAuthorizer()
        auth.add_user(FTP_USER, FTP_PASS, root, perm="elradfmw")
        handler = type("Handler", (FTPHandler,), {"authorizer": auth, "banner": "test ready"})
        self.commands = []
        log = self.commands

        def on_cmd(self_, cmd, arg):  # pragma: no cover - runs in the server thread
            log.append(cmd)
        handler.pre_process_command = lambda self_, line, cmd, arg: (
            on_cmd(self_, cmd, arg), FTPHandler.pre_process_command(self_, line, cmd, arg))[1]
        self.server = FTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            self.server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        self.server.close_all()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


class HttpServer:
    """GET /files/<name> from `files` (Content-Length), /chunked/<name> (chunked),
    /moved/<name> (302 to /files/<name>); POST /upload: multipart/form-data,
    the "file" field stored in `uploads` by filename."""

    def __init__(self, tls_ctx=None):
        self.files = {}
        self.uploads = {}
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.requests.append(("GET", self.path, dict(self.headers)))
                kind, _, name = self.path[1:].partition("/")
                body = outer.files.get(name)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif kind == "moved":
                    self.send_response(302)
                    self.send_header("Location", "/files/" + name)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif kind == "chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(body), 3001):
                        piece = body[i:i + 3001]
                        self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers["Content-Length"])
                body = self.rfile.read(n)
                outer.requests.append(("POST", self.path, dict(self.headers)))
                ctype = self.headers["Content-Type"]
                boundary = ctype.split("boundary=", 1)[1].encode()
                ok = False
                for part in body.split(b"--" + boundary)[1:-1]:
                    head, _, content = part[2:].partition(b"\r\n\r\n")
                    head = head.decode()
                    if 'name="file"' in head and "filename=" in head:
                        fname = head.split('filename="', 1)[1].split('"', 1)[0]
                        outer.uploads[fname] = content[:-2]   # CRLF before the delimiter
                        ok = True
                self.send_response(201 if ok else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls_ctx is not None:
            self.server.socket = tls_ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)


# ---- the controller side (MicroPython) ------------------------------------------------------
CONTROLLER = r'''
import sys
import asyncio
from evse.hal.fsstore import Storage
from evse.hal.net import Net
from evsesim.hal.sim import RealClock
from evse.config.store import Config
from evse.services.diagnostics import Log

mode, state, url, ftp_user, ftp_pass, cadata_path = sys.argv[1:7]
cadata = None
if cadata_path != "-":
    with open(cadata_path, "rb") as f:
        cadata = f.read()
st = Storage(state)
cfg = Config(st, "dscu")
cfg.change("FTPUserName", ftp_user)
cfg.change("FTPPassword", ftp_pass)
clock = RealClock()
log = Log(clock, 16)
log.add("controller started")


def notify(action, payload):
    print("NOTIFY", action, payload["status"])


if mode == "diag":
    from evse.services.diagnostics import Diagnostics
    d = Diagnostics(st, clock, Net(), cfg, notify, log=log, cadata=cadata, timeout_s=10)
    print("FILE", d.request(url, 1, 1))
    asyncio.run(d.run())
    print("ERROR", d.last_error)
else:
    from evse.services.firmware import FirmwareUpdater
    fw = FirmwareUpdater(st, clock, Net(), cfg, notify, lambda: print("REBOOT"), cadata=cadata,
                         timeout_s=10, log=log)
    fw.boot_attempt()
    fw.request(url, None, 1, 1)
    asyncio.run(fw.run())
    print("ERROR", fw.last_error)
    print("SLOT", fw.boot_attempt())
    fw.confirm_boot()
    print("VERSION", cfg.get("FirmwareVersionMCU"))
'''


def controller(tmp_path, mode, url, ftp_user="", ftp_pass="", cadata=None, heap="256k"):
    if not os.path.exists(MICROPYTHON):
        pytest.skip("no MicroPython Unix port in .venv")
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "controller.py"
    script.write_text(CONTROLLER)
    state = tmp_path / "state"
    ca = "-"
    if cadata is not None:
        ca = str(tmp_path / "ca.pem")
        with open(ca, "wb") as f:
            f.write(cadata)
    env = dict(os.environ, MICROPYPATH="firmware:.frozen")
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=" + heap, str(script), mode, str(state), url,
                        ftp_user, ftp_pass, ca],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = {"notify": [], "state": str(state)}
    for line in p.stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "NOTIFY":
            out["notify"].append(rest.split(" ", 1)[1])
        else:
            out[key] = rest
    return out


def big_bundle(version):
    # ~410 KB: more than the controller's whole heap (256 KiB, of which the
    # imported modules take ~110 KiB) in these runs, so it must be streamed
    files = [("evse/m%02d.py" % i, (("# module %d\n" % i) + "x = %d\n" % i * 2000).encode())
             for i in range(20)]
    files.append(("evse/blob.mpy", os.urandom(100000)))
    return encode_bundle(version, files)


# ---- tests -------------------------------------------------------------------------------------
def test_diagnostics_upload_by_ftp(tmp_path):
    root = tmp_path / "ftp"
    (root / "diag").mkdir(parents=True)
    with FtpServer(str(root)) as srv:
        # credentials from the configuration (FTPUserName / FTPPassword)
        out = controller(tmp_path, "diag", "ftp://127.0.0.1:%d/diag/" % srv.port, FTP_USER, FTP_PASS)
    assert out["notify"] == ["Uploading", "Uploaded"], out
    name = out["FILE"]
    got = (root / "diag" / name).read_bytes()
    assert got == open(os.path.join(out["state"], name), "rb").read()
    text = got.decode()
    assert "controller started" in text and "FTPUserName = evse" in text
    assert FTP_PASS not in text
    assert {"USER", "PASS", "TYPE", "PASV", "STOR", "QUIT"} <= set(srv.commands)


def test_diagnostics_upload_by_ftp_fails_after_retries(tmp_path):
    root = tmp_path / "ftp"
    root.mkdir()
    with FtpServer(str(root)) as srv:
        out = controller(tmp_path, "diag", "ftp://%s:wrong@127.0.0.1:%d/" % (FTP_USER, srv.port))
    assert out["notify"] == ["Uploading", "UploadFailed"], out
    assert "login refused" in out["ERROR"]
    assert os.listdir(root) == []


def test_diagnostics_upload_by_http_post(tmp_path):
    with HttpServer() as srv:
        out = controller(tmp_path, "diag", "http://127.0.0.1:%d/upload?cp=1" % srv.port)
    assert out["notify"] == ["Uploading", "Uploaded"], out
    name = out["FILE"]
    assert srv.uploads[name] == open(os.path.join(out["state"], name), "rb").read()
    assert srv.requests[0][:2] == ("POST", "/upload?cp=1")


def _check_installed(out, bundle, version):
    assert out["notify"] == ["Downloading", "Downloaded", "Installing", "Installed"], out
    assert out["REBOOT"] == "" and out["SLOT"] == "app-a.jsonl" and out["VERSION"] == version
    with open(os.path.join(out["state"], "app-a.jsonl"), "rb") as f:
        assert f.read() == bundle
    with open(os.path.join(out["state"], "app-active"), "rb") as f:
        ptr = json.load(f)
    assert (ptr["slot"], ptr["version"], ptr["state"]) == ("a", version, "ok")
    assert sorted(n for n in os.listdir(out["state"]) if n.startswith("fw-")) == []


def test_firmware_download_by_ftp_with_url_credentials(tmp_path):
    root = tmp_path / "ftp"
    (root / "fw").mkdir(parents=True)
    bundle = big_bundle("2.0.1")
    assert verify_bundle(bundle).ok and len(bundle) > 400000
    (root / "fw" / "bundle 2.0.1.jsonl").write_bytes(bundle)
    with FtpServer(str(root)) as srv:
        url = "ftp://%s:%s@127.0.0.1:%d/fw/bundle%%202.0.1.jsonl" % (
            FTP_USER, FTP_PASS.replace("@", "%40").replace(":", "%3A").replace("/", "%2F"), srv.port)
        out = controller(tmp_path, "fw", url, "nobody", "nothing", heap="256k")
    _check_installed(out, bundle, "2.0.1")
    assert "SIZE" in srv.commands and "RETR" in srv.commands


def test_firmware_download_by_http_chunked_and_redirected(tmp_path):
    bundle = big_bundle("2.1.0")
    with HttpServer() as srv:
        srv.files["b.jsonl"] = bundle
        out = controller(tmp_path / "a", "fw", "http://127.0.0.1:%d/chunked/b.jsonl" % srv.port, heap="256k")
        out2 = controller(tmp_path / "b", "fw", "http://127.0.0.1:%d/moved/b.jsonl" % srv.port)
    _check_installed(out, bundle, "2.1.0")
    _check_installed(out2, bundle, "2.1.0")
    assert [r[1] for r in srv.requests] == ["/chunked/b.jsonl", "/moved/b.jsonl", "/files/b.jsonl"]


def test_corrupt_firmware_is_not_installed(tmp_path):
    bundle = bytearray(big_bundle("3.0"))
    bundle[200000] ^= 1
    with HttpServer() as srv:
        srv.files["b.jsonl"] = bytes(bundle)
        out = controller(tmp_path, "fw", "http://127.0.0.1:%d/files/b.jsonl" % srv.port)
    assert out["notify"] == ["Downloading", "Downloaded", "Installing", "InstallationFailed"], out
    assert out["SLOT"] == "None" and "REBOOT" not in out
    assert not os.path.exists(os.path.join(out["state"], "app-a.jsonl"))


def test_firmware_download_failed_after_retries(tmp_path):
    with HttpServer() as srv:
        out = controller(tmp_path, "fw", "http://127.0.0.1:%d/files/missing" % srv.port)
    assert out["notify"] == ["Downloading", "DownloadFailed"], out
    assert "404" in out["ERROR"]
    assert len(srv.requests) == 2


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl CLI")
    d = tmp_path_factory.mktemp("cert")
    key, crt = str(d / "k.pem"), str(d / "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    with open(crt, "rb") as f:
        return key, crt, f.read()


def test_https_upload_and_download(tmp_path, cert):
    key, crt, pem = cert
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    bundle = encode_bundle("4.0", [("evse/a.py", b"A = 1\n" * 3000)])
    with HttpServer(ctx) as srv:
        srv.files["b.jsonl"] = bundle
        up = controller(tmp_path / "u", "diag", "https://localhost:%d/upload" % srv.port, cadata=pem)
        down = controller(tmp_path / "d", "fw", "https://localhost:%d/files/b.jsonl" % srv.port, cadata=pem)
    assert up["notify"] == ["Uploading", "Uploaded"], up
    assert up["FILE"] in srv.uploads
    _check_installed(down, bundle, "4.0")
