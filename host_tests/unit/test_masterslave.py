# RFID master/slave link cores (evse.services.masterslave) with fake units on
# an in-memory bus: routing rules, polling and STATUS, card forwarding and
# its outcome, retries and timeouts, lost link on both sides, duplicate
# CARD after a lost RESULT, pending (Authorize.req) outcomes, bad frames.
from rs485_rig import FakeUnit, MemBus, pair, rig, run

from evse.services import masterslave as M
from evse.services import msmaster, msslave
from evse.services import rs485link as L

U = M.F_USABLE
W = M.F_EV_WAITING | M.F_USABLE
TX = M.F_TX
AU = M.F_AUTHORIZED


# ---- routing rules (pure) -----------------------------------------------------------------
def test_route_same_card_stops_where_its_session_is():
    assert msmaster.route("T1", "", [(TX, "t1", "")], [(W, "", "")]) == M.ROUTE_LOCAL
    assert msmaster.route("T1", "", [(W, "", "")], [(TX, "T1", "")]) == M.ROUTE_SLAVE
    assert msmaster.route("t1", "", [(U, "", "")], [(AU, "T1", "")]) == M.ROUTE_SLAVE


def test_route_group_card_goes_to_its_group_session():
    assert msmaster.route("T2", "G", [(U, "", "")], [(TX, "T1", "g")]) == M.ROUTE_SLAVE
    assert msmaster.route("T2", "G", [(TX, "T1", "G")], [(TX, "T3", "G")]) == M.ROUTE_LOCAL
    assert msmaster.route("T2", "", [(U, "", "")], [(TX, "T1", "G")]) == M.ROUTE_LOCAL


def test_route_prefers_the_ev_waiting_for_authorization():
    assert msmaster.route("T", "", [(U, "", "")], [(W, "", "")]) == M.ROUTE_SLAVE
    assert msmaster.route("T", "", [(W, "", "")], [(U, "", "")]) == M.ROUTE_LOCAL
    assert msmaster.route("T", "", [(W, "", "")], [(W, "", "")]) == M.ROUTE_LOCAL   # master first


def test_route_free_connector_master_first_then_slave():
    assert msmaster.route("T", "", [(U, "", "")], [(U, "", "")]) == M.ROUTE_LOCAL
    assert msmaster.route("T", "", [(TX, "X", "")], [(U, "", "")]) == M.ROUTE_SLAVE
    assert msmaster.route("T", "", [(TX, "X", "")], [(TX, "Y", "")]) == M.ROUTE_LOCAL
    # a Faulted slave connector (not usable) with an EV: not a target
    assert msmaster.route("T", "", [(TX, "X", "")], [(M.F_EV_WAITING, "", "")]) == M.ROUTE_LOCAL


def test_route_without_slave_status_is_local():
    assert msmaster.route("T", "", [(TX, "X", "")], None) == M.ROUTE_LOCAL
    assert msmaster.route("T", "", [(U, "", "")], []) == M.ROUTE_LOCAL


# ---- polling -----------------------------------------------------------------------------
def test_poll_status_brings_the_link_up_and_reports_the_slave():
    m, s, mu, su, mb, sb = rig()
    su.flags[0] = W
    su.codes[0] = 1
    assert not m.online
    assert m.next_deadline_ms(0) == 0
    run(m, s, 0)
    assert m.online and s.online
    assert mu.links == [True] and su.links == [True]
    assert m.remote() == [(W, "", "")]
    assert m.remote_code[0] == 1
    assert m.polls == 1 and s.polls == 1
    assert m.next_deadline_ms(0) == M.POLL_MS
    run(m, s, M.POLL_MS - 1)
    assert m.polls == 1
    su.flags[0] = TX
    su.tags[0] = "ABC"
    su.parents[0] = "GRP"
    run(m, s, M.POLL_MS)
    assert m.polls == 2
    assert m.remote() == [(TX, "ABC", "GRP")]
    info = m.info()
    assert info["role"] == "master" and info["online"] and info["slave"][0]["id_tag"] == "ABC"
    assert info["crc_errors"] == 0 and info["frames"] == 2


