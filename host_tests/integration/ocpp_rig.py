"""Test rig for the OCPP integration tests (test_ocpp_*.py): the simulator on
the MicroPython Unix port (tools/simclient.py) against the development Central
System (tools/csms.py), both driven from one asyncio loop.

The simulator's control channel is blocking and, with --clock virtual, an
`advance` waits in real time for the Central System's answers, so every
control op runs in a worker thread while the Central System keeps serving on
the loop.

Time: the Central System answers currentTime with real wall-clock time, as
every real one does. The simulator's virtual clock takes the first answer as
its starting point and keeps virtual time after it (docs/simulator.md). The
rig keeps `vnow`, the station's time as far as the rig has seen or moved it.

    async def body(rig):
        await rig.start()                       # READY, BootNotification accepted
        await rig.op("plug", connector=1)
        await rig.advance(60)
        conf = await rig.call("GetConfiguration", key=["HeartBeatInterval"])
    rig_run(tmp_path, body, model="sscu")       # also asserts cs.violations == []
"""
from __future__ import annotations

import asyncio
import calendar
import os
import time
from typing import Any, Callable, Dict, List, Optional

from csms import CentralSystem, Record
from simclient import Simulator

EPOCH = 1767225600          # 2026-01-01T00:00:00Z, the simulator's virtual start
CP = "CP1"
TAG = "TAG0001"


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_iso(s: str) -> int:
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))


