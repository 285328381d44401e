"""Copy the cross-compiled firmware and a board's boot files to a board.

    python tools/deploy.py --port /dev/ttyACM0 --arch armv7emsp --board stm32f4

Uses mpremote (installed in .venv). Run `make mpy` first (make deploy does).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mpremote() -> str:
    cand = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return cand if os.path.exists(cand) else "mpremote"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", default="auto")
    ap.add_argument("--arch", default="armv7emsp")
    ap.add_argument("--board", default=None, help="stm32f4 or esp32 (default from --arch)")
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()
    board = a.board or ("esp32" if a.arch == "xtensawin" else "stm32f4")
    src = os.path.join(ROOT, "build", "mpy-" + a.arch)
    if not os.path.isdir(src):
        print("missing %s: run make mpy" % src)
        return 1
    base = [mpremote(), "connect", a.port] if a.port != "auto" else [mpremote()]
    cmds = [base + ["mkdir", ":/lib"], base + ["cp", "-r", os.path.join(src, "evse"), ":/lib/"]]
    for f in ("pins.py", "main.py"):
        cmds.append(base + ["cp", os.path.join(ROOT, "boards", board, f), ":" + f])
    cmds.append(base + ["reset"])
    for c in cmds:
        print(" ".join(c))
        if not a.dry_run:
            r = subprocess.run(c)
            if r.returncode != 0 and "mkdir" not in c:
                return r.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
