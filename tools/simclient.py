"""Launch the simulator and talk to its control channel (SIMULATOR.md).

Used by the integration tests, `make sim` (tools/sim_demo.py) and by hand:

    from simclient import Simulator
    with Simulator(["--clock", "virtual", "--model", "sscu"]) as sim:
        sim.call("plug", connector=1)
        print(sim.call("status"))
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

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        if self.runtime == "micropython":
            cmd = [micropython_bin()]
            if self.heapsize:
                cmd += ["-X", "heapsize=" + self.heapsize]
            cmd += ["-m", "evse.sim"]
            env["MICROPYPATH"] = FIRMWARE + ":.frozen"
        else:
            cmd = [sys.executable, "-m", "evse.sim"]
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
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

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
