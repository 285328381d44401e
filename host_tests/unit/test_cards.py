# Card routing (evse.services.cards.CardRouter) with real Sessions on fake
# connectors: one and two readers, stop by same card / group, pending
# Authorize.req and its timeout, reservations, StartTransactionDelay,
# ReaderFailure, RemoteStartTransaction.
from test_auth import FakeConfig, entry, info, make

from evse.services.auth import Authorizer
from evse.services.cards import CardRouter
from evse.services.reservations import Reservations
from evse.services.session import AUTHORIZED, FINISHING, IDLE, TX, Session

_PILOT_A = 1   # evse.iocu.pilot.A
_PILOT_B = 2   # evse.iocu.pilot.B


class FakeLock:
    fitted = False      # no actuator: the session starts at once


class FakeConnector:
    def __init__(self) -> None:
        self.pilot = _PILOT_A
        self.plugged = False
        self.operative = True
        self.flex_cable = True
        self.authorized = False
        self.lock = FakeLock()
        self.locked = False

    def plug_present_or_tethered(self) -> bool:
        return self.plugged

    def plug_present_or_tethered_cable_in(self) -> bool:
        return self.plugged

    def cable_in(self) -> bool:
        return self.plugged

    def authorize(self, on: bool) -> None:
        self.authorized = on

    def request_unlock(self) -> None:
        pass

    def keep_lock(self, on: bool) -> None:
        pass

    def session_ended(self) -> bool:
        return False


class FakePort:
    """The IOCU port's commands (evse.iocu.port.IocuPort), applied to the
    fake connectors."""
    def __init__(self, conns) -> None:
        self.conns = conns

    def authorize(self, cid, on) -> None:
        self.conns[cid - 1].authorize(on)

    def request_unlock(self, cid) -> None:
        self.conns[cid - 1].request_unlock()

    def keep_lock(self, cid, on) -> None:
        self.conns[cid - 1].keep_lock(on)


class FakeSink:
    def __init__(self) -> None:
        self.started = []
        self.stopped = []

    def tx_started(self, s) -> None:
        self.started.append((s.index + 1, s.id_tag, s.reservation_id))
        s.tx_ref = len(self.started)

    def tx_stopped(self, s, reason) -> None:
        self.stopped.append((s.index + 1, s.id_tag, reason))


class FakeMeter:
    def energy_wh(self) -> float:
        return 0.0


class FakeCS:
    """ask_cs: records requests; the test answers them."""

    def __init__(self) -> None:
        self.up = True
        self.asked = []

    def online(self) -> bool:
        return self.up

    def ask(self, tag, callback) -> None:
        self.asked.append((tag, callback))

    def answer(self, idtaginfo):
        tag, cb = self.asked.pop(0)
        return cb(idtaginfo)


class Station:
    def __init__(self, n=2, **over) -> None:
        _, cfg, clock, al, cache = make(**over)
        self.cfg, self.clock, self.al, self.cache = cfg, clock, al, cache
        self.auth = Authorizer(cfg, al, cache, clock)
        self.sink = FakeSink()
        self.conns = [FakeConnector() for _ in range(n)]
        port = FakePort(self.conns)
        self.sessions = [Session(i, self.conns[i], cfg, clock, self.sink, FakeMeter(), port)
                         for i in range(n)]
        from evse.hal.fsstore import Storage
        from support import tmpdir
        self.res = Reservations(Storage(tmpdir("cards")), cfg, clock, n)
        self.states = {0: "Available"}
        for c in range(1, n + 1):
            self.states[c] = "Available"
        self.cs = FakeCS()
        self.results = []
        self.router = CardRouter(cfg, self.auth, self.sessions, self.res, self.cs.ask,
                                 self.cs.online, self.states.get, self.results.append)

    def plug(self, c) -> None:
        k = self.conns[c - 1]
        k.plugged = True
        k.pilot = _PILOT_B
        self.step()

    def unplug(self, c) -> None:
        k = self.conns[c - 1]
        k.plugged = False
        k.pilot = _PILOT_A
        self.step()

    def step(self) -> None:
        for s in self.sessions:
            s.step(self.clock.ticks_ms())

    def advance(self, s) -> None:
        self.clock.advance_ms(int(s * 1000))
        self.step()

    def known(self, tag, status="Accepted", parent=None) -> None:
        self.cache.update(tag, info(status, parent))

    def state(self, c):
        return self.sessions[c - 1].state


