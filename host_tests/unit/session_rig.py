# A real Station (evse.station) on the simulated board with a virtual clock,
# for the session lifecycle tests (test_session*.py). The OCPP client is never
# started: the station stays offline, so transaction messages stay queued in
# station.journal (read with txs()). Plain class, no fixtures: pytest and the
# Unix-port runner both use it.
#
# online(cs) puts a fake Central System on the client's synchronous core
# (OcppClient.pump / on_text, no socket): cs.answer(action, payload) returns
# the .conf payload, or None to leave the CALL unanswered (it times out).
import json

from support import tmpdir

from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.station import Station


def _text(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)



def answer_calls(oc, cs, clock, sent: list, rounds: int = 100) -> None:
    """Let the OCPP client's synchronous core send its CALLs to a fake Central
    System (cs.answer(action, payload) -> conf or None) and feed the answers
    back, as the async shell would; no socket. Each CALL is recorded in sent."""
    for _ in range(rounds):
        oc.pump(clock.ticks_ms())
        oc.outbox = []
        p = oc.pending
        if p is None or p.waited:
            return
        p.waited = True                  # asked the fake CS once
        sent.append((p.action, p.payload))
        conf = cs.answer(p.action, p.payload)
        if conf is None:
            return                       # unanswered: MessageResponseTimeOut
        oc.on_text(json.dumps([3, p.msg_id, conf]))
        oc.outbox = []


class Rig:
    def __init__(self, model: str = "sscu", state_dir=None, **cfg) -> None:
        self.model = model
        self.dir = state_dir or tmpdir("sess")
        self.n = 1 if model == "sscu" else 2
        self.cfg = dict(cfg)
        self.board = SimBoard(self.n, self.dir, True)
        c = Config(self.board.storage, model=model)
        for k in cfg:
            r = c.change(k, _text(cfg[k]))
            assert r in ("Accepted", "RebootRequired"), (k, cfg[k], r)
        if cfg:   # boot with the stored configuration, as after a power cycle
            c = Config(self.board.storage, model=model)
        self.config = c
        self.st = Station(self.board, c, model)
        self.clock = self.board.clock
        self.cs = None
        self.sent = []          # (action, payload) sent while online
        self.st.step()
        self.run(1)

    # ---- time ----------------------------------------------------------------
    def run(self, seconds: float) -> None:
        """Advance virtual time, jumping from one deadline to the next (like
        Station.advance, without the network)."""
        st = self.st
        remaining = int(seconds * 1000)
        while True:
            st.step()
            if self.cs is not None:
                self._pump()
                st.step()
            if remaining <= 0:
                break
            d = max(1, min(st.next_deadline_ms(), remaining))
            self.clock.advance_ms(d)
            remaining -= d

    def settle(self) -> None:
        """An input changed: let debounces, lock and contactor finish."""
        self.run(2)

    # ---- a fake Central System ---------------------------------------------------
    def online(self, cs) -> None:
        oc = self.st.ocpp
        oc.connected = True
        oc.registered = True
        oc.boot_status = "Accepted"
        self.cs = cs
        self.run(0)

    def offline(self) -> None:
        oc = self.st.ocpp
        oc.connected = False
        oc._lost()
        self.cs = None

    def _pump(self) -> None:
        answer_calls(self.st.ocpp, self.cs, self.clock, self.sent)

    def calls(self, action: str) -> list:
        return [p for a, p in self.sent if a == action]

    # ---- the outside world ------------------------------------------------------
    def cio(self, c: int):
        return self.board.connectors[c - 1]

    def plug(self, c: int = 1, amps: int = 32) -> None:
        self.cio(c).plug(amps)
        self.settle()

    def unplug(self, c: int = 1, force: bool = False) -> bool:
        ok = self.cio(c).unplug(force)
        self.settle()
        return ok

    def ev(self, c: int, state: str, amps: int = 16, phases: int = 3) -> None:
        self.cio(c).set_ev(state, amps, phases, True)
        self.settle()

    def arrive(self, c: int = 1) -> None:
        """Cable in, EV connected (state B)."""
        self.plug(c)
        self.ev(c, "B")

    def leave(self, c: int = 1) -> None:
        """EV disconnects (A), then the cable is taken out if the lock lets it."""
        self.ev(c, "A")
        self.unplug(c)

    def card(self, tag: str, reader: int = 1) -> dict:
        res = self.st.rfid(reader, tag)
        self.run(0)
        self.lock_in()
        return res

    def lock_in(self, limit_ms: int = 3000) -> None:
        """A session waiting for its cable lock (the transaction starts once
        the safety core confirms it): let the lock move, in 10 ms steps."""
        while limit_ms > 0 and any(s.locking for s in self.st.sessions):
            self.clock.advance_ms(10)
            limit_ms -= 10
            self.run(0)

    # ---- observation ----------------------------------------------------------
    def session(self, c: int = 1):
        return self.st.sessions[c - 1]

    def conn(self, c: int = 1):
        return self.st.connectors[c - 1]

    def status(self, c: int = 1) -> str:
        return self.st.status_report.name(c)

    def led(self, c: int = 1) -> dict:
        return self.st.indicators.led_state(c - 1)

    def energy(self, c: int = 1) -> float:
        return self.st.meters[c - 1].energy_wh()

    def txs(self, action=None) -> list:
        """Queued transaction messages [(action, payload)], oldest first."""
        return [(e[1], e[4]) for e in self.st.journal.entries()
                if action is None or e[1] == action]

    def starts(self) -> list:
        return [p for a, p in self.txs("StartTransaction")]

    def stops(self) -> list:
        return [p for a, p in self.txs("StopTransaction")]

    def reasons(self) -> list:
        return [p.get("reason") for p in self.stops()]

    def reboot(self) -> "Rig":
        """Power cycle: a new station on the same state directory."""
        for m in self.st.meters:
            m.save(self.clock.ticks_ms(), True)
        return Rig(self.model, self.dir)


class FakeCS:
    """Answers like tools/csms.py: Authorize/StartTransaction from `tags`
    ({idTag: status}, default auth_default); start_tags overrides the
    StartTransaction.conf status; silent actions are never answered."""

    def __init__(self, tags=None, auth_default="Accepted", start_tags=None) -> None:
        self.tags = dict(tags or {})
        self.auth_default = auth_default
        self.start_tags = dict(start_tags or {})
        self.silent = []
        self.next_tx = 100

    def info(self, tag, start=False) -> dict:
        if start and tag in self.start_tags:
            return {"status": self.start_tags[tag]}
        return {"status": self.tags.get(tag, self.auth_default)}

    def answer(self, action: str, payload: dict):
        if action in self.silent:
            return None
        if action == "Authorize":
            return {"idTagInfo": self.info(payload["idTag"])}
        if action == "StartTransaction":
            self.next_tx += 1
            return {"transactionId": self.next_tx, "idTagInfo": self.info(payload["idTag"], True)}
        if action == "StopTransaction":
            tag = payload.get("idTag")
            return {"idTagInfo": self.info(tag)} if tag else {}
        if action == "Heartbeat":
            return {"currentTime": "2026-01-01T00:00:00Z"}
        return {}
