"""A fleet of 20 simulated stations (`make fleet`, tools/fleet.py running
evsesim.fleet in MicroPython processes) against the development Central System:
every station boots with its own id, connects, charges on its staggered
schedule with MeterValues, and stops; a Reset reboots one station alone;
what the launcher reports is what the Central System saw."""
from __future__ import annotations

import asyncio

from csms import CentralSystem
from fleet import run_fleet

N = 20


def test_fleet_of_20_boots_charges_meters_and_stops(tmp_path):
    lines = []

    async def main():
        cs = CentralSystem(heartbeat_interval=3600)
        port = await cs.start()
        loop = asyncio.get_running_loop()
        try:
            fut = loop.run_in_executor(None, lambda: run_fleet(
                N, "ws://127.0.0.1:%d/ocpp" % port, procs=2, prefix="FT",
                state_root=str(tmp_path), connect_spread=3, plug_spread=4, charge=16,
                meter_interval=5, report=2, duration=38, out=lines.append))
            # after the sessions, a Reset of one station: a power cycle of it alone
            await cs.wait_for(lambda rs: len(cs.calls("StopTransaction")) == N, timeout=45)
            reset = await cs.call("FT-007", "Reset", type="Soft")
            await cs.wait_for(lambda rs: len(cs.calls("BootNotification", "FT-007")) == 2, timeout=10)
            summary = await fut
        finally:
            await cs.stop()
        return cs, summary, reset

    cs, s, reset = asyncio.run(main())
    out = "\n".join(lines + s["output"])
    ids = ["FT-%03d" % i for i in range(1, N + 1)]
    assert cs.violations == [], cs.violations
    assert s["exit_codes"] == [0, 0], out
    # every station, by its own id and state directory
    assert sorted({r.cp_id for r in cs.records}) == ids
    assert sorted(p.name for p in tmp_path.iterdir()) == ids
    assert reset == {"status": "Accepted"}
    for cp in ids:
        boots = cs.calls("BootNotification", cp)
        assert len(boots) == (2 if cp == "FT-007" else 1), (cp, out)
        assert all(b.answer[1]["status"] == "Accepted" for b in boots), (cp, out)
        starts = cs.calls("StartTransaction", cp)
        assert len(starts) == 1 and starts[0].payload["idTag"] == cp, (cp, out)
        tx = starts[0].answer[1]["transactionId"]
        # MeterValueSampleInterval=5 over 16 s of charging: at least two samples (three
        # when the StartTransaction is not late)
        mvs = [r for r in cs.calls("MeterValues", cp) if r.payload.get("transactionId") == tx]
        assert len(mvs) >= 2, (cp, [r.payload for r in cs.calls("MeterValues", cp)])
        stops = cs.calls("StopTransaction", cp)
        assert len(stops) == 1 and stops[0].payload["transactionId"] == tx, (cp, out)
        assert stops[0].payload["reason"] == "Local"
        assert stops[0].payload["meterStop"] > starts[0].payload["meterStart"]
    # the staggered plug-in: StartTransactions spread over the plug-in window
    t_start = sorted(r.time for r in cs.calls("StartTransaction"))
    assert t_start[-1] - t_start[0] >= 2.0
    # the launcher's figures are the Central System's
    assert s["started"] == N and s["failed"] == 0 and s["drops"] == 0 and s["reboots"] == 1, out
    assert s["peak_connected"] == N and s["peak_registered"] == N, out
    assert s["peak_charging"] == N and s["sessions"] == N, out
    # sent: the stations' CALLs (not their one reply, to the Reset); received:
    # every frame from the Central System (its answers and the Reset)
    frames_in = [f for f in cs.frames if f[1] == "in"]
    frames_out = [f for f in cs.frames if f[1] == "out"]
    assert s["sent"] == len(cs.calls()) == len(frames_in) - 1, out
    assert s["received"] == len(frames_out), out
    assert s["msgs_per_s"] > 0 and s["cpu_ms_per_station_s"] > 0 and s["heap_per_station"] > 0
    assert "connected" in lines[1] and "charging" in lines[1]      # the table's header
    assert any(line.startswith("summary: 20/20 started, peak 20 connected") for line in lines), out
