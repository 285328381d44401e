"""Copy the cross-compiled firmware and a board's boot files to a board.

    python tools/deploy.py --port /dev/ttyACM0 --board stm32f4
    python tools/deploy.py --port /dev/ttyUSB0 --board esp32 --dry-run

Uses mpremote (installed in .venv). Run `make mpy` first (make deploy does).
Each mpremote call starts with `resume` (no soft reset, so the running
station is only interrupted, never restarted half-copied); the last one
resets the board. Files go where each port looks for them: the package under
/flash/lib and the boot files in /flash on STM32, /lib and / on ESP32.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# board folder -> (mpy-cross arch, folder of the package, folder of main.py/pins.py)
BOARDS = {
    "stm32f4": ("armv7emsp", "/flash/lib", "/flash"),
    "esp32": ("xtensawin", "/lib", ""),
}


def mpremote() -> str:
    cand = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return cand if os.path.exists(cand) else "mpremote"


def commands(port: str, board: str, src: str) -> list:
    """The mpremote command lines that deploy build output `src` to `board`."""
    arch, lib, root = BOARDS[board]
    base = [mpremote()] + (["connect", port] if port != "auto" else []) + ["resume"]
    cmds = [base + ["mkdir", ":" + lib],
            base + ["cp", "-r", os.path.join(src, "evse"), ":" + lib + "/"]]
    for f in ("pins.py", "main.py"):
        cmds.append(base + ["cp", os.path.join(ROOT, "boards", board, f), ":%s/%s" % (root, f)])
    cmds.append(base + ["reset"])
    return cmds


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", default="auto")
    ap.add_argument("--board", choices=sorted(BOARDS), default="stm32f4")
    ap.add_argument("--arch", default=None, help="mpy-cross arch (default: the board's)")
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()
    arch = a.arch or BOARDS[a.board][0]
    src = os.path.join(ROOT, "build", "mpy-" + arch)
    if not os.path.isdir(src):
        print("missing %s: run make mpy" % src)
        return 1
    for c in commands(a.port, a.board, src):
        print(" ".join(c))
        if not a.dry_run:
            r = subprocess.run(c)
            # mkdir fails when the folder exists already: that is fine
            if r.returncode != 0 and "mkdir" not in c:
                return r.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