class Rig:
    def __init__(self, tmp_path, *, model: str = "sscu", cp_id: str = CP,
                 clock: str = "virtual", sim_args: Optional[List[str]] = None,
                 settings: Optional[Dict[str, str]] = None, cs: Optional[CentralSystem] = None,
                 scheme: str = "ws", ssl_context=None, heapsize: Optional[str] = None,
                 runtime: str = "micropython", **cs_kw: Any) -> None:
        self.heapsize = heapsize    # the Unix port's -X heapsize (None: its default)
        self.runtime = runtime      # the simulator on "micropython" or "cpython"
        self.state_dir = str(tmp_path / "state")
        os.makedirs(self.state_dir, exist_ok=True)
        self.model = model
        self.cp = cp_id
        self.clock = clock
        self.scheme = scheme
        self.ssl_context = ssl_context
        self.sim_args = list(sim_args or [])
        # quiet by default: no pings, no clock-aligned meter values (and no
        # heartbeats: see heartbeat_interval) unless a test wants them
        self.settings = {"WebSocketPingInterval": "0", "ClockAlignedDataInterval": "0"}
        self.settings.update(settings or {})
        cs_kw.setdefault("heartbeat_interval", 65000)
        self.cs = cs if cs is not None else CentralSystem(**cs_kw)
        self.vnow = EPOCH
        # the Central System answers currentTime with real wall-clock time,
        # as every real one does; the station's virtual clock takes it once
        # as its starting point and keeps virtual time after that
        self.sim: Optional[Simulator] = None
        self.sims: List[Simulator] = []

    # ---- lifecycle -------------------------------------------------------------
    async def _thread(self, fn: Callable, *a: Any, **kw: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: fn(*a, **kw))

    def args(self, first: bool = True) -> List[str]:
        a = ["--id", self.cp, "--model", self.model, "--clock", self.clock]
        if self.cs.port is not None:
            a += ["--csms", "%s://127.0.0.1:%d/ocpp" % (self.scheme, self.cs.port)]
        for k, v in self.settings.items():
            a += ["--set", "%s=%s" % (k, v)]
        return a + self.sim_args

    async def start(self, boot: bool = True, settle: bool = True) -> None:
        """Start (or restart, same state directory) the simulator. boot: wait
        until a BootNotification of this run was answered."""
        if self.cs.port is None:
            await self.cs.start(ssl_context=self.ssl_context)
        n_boot = len(self.cs.calls("BootNotification", self.cp))
        sim = Simulator(self.args(), state_dir=self.state_dir, heapsize=self.heapsize,
                        runtime=self.runtime)
        self.sims.append(sim)
        await self._thread(sim.start)
        self.sim = sim
        if settle and self.clock == "virtual":
            await self.advance(0)
        if boot:
            await self.cs.wait_for(lambda rs: len([r for r in rs if r.kind == "call" and
                                                   r.action == "BootNotification" and r.answer])
                                   > n_boot, timeout=10, cp_id=self.cp)
            if self.clock == "virtual":
                await self.advance(0)      # the StatusNotifications that follow

    async def stop(self) -> int:
        sim, self.sim = self.sim, None
        if sim is None:
            return 0
        return int(await self._thread(sim.shutdown))

    async def kill(self) -> None:
        """kill -9: SIGKILL, no chance to save anything."""
        sim, self.sim = self.sim, None
        assert sim is not None and sim.proc is not None
        sim.proc.kill()
        await self._thread(sim.proc.wait, 5)
        sim.kill()
        # the Central System notices the dead TCP connection
        await self.cs.wait_for(lambda rs: not self.cs.connected(self.cp), timeout=10)

    async def close(self) -> None:
        try:
            await self.stop()
        finally:
            for s in self.sims:
                s.kill()
            await self.cs.stop()

    # ---- simulator ops -----------------------------------------------------------
    async def op(self, op: str, **kw: Any) -> Dict[str, Any]:
        assert self.sim is not None, "simulator not running"
        return dict(await self._thread(self.sim.call, op, **kw))

    async def request(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        assert self.sim is not None
        return dict(await self._thread(self.sim.request, obj))

    async def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.vnow += seconds
        await self.op("advance", seconds=seconds)
        # the station's own idea of time wins (it may have been set by the CS)
        st = await self.op("status")
        self.vnow = max(self.vnow, parse_iso(st["time"]))

    async def status(self) -> Dict[str, Any]:
        return await self.op("status")

    async def connector(self, n: int = 1) -> Dict[str, Any]:
        return dict((await self.status())["connectors"][n - 1])

    def iso_now(self) -> str:
        return iso(self.vnow)

    async def config(self, key: str) -> Any:
        return (await self.op("config", key=key))["value"]

    # ---- Central System ------------------------------------------------------------
    async def call(self, action: str, payload: Optional[dict] = None, **fields: Any) -> dict:
        return await self.cs.call(self.cp, action, payload, **fields)

    def calls(self, action: Optional[str] = None) -> List[Record]:
        return self.cs.calls(action, self.cp)

    def payloads(self, action: str) -> List[dict]:
        return [r.payload for r in self.calls(action)]

    def tx_calls(self) -> List[Record]:
        return [r for r in self.calls() if r.action in ("StartTransaction", "StopTransaction",
                                                         "MeterValues")
                and (r.action != "MeterValues" or "transactionId" in r.payload)]

    async def wait_call(self, action: str, n: int = 1, timeout: float = 10.0,
                        pred: Optional[Callable[[dict], bool]] = None) -> List[dict]:
        """Wait until at least n CALLs of `action` (matching pred) arrived."""
        def ok(rs: List[Record]) -> Any:
            got = [r.payload for r in rs if r.kind == "call" and r.action == action
                   and (pred is None or pred(r.payload))]
            return got if len(got) >= n else None
        return list(await self.cs.wait_for(ok, timeout=timeout, cp_id=self.cp))

    def statuses(self, connector: int) -> List[str]:
        return [p["status"] for p in self.payloads("StatusNotification")
                if p["connectorId"] == connector]

    # ---- scenarios -------------------------------------------------------------------
    async def plug_ev(self, connector: int = 1, state: str = "B", amps: float = 16) -> None:
        await self.op("plug", connector=connector, cable_amps=32)
        await self.op("ev", connector=connector, state=state, max_current=amps, phases=3)

    async def card_start(self, connector: int = 1, tag: str = TAG) -> int:
        """EV plugged (B), card presented, EV charging (C): returns the
        transaction id the Central System assigned."""
        n = len(self.calls("StartTransaction"))
        await self.plug_ev(connector)
        await self.op("rfid", reader=1 if connector == 1 or self.model == "sscu" else connector,
                      id=tag)
        await self.advance(1)
        starts = await self.wait_call("StartTransaction", n + 1)
        await self.op("ev", connector=connector, state="C", max_current=16, phases=3)
        await self.advance(1)
        txid = (await self.connector(connector))["transaction_id"]
        assert isinstance(txid, int) and txid > 0, starts
        return txid


def rig_run(tmp_path, body: Callable[[Rig], Any], timeout: float = 90.0, **kw: Any) -> Rig:
    """Run `await body(rig)` with a fresh Central System and simulator, then
    shut both down and check that nothing broke OCPP-J."""
    async def main() -> Rig:
        rig = Rig(tmp_path, **kw)
        try:
            await asyncio.wait_for(body(rig), timeout)
        finally:
            await rig.close()
        return rig
    rig = asyncio.run(main())
    assert rig.cs.violations == [], rig.cs.violations
    return rig


async def until(rig: Rig, pred: Callable[[], Any], timeout: float = 10.0, step: float = 0.0) -> Any:
    """Let real time pass (file transfers run in real time even on the
    virtual clock), advancing virtual time by `step` each round, until
    pred() is truthy."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("condition not met within %ss; last calls: %s" % (
                timeout, [(r.action, r.payload) for r in rig.calls()[-6:]]))
        await asyncio.sleep(0.05)
        await rig.advance(step)
