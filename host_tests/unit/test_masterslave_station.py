# RFID master/slave in process: two real SSCU Stations (evse.station) on two
# simulated boards with virtual clocks, joined by an in-memory RS485 bus
# (rs485_rig.MemBus as board.rs485). Time moves in lockstep on both; the
# OCPP clients are not started (offline: AllowOfflineTxForUnknownId lets
# unknown cards charge) unless a fake Central System is put on one.
import json

from rs485_rig import pair
from session_rig import FakeCS, answer_calls
from support import tmpdir

from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.services import masterslave as M
from evse.station import Station


class Unit:
    def __init__(self, role: int, bus, **cfg) -> None:
        self.board = SimBoard(1, tmpdir("ms%d" % role), True)
        self.board.rs485 = bus
        c = Config(self.board.storage, model="sscu")
        settings = {"RFIDMasterSlaveEnabled": "true", "RFIDMasterSlaveID": str(role)}
        settings.update(cfg)
        for k in settings:
            assert c.change(k, settings[k]) in ("Accepted", "RebootRequired"), k
        self.config = Config(self.board.storage, model="sscu")
        self.st = Station(self.board, self.config, "sscu")
        self.clock = self.board.clock
        self.cs = None
        self.sent = []

    def pump(self) -> None:
        """A fake Central System answers the client's CALLs (session_rig style)."""
        if self.cs is None:
            return
        answer_calls(self.st.ocpp, self.cs, self.clock, self.sent, 50)

    def online(self, cs) -> None:
        oc = self.st.ocpp
        oc.connected = True
        oc.registered = True
        oc.boot_status = "Accepted"
        self.cs = cs

    def txs(self, action: str) -> list:
        return [e[4] for e in self.st.journal.entries() if e[1] == action]

    def session(self):
        return self.st.sessions[0]


class Pair:
    def __init__(self, **cfg) -> None:
        mb, sb = pair()
        self.mbus, self.sbus = mb, sb
        self.m = Unit(M.MASTER, mb, **cfg)
        self.s = Unit(M.SLAVE, sb, **cfg)
        self.run(2)

    def run(self, seconds: float) -> None:
        """Both stations, clocks in lockstep, deadline to deadline."""
        a, b = self.m, self.s
        remaining = int(seconds * 1000)
        while True:
            for _ in range(3):                     # let frames cross at this instant
                a.st.step()
                b.st.step()
                a.pump()
                b.pump()
            if remaining <= 0:
                break
            d = max(1, min(a.st.next_deadline_ms(), b.st.next_deadline_ms(), remaining))
            a.clock.advance_ms(d)
            b.clock.advance_ms(d)
            remaining -= d

    def arrive(self, u) -> None:
        io = u.board.connectors[0]
        io.plug(32)
        io.set_ev("B", 16, 3, True)
        self.run(3)

    def card(self, tag: str) -> dict:
        res = self.m.st.rfid(1, tag)
        self.run(0)
        # the transaction starts once the cable lock is confirmed: let it move
        for _ in range(300):
            if not any(s.locking for u in (self.m, self.s) for s in u.st.sessions):
                break
            self.run(0.01)
        return res


def test_roles_come_from_the_configuration():
    p = Pair()
    assert p.m.st.link.role == "master" and p.s.st.link.role == "slave"
    assert p.m.st.link.online and p.s.st.link.online
    st = p.m.st.status()
    assert st["rs485"]["role"] == "master" and st["rs485"]["online"]
    assert p.s.st.status()["rs485"]["role"] == "slave"


def test_no_link_without_the_keys_or_on_a_dscu():
    b = SimBoard(1, tmpdir("ms0"), True)
    c = Config(b.storage, model="sscu")
    st = Station(b, c, "sscu")
    assert st.link is None and "rs485" not in st.status()
    b2 = SimBoard(2, tmpdir("ms0d"), True)
    c2 = Config(b2.storage, model="dscu")
    assert c2.change("RFIDMasterSlaveEnabled", "true") == "NotSupported"
    assert Station(b2, Config(b2.storage, model="dscu"), "dscu").link is None