def test_card_goes_to_the_slave_with_an_ev_waiting():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    su.flags[0] = W
    res = m.card(1, "CARD1", 10)
    assert res["result"] == "pending"
    assert m.busy()
    run(m, s, 10)
    assert su.presented == ["CARD1"] and mu.presented == []
    assert mu.results == [{"result": "accepted", "connector": 1, "unit": "slave"}]
    assert m.last_card["unit"] == "slave" and m.last_card["result"] == "accepted"
    assert m.cards_forwarded == 1 and s.cards == 1
    assert not m.busy()


def test_card_stays_local_with_the_local_ev_waiting():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    mu.flags[0] = W
    su.flags[0] = W
    assert m.card(1, "CARD1", 5)["result"] == "pending"    # a fresh STATUS first
    run(m, s, 5)
    assert mu.presented == ["CARD1"] and su.presented == []
    assert mu.results[-1]["result"] == "accepted" and mu.results[-1]["unit"] == "master"


def test_card_of_a_slave_session_stops_it_there_then_is_ignored_for_a_while():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    su.flags[0] = TX
    su.tags[0] = "CARD1"
    su.answers["card1"] = {"result": "stopped", "connector": 1}
    m.card(1, "card1", 100)
    run(m, s, 100)
    assert su.presented == ["card1"]
    assert mu.results[-1]["result"] == "stopped"
    # StartTransactionDelay: presented again at once, the card is ignored
    # (it must not start a session on the master's free connector)
    su.flags[0] = U
    su.tags[0] = ""
    r = m.card(1, "CARD1", 200)
    assert r["result"] == "ignored" and mu.presented == []
    assert m.next_deadline_ms(200) <= mu.delay_ms
    run(m, s, 100 + mu.delay_ms)
    r = m.card(1, "CARD1", 100 + mu.delay_ms)
    assert r["result"] == "pending"


def test_offline_master_routes_locally_at_once():
    m, s, mu, su, mb, sb = rig()
    res = m.card(1, "CARD1", 0)            # link never came up
    assert res["result"] == "accepted" and res["unit"] == "master"
    assert mu.presented == ["CARD1"]
    assert mu.results == []                # station.rfid gives this feedback itself


def test_reader_fault_or_tag_delay_at_the_master_is_the_routers_answer():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    mu.reader_up = False
    assert m.card(1, "X", 1)["result"] == "ignored"
    mu.reader_up = True
    mu.ignored.append("X")
    r = m.card(1, "X", 1)
    assert mu.presented == ["X", "X"] and r["unit"] == "master"
    assert not m.busy()


def test_second_card_while_one_is_routed_is_ignored():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    assert m.card(1, "A", 1)["result"] == "pending"
    assert m.card(1, "B", 1)["result"] == "ignored"
    run(m, s, 1)
    assert mu.presented == ["A"]


# ---- timeouts, retries, lost link ----------------------------------------------------------
def test_no_slave_retries_then_fails_then_goes_offline():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    assert m.online
    mb.cut = True                          # the slave hears nothing any more
    t = M.POLL_MS
    fails = 0
    while m.online and t < 60000:
        m.poll(t)
        s.poll(t)
        d = m.next_deadline_ms(t)
        assert d > 0
        t += d
    assert not m.online and mu.links == [True, False]
    assert m.failures == M.LOST_EXCHANGES
    assert m.timeouts == M.LOST_EXCHANGES * (M.RETRIES + 1)
    # each exchange: 1 + RETRIES POLL frames
    polls = [f for f in mb.written if f[3] == M.MSG_POLL]
    assert len(polls) == 1 + M.LOST_EXCHANGES * (M.RETRIES + 1)
    # offline: a card is local at once
    assert m.card(1, "C", t)["unit"] == "master"
    # the slave comes back: the next poll finds it
    mb.cut = False
    t += M.POLL_MS
    run(m, s, t)
    assert m.online and mu.links == [True, False, True]


