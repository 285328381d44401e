"""The ocpp-rpc strict-mode Central System (tools/csms_rpc.js) as a subprocess
for the integration tests (test_ocpp_rpc.py): a second, independent Central
System next to tools/csms.py. Its stdout (one JSON object a line) is read in a
thread; calls to the station go as JSON lines on its stdin."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from typing import Any, Callable, Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RpcCentralSystem:
    def __init__(self) -> None:
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.events: List[Dict[str, Any]] = []
        self.raw: List[str] = []
        self._cond = threading.Condition()
        self._next_id = 0

    def start(self, timeout: float = 15.0) -> int:
        self.proc = subprocess.Popen(["node", os.path.join(ROOT, "tools", "csms_rpc.js")],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert self.proc.stdout is not None
        deadline = time.time() + timeout
        while self.port is None:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("csms_rpc.js exited before READY:\n" + "".join(self.raw))
            self.raw.append(line)
            if line.startswith("READY "):
                self.port = int(line.split()[1])
            elif time.time() > deadline:
                raise RuntimeError("csms_rpc.js: no READY:\n" + "".join(self.raw))
        threading.Thread(target=self._read, daemon=True).start()
        return self.port

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw.append(line)
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"ev": "violation", "kind": "output", "line": line}
            with self._cond:
                self.events.append(ev)
                self._cond.notify_all()

    def url(self) -> str:
        return "ws://127.0.0.1:%d/ocpp" % self.port

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    # ---- records --------------------------------------------------------------------
    def calls(self, action: Optional[str] = None) -> List[Dict[str, Any]]:
        with self._cond:
            return [e for e in self.events if e.get("ev") == "call"
                    and (action is None or e["action"] == action)]

    def violations(self) -> List[Dict[str, Any]]:
        with self._cond:
            return [e for e in self.events if e.get("ev") == "violation"]

    def wait_for(self, pred: Callable[[List[Dict[str, Any]]], Any], timeout: float = 10.0) -> Any:
        deadline = time.time() + timeout
        with self._cond:
            while True:
                got = pred(list(self.events))
                if got:
                    return got
                left = deadline - time.time()
                if left <= 0:
                    raise TimeoutError("csms_rpc.js: condition not met; output:\n"
                                       + "".join(self.raw[-40:]))
                self._cond.wait(left)

    def wait_call(self, action: str, n: int = 1, timeout: float = 10.0) -> List[Dict[str, Any]]:
        return list(self.wait_for(lambda evs: (lambda got: got if len(got) >= n else None)(
            [e["params"] for e in evs if e.get("ev") == "call" and e["action"] == action]),
            timeout))

    # ---- calls to the station -----------------------------------------------------------
    def call(self, action: str, params: Optional[dict] = None, timeout: float = 15.0) -> Dict[str, Any]:
        """Send a CALL to the station; returns the {"ev":"result"|"error",...} line."""
        assert self.proc is not None and self.proc.stdin is not None
        self._next_id += 1
        n = self._next_id
        self.proc.stdin.write(json.dumps({"call": action, "params": params or {}, "id": n}) + "\n")
        self.proc.stdin.flush()
        return dict(self.wait_for(lambda evs: next(
            (e for e in evs if e.get("ev") in ("result", "error") and e.get("id") == n), None),
            timeout))
