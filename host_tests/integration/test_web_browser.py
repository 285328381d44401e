"""The local management website in a real browser (issue: browser tests in
`make test`): tools/web_browser.js drives Chromium with playwright-core
through the website the simulator serves (`evsesim.sim --web`): log in, find and
change keys (Accepted, RebootRequired, Rejected with its reason, a warning),
add and remove a local list entry, watch a session's current appear on the
live status page, every page at 1280 px and 375 px (no horizontal overflow),
a reset that ends the session, log out. Screenshots go to build/screenshots/.
The Makefile installs playwright-core (npm ci) and the distribution's
chromium."""
import json
import os
import subprocess

from simclient import Simulator, free_port

PW = "$r33nFI^x"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(ROOT, "build", "screenshots")


def test_field_engineer_session_in_chromium(tmp_path):
    assert os.path.exists(CHROMIUM), "chromium is missing: make test installs it (apt-get install chromium)"
    port = free_port()
    s = Simulator(["--clock", "virtual", "--model", "dscu", "--web", "127.0.0.1:%d" % port,
                   "--set", "OfflineMode=true", "--set", "TaglessCharging=true",
                   "--set", "LocalAuthListEnabled=true"], state_dir=str(tmp_path / "state"))
    steps = []
    with s:
        p = subprocess.Popen(["node", os.path.join(ROOT, "tools", "web_browser.js"),
                              "http://127.0.0.1:%d" % port, PW, SHOTS, CHROMIUM],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT)
        try:
            done = None
            for line in p.stdout:
                msg = json.loads(line)
                steps.append(msg)
                need = msg.get("need")
                if need == "charge":
                    s.call("plug", connector=1, cable_amps=32)
                    s.call("ev", connector=1, state="B", max_current=16, phases=3)
                    s.call("advance", seconds=1)
                    s.call("ev", connector=1, state="C", max_current=16, phases=3)
                    s.call("advance", seconds=60)
                elif need == "reboot":
                    s.call("advance", seconds=2)
                if need:
                    p.stdin.write(json.dumps({"ok": True}) + "\n")
                    p.stdin.flush()
                if msg.get("done"):
                    done = msg
            rc = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
        err = p.stderr.read()
        assert rc == 0 and done is not None, (steps, err)
        # what the browser changed is what the station has
        assert s.call("config", key="HeartBeatInterval")["value"] == "300"
    names = sorted(os.path.basename(f) for f in done["screenshots"])
    assert names == sorted("%s-%d.png" % (n, w) for n in ("status", "config", "locallist", "actions", "log")
                           for w in (1280, 375))
    for f in done["screenshots"]:
        assert os.path.getsize(f) > 5000, f
    assert [m["step"] for m in steps if "step" in m] == [
        "logged in", "configuration changed", "local list entry added and removed",
        "session current seen", "screenshots", "reset, logged in again", "logged out"]
