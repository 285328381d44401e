"""The simulator as CSMS teams drive it by hand: tools/console.py (scripts
from a file), the `help` op and its errors, `evsesim.sim --help`, the event log
(--events) and its picture (tools/plot_session.py), and `make sim`."""
import json
import os
import subprocess
import sys

from plot_session import counts, load, render
from simclient import FIRMWARE, ROOT, Simulator, micropython_bin

PY = sys.executable
TOOLS = os.path.join(ROOT, "tools")


def console(args, script=None, timeout=60):
    cmd = [PY, os.path.join(TOOLS, "console.py")] + args
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          input="" if script is None else None)


SESSION = """\
# an offline session on the virtual clock, card from the local cache
help fault
plug 1
ev 1 B max_current=16
advance 5
expect c1.status=Preparing c1.pilot=B
rfid 1 CARD-01            # accepted offline (LocalAuthorizeOffline)
ev 1 C max_current=16 phases=3
advance 600
status
expect c1.status=Charging c1.pilot=C c1.offered_a=16 c1.contactor=true c1.id_tag=CARD-01
watch every=0 advance=60 count=2
ev 1 B
advance 5
expect c1.status=SuspendedEV c1.current_a.0=0
"""


def test_console_script_drives_a_session_and_shows_the_status_table(tmp_path):
    script = tmp_path / "session.txt"
    script.write_text(SESSION)
    r = console(["--script", str(script), "--state-dir", str(tmp_path / "state"), "--",
                 "--clock", "virtual", "--model", "sscu", "--set", "AllowOfflineTxForUnknownId=true"])
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "fault: inject or clear a hardware fault" in out and "lock_stuck" in out
    assert "ok: c1.status=Charging c1.pilot=C" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("1 ") and "Charging" in ln]
    assert rows and "16.0/16.0/16.0" in rows[0] and "CARD-01" in rows[0]
    # the watch refreshes moved time: 600 s of 16 A x 3 at 230 V, then 2 x 60 s more
    wh = [int(ln.split()[6]) for ln in rows]
    assert wh[0] < wh[-1] and 1700 <= wh[-1] <= 2300, rows


def test_console_script_stops_at_the_first_error_with_its_line(tmp_path):
    script = tmp_path / "bad.txt"
    script.write_text("plug 1\n\n# comment\nfault stuck_lock true\nplug 1\n")
    r = console(["--script", str(script), "--", "--clock", "virtual", "--model", "sscu",
                 "--state-dir", str(tmp_path / "s")])
    assert r.returncode == 1
    assert "bad.txt:4:" in r.stderr and "stuck_lock" in r.stderr and "lock_stuck" in r.stderr
    script.write_text("plug 1\nexpect c1.status=Charging\n")
    r = console(["--script", str(script), "--", "--clock", "virtual", "--model", "sscu",
                 "--state-dir", str(tmp_path / "s")])
    assert r.returncode == 1 and "bad.txt:2: expected c1.status=Charging" in r.stderr


def test_console_attaches_to_a_running_simulator(tmp_path):
    with Simulator(["--clock", "virtual", "--model", "sscu"], state_dir=str(tmp_path)) as sim:
        script = tmp_path / "s.txt"
        script.write_text("plug 1\nev 1 B\nadvance 5\nexpect c1.status=Preparing\n")
        r = console(["--connect", "127.0.0.1:%d" % sim.port, "--script", str(script)])
        assert r.returncode == 0, r.stderr
        assert sim.connector(1)["status"] == "Preparing"      # still running, still ours


def test_help_op_lists_every_op_the_simulator_dispatches(tmp_path):
    with Simulator(["--clock", "virtual"], state_dir=str(tmp_path)) as sim:
        h = sim.call("help")
        names = [o["op"] for o in h["ops"]]
        for op in names:        # every listed op is dispatched (none answers "unknown op")
            r = sim.request({"op": op, "bogus_probe": 1} if op != "shutdown" else {"op": "help"})
            assert "unknown op" not in str(r.get("error")), op
        r = sim.request({"op": "nope"})
        assert r["ok"] is False and "valid ops: " + " ".join(names) in r["error"]
        r = sim.request({"op": "fault", "name": "nope", "active": True})
        assert r["ok"] is False and "valid faults: " + " ".join(h["faults"]) in r["error"]
        assert [a["values"] for a in h["ops"][0]["args"]][0] == [1, 2]


