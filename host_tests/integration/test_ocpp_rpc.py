"""End-to-end sessions against a second, independent Central System: ocpp-rpc
(Node.js) in strict mode, which validates every message with its own OCPP 1.6
schemas (tools/csms_rpc.js, wrapped by rpc_rig.py). Every test also checks
each CALL the station sent against the Python `ocpp` library's schemas, the
way tools/csms.py does."""
from __future__ import annotations

import asyncio
import copy
import json
import os
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from ocpp.messages import Call, validate_payload

from csms import OCPP_VERSION
from rpc_rig import RpcCentralSystem
from simclient import Simulator

TAG = "TAG0001"


def _check_clean(cs: RpcCentralSystem) -> None:
    assert cs.violations() == [], cs.violations()
    calls = cs.calls()
    assert calls, "no CALL recorded"
    for i, c in enumerate(calls):
        # raises an OCPPError (test failure) when the payload breaks its schema
        asyncio.run(validate_payload(Call(str(i), c["action"], copy.deepcopy(c["params"])),
                                     OCPP_VERSION))


@pytest.fixture
def rig(tmp_path) -> Iterator[Tuple[RpcCentralSystem, Simulator]]:
    cs = RpcCentralSystem()
    cs.start()
    state = str(tmp_path / "state")
    os.makedirs(state, exist_ok=True)
    sim = Simulator(["--id", "CP1", "--model", "sscu", "--clock", "virtual",
                     "--csms", cs.url(), "--set", "WebSocketPingInterval=0",
                     "--set", "ClockAlignedDataInterval=0"], state_dir=state)
    try:
        sim.start()
        sim.call("advance", seconds=0)
        cs.wait_call("BootNotification")
        sim.call("advance", seconds=1)
        yield cs, sim
        _check_clean(cs)
    finally:
        try:
            sim.shutdown()
        finally:
            sim.kill()
            cs.stop()


def test_rpc_boot_and_status_of_every_connector(rig) -> None:
    cs, sim = rig
    n = len(sim.status()["connectors"])
    got: List[Dict[str, Any]] = cs.wait_call("StatusNotification", n + 1)
    assert {p["connectorId"] for p in got} == set(range(n + 1))
    assert all(p["errorCode"] == "NoError" for p in got)
    boot = cs.calls("BootNotification")[0]["params"]
    assert boot["chargePointVendor"] and boot["chargePointModel"]
    _check_clean(cs)


def test_rpc_card_session(rig) -> None:
    cs, sim = rig
    sim.call("plug", connector=1, cable_amps=32)
    sim.call("ev", connector=1, state="B", max_current=16, phases=3)
    sim.call("rfid", reader=1, id=TAG)
    sim.call("advance", seconds=1)
    start = cs.wait_call("StartTransaction")[0]
    assert start["connectorId"] == 1 and start["idTag"] == TAG
    sim.call("ev", connector=1, state="C", max_current=16, phases=3)
    sim.call("advance", seconds=1)
    txid = sim.connector(1)["transaction_id"]
    assert txid == 1
    for _ in range(4):
        sim.call("advance", seconds=60)
    mv = cs.wait_call("MeterValues")
    assert any(p.get("transactionId") == txid for p in mv), mv
    sim.call("rfid", reader=1, id=TAG)
    sim.call("advance", seconds=1)
    stop = cs.wait_call("StopTransaction")[0]
    assert stop["transactionId"] == txid
    assert stop["meterStop"] >= start["meterStart"]
    _check_clean(cs)


def test_rpc_configuration_and_trigger(rig) -> None:
    cs, sim = rig
    r = cs.call("GetConfiguration", {"key": ["HeartbeatInterval", "NoSuchKey"]})
    assert r["ev"] == "result", r
    keys = {k["key"]: k for k in r["result"].get("configurationKey", [])}
    assert "HeartbeatInterval" in keys and r["result"].get("unknownKey") == ["NoSuchKey"]
    r = cs.call("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "120"})
    assert r == {"ev": "result", "id": r["id"], "result": {"status": "Accepted"}}, r
    r = cs.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert r["result"]["configurationKey"][0]["value"] == "120", r
    n = len(cs.calls("Heartbeat"))
    r = cs.call("TriggerMessage", {"requestedMessage": "Heartbeat"})
    assert r["ev"] == "result" and r["result"] == {"status": "Accepted"}, r
    sim.call("advance", seconds=1)
    cs.wait_call("Heartbeat", n + 1)
    _check_clean(cs)


def test_rpc_messages_over_10kb_both_ways(rig) -> None:
    """1 KiB frames on the station's side: its 13 KB GetConfiguration answer
    goes out as fragments, a 10 KB DataTransfer (raw UTF-8, 1- to 4-byte
    characters) comes in as one frame and is parsed whole."""
    cs, sim = rig
    data = "".join("%05d \u00e9\u20ac\U0001f600|" % i for i in range(641))
    r = cs.call("DataTransfer", {"vendorId": "NoSuchVendor", "data": data})
    assert r["ev"] == "result" and r["result"] == {"status": "UnknownVendorId"}, r
    r = cs.call("GetConfiguration", {})
    assert r["ev"] == "result", r
    keys = r["result"]["configurationKey"]
    assert len(json.dumps(keys)) > 10000 and len(keys) > 150
    assert "HeartbeatInterval" in {k["key"] for k in keys}
    assert sim.status()["ocpp"]["connected"]
    assert len(cs.calls("BootNotification")) == 1
    _check_clean(cs)
