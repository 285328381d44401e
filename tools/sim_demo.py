"""`make sim`: the simulator (MicroPython Unix port) against the bundled local
Central System (tools/csms.py), showing one charging session end to end.

    python tools/sim_demo.py [--runtime cpython] [--keep-state DIR]

Everything is on 127.0.0.1; it ends by itself (about 20 s).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from csms import CentralSystem  # noqa: E402
from simclient import Simulator  # noqa: E402

CP = "DEMO-CP"
TAG = "04A2B3C4D5"


def show(sim: Simulator, label: str) -> None:
    st = sim.status()
    c = st["connectors"][0]
    print("  %-28s %-13s pilot %s  duty %5.1f%%  offered %4.1f A  contactor %-5s lock %-5s "
          "tx %-4s %7.1f Wh  I=%s  LED %s" % (
              label, c["status"], c["pilot"], c["duty"], c["offered_a"], c["contactor"], c["locked"],
              c["transaction_id"], c["energy_wh"], c["current_a"],
              (c.get("led") or {}).get("color")))


async def demo(args: argparse.Namespace) -> int:
    cs = CentralSystem(heartbeat_interval=60)
    port = await cs.start()
    print("Central System (ocpp %s schemas) listening on ws://127.0.0.1:%d" % ("1.6", port))
    state = args.keep_state or tempfile.mkdtemp(prefix="evse-sim-")
    sim = Simulator(["--csms", "ws://127.0.0.1:%d" % port, "--id", CP, "--model", "dscu",
                     "--set", "MeterValueSampleInterval=2"],
                    state_dir=state, runtime=args.runtime)
    loop = asyncio.get_running_loop()

    async def run(fn, *a, **kw):
        return await loop.run_in_executor(None, lambda: fn(*a, **kw))

    await run(sim.start)
    print("simulator (%s) READY, state in %s" % (args.runtime, state))
    try:
        await cs.wait_for(lambda rs: any(r.action == "BootNotification" for r in rs), timeout=15)
        print("BootNotification accepted; the station reports its connectors")
        await run(show, sim, "idle")
        await run(sim.call, "plug", connector=1, cable_amps=32)
        await run(sim.call, "ev", connector=1, state="B", max_current=16, phases=3)
        await asyncio.sleep(0.5)
        await run(show, sim, "cable + EV plugged (B)")
        await run(sim.call, "rfid", reader=1, id=TAG)
        await cs.wait_for(lambda rs: any(r.action == "StartTransaction" for r in rs), timeout=10)
        await asyncio.sleep(0.3)
        await run(show, sim, "card %s accepted" % TAG)
        await run(sim.call, "ev", connector=1, state="C", max_current=16, phases=3)
        for i in range(4):
            await asyncio.sleep(1.0)
            await run(show, sim, "charging (C) t+%ds" % (i + 1))
        await asyncio.sleep(1.5)   # StartTransactionDelay: the same card is ignored for 4 s
        await run(sim.call, "rfid", reader=1, id=TAG)
        await cs.wait_for(lambda rs: any(r.action == "StopTransaction" for r in rs), timeout=10)
        await asyncio.sleep(0.3)
        await run(show, sim, "card presented again: stop")
        await run(sim.call, "ev", connector=1, state="A")
        await run(sim.call, "unplug", connector=1)
        await asyncio.sleep(0.5)
        await run(show, sim, "EV and cable removed")
        print("\nWhat the Central System received (schema-validated):")
        for r in cs.records_of(CP):
            if r.kind == "call":
                print("  %-26s %s" % (r.action, json.dumps(r.payload)[:110]))
        if cs.violations:
            print("\nOCPP violations:")
            for v in cs.violations:
                print("  ", v)
            return 1
        print("\nno OCPP schema violations")
        return 0
    finally:
        await run(sim.shutdown)
        await cs.stop()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", default="micropython", choices=["micropython", "cpython"])
    ap.add_argument("--keep-state", default=None)
    return asyncio.run(demo(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