def test_card_at_master_starts_and_stops_a_session_on_the_slave():
    p = Pair()
    p.arrive(p.s)                                  # the slave's EV waits for a card
    assert p.s.session().plug_wait
    res = p.card("CARD1")
    assert res["result"] == "pending"
    assert p.s.session().state == 2 and p.s.session().id_tag == "CARD1"   # TX
    assert p.m.session().state == 0
    assert [t["idTag"] for t in p.s.txs("StartTransaction")] == ["CARD1"]
    assert p.m.txs("StartTransaction") == []
    last = p.m.st.link.last_card
    assert last["unit"] == "slave" and last["result"] == "accepted"
    assert p.s.st.status_report.name(1) in ("SuspendedEV", "SuspendedEVSE", "Charging")
    p.run(5)                                       # past StartTransactionDelay (4 s)
    res = p.card("card1")                          # IdTokens are case-insensitive
    assert p.m.st.link.last_card["result"] == "stopped"
    assert [t["reason"] for t in p.s.txs("StopTransaction")] == ["Local"]
    assert p.m.session().state == 0                # nothing started at the master
    # right after the stop the same card is ignored (StartTransactionDelay)
    assert p.card("CARD1")["result"] == "ignored"
    assert p.m.session().state == 0


def test_card_at_master_with_its_own_ev_waiting_stays_local():
    p = Pair()
    p.arrive(p.m)
    p.arrive(p.s)
    p.card("CARD2")
    assert p.m.session().id_tag == "CARD2" and p.m.session().state == 2
    assert p.s.session().state == 0 and p.s.txs("StartTransaction") == []


def test_card_with_no_ev_anywhere_authorizes_the_master():
    p = Pair()
    p.card("CARD3")
    assert p.m.session().state == 1               # AUTHORIZED, waiting for the EV
    assert p.s.session().state == 0


def test_slave_local_reader_is_not_a_card_source():
    p = Pair()
    p.arrive(p.s)
    r = p.s.st.rfid(1, "X")
    assert r["result"] == "ignored"
    assert p.s.session().state == 0


def test_slave_reports_reader_failure_when_the_master_is_gone_and_recovers():
    p = Pair()
    assert p.s.st.status_report.fields(0)[0] == "NoError"
    p.mbus.cut = True                              # the master's frames no longer arrive
    p.run(M.POLL_MS * (M.LOST_POLLS + 2) / 1000)
    assert not p.s.st.link.online
    assert p.s.st.status_report.fields(0)[0] == "ReaderFailure"
    assert not p.m.st.link.online                  # and the master lost the slave
    # the master's cards are local now, synchronously
    p.arrive(p.s)
    r = p.card("CARD4")
    assert r["unit"] == "master" and p.s.session().state == 0
    p.mbus.cut = False
    p.run(2)
    assert p.s.st.link.online and p.m.st.link.online
    assert p.s.st.status_report.fields(0)[0] == "NoError"


def test_online_slave_card_pending_on_authorize_then_accepted():
    p = Pair()
    cs = FakeCS()
    p.s.online(cs)
    cs.silent.append("Authorize")                 # the answer is late
    p.arrive(p.s)
    p.card("NEWCARD")
    assert p.m.st.link.last_card["result"] == "pending"
    assert p.s.session().state == 0
    # the Authorize.conf arrives on the slave
    oc = p.s.st.ocpp
    pend = oc.pending
    assert pend is not None and pend.action == "Authorize"
    oc.on_text(json.dumps([3, pend.msg_id, {"idTagInfo": {"status": "Accepted"}}]))
    p.run(2)
    assert p.s.session().state == 2
    assert p.m.st.link.last_card["result"] == "accepted"


def test_next_deadline_is_bounded_by_the_poll_period():
    p = Pair()
    assert 0 <= p.m.st.next_deadline_ms() <= M.POLL_MS
    assert 0 <= p.s.st.link.next_deadline_ms(p.s.clock.ticks_ms()) <= p.s.st.link.lost_ms
