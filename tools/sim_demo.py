"""`make sim`: the simulator (MicroPython Unix port) against the bundled local
Central System (tools/csms.py), through the session the README describes:
the EV is plugged in, a card starts charging, the Central System sends a
charging profile that lowers the current, an external sensor (a door contact)
interrupts and then lets charging go on, the card stops it, the EV leaves.
The simulator writes its event log (--events) and the session is drawn as one
PNG (tools/plot_session.py), whose path is printed at the end.

    python tools/sim_demo.py [--runtime cpython] [--out DIR] [--keep-state DIR]
    python tools/sim_demo.py --keep      # `make sim ARGS=--keep`

By default the station runs on the virtual clock (an hour of charging in a few
seconds) and the demo ends by itself. With --keep it runs in real time with the
local website on, goes through the same session in under a minute, prints the
website's URL and the control port, and stays: the console
(tools/console.py) takes over on a terminal, otherwise it says how to attach;
Ctrl-C (or `shutdown`/`quit` in the console) ends it and draws the plot.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from csms import CentralSystem  # noqa: E402
from simclient import ROOT, Simulator, free_port  # noqa: E402

CP = "DEMO-CP"
TAG = "04A2B3C4D5"
# external sensor 1: a door contact (normally open) whose opening and closing
# the station reports to the Central System (StatusNotification, info
# OPENDOOR) while charging goes on (manual 5.5: ExternalSensor<n>TriggerActions
# and RecoverActions)
DOOR = {
    "SmartChargingEnabled": "true",
    "ExternalSensor1Type": "5", "ExternalSensor1NormallyOpen": "true",
    "ExternalSensor1CoupledConnector": "1",
    "ExternalSensor1TriggerActions": '[[1, "StatusNotification"], [0, "StopTransaction"], '
    '[0, "UnlockConnector"], [0, "SetError"], [0, "ClearError"], [0, "HardReset"], '
    '[0, "SetLEDIntensityLow"], [0, "SetLEDIntensityHigh"]]',
    "ExternalSensor1RecoverActions": '[[1, "StatusNotification"], [0, "StopTransaction"], '
    '[0, "UnlockConnector"], [0, "SetError"], [0, "ClearError"], [0, "HardReset"], '
    '[0, "SetLEDIntensityLow"], [0, "SetLEDIntensityHigh"]]',
}


def show(sim: Simulator, label: str) -> None:
    st = sim.status()
    c = st["connectors"][0]
    print("  %-30s %s  %-13s pilot %s duty %5.1f%%  offered %4.1f A  drawn %-16s %6d Wh  tx %s" % (
        label, st["time"][11:19], c["status"], c["pilot"], c["duty"], c["offered_a"],
        "/".join("%.1f" % a for a in c["current_a"]), c["energy_wh"], c["transaction_id"]))


async def demo(args: argparse.Namespace) -> int:
    virtual = not args.keep
    cs = CentralSystem(heartbeat_interval=300)
    port = await cs.start()
    print("Central System (OCPP 1.6-J, schema-validated) on ws://127.0.0.1:%d" % port)
    state = args.keep_state or tempfile.mkdtemp(prefix="evse-sim-")
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    events = os.path.join(out, "events.jsonl")
    png = os.path.join(out, "session.png")
    sim_args = ["--csms", "ws://127.0.0.1:%d" % port, "--id", CP, "--model", "sscu",
                "--events", events, "--set", "MeterValueSampleInterval=%d" % (300 if virtual else 5)]
    for k, v in DOOR.items():   # (and smart charging on)
        sim_args += ["--set", "%s=%s" % (k, v)]
    web = None
    if virtual:
        sim_args += ["--clock", "virtual"]
    else:
        web = "127.0.0.1:%d" % (args.web_port or free_port())
        sim_args += ["--web", web]
    sim = Simulator(sim_args, state_dir=state, runtime=args.runtime)
    loop = asyncio.get_running_loop()

    async def run(fn: Any, *a: Any, **kw: Any) -> Any:
        return await loop.run_in_executor(None, lambda: fn(*a, **kw))

    async def wait(seconds: float, real: float) -> None:
        """Let time pass: virtual seconds, or (real clock) a few real ones."""
        if virtual:
            await run(sim.call, "advance", seconds=seconds)
        else:
            await asyncio.sleep(real)

    async def until(action: str, n: int = 1) -> None:
        """The Central System has received `n` CALLs `action` (virtual clock:
        moving time a second at a time, as a station needs a step or two)."""
        def seen(rs: list) -> bool:
            return sum(1 for r in rs if r.kind == "call" and r.action == action) >= n
        for _ in range(30 if virtual else 0):
            if seen(cs.records_of(CP)):
                return
            await wait(1, 0)
        await cs.wait_for(seen, timeout=10)

    async def op(op_name: str, **kw: Any) -> dict:
        return await run(sim.call, op_name, **kw)

    await run(sim.start)
    print("simulator (%s, %s clock) READY, control on 127.0.0.1:%d, state in %s" % (
        args.runtime, "virtual" if virtual else "real", sim.port, state))
    rc = 0
    try:
        await cs.wait_for(lambda rs: any(r.action == "BootNotification" for r in rs), timeout=15)
        await wait(5, 0.5)
        print("BootNotification accepted; the station reports its connectors")
        await run(show, sim, "idle")
        await op("plug", connector=1, cable_amps=32)
        await op("ev", connector=1, state="B", max_current=16, phases=3)
        await wait(10, 1)
        await run(show, sim, "cable + EV plugged in (B)")
        await op("rfid", reader=1, id=TAG)
        await until("StartTransaction")
        await wait(2, 0.5)
        await run(show, sim, "card %s accepted" % TAG)
        await op("ev", connector=1, state="C", max_current=16, phases=3)
        await wait(1200, 4)
        await run(show, sim, "charging (C)")
        tx = (await run(sim.connector, 1))["transaction_id"]
        profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                   "chargingProfileKind": "Relative", "transactionId": tx,
                   "chargingSchedule": {"chargingRateUnit": "A",
                                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}}
        conf = await cs.call(CP, "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile})
        print("  Central System: SetChargingProfile TxProfile 10 A -> %s" % conf.get("status"))
        await wait(900, 2)
        for _ in range(0 if virtual else 80):     # real time: after NominalPeriod (30 s)
            if (await run(sim.connector, 1))["offered_a"] <= 10:
                break
            await asyncio.sleep(0.5)
        await run(show, sim, "charging profile: 10 A")
        await op("input", name="ext1", triggered=True)
        await wait(120, 2)
        await run(show, sim, "sensor ext1 (door) open")
        await op("input", name="ext1", triggered=False)
        await wait(600, 3)
        await run(show, sim, "door closed again")
        await op("rfid", reader=1, id=TAG)
        await until("StopTransaction")
        await wait(5, 0.5)
        await run(show, sim, "card presented again: stop")
        await op("ev", connector=1, state="A")
        await op("unplug", connector=1)
        await wait(10, 0.5)
        await run(show, sim, "EV and cable removed")
        print("\nWhat the Central System received (schema-validated):")
        for r in cs.records_of(CP):
            if r.kind == "call":
                print("  %-26s %s" % (r.action, json.dumps(r.payload)[:100]))
        if cs.violations:
            print("\nOCPP violations:")
            for bad in cs.violations:
                print("  ", bad)
            rc = 1
        else:
            print("\nno OCPP schema violations")
        if args.keep:
            await stay(sim, web)
    finally:
        await run(sim.shutdown)
        await cs.stop()
    from plot_session import render
    info = render(events, png, "make sim: one charging session (%s)" % CP)
    print("event log: %s (%d records)" % (events, info["records"]))
    print("plot: %s" % png)
    return rc


async def stay(sim: Simulator, web: str | None) -> None:
    """--keep: the station goes on in real time; the console takes over."""
    print("\nThe station keeps running:")
    print("  website:       http://%s/  (user admin, password = LocalManagementPassword)" % web)
    print("  control port:  127.0.0.1:%d" % sim.port)
    print("  attach:        .venv/bin/python tools/console.py --connect 127.0.0.1:%d" % sim.port)
    loop = asyncio.get_running_loop()
    if sys.stdin.isatty():
        from console import Console
        con_sim = Simulator.attach("127.0.0.1", sim.port)

        def console() -> None:
            con = Console(con_sim)
            con.interact()
            con_sim.close()
        await loop.run_in_executor(None, console)
    else:
        print("  (Ctrl-C ends the simulator and draws the plot)")
        try:
            while sim.proc is not None and sim.proc.poll() is None:
                await asyncio.sleep(0.5)
        except (KeyboardInterrupt, asyncio.CancelledError):
            pass


def main() -> int:
    ap = argparse.ArgumentParser(description="make sim: a charging session, its event log and its plot")
    ap.add_argument("--runtime", default="micropython", choices=["micropython", "cpython"])
    ap.add_argument("--keep-state", default=None, help="state directory (default: a new temporary one)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "sim"),
                    help="where events.jsonl and session.png go (build/sim)")
    ap.add_argument("--keep", action="store_true",
                    help="real time, website on; stay running with the console attached")
    ap.add_argument("--web-port", type=int, default=0, help="--keep: the website's port (a free one)")
    try:
        return asyncio.run(demo(ap.parse_args()))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
