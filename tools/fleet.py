#!/usr/bin/env python3
"""`make fleet`: N simulated stations against one Central System.

    python tools/fleet.py --n 200 --csms ws://host:port/path [--duration S] [options]
    make fleet N=200 CSMS=ws://host:port/path [DURATION=S]

Starts K MicroPython processes (K = the machine's cores, --procs), each running
its share of the N stations with `evsesim.fleet` (firmware/evsesim/fleet.py: every
station is the real firmware on its own simulated board, with its own id
<prefix>-<nnn>, state directory and WebSocket, all in one asyncio loop). Each
station charges on a schedule staggered by its index: boot (spread over
--connect-spread s), plug-in (spread over --plug-spread s from --plug-at), the
card 2 s later, MeterValues every --meter-interval s (MeterValueSampleInterval),
the card again after --charge s (StopTransaction), unplug; --sessions times.

Every --report s it prints a table line with how many stations are
connected, registered and charging, and their messages per second (CALLs
sent by the stations, frames received), memory (RSS of the processes) and CPU;
at the end a summary. Without --csms it runs tools/csms.py in a process of its
own on a free port.

As a module: run_fleet(n, csms_url, ...) -> summary dict (the bench and the
integration test use it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simclient import FIRMWARE, ROOT, free_port, micropython_bin  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
HEAP_BASE_KB = 4 * 1024      # -X heapsize of a fleet process: the code ...
HEAP_PER_STATION_KB = 192    # ... plus this per station (about 70 KB are used, docs/simulator.md)

COUNTS = ("started", "connected", "registered", "charging", "transaction", "sessions",
          "failed", "drops", "reboots", "sent", "received", "heap")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def proc_rss_kb(pid: int) -> int:
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Worker:
    """One MicroPython process running stations first..first+count-1."""

    def __init__(self, first: int, count: int, total: int, args: List[str], runtime: str) -> None:
        self.first = first
        self.count = count
        cmd: List[str]
        env = dict(os.environ)
        if runtime == "micropython":
            heap_kb = HEAP_BASE_KB + HEAP_PER_STATION_KB * count
            cmd = [micropython_bin(), "-X", "heapsize=%dK" % heap_kb, "-m", "evsesim.fleet"]
            env["MICROPYPATH"] = ".frozen:" + FIRMWARE
        else:
            cmd = [sys.executable, "-m", "evsesim.fleet"]
            env["PYTHONPATH"] = FIRMWARE
        cmd += ["--first", str(first), "--count", str(count), "--total", str(total)] + args
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.start: Dict[str, Any] = {}
        self.last: Dict[str, Any] = {}
        self.end: Dict[str, Any] = {}
        self.errors: Dict[str, int] = {}
        self.peak: Dict[str, int] = {}
        self.output: List[str] = []
        self.cpu_s = 0.0
        self.rss_kb = 0
        self.peak_rss_kb = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, _, rest = line.strip().partition(" ")
            try:
                obj = json.loads(rest) if kind.startswith("FLEET") else None
            except ValueError:
                obj = None
            with self.lock:
                if obj is None:
                    self.output.append(line)
                    del self.output[:-200]
                elif kind == "FLEET-START":
                    self.start = obj
                elif kind == "FLEET-ERRORS":
                    self.errors = obj
                else:
                    if kind == "FLEET-END":
                        self.end = obj
                    else:
                        self.last = obj
                    for k in ("connected", "registered", "charging", "heap"):
                        self.peak[k] = max(self.peak.get(k, 0), int(obj.get(k, 0)))

    def sample(self) -> None:
        """CPU and RSS while the process lives (they vanish with it)."""
        if self.proc.poll() is None:
            c = proc_cpu_s(self.proc.pid)
            if c:
                self.cpu_s = c
            self.rss_kb = proc_rss_kb(self.proc.pid) or self.rss_kb
            self.peak_rss_kb = max(self.peak_rss_kb, self.rss_kb)


def _sum(workers: List[Worker], key: str, which: str = "last") -> int:
    total = 0
    for w in workers:
        with w.lock:
            total += int(getattr(w, which).get(key, 0))
    return total


def _spawn_csms() -> tuple[subprocess.Popen, str]:
    port = free_port()
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "csms.py"), "--port", str(port),
                          "--quiet", "--no-stdin", "--heartbeat", "300"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert p.stdout is not None
    line = p.stdout.readline()
    if "listening" not in line:
        p.kill()
        raise RuntimeError("tools/csms.py did not start: " + line)
    threading.Thread(target=lambda: [None for _ in p.stdout or ()], daemon=True).start()
    return p, "ws://127.0.0.1:%d/ocpp" % port


HEADER = "%7s %7s %9s %10s %8s %8s %6s %9s %9s %8s %7s" % (
    "t s", "started", "connected", "registered", "charging", "sessions", "drops",
    "sent/s", "recv/s", "RSS MiB", "CPU %")


def run_fleet(n: int, csms: Optional[str], *, duration: float = 0, procs: int = 0,
              prefix: str = "FLEET", state_root: Optional[str] = None, model: str = "sscu",
              connect_spread: float = 10, plug_at: Optional[float] = None, plug_spread: float = 20,
              charge: float = 70, pause: float = 30, sessions: int = 1, meter_interval: int = 60,
              current: float = 16,
              report: float = 5, settings: Optional[List[str]] = None, runtime: str = "micropython",
              out: Optional[Callable[[str], None]] = print) -> Dict[str, Any]:
    """Run the fleet to its end and return the summary (see main)."""
    procs = max(1, min(procs or os.cpu_count() or 1, n))
    if plug_at is None:
        plug_at = connect_spread + 2
    if not duration:
        duration = plug_at + plug_spread + sessions * (2 + charge + 5 + pause) - pause + 2
    own_csms = None
    if not csms:
        own_csms, csms = _spawn_csms()
    tmp = None
    if state_root is None:
        tmp = state_root = tempfile.mkdtemp(prefix="fleet-")
    args = ["--csms", csms, "--prefix", prefix, "--state-root", state_root, "--model", model,
            "--connect-spread", str(connect_spread), "--plug-at", str(plug_at),
            "--plug-spread", str(plug_spread), "--charge", str(charge), "--pause", str(pause),
            "--sessions", str(sessions), "--meter-interval", str(meter_interval),
            "--current", str(current),
            "--report", str(report), "--duration", str(duration),
            "--set", "WebSocketPingInterval=0"]
    for s in settings or []:
        args += ["--set", s]
    say = out or (lambda s: None)
    say("fleet: %d stations (%s-%s..) in %d processes against %s, %.0f s"
        % (n, prefix, "001", procs, csms, duration))
    workers: List[Worker] = []
    first = 1
    for i in range(procs):
        count = n // procs + (1 if i < n % procs else 0)
        workers.append(Worker(first, count, n, args, runtime))
        first += count
    t0 = time.monotonic()
    say(HEADER)
    prev_t, prev_sent, prev_recv = t0, 0, 0
    peak: Dict[str, int] = {"connected": 0, "registered": 0, "charging": 0, "msgs_per_s": 0}
    try:
        while any(w.proc.poll() is None for w in workers):
            time.sleep(min(report, 1.0) if report > 1 else report)
            for w in workers:
                w.sample()
            now = time.monotonic()
            if now - prev_t < report and any(w.proc.poll() is None for w in workers):
                continue
            sent, recv = _sum(workers, "sent"), _sum(workers, "received")
            dt = max(1e-6, now - prev_t)
            peak["msgs_per_s"] = max(peak["msgs_per_s"], int((sent + recv - prev_sent - prev_recv) / dt))
            cpu = sum(w.cpu_s for w in workers)
            for k in ("connected", "registered", "charging"):
                peak[k] = max(peak[k], _sum(workers, k))
            say("%7.0f %7d %9d %10d %8d %8d %6d %9.1f %9.1f %8.1f %7.0f" % (
                now - t0, _sum(workers, "started"), _sum(workers, "connected"),
                _sum(workers, "registered"), _sum(workers, "charging"), _sum(workers, "sessions"),
                _sum(workers, "drops"), (sent - prev_sent) / dt, (recv - prev_recv) / dt,
                sum(w.rss_kb for w in workers) / 1024, 100 * cpu / max(1e-6, now - t0)))
            prev_t, prev_sent, prev_recv = now, sent, recv
        for w in workers:
            w.proc.wait(30)
            w.thread.join(5)
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
        if own_csms is not None:
            own_csms.terminate()
            own_csms.wait(10)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    wall = time.monotonic() - t0
    end = {k: _sum(workers, k, "end") for k in COUNTS}
    errors: Dict[str, int] = {}
    for w in workers:
        for k, v in w.errors.items():
            errors[k] = errors.get(k, 0) + v
    cpu = sum(w.cpu_s for w in workers)
    heap0 = _sum(workers, "heap", "start")
    heap_peak = sum(w.peak.get("heap", 0) for w in workers)
    # marginal heap: (peak - heap with one station) / (stations - 1), per process
    marg = [(w.peak.get("heap", 0) - int(w.last.get("heap1", 0))) / (w.count - 1)
            for w in workers if w.count > 1 and int(w.last.get("heap1", -1)) > 0]
    rss_peak = sum(w.peak_rss_kb for w in workers)
    msgs = end["sent"] + end["received"]
    summary: Dict[str, Any] = {
        "stations": n, "processes": procs, "wall_s": round(wall, 1),
        "started": end["started"], "failed": end["failed"], "drops": end["drops"],
        "reboots": end["reboots"],
        "sessions": end["sessions"],
        "peak_connected": peak["connected"], "peak_registered": peak["registered"],
        "peak_charging": peak["charging"],
        "sent": end["sent"], "received": end["received"],
        "msgs_per_s": round(msgs / wall, 1) if wall else 0.0,
        "peak_msgs_per_s": peak["msgs_per_s"],
        "cpu_s": round(cpu, 1),
        "cpu_ms_per_station_s": round(1000 * cpu / n / wall, 2) if wall else 0.0,
        "cpu_cores": round(cpu / wall, 2) if wall else 0.0,
        "rss_peak_kb": rss_peak, "rss_kb_per_station": rss_peak // n,
        "heap_peak": heap_peak, "heap_per_station": (heap_peak - heap0) // n,
        "heap_marginal_per_station": int(sum(marg) / len(marg)) if marg else -1,
        "errors": errors,
        "exit_codes": [w.proc.returncode for w in workers],
        "output": [line for w in workers for line in w.output[-20:]],
    }
    say("summary: %d/%d started, peak %d connected, %d registered, %d charging; %d sessions; "
        "%d drops, %d reboots, %d failed" % (summary["started"], n, summary["peak_connected"],
                                             summary["peak_registered"], summary["peak_charging"],
                                             summary["sessions"], summary["drops"], summary["reboots"],
                                             summary["failed"]))
    say("         %d CALLs sent, %d frames received in %.0f s: %.1f messages/s (peak %d/s over %g s)" %
        (summary["sent"], summary["received"], wall, summary["msgs_per_s"],
         summary["peak_msgs_per_s"], report))
    say("         CPU %.1f s (%.2f cores): %.2f ms per station per second; RSS %.1f MiB: %d KiB "
        "per station" % (cpu, summary["cpu_cores"], summary["cpu_ms_per_station_s"], rss_peak / 1024,
                         summary["rss_kb_per_station"]))
    if runtime != "micropython":      # CPython has no gc.mem_alloc
        summary["heap_per_station"] = summary["heap_marginal_per_station"] = -1
        say("         heap: not measured on CPython")
    else:
        mg = summary["heap_marginal_per_station"]
        say("         heap %d bytes per station with the code, %s bytes per further station" % (
            summary["heap_per_station"], mg if mg >= 0 else "n/a (one station a process)"))
    if errors:
        say("         last link errors: " + json.dumps(errors))
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description="N simulated stations against one Central System")
    p.add_argument("--n", type=int, default=200, help="stations")
    p.add_argument("--csms", default="", help="ws://host:port/path (default: run tools/csms.py)")
    p.add_argument("--duration", type=float, default=0,
                   help="seconds (default: until every station's sessions are over)")
    p.add_argument("--procs", type=int, default=0, help="MicroPython processes (default: cores)")
    p.add_argument("--prefix", default="FLEET", help="ids are <prefix>-<nnn>")
    p.add_argument("--state-root", default=None,
                   help="state directories <root>/<id> (default: a temporary directory)")
    p.add_argument("--model", default="sscu", choices=["sscu", "dscu"])
    p.add_argument("--connect-spread", type=float, default=10)
    p.add_argument("--plug-at", type=float, default=None, help="default: connect-spread + 2")
    p.add_argument("--plug-spread", type=float, default=20)
    p.add_argument("--charge", type=float, default=70)
    p.add_argument("--pause", type=float, default=30)
    p.add_argument("--sessions", type=int, default=1)
    p.add_argument("--meter-interval", type=int, default=60)
    p.add_argument("--current", type=float, default=16, help="the EVs' max current, A")
    p.add_argument("--report", type=float, default=5)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--runtime", default="micropython", choices=["micropython", "cpython"])
    p.add_argument("--json", action="store_true", help="print the summary as JSON at the end")
    a = p.parse_args(argv)
    if a.n < 1:
        p.error("--n must be at least 1")
    s = run_fleet(a.n, a.csms or None, duration=a.duration, procs=a.procs, prefix=a.prefix,
                  state_root=a.state_root, model=a.model, connect_spread=a.connect_spread,
                  plug_at=a.plug_at, plug_spread=a.plug_spread, charge=a.charge, pause=a.pause,
                  sessions=a.sessions, meter_interval=a.meter_interval, current=a.current, report=a.report,
                  settings=a.set, runtime=a.runtime)
    if a.json:
        s.pop("output", None)
        print(json.dumps(s))
    ok = s["started"] == a.n and all(rc == 0 for rc in s["exit_codes"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
