"""The simulator's command line and control channel (SIMULATOR.md), on the Unix port."""
import json
import os
import socket
import subprocess
import sys

import pytest

from simclient import FIRMWARE, ROOT, SimError, Simulator, free_port, micropython_bin


def run_sim(args, timeout=20):
    env = dict(os.environ, MICROPYPATH=FIRMWARE)
    return subprocess.run([micropython_bin(), "-m", "evsesim.sim"] + args, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_ready_status_config_advance_and_persistence(tmp_path):
    state = str(tmp_path / "state")
    with Simulator(["--clock", "virtual", "--set", "HeartBeatInterval=60"], state_dir=state) as sim:
        st = sim.status()
        assert st["model"] == "dscu"
        assert len(st["connectors"]) == 2
        assert st["time"] == "2026-01-01T00:00:00Z"
        assert st["connectors"][0]["status"] == "Available"
        cfg = sim.call("config", key="HeartBeatInterval")
        assert cfg["value"] == "60" and cfg["readonly"] is False
        sim.call("advance", seconds=3600)
        assert sim.status()["time"] == "2026-01-01T01:00:00Z"
        sim.call("advance", seconds=0.5)
    # a second start with the same state directory is a power cycle
    with Simulator(["--clock", "virtual", "--model", "sscu"], state_dir=state) as sim:
        assert sim.call("config", key="HeartBeatInterval")["value"] == "60"
        assert len(sim.status()["connectors"]) == 1


def test_invalid_set_exits_2_naming_the_key(tmp_path):
    r = run_sim(["--state-dir", str(tmp_path), "--set", "HeartBeatInterval=abc"])
    assert r.returncode == 2
    assert "HeartBeatInterval" in r.stderr
    r = run_sim(["--state-dir", str(tmp_path), "--set", "NoSuchKey=1"])
    assert r.returncode == 2 and "NoSuchKey" in r.stderr
    r = run_sim(["--state-dir", str(tmp_path), "--set", "ChargePointVendor"])
    assert r.returncode == 2
    r = run_sim(["--state-dir", str(tmp_path), "--model", "xyz"])
    assert r.returncode == 2


def test_bad_requests_get_ok_false_and_station_survives(tmp_path):
    with Simulator(["--clock", "virtual"], state_dir=str(tmp_path)) as sim:
        for req in ({"op": "nope"}, {"op": "plug"}, {"op": "plug", "connector": 9},
                    {"op": "ev", "connector": 1, "state": "Z"}, {"op": "config", "key": "Nope"},
                    {"op": "advance", "seconds": -1}, {"op": "fault", "name": "nope", "active": True},
                    {"no": "op"}):
            r = sim.request(req)
            assert r["ok"] is False and r["error"], req
        assert sim.sock is not None
        sim.sock.sendall(b"this is not json\n[1,2]\n")
        assert json.loads(sim.rfile.readline())["ok"] is False
        assert json.loads(sim.rfile.readline())["ok"] is False
        assert sim.status()["ok"] is True


def test_advance_needs_virtual_clock(tmp_path):
    with Simulator([], state_dir=str(tmp_path)) as sim:
        r = sim.request({"op": "advance", "seconds": 1})
        assert r["ok"] is False and "virtual" in r["error"]


def test_cpython_runs_the_same_simulator(tmp_path):
    with Simulator(["--clock", "virtual", "--model", "sscu"], state_dir=str(tmp_path), runtime="cpython") as sim:
        assert sim.status()["connectors"][0]["status"] == "Available"
