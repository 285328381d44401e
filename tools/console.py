"""An interactive console for the simulator's control protocol (docs/simulator.md).

    python tools/console.py [--runtime micropython|cpython] [--script FILE] [-- SIM ARGS...]
    python tools/console.py --connect 127.0.0.1:7001 [--script FILE]

Without --connect it starts a simulator (tools/simclient.Simulator) with SIM ARGS
and shuts it down on exit; with --connect it attaches to one already running
(its --control address) and leaves it running.

One op per line: `OP [VALUE ...] [NAME=VALUE ...]`, positional values filling
the op's arguments in order (`plug 1`, `ev 1 C max_current=16`, `fault
lock_stuck true`). The ops, their arguments and the fault names come from the
simulator's own `help` op, so the console knows exactly what the simulator
dispatches. Console commands besides the ops:

    help [OP]                 every op with its arguments, or one op in detail
    status                    the station and a table per connector
    watch [every=1] [advance=0] [count=0]
                              the table, refreshed every `every` s until Ctrl-C
                              (advance: virtual seconds moved per refresh;
                              count: stop after that many refreshes)
    expect PATH=VALUE ...     fail unless status shows it: c1.status=Charging,
                              c1.pilot=C, ocpp.registered=true, station.status=...
    json OP ...               the op's whole JSON reply
    sleep SECONDS             wait (real time)
    source FILE               run a script
    quit | exit               leave (Ctrl-D too)

Scripts (--script FILE, `source FILE`, or lines on a non-terminal stdin): one
line each as above, `#` starts a comment; the first error stops the script
with its file and line number (exit status 1).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from typing import Any, Callable, TextIO

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from simclient import SimError, Simulator  # noqa: E402

LOCAL = ("help", "status", "watch", "expect", "json", "sleep", "source", "quit", "exit")
LOCAL_HELP = {
    "watch": ("every=1 advance=0 count=0", "refresh the status table until Ctrl-C"),
    "expect": ("PATH=VALUE ...", "fail unless status shows it (c1.status=Charging)"),
    "json": ("OP ...", "print the op's whole JSON reply"),
    "sleep": ("SECONDS", "wait, real time"),
    "source": ("FILE", "run a script"),
    "quit": ("", "leave the console"),
}


class ConsoleError(Exception):
    located = False     # the message already names FILE:LINE (a nested source)


def _lit(v: Any) -> str:
    return json.dumps(v) if not isinstance(v, str) else v


def status_table(st: dict[str, Any]) -> str:
    """The station's state and one row per connector: pilot, status, current
    offered and drawn, energy, transaction."""
    oc = st.get("ocpp", {})
    sta = st.get("station", {})
    lines = ["%s  %s  OCPP %s%s, queued %s  station %s %s" % (
        st.get("time"), st.get("model"),
        "connected" if oc.get("connected") else "offline",
        ", registered" if oc.get("registered") else "", oc.get("queued"),
        sta.get("status", "?"), sta.get("error_code", ""))]
    lines.append("%-4s %-5s %6s %-13s %8s %-17s %9s %-6s %-12s %-9s %s" % (
        "conn", "pilot", "duty%", "status", "offer A", "drawn A L1/L2/L3", "energy Wh",
        "tx", "id_tag", "contactor", "lock"))
    for c in st.get("connectors", []):
        drawn = "/".join("%.1f" % a for a in c.get("current_a", []))
        err = c.get("error_code", "NoError")
        lines.append("%-4s %-5s %6.1f %-13s %8.1f %-17s %9s %-6s %-12s %-9s %s%s" % (
            c["id"], c["pilot"], c["duty"], c["status"], c["offered_a"], drawn, c["energy_wh"],
            "-" if c.get("transaction_id") is None else c["transaction_id"],
            c.get("id_tag") or "-", "closed" if c.get("contactor") else "open",
            c.get("lock", "locked" if c.get("locked") else "unlocked"),
            "" if err == "NoError" else "  " + err + " " + c.get("vendor_error", "")))
    return "\n".join(lines)


def lookup(st: dict[str, Any], path: str) -> Any:
    """c1.status -> st["connectors"][0]["status"]; ocpp.registered; time."""
    cur: Any = st
    for part in path.split("."):
        if part[:1] == "c" and part[1:].isdigit() and isinstance(cur, dict) and "connectors" in cur:
            n = int(part[1:])
            if not 1 <= n <= len(cur["connectors"]):
                raise ConsoleError("no connector %d" % n)
            cur = cur["connectors"][n - 1]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise ConsoleError("status has no %s" % path)
    return cur


class Console:
    def __init__(self, sim: Simulator, out: TextIO = sys.stdout) -> None:
        self.sim = sim
        self.out = out
        h = sim.call("help")
        self.ops: dict[str, dict[str, Any]] = {o["op"]: o for o in h["ops"]}
        self.faults: list[str] = list(h["faults"])
        self.done = False

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # ---- parsing -------------------------------------------------------------
    def request(self, words: list[str]) -> dict[str, Any]:
        """OP [VALUE ...] [NAME=VALUE ...] -> the JSON request, checked
        against the op's arguments (types, enumerable values)."""
        op = words[0]
        spec = self.ops.get(op)
        if spec is None:
            raise ConsoleError("unknown op %r; valid ops: %s; console: %s" % (
                op, " ".join(self.ops), " ".join(LOCAL)))
        args = spec["args"]
        names = [a["name"] for a in args]
        req: dict[str, Any] = {"op": op}
        pos = 0
        for w in words[1:]:
            name, eq, text = w.partition("=")
            if eq and name in names:
                pass
            elif eq and not name.startswith("[") and name.isidentifier():
                raise ConsoleError("%s has no argument %s; its arguments: %s" % (
                    op, name, " ".join(names) or "none"))
            else:
                if pos >= len(args):
                    raise ConsoleError("%s takes %d argument(s): %s" % (op, len(args), " ".join(names)))
                while pos < len(args) and args[pos]["name"] in req:
                    pos += 1
                if pos >= len(args):
                    raise ConsoleError("too many values for %s" % op)
                name, text = args[pos]["name"], w
                pos += 1
            req[name] = self.value(op, args[names.index(name)], text)
        return req

    def value(self, op: str, arg: dict[str, Any], text: str) -> Any:
        t = arg["type"]
        if t == "str":
            v: Any = text
        elif t == "list":
            try:
                v = json.loads(text if text.startswith("[") else "[" + text + "]")
            except ValueError:
                raise ConsoleError("%s=%s: a list of numbers, e.g. 230,230,230" % (arg["name"], text))
        else:
            try:
                v = json.loads(text.lower() if t == "bool" else text)
            except ValueError:
                raise ConsoleError("%s=%s: not a %s" % (arg["name"], text, {"num": "number", "int": "whole number",
                                                                           "bool": "true/false"}[t]))
        vals = arg.get("values")
        if vals is not None and v not in vals:
            raise ConsoleError("%s=%s: valid values: %s" % (arg["name"], text, " ".join(_lit(x) for x in vals)))
        return v

    # ---- commands ------------------------------------------------------------
    def run_line(self, line: str) -> None:
        line = line.strip()
        if not line or line.startswith("#"):
            return
        if line.startswith("{"):            # a raw JSON request
            self.say(json.dumps(self.sim.request(json.loads(line))))
            return
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise ConsoleError(str(e))
        if not words:
            return
        cmd = words[0]
        local: Callable[[list[str]], None] | None = getattr(self, "cmd_" + cmd, None)
        if cmd in LOCAL and local is not None:
            local(words[1:])
            return
        req = self.request(words)
        r = self.sim.request(req)
        if not r.get("ok"):
            raise ConsoleError(r.get("error", "failed"))
        rest = {k: v for k, v in r.items() if k != "ok"}
        self.say(json.dumps(rest) if rest else "ok")

    def call(self, op: str, **kw: Any) -> dict[str, Any]:
        try:
            return self.sim.call(op, **kw)
        except SimError as e:
            raise ConsoleError(str(e))

    def cmd_help(self, words: list[str]) -> None:
        if words:
            name = words[0]
            if name in LOCAL_HELP:
                a, d = LOCAL_HELP[name]
                self.say("%s %s\n  %s" % (name, a, d))
                return
            spec = self.ops.get(name)
            if spec is None:
                raise ConsoleError("unknown op %r; valid ops: %s" % (name, " ".join(self.ops)))
            self.say("%s: %s" % (name, spec["doc"]))
            for a in spec["args"]:
                vals = a.get("values")
                self.say("  %-12s %-4s %-8s %s%s" % (
                    a["name"], a["type"], "required" if a["required"] else "optional", a["help"],
                    ("  values: " + " ".join(_lit(v) for v in vals)) if vals else ""))
            if not spec["args"]:
                self.say("  (no arguments)")
            return
        self.say("ops (the simulator's; `help OP` for one):")
        for name, spec in self.ops.items():
            args = " ".join(a["name"] if a["required"] else "[%s]" % a["name"] for a in spec["args"])
            self.say("  %-12s %-40s %s" % (name, args, spec["doc"]))
        self.say("console:")
        for name, (a, d) in LOCAL_HELP.items():
            self.say("  %-12s %-40s %s" % (name, a, d))
        self.say("faults: " + " ".join(self.faults))

    def cmd_status(self, words: list[str]) -> None:
        self.say(status_table(self.call("status")))

    def cmd_json(self, words: list[str]) -> None:
        if not words:
            raise ConsoleError("json OP [ARGS]")
        r = self.sim.request(self.request(words))
        self.say(json.dumps(r, indent=1))
        if not r.get("ok"):
            raise ConsoleError(r.get("error", "failed"))

    def cmd_expect(self, words: list[str]) -> None:
        if not words:
            raise ConsoleError("expect PATH=VALUE ...")
        st = self.call("status")
        for w in words:
            path, eq, want = w.partition("=")
            if not eq:
                raise ConsoleError("expect PATH=VALUE, not %r" % w)
            got = lookup(st, path)
            if _lit(got) != want and not _same_number(got, want):
                raise ConsoleError("expected %s=%s, status shows %s" % (path, want, _lit(got)))
        self.say("ok: " + " ".join(words))

    def cmd_sleep(self, words: list[str]) -> None:
        try:
            time.sleep(float(words[0]))
        except (IndexError, ValueError):
            raise ConsoleError("sleep SECONDS")

    def cmd_watch(self, words: list[str]) -> None:
        opts = {"every": 1.0, "advance": 0.0, "count": 0.0}
        for w in words:
            k, eq, v = w.partition("=")
            if not eq or k not in opts:
                raise ConsoleError("watch [every=1] [advance=0] [count=0]")
            try:
                opts[k] = float(v)
            except ValueError:
                raise ConsoleError("watch %s=%s: not a number" % (k, v))
        tty = self.out.isatty()
        n = 0
        try:
            while True:
                if opts["advance"] > 0:
                    self.call("advance", seconds=opts["advance"])
                table = status_table(self.call("status"))
                self.say(("\x1b[H\x1b[2J" if tty else "") + table +
                         ("\n(Ctrl-C stops watching)" if tty else ""))
                n += 1
                if opts["count"] and n >= opts["count"]:
                    break
                time.sleep(opts["every"])
        except KeyboardInterrupt:
            self.say("")

    def cmd_source(self, words: list[str]) -> None:
        if len(words) != 1:
            raise ConsoleError("source FILE")
        self.script(words[0])

    def cmd_quit(self, words: list[str]) -> None:
        self.done = True

    cmd_exit = cmd_quit

    def script(self, path: str, f: TextIO | None = None) -> None:
        """Run a script; the first failing line raises ConsoleError naming
        FILE:LINE."""
        own = f is None
        if f is None:
            try:
                f = open(path)
            except OSError as e:
                raise ConsoleError("%s: %s" % (path, e.strerror))
        try:
            for n, line in enumerate(f, 1):
                if self.done:
                    return
                try:
                    self.run_line(line)
                except ConsoleError as e:
                    if e.located:
                        raise       # a nested source already says where
                    err = ConsoleError("%s:%d: %s\n  %s" % (path, n, e, line.strip()))
                    err.located = True
                    raise err
                except (SimError, OSError, ValueError) as e:
                    err = ConsoleError("%s:%d: %s\n  %s" % (path, n, e, line.strip()))
                    err.located = True
                    raise err
        finally:
            if own:
                f.close()

    # ---- completion (readline) -----------------------------------------------
    def complete(self, line: str, text: str) -> list[str]:
        """Completions of the word `text` at the end of `line` (what is typed
        so far): ops and console commands, argument names, their values."""
        words = line.split()
        if not words or (len(words) == 1 and not line.endswith(" ")):
            return sorted(w + " " for w in set(self.ops) | set(LOCAL) if w.startswith(text))
        cmd = words[0]
        if cmd == "help":
            return sorted(w + " " for w in set(self.ops) | set(LOCAL_HELP) if w.startswith(text))
        if cmd == "json" and len(words) <= 2 and not (len(words) == 2 and line.endswith(" ")):
            return sorted(w + " " for w in self.ops if w.startswith(text))
        if cmd == "json":
            words = words[1:]
            cmd = words[0]
        spec = self.ops.get(cmd)
        if spec is None:
            if cmd == "watch":
                return [w for w in ("every=", "advance=", "count=") if w.startswith(text)]
            return []
        args = {a["name"]: a for a in spec["args"]}
        if "=" in text:
            name, _, part = text.partition("=")
            a = args.get(name)
            vals = a.get("values") if a else None
            return [name + "=" + _lit(v) + " " for v in vals or [] if _lit(v).startswith(part)]
        used = {w.split("=", 1)[0] for w in words[1:] if "=" in w}
        return [n + "=" for n in args if n not in used and n.startswith(text)]

    def interact(self) -> None:
        try:
            import readline
        except ImportError:   # pragma: no cover - no readline on this Python
            readline = None   # type: ignore[assignment]
        if readline is not None:
            matches: list[str] = []

            def completer(text: str, state: int) -> str | None:
                nonlocal matches
                if state == 0:
                    buf = readline.get_line_buffer()[:readline.get_endidx()]
                    matches = self.complete(buf, text)
                return matches[state] if state < len(matches) else None
            readline.set_completer_delims(" \t")
            readline.set_completer(completer)
            readline.parse_and_bind("tab: complete")
        self.say("simulator console: `help` lists the ops, Tab completes, Ctrl-D leaves")
        while not self.done:
            try:
                line = input("sim> ")
            except EOFError:
                self.say("")
                break
            except KeyboardInterrupt:
                self.say("")
                continue
            try:
                self.run_line(line)
            except ConsoleError as e:
                self.say("error: %s" % e)
            except (ValueError, OSError) as e:
                self.say("error: %s" % e)
            if self.sim.sock is None:
                break


