# File side of the boot loader (evse.apploader): extraction of an application
# slot (a format-1 bundle, evse.services.fwbundle) into a directory, atomically.
# Files go to root/app-X.x (emptied first); once the bundle verified, the mark
# (_bundle_end: the bundle's closing line) is written, the old app-X.d loses
# its mark, is removed, and app-X.x is renamed to app-X.d. A power cut
# (kill -9) at any point leaves either a complete marked directory or none.
import os

MARK = "_bundle_end"


def _is_dir(p: str) -> bool:
    try:
        return os.stat(p)[0] & 0x4000 != 0
    except OSError:
        return False


def _rmtree(p: str) -> None:
    if _is_dir(p):
        for n in os.listdir(p):
            _rmtree(p + "/" + n)
        os.rmdir(p)
    else:
        try:
            os.remove(p)
        except OSError:
            pass


def read_file(p: str):
    try:
        with open(p, "rb") as f:
            return f.read()
    except OSError:
        return None


def end_line(path: str) -> bytes:
    """The closing line of a bundle file (what an extraction is marked with).
    OSError if the file is missing."""
    size = os.stat(path)[6]
    with open(path, "rb") as f:
        f.seek(max(0, size - 160))
        tail = f.read()
    tail = tail.rstrip(b"\n")
    i = tail.rfind(b"\n")
    return tail[i + 1:]


class _Writer:
    """BundleParser.on_data: writes each file under `base`."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.path = None   # type: str | None
        self.f = None      # type: object

    def data(self, path: str, raw: bytes) -> None:
        if path != self.path:
            self.close()
            self.f = self.open(path)
            self.path = path
        self.f.write(raw)  # type: ignore[attr-defined]

    def open(self, path: str):
        if path == MARK:
            raise ValueError("reserved file name " + MARK)
        cur = self.base
        parts = path.split("/")
        for part in parts[:-1]:
            cur = cur + "/" + part
            if not _is_dir(cur):
                os.mkdir(cur)
        return open(self.base + "/" + path, "wb")

    def close(self) -> None:
        if self.f is not None:
            self.f.close()  # type: ignore[attr-defined]
            self.f = None
            self.path = None


def extract(root: str, name: str, parser, packages=("evse",)) -> str:
    """Extract and verify the slot `name` (app-a.jsonl) of storage `root`
    into root/app-a.d, or reuse a complete extraction of the same bundle.
    -> the directory. ValueError (invalid or incomplete bundle) or OSError."""
    root = root.rstrip("/")
    src = root + "/" + name
    stem = root + "/" + name[:-len(".jsonl")]
    d = stem + ".d"
    end = end_line(src)
    if read_file(d + "/" + MARK) == end:
        return d
    tmp = stem + ".x"
    _rmtree(tmp)
    os.mkdir(tmp)
    w = _Writer(tmp)
    p = parser(w.data)
    try:
        with open(src, "rb") as f:
            while True:
                chunk = f.read(1024)
                if not chunk:
                    break
                p.feed(chunk)
                if p.error is not None:
                    break
        p.finish()
    finally:
        w.close()
    if not p.ok:
        raise ValueError("bundle invalid: %s" % p.error)
    names = [f[0] for f in p.files]
    for f in p.files:
        if f[1] == 0:           # no data line: still a file
            w.open(f[0]).close()
    for pkg in packages:
        if pkg + "/__init__.py" not in names and pkg + "/__init__.mpy" not in names:
            raise ValueError("not a complete application: no %s/__init__" % pkg)
    with open(tmp + "/" + MARK, "wb") as f:
        f.write(end)
    if _is_dir(d):
        try:
            os.remove(d + "/" + MARK)   # first: a half-removed directory is never taken
        except OSError:
            pass
        _rmtree(d)
    os.rename(tmp, d)
    return d