def test_sim_help_prints_every_option_and_op():
    env = dict(os.environ, MICROPYPATH=".frozen:" + FIRMWARE)
    r = subprocess.run([micropython_bin(), "-m", "evsesim.sim", "--help"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    for opt in ("--csms", "--id", "--model", "--state-dir", "--control", "--set", "--modbus",
                "--clock", "--rs485", "--web", "--journal-bytes", "--events", "--help"):
        assert opt + " " in r.stdout, opt
    for op in ("plug", "unplug", "ev", "rfid", "input", "voltage", "grid", "temperature", "fault",
               "datatransfer", "advance", "status", "config", "mem", "help", "shutdown"):
        assert "\n  " + op in r.stdout, op
    assert "contactor_welded" in r.stdout


def test_simclient_help_prints_usage():
    r = subprocess.run([PY, os.path.join(TOOLS, "simclient.py"), "--help"], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0 and r.stdout.startswith("usage: simclient.py")


def test_event_log_of_a_session_and_its_plot(tmp_path):
    events = str(tmp_path / "events.jsonl")
    with Simulator(["--clock", "virtual", "--model", "sscu", "--set", "TaglessCharging=true",
                    "--events", events], state_dir=str(tmp_path / "state")) as sim:
        sim.call("plug", connector=1)
        sim.call("ev", connector=1, state="C", max_current=10, phases=3)
        sim.call("advance", seconds=120)
        sim.call("ev", connector=1, state="B")      # the EV stops drawing
        sim.call("advance", seconds=5)
    recs = load(events)
    assert recs[0]["k"] == "start" and recs[0]["clock"] == "virtual" and recs[0]["model"] == "sscu"
    samples = [r for r in recs if r["k"] == "sample"]
    charging = [r for r in samples if r["status"] == "Charging"]
    # the station offers 16 A (26.7 % duty), the EV draws its own 10 A
    assert charging and charging[-1]["pilot"] == "C" and charging[-1]["offered_a"] == [16.0, 16.0, 16.0]
    assert charging[-1]["drawn_a"] == [10.0, 10.0, 10.0] and charging[-1]["duty"] == 26.7
    assert max(r["wh"] for r in samples) >= 130           # 2 min of 3 x 10 A at 230 V: 138 Wh
    assert [r["t"] for r in recs] == sorted(r["t"] for r in recs)
    assert all("ts" in r for r in recs)
    changes = [(r["from"], r["status"]) for r in recs if r["k"] == "status"]
    assert changes[-2:] == [("SuspendedEVSE", "Charging"), ("Charging", "SuspendedEV")], changes
    assert samples[-1]["drawn_a"] == [0.0, 0.0, 0.0] and samples[-1]["pilot"] == "B"
    assert [r["op"] for r in recs if r["k"] == "op"] == ["plug", "ev", "advance", "ev", "advance", "shutdown"]
    png = str(tmp_path / "s.png")
    info = render(events, png)
    assert info["records"] == len(recs) and info["kinds"]["sample"] == len(samples)
    assert info["connectors"] == [1] and info == counts(recs)
    with open(png, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and 10000 < len(data) < 150000


def test_make_sim_runs_the_session_and_draws_it(tmp_path):
    r = subprocess.run([PY, os.path.join(TOOLS, "sim_demo.py"), "--out", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "SetChargingProfile TxProfile 10 A -> Accepted" in out and "no OCPP schema violations" in out
    plot = [ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("plot: ")]
    assert plot and os.path.getsize(plot[0]) > 10000
    with open(plot[0], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    recs = load(os.path.join(str(tmp_path), "events.jsonl"))
    ocpp = {(r["dir"], r["action"]) for r in recs if r["k"] == "ocpp"}
    for msg in (("out", "BootNotification"), ("out", "StartTransaction"), ("in", "SetChargingProfile"),
                ("out", "StopTransaction")):
        assert msg in ocpp, msg
    offered = [r["offered_a"][0] for r in recs if r["k"] == "sample" and r["status"] == "Charging"]
    assert 16.0 in offered and offered[-1] == 10.0
    json.dumps(recs)