def test_retry_recovers_a_lost_reply():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    sb.cut = True                          # the STATUS is lost once
    run(m, s, M.POLL_MS)
    sb.cut = False
    assert m.busy()
    run(m, s, M.POLL_MS + M.REPLY_MS)
    assert not m.busy() and m.online
    assert m.timeouts == 1 and m.failures == 0
    assert s.polls == 3                    # the retry reached it (same seq)


def test_lost_result_resent_card_is_answered_not_presented_again():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    su.flags[0] = W
    m.card(1, "CARD1", 10)
    m.poll(10)
    s.poll(10)                             # STATUS
    m.poll(10)                             # -> CARD
    sb.cut = True
    s.poll(10)                             # RESULT lost
    sb.cut = False
    m.poll(10)
    assert m.busy()
    t = 10 + M.REPLY_MS
    run(m, s, t)                           # CARD again (same seq)
    assert su.presented == ["CARD1"]
    assert s.duplicates == 1
    assert mu.results[-1]["result"] == "accepted"


def test_card_exchange_failure_is_reported_as_rejected():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    su.flags[0] = W
    m.card(1, "CARD1", 10)
    m.poll(10)
    s.poll(10)
    m.poll(10)                             # CARD out
    mb.cut = True
    t = 10
    for _ in range(M.RETRIES + 1):
        t += M.REPLY_MS
        m.poll(t)
    assert not m.busy()
    assert mu.results[-1]["result"] == "rejected"
    assert "not answering" in mu.results[-1]["reason"]


def test_poll_failure_while_routing_routes_locally():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    mb.cut = True
    m.card(1, "CARD1", 10)
    t = 10
    for _ in range(M.RETRIES + 1):
        t += M.REPLY_MS
        m.poll(t)
    assert mu.presented == ["CARD1"]
    assert mu.results[-1]["unit"] == "master"


def test_slave_without_polls_reports_the_link_lost_then_recovers():
    m, s, mu, su, mb, sb = rig()
    s.poll(0)
    assert su.links == []
    assert s.next_deadline_ms(0) == s.lost_ms
    assert s.lost_ms == M.POLL_MS * (M.LOST_POLLS + 1)
    s.poll(s.lost_ms - 1)
    assert su.links == []
    s.poll(s.lost_ms)                      # never heard a master since boot
    assert su.links == [False] and not s.online
    assert s.info()["link_lost"]
    assert s.next_deadline_ms(s.lost_ms) == -1
    run(m, s, s.lost_ms + 10)
    assert su.links == [False, True] and s.online
    t = s.lost_ms + 10
    s.poll(t + s.lost_ms)                  # the master went silent
    assert su.links == [False, True, False]


def test_slave_has_no_reader_of_its_own():
    m, s, mu, su, mb, sb = rig()
    r = s.card(1, "X", 0)
    assert r["result"] == "ignored" and su.presented == []


# ---- pending outcome (Authorize.req on the slave) ---------------------------------------------
def test_pending_card_outcome_arrives_with_a_later_status():
    m, s, mu, su, mb, sb = rig()
    run(m, s, 0)
    su.flags[0] = W
    su.answers["NEW"] = {"result": "pending", "connector": 1}
    m.card(1, "NEW", 10)
    run(m, s, 10)
    assert mu.results == []                # nothing to tell yet
    assert m.last_card["result"] == "pending"
    s.card_late({"result": "accepted", "connector": 1})   # Authorize.conf on the slave
    run(m, s, 10 + M.POLL_MS)
    assert mu.results == [{"result": "accepted", "connector": 1, "unit": "slave"}]
    run(m, s, 10 + 2 * M.POLL_MS)
    assert len(mu.results) == 1            # told once


