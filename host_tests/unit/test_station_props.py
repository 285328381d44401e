# cpython-only (hypothesis)
# The contactor invariant at the level of the whole station (sessions,
# authorization, energy management and the safety core together): random
# sequences of the simulator's inputs, checked after every step.
from hypothesis import given, settings, strategies as st, HealthCheck

from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.iocu import pilot as P
from evse.iocu import status as cstatus
from evse.services.session import TX
from evse.station import Station
from support import tmpdir
from evsesim import simdrive

OPS = st.one_of(
    st.tuples(st.just("plug"), st.integers(1, 2), st.sampled_from([13, 20, 32, 63])),
    st.tuples(st.just("unplug"), st.integers(1, 2), st.booleans()),
    st.tuples(st.just("ev"), st.integers(1, 2), st.sampled_from("ABCDEF"), st.integers(0, 80),
              st.booleans()),
    st.tuples(st.just("rfid"), st.integers(1, 2), st.sampled_from(["CARD1", "CARD2", "TAGLESS1"])),
    st.tuples(st.just("fault"), st.sampled_from(["diode_missing", "pilot_short", "lock_stuck",
                                                 "lock_no_feedback", "lock_forced_open",
                                                 "contactor_no_close", "contactor_welded",
                                                 "heartbeat", "meter_offline"]), st.booleans()),
    st.tuples(st.just("limit"), st.integers(0, 80)),
    st.tuples(st.just("avail"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("stop"), st.integers(1, 2)),
    st.tuples(st.just("wait"), st.sampled_from([1, 10, 50, 300, 2000, 30000])),
)


def check(station):
    for i, c in enumerate(station.connectors):
        s = station.sessions[i]
        code = station.status_report.derive(i)
        if c.contactor_closed:
            assert s.state == TX, "energy without a transaction"
            assert c.authorized
            assert c.pilot == P.C or (c.pilot == P.D and c.ventilation_ok)
            assert c.offered_da >= 60
            assert c.error == 0 and code != cstatus.FAULTED
            assert c.operative
            if c.lock.fitted:
                assert c.locked
        d = c.duty_permille
        assert d == 1000 or 100 <= d <= 970 or (d == 0 and c.pilot in (P.E, P.F, P.INVALID)), d


def build(tagless):
    board = SimBoard(2, tmpdir("props"), True)
    cfg = Config(board.storage, model="dscu")
    cfg.change("TaglessCharging", "true" if tagless else "false")
    cfg.change("LocalAuthListEnabled", "true")
    cfg = Config(board.storage, model="dscu")
    st_ = Station(board, cfg, "dscu")
    st_.authlist.send_local_list(1, "Full", [{"idTag": "CARD1", "idTagInfo": {"status": "Accepted"}},
                                             {"idTag": "CARD2", "idTagInfo": {"status": "Blocked"}}])
    st_.step()
    return board, st_


def run(station, board, ops):
    clock = board.clock
    for op in ops:
        k = op[0]
        try:
            if k == "plug":
                board.connectors[op[1] - 1].plug(op[2])
            elif k == "unplug":
                board.connectors[op[1] - 1].unplug(op[2])
            elif k == "ev":
                board.connectors[op[1] - 1].set_ev(op[2], op[3], 3, op[4])
            elif k == "rfid":
                station.rfid(op[1], op[2])
            elif k == "fault":
                simdrive.fault(station, op[1], op[2])
            elif k == "limit":
                station.config.change("MaxCurrentConnection", str(op[1]))
            elif k == "avail":
                station.availability.change(op[1], op[2])
            elif k == "stop":
                station.sessions[op[1] - 1].stop("Remote")
            elif k == "wait":
                end = op[1]
                while end > 0:
                    station.step()
                    check(station)
                    d = max(1, min(station.next_deadline_ms(), end, 10))
                    clock.advance_ms(d)
                    end -= d
        except ValueError:
            pass
        station.step()
        check(station)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans(), st.lists(OPS, min_size=5, max_size=40))
def test_station_never_energises_without_every_condition(tagless, ops):
    board, station = build(tagless)
    run(station, board, ops)


def test_a_plain_session_satisfies_the_checker():
    # the checker itself must see a real charging state (else it proves nothing)
    board, station = build(True)
    run(station, board, [("plug", 1, 32), ("ev", 1, "B", 16, True), ("wait", 1000),
                         ("ev", 1, "C", 16, True), ("wait", 2000)])
    assert station.connectors[0].contactor_closed
