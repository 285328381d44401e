# The simulator's event log (`evsesim.sim --events FILE`, docs/simulator.md):
# one JSON object per line, for tools/plot_session.py and for reading.
#
#   {"t": 1200, "ts": "2026-01-01T00:00:01Z", "k": "sample", "c": 1, "pilot": "C",
#    "duty": 26.7, "offered_a": [16.0, 16.0, 16.0], "drawn_a": [16.0, 16.0, 16.0],
#    "wh": 12, "status": "Charging", "tx": 1}
#   {"t": 1200, "ts": ..., "k": "status", "c": 1, "status": "Charging", "from": "SuspendedEV"}
#   {"t": 1300, "ts": ..., "k": "ocpp", "dir": "out", "type": 2, "action": "MeterValues", "id": "..."}
#   {"t": 0, "ts": ..., "k": "op", "op": "plug", "req": {...}}   (control ops)
#   {"t": 0, "ts": ..., "k": "start" | "reboot", "model": "dscu", "clock": "virtual"}
#
# t: ms on the station's clock since the log started (virtual ms with
# --clock virtual). Off by default; when on, the station is sampled after
# each of its steps and a connector's sample is written only when something
# the picture shows changed (energy and currents at most once per second),
# so a virtual day costs a few thousand lines, not one per step.
import json

from evse.clock import iso8601
from evse.iocu import pilot as P
from evse.iocu import status as cstatus
from evse.ticks import ticks_diff
from evse.services.metering import phases

ENERGY_MS = 1000      # continuous values (energy, drawn current): at most one sample per second
MAX_IDS = 16          # outstanding CALL ids remembered to name their answers


class EventLog:
    def __init__(self, f, board) -> None:
        self.f = f            # a text file (evsesim.hal.sim_eventfile.open_events)
        self.board = board
        self.t0 = board.clock.ticks_ms()
        self.station = None
        self.last = []        # type: list  # per connector: (discrete key, energy key, t)
        self.ids = {}         # type: dict  # CALL message id -> action (both directions)

    # ---- writing ---------------------------------------------------------------
    def _head(self, kind: str) -> str:
        clock = self.board.clock
        return '{"t": %d, "ts": "%s", "k": "%s"' % (
            ticks_diff(clock.ticks_ms(), self.t0), iso8601(clock.now()), kind)

    def _write(self, head: str, body: str) -> None:
        f = self.f
        if f is None:
            return
        f.write(head)
        f.write(body)
        f.write("}\n")

    def mark(self, kind: str, fields: dict) -> None:
        body = ""
        for k in fields:
            body += ", " + json.dumps(k) + ": " + json.dumps(fields[k])
        self._write(self._head(kind), body)

    def op(self, req: dict) -> None:
        if req.get("op") in ("status", "help", "mem", "config"):
            return       # reads change nothing
        self._write(self._head("op"), ', "op": %s, "req": %s' % (
            json.dumps(req.get("op")), json.dumps(req)))
        self.f.flush()   # a reader following the file sees each op's effect

    # ---- the station --------------------------------------------------------------
    def attach(self, station, kind: str) -> None:
        """Follow a (new) station: after each step, and its OCPP frames."""
        self.station = station
        self.last = [None] * station.n
        step = station.step

        def stepped():
            step()
            self.sample()
        station.step = stepped          # instance attribute: Station.advance/_run_real call it
        station.ocpp.tap = self.frame
        self.mark(kind, {"model": station.model,
                         "clock": "virtual" if self.board.virtual else "real"})

    def sample(self) -> None:
        st = self.station
        if st is None or self.f is None:
            return
        now = self.board.clock.ticks_ms()
        three = phases(st.config) == 3
        for i, c in enumerate(st.mirrors):
            m = st.meters[i]
            status = cstatus.NAMES[st.status_report.derive(i)]
            tx = st.tx.transaction_id(st.sessions[i])
            disc = (c.pilot, c.duty_permille, c.offered_da, status, tx, bool(c.contactor_closed))
            wh = int(m.energy_wh())
            drawn = (m.current_a(0), m.current_a(1), m.current_a(2))
            last = self.last[i]
            if last is not None and last[0] == disc:
                if last[1] == (wh, drawn) or ticks_diff(now, last[2]) < ENERGY_MS:
                    continue
            if last is not None and last[0][3] != status:
                self._write(self._head("status"), ', "c": %d, "status": "%s", "from": "%s"' % (
                    i + 1, status, last[0][3]))
            self.last[i] = (disc, (wh, drawn), now)
            o = c.offered_da / 10
            off = "[%.1f, %.1f, %.1f]" % (o, o if three else 0, o if three else 0)
            self._write(self._head("sample"), (
                ', "c": %d, "pilot": "%s", "duty": %.1f, "offered_a": %s, "drawn_a": [%.1f, %.1f, %.1f]'
                ', "wh": %d, "status": "%s", "tx": %s, "contactor": %s') % (
                i + 1, P.NAMES[c.pilot] if c.pilot < len(P.NAMES) else "?", c.duty_permille / 10,
                off, drawn[0], drawn[1], drawn[2], wh, status,
                "null" if tx is None else str(tx), "true" if c.contactor_closed else "false"))

    def frame(self, direction: str, text: str) -> None:
        """An OCPP-J frame in or out (evse.ocpp.client tap): its type, id and
        action (answers named after their CALL)."""
        try:
            msg = json.loads(text)
            mtype = msg[0]
            mid = msg[1]
        except Exception:
            self._write(self._head("ocpp"), ', "dir": "%s", "type": 0, "action": null' % direction)
            return
        if mtype == 2:
            action = msg[2]
            if len(self.ids) >= MAX_IDS:
                self.ids.clear()
            self.ids[mid] = action
        else:
            action = self.ids.pop(mid, None)
        self._write(self._head("ocpp"), ', "dir": "%s", "type": %d, "action": %s, "id": %s' % (
            direction, mtype if type(mtype) is int else 0, json.dumps(action), json.dumps(mid)))

    def close(self) -> None:
        f = self.f
        if f is not None:
            self.sample()
            self.f = None
            f.close()
