"""The call count of one card-started charging session (docs/architecture.md).

A simulated DSCU on the virtual clock, online to a fake Central System that
answers on the OCPP client's synchronous core (as host_tests/unit/session_rig.py
does, no socket): the EV plugs in, a card is presented, it charges for a few
minutes, the card again stops it, the EV leaves. CPython's sys.setprofile
counts every Python call into firmware/evse during the session (the boot is
not counted) and prints:

  calls       total Python calls in firmware/evse
  functions   distinct functions called
  modules     distinct modules touched
  up-calls    calls from another module into station.py (total, distinct)

Usage: PYTHONPATH=firmware python tools/callcount.py [--minutes N] [--top N]
"""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FW = os.path.join(os.path.dirname(HERE), "firmware")
if FW not in sys.path:
    sys.path.insert(0, FW)
PKG = os.path.join(FW, "evse") + os.sep
STATION = os.path.join(PKG, "station.py")

from evse.config.store import Config   # noqa: E402
from evsesim.hal.sim import SimBoard      # noqa: E402
from evse.station import Station       # noqa: E402


class CS:
    """A Central System that accepts everything."""

    def __init__(self) -> None:
        self.next_tx = 100
        self.seen: list = []


    def answer(self, action: str, payload: dict) -> dict:
        self.seen.append(action)
        if action == "Authorize":
            return {"idTagInfo": {"status": "Accepted"}}
        if action == "StartTransaction":
            self.next_tx += 1
            return {"transactionId": self.next_tx, "idTagInfo": {"status": "Accepted"}}
        if action == "StopTransaction":
            return {"idTagInfo": {"status": "Accepted"}}
        if action == "Heartbeat":
            return {"currentTime": "2026-01-01T00:00:00Z"}
        return {}


def pump(st, cs) -> None:
    oc = st.ocpp
    clock = st.clock
    for _ in range(100):
        oc.pump(clock.ticks_ms())
        oc.outbox = []
        p = oc.pending
        if p is None or p.waited:
            return
        p.waited = True
        oc.on_text(json.dumps([3, p.msg_id, cs.answer(p.action, p.payload)]))
        oc.outbox = []


def run(st, cs, seconds: float) -> None:
    remaining = int(seconds * 1000)
    while True:
        st.step()
        pump(st, cs)
        st.step()
        if remaining <= 0:
            break
        d = max(1, min(st.next_deadline_ms(), remaining))
        st.clock.advance_ms(d)
        remaining -= d


def session(st, board, cs, minutes: int) -> None:
    io = board.connectors[0]
    io.plug(32)
    run(st, cs, 2)
    io.set_ev("B", 16, 3, True)
    run(st, cs, 2)
    st.rfid(1, "CARD01")
    run(st, cs, 3)
    io.set_ev("C", 16, 3, True)
    run(st, cs, minutes * 60)
    st.rfid(1, "CARD01")
    run(st, cs, 3)
    io.set_ev("A", 16, 3, True)
    run(st, cs, 2)
    io.unplug(False)
    run(st, cs, 2)


def main(argv) -> int:
    minutes = 3
    top = 0
    i = 0
    while i < len(argv):
        if argv[i] == "--minutes":
            minutes = int(argv[i + 1])
            i += 1
        elif argv[i] == "--top":
            top = int(argv[i + 1])
            i += 1
        i += 1
    d = tempfile.mkdtemp(prefix="callcount")
    board = SimBoard(2, d, True)
    config = Config(board.storage, model="dscu")
    st = Station(board, config, "dscu")
    cs = CS()
    oc = st.ocpp
    oc.connected = True
    oc.registered = True
    oc.boot_status = "Accepted"
    run(st, cs, 1)

    calls: dict = {}        # (file, name) -> count
    edges: dict = {}        # (caller file, callee name) -> count, into station.py

    def prof(frame, event, arg):
        if event != "call":
            return
        co = frame.f_code
        fn = co.co_filename
        if not fn.startswith(PKG):
            return
        k = (fn, co.co_name)
        calls[k] = calls.get(k, 0) + 1
        if fn == STATION:
            b = frame.f_back
            if b is not None:
                cf = b.f_code.co_filename
                if cf.startswith(PKG) and cf != STATION:
                    e = (cf[len(PKG):], co.co_name)
                    edges[e] = edges.get(e, 0) + 1

    sys.setprofile(prof)
    try:
        session(st, board, cs, minutes)
    finally:
        sys.setprofile(None)
    assert "StartTransaction" in cs.seen and "StopTransaction" in cs.seen, cs.seen
    total = sum(calls.values())
    mods = set(k[0] for k in calls)
    up = sum(edges.values())
    print("one card-started session, DSCU, %d min charging" % minutes)
    print("calls      %d" % total)
    print("functions  %d" % len(calls))
    print("modules    %d" % len(mods))
    print("up-calls   %d (%d distinct) from other modules into station.py" % (up, len(edges)))
    for (cf, name), n in sorted(edges.items(), key=lambda x: -x[1]):
        print("  %6d  %s -> Station.%s" % (n, cf, name))
    if top:
        print("busiest functions:")
        for (fn, name), n in sorted(calls.items(), key=lambda x: -x[1])[:top]:
            print("  %6d  %s %s" % (n, fn[len(PKG):], name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
