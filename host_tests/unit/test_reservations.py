# Reservations (evse.services.reservations): ReserveNow / CancelReservation
# statuses, replacement, connector 0, matching, expiry, consumption and
# persistence (OCPP 1.6 3.11, 5.1, 5.13, 7.40).
import json

from support import tmpdir
from test_auth import BrokenStorage, FakeConfig

from evsesim.hal.simclock import VirtualClock
from evse.hal.fsstore import Storage
from evse.services.reservations import Reservations


def make(n=2, **over):
    d = tmpdir("res")
    cfg = FakeConfig(**over)
    clock = VirtualClock()
    r = Reservations(Storage(d), cfg, clock, n)
    states = {0: "Available"}
    for c in range(1, n + 1):
        states[c] = "Available"
    return d, cfg, clock, r, states


def later(clock, s=3600):
    return clock.now() + s


def test_reserve_accepted_and_cancel():
    _, _, clock, r, st = make()
    assert r.reserve(1, later(clock), "TAG", None, 7, st.get) == "Accepted"
    assert r.reservation_id(1) == 7 and r.reservation_id(2) is None
    assert r.cancel(7) == "Accepted"
    assert r.cancel(7) == "Rejected"            # 5.1: no such reservation
    assert r.reservation_id(1) is None


def test_reserve_statuses_from_connector_state():
    _, _, clock, r, st = make()
    for state, want in (("Faulted", "Faulted"), ("Unavailable", "Unavailable"),
                        ("Preparing", "Occupied"), ("Charging", "Occupied"),
                        ("SuspendedEV", "Occupied"), ("SuspendedEVSE", "Occupied"),
                        ("Finishing", "Occupied"), ("Reserved", "Occupied")):
        st[1] = state
        assert r.reserve(1, later(clock), "TAG", "", 1, st.get) == want, state
    assert len(r) == 0


def test_reserve_charge_point_faulted_or_unavailable():
    _, _, clock, r, st = make()
    st[0] = "Faulted"
    assert r.reserve(1, later(clock), "TAG", "", 1, st.get) == "Faulted"
    st[0] = "Unavailable"
    assert r.reserve(1, later(clock), "TAG", "", 1, st.get) == "Unavailable"


def test_reserved_connector_is_occupied_for_another_reservation():
    _, _, clock, r, st = make()
    assert r.reserve(1, later(clock), "A", "", 1, st.get) == "Accepted"
    st[1] = "Reserved"
    assert r.reserve(1, later(clock), "B", "", 2, st.get) == "Occupied"
    assert r.reserve(1, later(clock), "A", "", 2, st.get) == "Occupied"   # same idTag too
    assert r.reserve(2, later(clock), "B", "", 2, st.get) == "Accepted"


def test_same_reservation_id_replaces():
    _, _, clock, r, st = make()
    assert r.reserve(1, later(clock), "A", "", 5, st.get) == "Accepted"
    st[1] = "Reserved"                          # shown because of reservation 5 itself
    assert r.reserve(1, later(clock, 7200), "B", "G", 5, st.get) == "Accepted"
    assert len(r) == 1
    assert r.get(5)[3] == "B" and r.get(5)[4] == "G"
    # moved to connector 2: connector 1 is free again
    assert r.reserve(2, later(clock), "B", "", 5, st.get) == "Accepted"
    assert r.reservation_id(1) is None and r.reservation_id(2) == 5


def test_connector_zero_rejected_unless_supported():
    _, _, clock, r, st = make(ReserveConnectorZeroSupported=False)
    assert r.reserve(0, later(clock), "A", "", 1, st.get) == "Rejected"
    _, _, clock, r, st = make(ReserveConnectorZeroSupported=True)
    assert r.reserve(0, later(clock), "A", "", 1, st.get) == "Accepted"
    assert r.reservation_id(0) == 1


def test_connector_zero_needs_a_free_connector_each():
    _, _, clock, r, st = make(ReserveConnectorZeroSupported=True)
    assert r.reserve(0, later(clock), "A", "", 1, st.get) == "Accepted"
    assert r.reserve(0, later(clock), "B", "", 2, st.get) == "Accepted"
    assert r.reserve(0, later(clock), "C", "", 3, st.get) == "Occupied"
    # a specific reservation would take the room the connector-0 ones need
    assert r.reserve(1, later(clock), "D", "", 4, st.get) == "Occupied"


def test_connector_zero_faulted_unavailable_occupied():
    _, _, clock, r, st = make(ReserveConnectorZeroSupported=True)
    st[1] = st[2] = "Faulted"
    assert r.reserve(0, later(clock), "A", "", 1, st.get) == "Faulted"
    st[2] = "Unavailable"
    assert r.reserve(0, later(clock), "A", "", 1, st.get) == "Unavailable"
    st[1] = st[2] = "Unavailable"
    assert r.reserve(0, later(clock), "A", "", 1, st.get) == "Unavailable"
    st[1] = "Charging"
    assert r.reserve(0, later(clock), "A", "", 1, st.get) == "Occupied"
    st[2] = "Available"
    assert r.reserve(0, later(clock), "A", "", 1, st.get) == "Accepted"


