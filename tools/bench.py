"""`make bench`: performance and memory figures, each printed beside a named
baseline run side by side in the same invocation (no asserts on wall time).

1. safety-core tick: bytes allocated per tick (gc.mem_alloc deltas over
   10,000 steady-state ticks on the Unix port) and ticks/s; baseline: the same
   code on CPython 3.11. Then the whole station (tools/bench_mcu.py): bytes
   per safety tick beside bytes per MCU step, idle and charging, SSCU and DSCU.
2. a virtual day with a charging session through the simulator (virtual
   clock): wall time on the Unix port; baseline: the simulator on CPython;
   then the same day connected (ClockAlignedDataInterval=900) to the
   development Central System (the `ocpp` library, validating) and to the
   ocpp-rpc one (strict), beside the offline day, with the ratio and the goal
   (at most twice the offline day, under 1.5 s): medians of 3 runs and their
   range. `python tools/bench.py day [RUNS]` runs this part alone.
3. heap: gc.mem_alloc() of the whole station idle and while charging, and the
   smallest -X heapsize at which the station still boots and charges.
4. a fleet of 200 stations (tools/fleet.py, one MicroPython process per core)
   against the development Central System (in this process, on its own
   thread): connected/charging counts, messages/s, memory per station (heap
   and RSS) and CPU per station; checked against what the Central System saw.
   `python tools/bench.py fleet [N]` runs this part alone.
5. the Modbus efficiency (tools/bench_modbus.py, on the Unix port): one full
   3-phase SDM630 reading at 9600 baud through a simulated UART that paces
   bytes at the baud rate, against the wire-time bound (bytes on the wire x
   10 bits / baud + the 3.5-character silences between the frames), as a
   ratio (goal 1.10 or less); beside it the board's fixed 10 ms MCU tick.
   `python tools/bench.py modbus` runs this part alone.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simclient import FIRMWARE, ROOT, Simulator, micropython_bin  # noqa: E402


def tick_bench() -> None:
    mp = subprocess.run([micropython_bin(), "tools/bench_tick.py"], cwd=ROOT, capture_output=True, text=True,
                        env=dict(os.environ, MICROPYPATH=FIRMWARE + ":.frozen"))
    cp = subprocess.run([sys.executable, "tools/bench_tick.py"], cwd=ROOT, capture_output=True, text=True,
                        env=dict(os.environ, PYTHONPATH=FIRMWARE))
    print("1. safety-core tick (10,000 steady-state ticks)")
    print("   %-9s %14s %14s %18s %8s" % ("state", "bytes/tick", "ticks/s (MP)", "ticks/s (CPython)", "ratio"))
    mpd = {}
    for line in mp.stdout.splitlines():
        m = re.match(r"(\w+)\s+\d+ ticks\s+(\d+) bytes\s+([\d.]+) bytes/tick\s+(\d+) ticks/s", line)
        if m:
            mpd[m.group(1)] = (float(m.group(3)), int(m.group(4)))
    for line in cp.stdout.splitlines():
        m = re.match(r"(\w+)\s+\d+ ticks\s+(\d+) ticks/s", line)
        if m and m.group(1) in mpd:
            bpt, mps = mpd[m.group(1)]
            cps = int(m.group(2))
            print("   %-9s %14.3f %14d %18d %7.2fx" % (m.group(1), bpt, mps, cps, mps / cps))
    if not mpd:
        print(mp.stdout, mp.stderr)
    # the whole station: the safety tick beside the MCU step (tools/bench_mcu.py)
    r = subprocess.run([micropython_bin(), "tools/bench_mcu.py"], cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ, MICROPYPATH=".frozen:" + FIRMWARE))
    print("   the whole station on the Unix port: bytes per safety tick beside bytes per MCU step")
    for line in (r.stdout + r.stderr).splitlines():
        print("   " + line)


class _CsThread:
    """The development Central System on its own event loop in a thread."""

    def __init__(self) -> None:
        import asyncio
        import threading
        from csms import CentralSystem
        self.cs = CentralSystem(heartbeat_interval=300)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self.cs.start(), self.loop).result(10)

    def cpu(self) -> float:
        """CPU seconds of the Central System's thread so far."""
        import asyncio

        async def now() -> float:
            return time.thread_time()
        return asyncio.run_coroutine_threadsafe(now(), self.loop).result(10)

    def stop(self) -> None:
        import asyncio
        asyncio.run_coroutine_threadsafe(self.cs.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _proc_cpu(pid: int) -> "float | None":
    """User + system CPU seconds of a process so far (Linux /proc), else None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def virtual_day(runtime: str, csms: "_CsThread | None" = None,
                cpu: "dict | None" = None) -> tuple[float, dict]:
    """Wall time of the day; cpu (if given) gets the CPU seconds the station
    process ("station") and the in-process Central System's thread ("csms")
    spent in it: far steadier than wall time on a shared machine."""
    with tempfile.TemporaryDirectory() as d:
        args = ["--clock", "virtual", "--model", "sscu", "--set", "TaglessCharging=true"]
        if csms is None:
            args += ["--set", "OfflineMode=true"]
        else:
            args += ["--csms", "ws://127.0.0.1:%d/ocpp" % csms.port, "--id", "BENCH" + runtime[:2],
                     "--set", "ClockAlignedDataInterval=900",
                     "--set", "WebSocketPingInterval=0"]
        sim = Simulator(args, state_dir=d, runtime=runtime)
        sim.start()
        if csms is not None:
            sim.call("advance", seconds=0)      # boot answered before the clock starts
        cs_cpu = getattr(csms, "cpu", None)
        try:
            assert sim.proc is not None
            c0 = _proc_cpu(sim.proc.pid)
            k0 = cs_cpu() if cs_cpu else None
            t0 = time.perf_counter()
            sim.call("plug", connector=1, cable_amps=32)
            sim.call("ev", connector=1, state="C", max_current=16, phases=3)
            sim.call("advance", seconds=4 * 3600)
            sim.call("ev", connector=1, state="B")
            sim.call("advance", seconds=20 * 3600)
            wall = time.perf_counter() - t0
            c1 = _proc_cpu(sim.proc.pid)
            k1 = cs_cpu() if cs_cpu else None
            if cpu is not None:
                cpu["station"] = c1 - c0 if c0 is not None and c1 is not None else None
                cpu["csms"] = k1 - k0 if k0 is not None and k1 is not None else None
            st = sim.connector(1)
        finally:
            sim.shutdown()
    return wall, st


def heap(runtime_heap: str | None = None) -> tuple[int, int] | None:
    with tempfile.TemporaryDirectory() as d:
        sim = Simulator(["--clock", "virtual", "--model", "dscu", "--set", "TaglessCharging=true",
                         "--set", "OfflineMode=true"], state_dir=d, heapsize=runtime_heap)
        try:
            sim.start(timeout=10)
            idle = int(sim.call("mem")["alloc"])
            sim.call("plug", connector=1, cable_amps=32)
            sim.call("ev", connector=1, state="C", max_current=16)
            sim.call("advance", seconds=600)
            ok = sim.connector(1)["status"] == "Charging"
            charging = int(sim.call("mem")["alloc"])
            sim.shutdown()
            return (idle, charging) if ok else None
        except Exception:
            sim.kill()
            return None


FLEET_N = 200


def fleet_bench(n: int = FLEET_N) -> None:
    from fleet import run_fleet
    print("\n4. a fleet of %d stations against one Central System (real clock, about 2 minutes)" % n)
    cs = _CsThread()
    cpu0 = time.process_time()
    try:
        s = run_fleet(n, "ws://127.0.0.1:%d/ocpp" % cs.port, connect_spread=15, plug_spread=15,
                      charge=65, meter_interval=60, report=10, prefix="BENCH",
                      out=lambda line: print("   " + line))
    finally:
        cs_cpu = time.process_time() - cpu0
        cs.stop()
    c = cs.cs
    ids = {"BENCH-%03d" % i for i in range(1, n + 1)}

    def seen(action: str) -> int:
        return len(ids & {r.cp_id for r in c.calls(action)})
    print("   Central System saw: %d BootNotification, %d StartTransaction, %d MeterValues, "
          "%d StopTransaction (stations), %d frames in, %d out, %d violations"
          % (seen("BootNotification"), seen("StartTransaction"), seen("MeterValues"),
             seen("StopTransaction"), sum(1 for f in c.frames if f[1] == "in"),
             sum(1 for f in c.frames if f[1] == "out"), len(c.violations)))
    print("   fleet figures: %d connected, %d charging (peak); %.1f messages/s (peak %d/s)"
          % (s["peak_connected"], s["peak_charging"], s["msgs_per_s"], s["peak_msgs_per_s"]))
    print("   memory per station: heap %d bytes (marginal, gc.mem_alloc with 1 vs N stations), "
          "%d bytes with the shared code; RSS %d KiB (processes' peak RSS / stations)"
          % (s["heap_marginal_per_station"], s["heap_per_station"], s["rss_kb_per_station"]))
    print("   CPU per station: %.2f ms per second (%.1f s CPU of %d processes in %.0f s wall = %.2f cores); "
          "Central System and launcher: %.1f s CPU (%.2f cores)"
          % (s["cpu_ms_per_station_s"], s["cpu_s"], s["processes"], s["wall_s"], s["cpu_cores"],
             cs_cpu, cs_cpu / s["wall_s"]))


def _rpc_day(cpu: "dict | None" = None) -> "tuple[float, int] | None":
    """The connected day against tools/csms_rpc.js (ocpp-rpc, strict mode):
    (wall, CALLs it answered), or None where node or its packages are
    missing (make bench needs no npm)."""
    import shutil
    if shutil.which("node") is None or not os.path.isdir(os.path.join(ROOT, "node_modules", "ocpp-rpc")):
        return None
    sys.path.insert(0, os.path.join(ROOT, "host_tests", "integration"))
    from rpc_rig import RpcCentralSystem

    class _Port:
        def __init__(self, port: int) -> None:
            self.port = port
    rpc = RpcCentralSystem()
    rpc.start()
    try:
        w, _ = virtual_day("micropython", _Port(rpc.port or 0), cpu)  # type: ignore[arg-type]
        bad = rpc.violations()
        n = len(rpc.calls())
    finally:
        rpc.stop()
    if bad:
        print("   ocpp-rpc Central System saw %d violations: %s" % (len(bad), bad[:3]))
    return w, n


DAY_RUNS = 3
DAY_GOAL_RATIO = 2.0       # issue 11: the connected day at most twice the offline day
DAY_GOAL_WALL = 1.5        # ... and under 1.5 s on the development machine


def _spread(walls: "list[float]") -> str:
    ws = sorted(walls)
    return "%.2f s (%.2f-%.2f)" % (ws[len(ws) // 2], ws[0], ws[-1])


def day_bench(runs: int = DAY_RUNS) -> None:
    """Section 2: the offline virtual day on both runtimes, then the same day
    connected (ClockAlignedDataInterval=900, one CALL at a time) to the
    ocpp-library and the ocpp-rpc Central Systems, beside the offline day:
    medians of `runs` runs each, with their range, and the CPU seconds of the
    station and of the Central System (steadier than wall time when other
    jobs share the cores)."""
    print("\n2. a virtual day with a 4 h charging session (simulator, virtual clock; "
          "median (min-max) of %d runs)" % runs)
    mws, cws, same, off_cpu = [], [], True, []
    for _ in range(runs):
        c: dict = {}
        mw, mst = virtual_day("micropython", cpu=c)
        cw, cst = virtual_day("cpython")
        mws.append(mw)
        cws.append(cw)
        off_cpu.append(c.get("station"))
        same = same and mst["energy_wh"] == cst["energy_wh"]
    print("   Unix port: %s wall   CPython baseline: %s wall   ratio %.2fx   (energy %.0f Wh both: %s)"
          % (_spread(mws), _spread(cws), _median(mws) / _median(cws), mst["energy_wh"], same))
    rows: list = [("none (offline day, Unix port)", mws, "", off_cpu, [])]
    ows, frames, st_cpu, cs_cpu = [], 0, [], []
    for _ in range(runs):
        cs = _CsThread()
        try:
            c = {}
            ow, _ = virtual_day("micropython", cs, cpu=c)
            frames = len(cs.cs.frames)
            ows.append(ow)
            st_cpu.append(c.get("station"))
            cs_cpu.append(c.get("csms"))
        finally:
            cs.stop()
    rows.append(("ocpp library, validating (tools/csms.py)", ows, "%d frames" % frames, st_cpu, cs_cpu))
    rws, calls, rst_cpu = [], 0, []
    for _ in range(runs):
        c = {}
        r = _rpc_day(c)
        if r is None:
            break
        rws.append(r[0])
        calls = r[1]
        rst_cpu.append(c.get("station"))
    if rws:
        rows.append(("ocpp-rpc strict (tools/csms_rpc.js, node)", rws, "%d CALLs" % calls, rst_cpu, []))
    off = _median(mws)
    print("   the same day connected (ClockAlignedDataInterval=900), beside the offline day; goal: "
          "at most %.0fx the offline day and under %.1f s" % (DAY_GOAL_RATIO, DAY_GOAL_WALL))
    print("   %-42s %-20s %-7s %-11s %-8s %s" % ("Central System", "wall", "ratio", "messages", "goal",
                                                "CPU s: station, Central System"))
    for i, (name, ws, what, sc, kc) in enumerate(rows):
        w = _median(ws)
        goal = ("met" if w / off <= DAY_GOAL_RATIO and w < DAY_GOAL_WALL else "NOT met") if i else ""
        print("   %-42s %-20s %-7s %-11s %-8s %s, %s" % (name, _spread(ws), "%.2fx" % (w / off) if i else "",
                                                        what, goal, _cpu(sc), _cpu(kc)))
    if not rws:
        print("   (ocpp-rpc Central System not installed: make test-integration installs it)")
    print("   (one CALL at a time: a connected day is the offline day plus a round trip per"
          " message, most of it the Central System's own time)")


def _median(xs: "list[float]") -> float:
    return sorted(xs)[len(xs) // 2]


def _cpu(xs: list) -> str:
    xs = [x for x in xs if x is not None]
    return "%.2f" % _median(xs) if xs else "-"


def modbus_bench() -> None:
    print("\n5. Modbus efficiency: one full 3-phase reading against the wire-time bound (Unix port)")
    r = subprocess.run([micropython_bin(), "tools/bench_modbus.py"], cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ, MICROPYPATH=FIRMWARE + ":" + os.path.join(ROOT, "host_tests", "unit")),
                       timeout=60)
    for line in (r.stdout + r.stderr).splitlines():
        print(line)


def main() -> int:
    if sys.argv[1:2] == ["modbus"]:
        modbus_bench()
        return 0
    if sys.argv[1:2] == ["day"]:
        day_bench(int(sys.argv[2]) if len(sys.argv) > 2 else DAY_RUNS)
        return 0
    if sys.argv[1:2] == ["fleet"]:
        fleet_bench(int(sys.argv[2]) if len(sys.argv) > 2 else FLEET_N)
        return 0
    tick_bench()
    day_bench()
    print("\n3. heap of the whole station on the Unix port (gc.mem_alloc after collect)")
    h = heap()
    if h:
        print("   idle %d bytes, charging %d bytes (default heap)" % h)
    lo, hi = 64, 2048          # KiB
    while lo < hi:
        mid = (lo + hi) // 2
        if heap("%dK" % mid):
            hi = mid
        else:
            lo = mid + 1
    print("   smallest -X heapsize that boots and charges: %d KiB" % lo)
    r = subprocess.run([micropython_bin(), "tools/bench_heap.py"], cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ, MICROPYPATH=".frozen:" + FIRMWARE))
    for line in (r.stdout + r.stderr).splitlines():
        print("   " + line)
    fleet_bench()
    modbus_bench()
    return 0


if __name__ == "__main__":
    sys.exit(main())
