"""Launch the simulator and talk to its control channel (docs/simulator.md).

Used by the integration tests, `make sim` (tools/sim_demo.py), tools/console.py
and by hand:

    from simclient import Simulator
    with Simulator(["--clock", "virtual", "--model", "sscu"]) as sim:
        sim.call("plug", connector=1)
        print(sim.call("status"))

    sim = Simulator.attach("127.0.0.1", 7001)   # a simulator already running

    sim.call("link", dir="out", drop=0.5)       # OCPP link faults (evsesim.simlink)
    sim.power_cut()                             # kill -9, then the same state and id again

From the shell, one op per call (arguments as NAME=VALUE, values as JSON):

    python tools/simclient.py [--runtime micropython|cpython] OP [NAME=VALUE ...] [-- SIM ARGS]
    python tools/simclient.py --connect 127.0.0.1:7001 status
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def micropython_bin() -> str:
    cand = os.path.join(os.path.dirname(sys.executable), "micropython")
    return cand if os.path.exists(cand) else "micropython"


class SimError(RuntimeError):
    pass


class Simulator:
    """One simulator process. runtime: 'micropython' (default) or 'cpython'."""

    def __init__(self, args: list[str] | None = None, state_dir: str | None = None,
                 runtime: str = "micropython", heapsize: str | None = None,
                 echo: bool = False) -> None:
        self.args = list(args or [])
        self.state_dir = state_dir
        self.runtime = runtime
        self.heapsize = heapsize
        self.echo = echo
        self.proc: subprocess.Popen[str] | None = None
        self.sock: socket.socket | None = None
        self.rfile: Any = None
        self.port = 0
        self.output: list[str] = []

    @classmethod
    def attach(cls, host: str, port: int, timeout: float = 60) -> "Simulator":
        """The control channel of a simulator already running (its --control)."""
        sim = cls()
        sim.port = port
        sim.sock = socket.create_connection((host, port), timeout=timeout)
        sim.rfile = sim.sock.makefile("r")
        return sim

    def close(self) -> None:
        """Leave the simulator running: close the control connection only."""
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        if self.runtime == "micropython":
            cmd = [micropython_bin()]
            if self.heapsize:
                cmd += ["-X", "heapsize=" + self.heapsize]
            cmd += ["-m", "evsesim.sim"]
            env["MICROPYPATH"] = FIRMWARE + ":.frozen"
        else:
            cmd = [sys.executable, "-m", "evsesim.sim"]
            env["PYTHONPATH"] = FIRMWARE
        self.port = free_port()
        cmd += ["--control", "127.0.0.1:%d" % self.port]
        if self.state_dir:
            cmd += ["--state-dir", self.state_dir]
        return cmd + self.args, env

    def start(self, timeout: float = 20.0) -> "Simulator":
        cmd, env = self.command()
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        deadline = time.time() + timeout
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                rc = self.proc.wait(5)
                raise SimError("simulator exited (%s) before READY:\n%s" % (rc, "".join(self.output)))
            self.output.append(line)
            if self.echo:
                sys.stdout.write("[sim] " + line)
            if line.startswith("READY "):
                break
            if time.time() > deadline:
                self.kill()
                raise SimError("no READY within %ss:\n%s" % (timeout, "".join(self.output)))
        import threading
        threading.Thread(target=self._drain, daemon=True).start()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.rfile = self.sock.makefile("r")
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if self.echo:
                sys.stdout.write("[sim] " + line)

    def request(self, obj: dict[str, Any]) -> dict[str, Any]:
        assert self.sock is not None
        self.sock.sendall((json.dumps(obj) + "\n").encode())
        line = self.rfile.readline()
        if not line:
            raise SimError("control channel closed:\n" + "".join(self.output[-50:]))
        return dict(json.loads(line))

    def call(self, op: str, **kw: Any) -> dict[str, Any]:
        """Send one op; raise SimError on ok:false."""
        kw["op"] = op
        r = self.request(kw)
        if not r.get("ok"):
            raise SimError("%s failed: %s" % (op, r.get("error")))
        return r

    def status(self) -> dict[str, Any]:
        return self.call("status")

    def connector(self, n: int) -> dict[str, Any]:
        return dict(self.status()["connectors"][n - 1])

    def shutdown(self, timeout: float = 10.0) -> int:
        try:
            self.call("shutdown")
        except (SimError, OSError):
            pass
        return self.wait(timeout)

    def wait(self, timeout: float = 10.0) -> int:
        if self.proc is None:       # attached: not ours to wait for
            self.close()
            return 0
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def power_cut(self, restart: bool = True, timeout: float = 20.0) -> "Simulator":
        """The power goes (the `powercut` op: the process kills itself with
        SIGKILL, nothing flushed or closed), and with restart comes back: the
        same arguments, state directory and identity, as after a power cut.
        Returns self (running again when restart)."""
        assert self.proc is not None, "power_cut needs a simulator this object started"
        try:
            assert self.sock is not None
            self.sock.sendall(b'{"op": "powercut"}\n')
            self.rfile.readline()           # no reply: the channel just ends
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()                # the op could not: kill -9 from here
            self.proc.wait(5)
        self.kill()
        if restart:
            self.start(timeout)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        if self.proc and self.proc.poll() is None:
            self.shutdown()
        self.kill()


def parse_value(text: str) -> Any:
    """NAME=VALUE on a command line: JSON where it parses (numbers, true,
    false, lists), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


USAGE = """usage: simclient.py [--connect HOST:PORT | --runtime micropython|cpython]
                    OP [NAME=VALUE ...] [-- SIM ARGS ...]

Send one control op to a simulator and print its JSON reply: to the one
listening at --connect, or to a new one started with SIM ARGS (and shut down
afterwards). Values are JSON where they parse (16, true, [230,230,230]), else
text. `help` lists every op with its arguments; see docs/simulator.md.
tools/console.py is the interactive console.

examples:
  python tools/simclient.py --connect 127.0.0.1:7001 status
  python tools/simclient.py help -- --clock virtual --model sscu"""


def main(argv: list[str]) -> int:
    sim_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, sim_args = argv[:i], argv[i + 1:]
    connect = None
    runtime = "micropython"
    words: list[str] = []
    it = iter(argv)
    for a in it:
        if a in ("-h", "--help"):
            print(USAGE)
            return 0
        if a == "--connect":
            connect = next(it, None)
        elif a == "--runtime":
            runtime = next(it, "micropython")
        elif a.startswith("--"):
            print("simclient.py: unknown option %s\n%s" % (a, USAGE), file=sys.stderr)
            return 2
        else:
            words.append(a)
    if not words:
        print(USAGE, file=sys.stderr)
        return 2
    req: dict[str, Any] = {"op": words[0]}
    for w in words[1:]:
        name, eq, val = w.partition("=")
        if not eq:
            print("simclient.py: arguments are NAME=VALUE, not %r" % w, file=sys.stderr)
            return 2
        req[name] = parse_value(val)
    if connect:
        host, _, port = connect.rpartition(":")
        sim = Simulator.attach(host or "127.0.0.1", int(port))
    else:
        sim = Simulator(sim_args, runtime=runtime).start()
    try:
        reply = sim.request(req)
    finally:
        if connect:
            sim.close()
        elif req["op"] != "shutdown":
            sim.shutdown()
        else:
            sim.wait()
    print(json.dumps(reply, indent=1))
    return 0 if reply.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
