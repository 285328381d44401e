# A real Station (evse.station) on the simulated board with a virtual clock,
# for the session lifecycle tests (test_session*.py). The OCPP client is never
# started: the station stays offline, so transaction messages stay queued in
# station.journal (read with txs()). Plain class, no fixtures: pytest and the
# Unix-port runner both use it.
from support import tmpdir

from evse.config.store import Config
from evse.hal.sim import SimBoard
from evse.station import Station


def _text(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


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
            if remaining <= 0:
                break
            d = max(1, min(st.next_deadline_ms(), remaining))
            self.clock.advance_ms(d)
            remaining -= d

    def settle(self) -> None:
        """An input changed: let debounces, lock and contactor finish."""
        self.run(2)

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
        self.st.step()
        return res

    # ---- observation ----------------------------------------------------------
    def session(self, c: int = 1):
        return self.st.sessions[c - 1]

    def conn(self, c: int = 1):
        return self.st.connectors[c - 1]

    def status(self, c: int = 1) -> str:
        return self.st.connector_status_name(c)

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
            m.save(self.clock.ticks_ms())
        return Rig(self.model, self.dir)
