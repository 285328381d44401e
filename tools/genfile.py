"""Shared tail of the generators (gen_config_keys, gen_config_docs,
gen_troubleshooting): write a generated file, or with check only compare it."""
from __future__ import annotations

import os
import sys


def generate(out: str, problems: list, render, argv: list, how: str) -> int:
    """main() of a docs generator: refuse when the sources are incomplete,
    else write (or with --check compare) render()'s text."""
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    return write_or_check(out, render(), "--check" in argv, how)


def write_or_check(out: str, text: str, check: bool, how: str) -> int:
    """0 written / up to date; 1 stale (check), with a message naming `how`
    (the command that regenerates it)."""
    if check:
        try:
            with open(out) as f:
                cur = f.read()
        except OSError:
            cur = ""
        if cur != text:
            print("%s is stale: run %s" % (os.path.relpath(out), how), file=sys.stderr)
            return 1
        return 0
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print("wrote %s" % out)
    return 0