# ---- one reader (reader 2 disabled) ----------------------------------------------------
def test_reader1_serves_both_when_reader2_disabled():
    st = Station(2, RFIDReader2Enabled=False)
    assert st.router.connectors_for(1) == (1, 2)
    assert st.router.connectors_for(2) == ()
    st.known("A")
    st.known("B")
    assert st.router.present(1, "A") == {"result": "accepted", "connector": 1,
                                         "status": "Accepted", "source": "cache"}
    r = st.router.present(1, "B")
    assert r["result"] == "accepted" and r["connector"] == 2   # connector 1 is taken


def test_reader1_prefers_connector_with_ev_waiting():
    st = Station(2)
    st.plug(2)
    assert st.sessions[1].plug_wait
    st.known("A")
    r = st.router.present(1, "A")
    assert r["connector"] == 2 and st.state(2) == TX
    assert st.sink.started == [(2, "A", None)]


def test_card_stops_its_own_session_without_authorize():
    st = Station(2)
    st.known("A")
    st.plug(1)
    st.router.present(1, "A")
    assert st.state(1) == TX
    st.cs.up = True
    r = st.router.present(1, "a")                     # case-insensitive IdToken
    assert r == {"result": "stopped", "connector": 1, "source": "local"}
    assert st.cs.asked == []                          # 4.1: no Authorize.req
    assert st.sink.stopped == [(1, "A", "Local")]
    assert st.state(1) == FINISHING


def test_card_cancels_its_authorization_before_plug_in():
    st = Station(2)
    st.known("A")
    st.router.present(1, "A")
    assert st.state(1) == AUTHORIZED
    assert st.router.present(1, "A")["result"] == "stopped"
    assert st.state(1) == IDLE and st.sink.stopped == []


def test_group_card_stops_the_session():
    st = Station(2)
    st.known("A", parent="FAMILY")
    st.known("B", parent="family")
    st.plug(1)
    st.router.present(1, "A")
    r = st.router.present(1, "B")
    assert r["result"] == "stopped" and r["connector"] == 1
    assert st.sink.stopped == [(1, "A", "Local")]


def test_group_card_via_authorize_conf():
    st = Station(2)
    st.known("A", parent="G")
    st.plug(1)
    st.router.present(1, "A")
    r = st.router.present(1, "B")                     # unknown: ask the CS
    assert r["result"] == "pending"
    res = st.cs.answer(info("Accepted", parent="G"))
    assert res["result"] == "stopped" and st.results == [res]


def test_blocked_group_card_does_not_stop():
    st = Station(2)
    st.known("A", parent="G")
    st.plug(1)
    st.router.present(1, "A")
    st.cs.up = False
    st.known("B", "Blocked", parent="G")
    r = st.router.present(1, "B")
    assert r["result"] == "rejected" and r["status"] == "Blocked"
    assert st.state(1) == TX


def test_other_card_does_not_stop_and_takes_the_free_connector():
    st = Station(2)
    st.known("A")
    st.known("B")
    st.plug(1)
    st.router.present(1, "A")
    r = st.router.present(1, "B")
    assert r["result"] == "accepted" and r["connector"] == 2
    assert st.state(1) == TX


def test_no_free_connector():
    st = Station(1)
    st.known("A")
    st.known("B")
    st.plug(1)
    st.router.present(1, "A")
    r = st.router.present(1, "B")
    assert r["result"] == "rejected" and r["reason"] == "no free connector"


def test_inoperative_or_faulted_connector_skipped():
    st = Station(2)
    st.known("A")
    st.conns[0].operative = False
    assert st.router.present(1, "A")["connector"] == 2
    st2 = Station(2)
    st2.known("A")
    st2.states[1] = "Faulted"
    assert st2.router.present(1, "A")["connector"] == 2


# ---- two readers -----------------------------------------------------------------------------
def test_two_readers_each_serves_its_connector():
    st = Station(2, RFIDReader2Enabled=True)
    assert st.router.connectors_for(1) == (1,)
    assert st.router.connectors_for(2) == (2,)
    st.known("A")
    st.known("B")
    st.plug(1)
    assert st.router.present(2, "A")["connector"] == 2      # not the waiting EV on 1
    assert st.router.present(1, "B")["connector"] == 1


def test_two_readers_card_of_other_connector_is_concurrent():
    st = Station(2, RFIDReader2Enabled=True)
    st.known("A")
    st.plug(1)
    st.router.present(1, "A")
    r = st.router.present(2, "A")
    assert r == {"result": "rejected", "connector": 1, "status": "ConcurrentTx", "source": "local"}
    assert st.state(1) == TX and st.state(2) == IDLE