# ---- bad frames on the bus ------------------------------------------------------------------
def test_corrupted_reply_is_dropped_counted_and_retried():
    m, s, mu, su, mb, sb = rig()
    hits = [0]

    def flip_once(data):
        if hits[0] == 0:
            hits[0] = 1
            b = bytearray(data)
            b[4] ^= 0xFF
            return bytes(b)
        return data
    sb.tamper = flip_once
    run(m, s, 0)
    assert m.dec.crc_errors == 1 and not m.online
    run(m, s, M.REPLY_MS)
    assert m.online and m.info()["crc_errors"] == 1


def test_echo_of_own_frames_and_stray_frames_are_ignored():
    m, s, mu, su, mb, sb = rig()
    # a transceiver that hears itself: everything written comes back too
    mb.tamper = None
    orig = mb.write

    def write_echo(buf):
        mb.rx.extend(bytes(buf))
        return orig(buf)
    mb.write = write_echo
    run(m, s, 0)
    assert m.online and m.echoes >= 1
    # a reply nobody asked for
    sb.peer.rx.extend(L.encode(M.SLAVE_ADDR | L.REPLY, bytes([M.MSG_RESULT, 99, 1, 1])))
    m.poll(1)
    assert m.stray == 1
    # a request for another address: the slave ignores it
    mb.peer.rx.extend(L.encode(5, bytes([M.MSG_POLL, 1])))
    s.poll(1)
    assert s.stray == 1 and s.polls == 1


def test_truncated_status_is_not_taken():
    m, s, mu, su, mb, sb = rig()
    m.poll(0)                                         # POLL seq 1 out
    sb.peer.rx.extend(L.encode(M.SLAVE_ADDR | L.REPLY, bytes([M.MSG_STATUS, 1, 1, 0])))
    m.poll(0)
    assert not m.online and m.stray == 1


def test_status_carries_non_ascii_and_long_tags():
    m, s, mu, su, mb, sb = rig()
    su.flags[0] = TX
    su.tags[0] = "ÄBC"
    su.parents[0] = "P" * 20
    run(m, s, 0)
    assert m.remote() == [(TX, "ÄBC", "P" * 20)]


def test_master_and_slave_steady_state_polling_allocates_nothing():
    import support
    if not support.IS_MICROPYTHON:
        return
    import gc
    m, s, mu, su, mb, sb = rig()
    # a bus that does not allocate: two fixed rings
    class Ring:
        def __init__(self):
            self.buf = bytearray(512)
            self.n = 0
            self.peer = None

        def write(self, b):
            p = self.peer
            k = len(b)
            for i in range(k):
                p.buf[p.n + i] = b[i]
            p.n += k
            return k

        def readinto(self, b):
            k = self.n
            for i in range(k):
                b[i] = self.buf[i]
            self.n = 0
            return k

        def any(self):
            return self.n
    a, b = Ring(), Ring()
    a.peer, b.peer = b, a
    m.bus, s.bus = a, b
    su.flags[0] = TX
    su.tags[0] = "ABCDEF"
    t = 0
    run(m, s, t)
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(50):
        t += M.POLL_MS
        run(m, s, t, 2)
    per_poll = (gc.mem_alloc() - before) / 50
    assert m.polls >= 50
    assert per_poll == 0, per_poll


def test_status_of_two_connectors_with_longest_tags_fits_a_frame():
    mb, sb = pair()
    mu = FakeUnit()
    su = FakeUnit(2)
    m = msmaster.MasterLink(mb, mu)
    s = msslave.SlaveLink(sb, su)
    long_tag = "\u00c4" * 20                     # 20 characters, 40 bytes of UTF-8
    for i in (0, 1):
        su.flags[i] = TX
        su.tags[i] = long_tag
        su.parents[i] = long_tag
    run(m, s, 0)
    assert m.online
    assert m.remote() == [(TX, long_tag, long_tag)] * 2