def test_bad_requests_rejected():
    _, _, clock, r, st = make()
    assert r.reserve(3, later(clock), "A", "", 1, st.get) == "Rejected"     # no connector 3
    assert r.reserve(-1, later(clock), "A", "", 1, st.get) == "Rejected"
    assert r.reserve(1, clock.now(), "A", "", 1, st.get) == "Rejected"      # already over
    assert r.reserve(1, later(clock), "", "", 1, st.get) == "Rejected"
    assert r.reserve(1, later(clock), "A", "P" * 21, 1, st.get) == "Rejected"
    assert r.reserve(True, later(clock), "A", "", 1, st.get) == "Rejected"
    assert r.reserve(1, later(clock), "A", "", "1", st.get) == "Rejected"
    assert len(r) == 0


def test_matches_and_allows():
    _, cfg, clock, r, st = make(ReserveConnectorZeroSupported=True)
    r.reserve(1, later(clock), "Tag1", "GROUP", 1, st.get)
    assert r.matches(1, "tag1")                          # case-insensitive
    assert r.matches(1, "OTHER", "group")                # same parent
    assert not r.matches(1, "OTHER", "")
    assert not r.matches(1, "GROUP")                     # a parent is not an idTag (3.10)
    assert not r.matches(2, "Tag1")
    assert r.allows(1, "TAG1") and not r.allows(1, "OTHER")
    assert r.allows(2, "OTHER")                          # connector 2 is not reserved


def test_allows_with_connector_zero_reservation():
    _, cfg, clock, r, st = make(ReserveConnectorZeroSupported=True)
    r.reserve(0, later(clock), "Z", "", 9, st.get)
    assert r.matches(1, "Z") and r.matches(2, "z")
    # one connector must stay free for Z: another card may take one of two
    assert r.allows(1, "OTHER", "", st.get)
    st[2] = "Charging"
    assert not r.allows(1, "OTHER", "", st.get)
    assert r.allows(1, "Z", "", st.get)


def test_expire_returns_connectors():
    _, cfg, clock, r, st = make(ReserveConnectorZeroSupported=True)
    r.reserve(1, clock.now() + 60, "A", "", 1, st.get)
    r.reserve(2, clock.now() + 120, "B", "", 2, st.get)
    assert r.next_expiry() == clock.now() + 60
    assert r.expire(clock.now()) == []
    clock.advance_ms(60000)
    assert r.expire(clock.now()) == [1]
    assert r.reservation_id(1) is None and r.reservation_id(2) == 2
    clock.advance_ms(60000)
    assert r.expire(clock.now()) == [2]
    assert r.next_expiry() is None and len(r) == 0


def test_consume_ends_the_reservation():
    _, cfg, clock, r, st = make(ReserveConnectorZeroSupported=True)
    r.reserve(1, later(clock), "A", "G", 1, st.get)
    assert r.consume(1, "OTHER") is None                 # not theirs
    assert r.consume(1, "X", "G") == 1                   # the group may use it
    assert r.reservation_id(1) is None
    r.reserve(2, later(clock), "B", "", 2, st.get)
    assert r.consume(2) == 2                             # no tag: the connector's own
    r.reserve(0, later(clock), "Z", "", 3, st.get)
    assert r.consume(1, "Z") == 3                        # connector 0: any connector
    assert len(r) == 0


def test_terminate_on_fault_or_unavailable():
    _, cfg, clock, r, st = make(ReserveConnectorZeroSupported=True)
    r.reserve(1, later(clock), "A", "", 1, st.get)
    r.reserve(2, later(clock), "B", "", 2, st.get)
    assert r.terminate(1) == [1]
    assert r.terminate(1) == []
    assert r.terminate(0) == [2]                         # the whole Charge Point
    assert len(r) == 0


def test_reservations_survive_reboot():
    d, cfg, clock, r, st = make()
    r.reserve(2, later(clock), "A", "G", 11, st.get)
    r2 = Reservations(Storage(d), cfg, clock, 2)
    assert r2.get(11) == [11, 2, later(clock), "A", "G"]
    r2.cancel(11)
    assert len(Reservations(Storage(d), cfg, clock, 2)) == 0


def test_corrupt_file_means_no_reservations():
    d = tmpdir("res")
    s = Storage(d)
    for raw in (b"{", b"[]", b'{"reservations": 5}', b"\xff"):
        s.write("reservations.json", raw)
        r = Reservations(s, FakeConfig(), VirtualClock(), 2)
        assert len(r) == 0 and r.error, raw
    s.write("reservations.json", json.dumps(
        {"reservations": [[1, 1, 2000000000, "A", ""], [2, 7, 2000000000, "B", ""]]}).encode())
    r = Reservations(s, FakeConfig(), VirtualClock(), 2)
    assert r.reservation_id(1) == 1 and len(r) == 1 and r.error   # connector 7 dropped


def test_write_failure_rejects():
    d = tmpdir("res")
    bs = BrokenStorage(Storage(d))
    clock = VirtualClock()
    r = Reservations(bs, FakeConfig(), clock, 2)
    st = {0: "Available", 1: "Available", 2: "Available"}
    assert r.reserve(1, later(clock), "A", "", 1, st.get) == "Rejected"
    assert len(r) == 0 and r.error


class _S:
    def __init__(self, state):
        self.state = state
        self.reservation_id = None


def test_sync_sessions():
    _, cfg, clock, r, st = make()
    r.reserve(1, later(clock), "A", "", 4, st.get)
    r.reserve(2, later(clock), "B", "", 5, st.get)
    idle, busy = _S(0), _S(2)
    busy.reservation_id = 99
    r.sync_sessions([idle, busy])
    assert idle.reservation_id == 4 and busy.reservation_id == 99
    r.cancel(4)
    r.sync_sessions([idle, busy])
    assert idle.reservation_id is None