def test_disabled_reader_ignores_cards():
    st = Station(2, RFIDReader1Enabled=False, RFIDReader2Enabled=True)
    st.known("A")
    assert st.router.present(1, "A")["result"] == "ignored"
    assert st.router.present(2, "A")["connector"] == 2
    st1 = Station(1, RFIDReader2Enabled=True)       # SSCU: no reader 2
    assert st1.router.present(2, "A")["result"] == "ignored"
    assert st1.router.present(3, "A")["result"] == "ignored"


def test_reader_failure():
    st = Station(2, RFIDReader2Enabled=True)
    assert not st.router.reader_failure()
    st.router.reader_fault(2, True)
    assert st.router.reader_failure()
    st.known("A")
    assert st.router.present(2, "A")["reason"] == "reader fault"
    assert st.router.present(1, "A")["result"] == "accepted"
    st.cfg.set("RFIDReader2Enabled", False)         # a disabled reader's fault is moot
    assert not st.router.reader_failure()
    st.cfg.set("RFIDReader2Enabled", True)
    st.router.reader_fault(2, False)
    assert not st.router.reader_failure()


def test_not_an_id_token_ignored():
    st = Station(2)
    assert st.router.present(1, "")["result"] == "ignored"
    assert st.router.present(1, "X" * 21)["result"] == "ignored"


# ---- Central System round trip -----------------------------------------------------------
def test_unknown_card_online_pending_then_accepted():
    st = Station(2)
    st.plug(1)
    r = st.router.present(1, "NEW")
    assert r == {"result": "pending", "connector": 1}
    assert st.router.present(1, "NEW")["result"] == "pending"   # no second Authorize.req
    assert len(st.cs.asked) == 1
    res = st.cs.answer(info(parent="P"))
    assert res["result"] == "accepted" and res["source"] == "cs"
    assert st.state(1) == TX and st.sessions[0].parent_id_tag == "P"
    assert st.results == [res]
    assert st.cache.lookup("NEW")["status"] == "Accepted"       # cached


def test_every_cs_status():
    for status in ("Blocked", "Expired", "Invalid", "ConcurrentTx"):
        st = Station(2)
        st.router.present(1, "NEW")
        res = st.cs.answer(info(status))
        assert res["result"] == "rejected" and res["status"] == status
        assert st.state(1) == IDLE and st.state(2) == IDLE


def test_timeout_applies_offline_rules():
    st = Station(2, AllowOfflineTxForUnknownId=True)
    st.router.present(1, "NEW")
    res = st.cs.answer(None)
    assert res["result"] == "accepted" and res["source"] == "offline"
    st = Station(2, AllowOfflineTxForUnknownId=False)
    st.router.present(1, "NEW")
    res = st.cs.answer(None)
    assert res["result"] == "rejected" and res["status"] == "Invalid"


def test_immediate_callback_returns_the_outcome():
    st = Station(2, AllowOfflineTxForUnknownId=False)

    def ask(tag, cb):
        cb(None)                                    # link dropped while sending

    st.router.ask_cs = ask
    r = st.router.present(1, "NEW")
    assert r["result"] == "rejected" and st.results == []


def test_send_failure_is_like_no_answer():
    st = Station(2)

    def ask(tag, cb):
        raise OSError(104)

    st.router.ask_cs = ask
    r = st.router.present(1, "NEW")
    assert r["result"] == "accepted" and r["source"] == "offline"
    assert st.router.present(1, "OTHER")["result"] == "accepted"   # nothing left pending


def test_offline_known_cards():
    st = Station(2, AllowOfflineTxForUnknownId=False)
    st.cs.up = False
    st.known("A")
    st.known("B", "Blocked")
    assert st.router.present(1, "A")["result"] == "accepted"
    assert st.router.present(1, "B")["status"] == "Blocked"
    assert st.router.present(1, "C")["status"] == "Invalid"
    assert st.cs.asked == []


def test_local_list_card():
    st = Station(2)
    st.al.send_local_list(1, "Full", [entry("L"), entry("X", "Expired")])
    assert st.router.present(1, "L")["source"] == "list"
    assert st.router.present(1, "X")["status"] == "Expired"
    assert st.cs.asked == []


