# The application bundle of a remote firmware update (manual 3.20; the
# updater is evse.services.firmware, the boot loader evse.apploader).
#
# Application bundle, format 1 ("evse-bundle"): UTF-8 JSON Lines, "\n" after every
# line, no line longer than _MAX_LINE bytes:
#   {"bundle": "micro-evse", "format": 1, "version": "1.2.0", "files": 2}
#   {"file": "evse/services/x.py", "size": 1234, "sha256": "<64 hex>"}
#   {"data": "<base64 of at most 3072 bytes of that file>"}      (0..n lines)
#   {"file": "evse/y.mpy", ...}  {"data": ...} ...
#   {"end": "<64 hex: sha256 of every byte of the bundle before this line>"}
# Paths are relative, '/'-separated, of [A-Za-z0-9_.-] parts, no '.'/'..', unique.
# BundleParser checks it as a stream (the download feeds it chunk by chunk), so a
# bundle is verified without ever being held in RAM: per-file size + sha256, the
# file count, the declared version (1..50 printable ASCII) and the closing hash
# (a truncated bundle has no end line). This is an integrity check, not a
# signature: authenticity comes from the transport (HTTPS with a pinned CA).
# Plain code, no I/O: BundleParser(on_data) hands each file's bytes to
# on_data (evse.hal.slotfs writes them into a slot directory).
import binascii
import hashlib
import json

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

FORMAT = 1
MAGIC = "micro-evse"
_MAX_LINE = const(4400)     # a data line of 3072 bytes is 4096 base64 chars + 12
_DATA_PER_LINE = const(1536)

_PATH_OK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/"


def _hex(h) -> str:
    return binascii.hexlify(h.digest()).decode()


def _version_ok(v) -> bool:
    if type(v) is not str or not 0 < len(v) <= 50:
        return False
    for c in v:
        if not " " < c <= "~":
            return False
    return True


def _path_ok(p) -> bool:
    if type(p) is not str or not 0 < len(p) <= 120 or p[0] == "/" or p[-1] == "/":
        return False
    for c in p:
        if c not in _PATH_OK:
            return False
    for part in p.split("/"):
        if part in ("", ".", ".."):
            return False
    return True


class BundleParser:
    """Streaming verifier (and reader) of a format-1 bundle. feed(chunk) any
    number of times, then finish(); `error` is None for a valid bundle.
    on_data(path, bytes), if given, receives each file's decoded content in
    pieces (a boot loader extracting a verified slot)."""

    def __init__(self, on_data=None) -> None:
        self.on_data = on_data
        self.error: "str | None" = None
        self.version: "str | None" = None
        self.files: list = []    # [(path, size, sha256 hex)]
        self.done = False
        self._buf = bytearray()
        self._all = hashlib.sha256()
        self._count = -1
        self._path: "str | None" = None
        self._size = 0
        self._sha = ""
        self._got = 0
        self._h = hashlib.sha256()

    @property
    def ok(self) -> bool:
        return self.done and self.error is None

    def _fail(self, msg: str) -> None:
        if self.error is None:
            self.error = msg

    def feed(self, data) -> None:
        if self.error is not None:
            return
        data = bytes(data)
        i = 0
        n = len(data)
        while i < n and self.error is None:
            j = data.find(b"\n", i)
            if j < 0:
                if len(self._buf) + n - i > _MAX_LINE:
                    self._fail("line too long")
                else:
                    self._buf.extend(data[i:])
                return
            if self._buf:
                self._buf.extend(data[i:j])
                line = bytes(self._buf)
                self._buf = bytearray()
            else:
                line = data[i:j]
            if len(line) > _MAX_LINE:
                self._fail("line too long")
                return
            self._line(line)
            i = j + 1

    def finish(self) -> None:
        if self.error is None and (self._buf or not self.done):
            self._fail("bundle truncated")

    def _line(self, line: bytes) -> None:
        if self.done:
            self._fail("data after end")
            return
        try:
            rec = json.loads(line)
        except ValueError:
            self._fail("bad JSON line")
            return
        if type(rec) is not dict:
            self._fail("bad record")
            return
        if self._count < 0:
            self._header(rec)
        elif "data" in rec:
            self._data(rec["data"])
        elif "file" in rec:
            self._close_file()
            self._open_file(rec)
        elif "end" in rec:
            self._close_file()
            if self.error is None:
                if len(self.files) != self._count:
                    self._fail("file count mismatch")
                elif rec["end"] != _hex(self._all):
                    self._fail("bundle hash mismatch")
                self.done = True
            return
        else:
            self._fail("unknown record")
            return
        self._all.update(line)
        self._all.update(b"\n")

    def _header(self, rec: dict) -> None:
        if rec.get("bundle") != MAGIC or rec.get("format") != FORMAT:
            self._fail("not a micro-evse bundle of format %d" % FORMAT)
        elif not _version_ok(rec.get("version")):
            self._fail("bad version")
        elif type(rec.get("files")) is not int or rec["files"] < 0:
            self._fail("bad file count")
        else:
            self.version = rec["version"]
            self._count = rec["files"]

    def _open_file(self, rec: dict) -> None:
        p = rec.get("file")
        size = rec.get("size")
        sha = rec.get("sha256")
        if not _path_ok(p):
            self._fail("bad path")
        elif type(size) is not int or size < 0 or type(sha) is not str or len(sha) != 64:
            self._fail("bad file record")
        elif len(self.files) >= self._count:
            self._fail("more files than declared")
        else:
            for f in self.files:
                if f[0] == p:
                    self._fail("duplicate path")
                    return
            self._path = p
            self._size = size
            self._sha = sha.lower()
            self._got = 0
            self._h = hashlib.sha256()

    def _data(self, text) -> None:
        if self._path is None or type(text) is not str:
            self._fail("data outside a file")
            return
        try:
            raw = binascii.a2b_base64(text)
        except ValueError:
            self._fail("bad base64")
            return
        self._got += len(raw)
        if self._got > self._size:
            self._fail("file longer than declared")
            return
        self._h.update(raw)
        if self.on_data is not None:
            self.on_data(self._path, raw)

    def _close_file(self) -> None:
        if self._path is None:
            return
        if self._got != self._size:
            self._fail("size mismatch: " + self._path)
        elif _hex(self._h) != self._sha:
            self._fail("sha256 mismatch: " + self._path)
        else:
            self.files.append((self._path, self._size, self._sha))
        self._path = None


def encode_bundle(version: str, files: list) -> bytes:
    """Reference encoder (tools, tests): files = [(path, bytes), ...]."""
    out = [json.dumps({"bundle": MAGIC, "format": FORMAT, "version": version, "files": len(files)})]
    for path, data in files:
        h = hashlib.sha256()
        h.update(data)
        out.append(json.dumps({"file": path, "size": len(data), "sha256": _hex(h)}))
        for i in range(0, len(data), _DATA_PER_LINE):
            out.append(json.dumps({"data": binascii.b2a_base64(data[i:i + _DATA_PER_LINE]).decode().strip()}))
    body = ("\n".join(out) + "\n").encode()
    h = hashlib.sha256()
    h.update(body)
    return body + (json.dumps({"end": _hex(h)}) + "\n").encode()


def verify_bundle(data, chunk: int = 512) -> BundleParser:
    """Run the streaming check over bytes already in RAM (tests, small bundles)."""
    p = BundleParser()
    mv = memoryview(data)
    for i in range(0, len(mv), chunk):
        p.feed(mv[i:i + chunk])
    p.finish()
    return p