def _same_number(got: Any, want: str) -> bool:
    try:
        return isinstance(got, (int, float)) and not isinstance(got, bool) and float(want) == got
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sim_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, sim_args = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(
        prog="console.py", description="interactive console for the simulator's control protocol",
        epilog="e.g. console.py -- --clock virtual --model sscu; console.py --connect 127.0.0.1:7001")
    ap.add_argument("--connect", metavar="HOST:PORT", help="attach to a running simulator's --control")
    ap.add_argument("--script", metavar="FILE", help="run FILE (one op per line) and exit")
    ap.add_argument("--runtime", default="micropython", choices=["micropython", "cpython"])
    ap.add_argument("--state-dir", default=None, help="the started simulator's --state-dir")
    args = ap.parse_args(argv)
    if args.connect:
        host, _, port = args.connect.rpartition(":")
        if not port.isdigit():
            ap.error("--connect must be HOST:PORT")
        sim = Simulator.attach(host or "127.0.0.1", int(port))
    else:
        sim = Simulator(sim_args, state_dir=args.state_dir, runtime=args.runtime)
        try:
            sim.start()
        except SimError as e:
            print("console.py: %s" % e, file=sys.stderr)
            return 2
        print("simulator started, control on 127.0.0.1:%d" % sim.port)
    con = Console(sim)
    rc = 0
    try:
        if args.script or not sys.stdin.isatty():
            try:
                if args.script:
                    con.script(args.script)
                else:
                    con.script("<stdin>", sys.stdin)
            except ConsoleError as e:
                print("console.py: %s" % e, file=sys.stderr)
                rc = 1
        else:
            con.interact()
    finally:
        if args.connect:
            sim.close()
        else:
            sim.shutdown()
            sim.kill()
    return rc


if __name__ == "__main__":
    sys.exit(main())