# ---- StartTransactionDelay -------------------------------------------------------------
def test_start_transaction_delay_ignores_the_same_card():
    st = Station(2, StartTransactionDelay=5)
    st.known("A")
    st.plug(1)
    assert st.router.present(1, "A")["result"] == "accepted"
    r = st.router.present(1, "A")                   # double read
    assert r["result"] == "ignored" and r["reason"] == "StartTransactionDelay"
    assert st.state(1) == TX
    st.advance(5)
    assert st.router.present(1, "A")["result"] == "stopped"
    assert st.router.present(1, "A")["result"] == "ignored"   # after the stop too
    st.unplug(1)
    st.advance(5)
    assert st.router.present(1, "A")["result"] == "accepted"


def test_start_transaction_delay_zero():
    st = Station(2, StartTransactionDelay=0)
    st.known("A")
    st.plug(1)
    st.router.present(1, "A")
    assert st.router.present(1, "A")["result"] == "stopped"


def test_start_transaction_delay_other_card_not_ignored():
    st = Station(2, StartTransactionDelay=5)
    st.known("A")
    st.known("B")
    st.plug(1)
    st.router.present(1, "A")
    assert st.router.present(1, "B")["result"] == "accepted"


# ---- reservations ----------------------------------------------------------------------------
def test_reserved_connector_refuses_others_and_takes_its_tag():
    st = Station(2, ReserveConnectorZeroSupported=True)
    st.known("A")
    st.known("R")
    st.res.reserve(1, st.clock.now() + 600, "R", "", 42, st.states.get)
    st.states[1] = "Reserved"
    r = st.router.present(1, "A")
    assert r["connector"] == 2                      # 1 is reserved for R
    st.states[1] = "Reserved"
    st.plug(1)
    r = st.router.present(1, "R")
    assert r["result"] == "accepted" and r["connector"] == 1
    assert st.sink.started[-1] == (1, "R", 42)      # reservationId in StartTransaction
    assert len(st.res) == 1         # ended by the sink when the transaction starts (5.13)


def test_reserved_only_connector_rejects_other_cards():
    st = Station(1)
    st.known("A")
    st.res.reserve(1, st.clock.now() + 600, "R", "G", 1, st.states.get)
    assert st.router.present(1, "A")["reason"] == "no free connector"
    st.known("B", parent="G")                       # group of the reservation
    assert st.router.present(1, "B")["result"] == "accepted"


def test_connector_zero_reservation_keeps_one_free():
    st = Station(2, ReserveConnectorZeroSupported=True)
    st.res.reserve(0, st.clock.now() + 600, "Z", "", 7, st.states.get)
    st.known("A")
    st.known("B")
    st.known("Z")
    assert st.router.present(1, "A")["connector"] == 1
    st.states[1] = "Preparing"
    assert st.router.present(1, "B")["reason"] == "no free connector"
    r = st.router.present(1, "Z")
    assert r["result"] == "accepted" and r["connector"] == 2
    assert st.sessions[1].reservation_id == 7


# ---- RemoteStartTransaction -------------------------------------------------------------
def test_remote_start_without_authorization():
    st = Station(2, AuthorizeRemoteTxRequests=False)
    r = st.router.remote_start(2, "APP", {"chargingProfileId": 1})
    assert r["result"] == "accepted" and r["connector"] == 2 and r["source"] == "remote"
    assert st.sessions[1].remote_profile == {"chargingProfileId": 1}
    assert st.cs.asked == []
    assert st.router.remote_start(2, "OTHER")["result"] == "rejected"     # busy
    assert st.router.remote_start(0, "OTHER")["connector"] == 1          # station picks
    assert st.router.remote_start(3, "X")["reason"] == "unknown connector"


def test_remote_start_with_authorization():
    st = Station(2, AuthorizeRemoteTxRequests=True)
    r = st.router.remote_start(1, "APP")
    assert r["result"] == "pending" and len(st.cs.asked) == 1
    res = st.cs.answer(info())
    assert res["result"] == "accepted" and res["connector"] == 1
    st.known("BAD", "Blocked")
    st.cs.up = False
    assert st.router.remote_start(2, "BAD")["status"] == "Blocked"


def test_remote_start_never_stops_a_session():
    st = Station(2, AuthorizeRemoteTxRequests=False)
    st.known("A", parent="G")
    st.plug(1)
    st.router.present(1, "A")
    r = st.router.remote_start(1, "A")
    assert r["result"] == "rejected" and st.state(1) == TX


def test_station_name_card_alias():
    st = Station(1)
    st.known("A")
    assert st.router.card(1, "A")["result"] == "accepted"


def test_fake_config_used():
    assert FakeConfig(RFIDReader2Enabled=True).get("RFIDReader2Enabled") is True
