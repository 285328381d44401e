# EventRing: packing, FIFO order, wrap-around, overflow reporting.
from evse.iocu import errors as E
from evse.iocu.events import (EventRing, pack, ev_conn, ev_code, ev_arg, EMPTY,
                              EV_PILOT, EV_WARNING, EV_OFFERED, EV_ERROR_SET)


def test_pack_roundtrip_small_int():
    e = pack(2, EV_OFFERED, 630)
    assert ev_conn(e) == 2 and ev_code(e) == EV_OFFERED and ev_arg(e) == 630
    big = pack(31, 255, 65535)
    assert big < (1 << 29) and type(big) is int
    assert ev_conn(big) == 31 and ev_code(big) == 255 and ev_arg(big) == 65535


def test_fifo_and_empty():
    r = EventRing(8)
    assert r.pop() == EMPTY
    for i in range(5):
        assert r.push(1, EV_PILOT, i)
    assert len(r) == 5
    assert [ev_arg(r.pop()) for _ in range(5)] == [0, 1, 2, 3, 4]
    assert r.pop() == EMPTY


def test_wraps_around():
    r = EventRing(4)
    seen = []
    for i in range(20):
        r.push(1, EV_PILOT, i)
        if i % 2:
            seen.append(ev_arg(r.pop()))
            seen.append(ev_arg(r.pop()))
    assert seen == list(range(20))


def test_pop_into():
    r = EventRing(4)
    out = [0, 0, 0]
    assert not r.pop_into(out)
    r.push(2, EV_ERROR_SET, E.ERR_DIODE_FAILURE)
    assert r.pop_into(out)
    assert out == [2, EV_ERROR_SET, E.ERR_DIODE_FAILURE]


def test_overflow_reported_once_when_room_again():
    r = EventRing(4)
    for i in range(4):
        assert r.push(1, EV_PILOT, i)
    assert not r.push(1, EV_PILOT, 4)
    assert not r.push(1, EV_PILOT, 5)
    assert r.dropped == 2 and r.total_dropped == 2
    got = [r.pop() for _ in range(4)]
    assert [ev_arg(e) for e in got] == [0, 1, 2, 3]
    w = r.pop()   # the ring reports the loss as soon as it is read empty
    assert ev_conn(w) == 0 and ev_code(w) == EV_WARNING and ev_arg(w) == E.ERR_TX_BUFFER_OVERFLOW
    assert r.pop() == EMPTY and r.dropped == 0


def test_overflow_warning_precedes_next_event():
    r = EventRing(4)
    for i in range(5):
        r.push(1, EV_PILOT, i)
    r.pop()
    r.pop()
    assert r.push(1, EV_PILOT, 9)
    codes = []
    while True:
        e = r.pop()
        if e < 0:
            break
        codes.append((ev_code(e), ev_arg(e)))
    assert codes == [(EV_PILOT, 2), (EV_PILOT, 3), (EV_WARNING, E.ERR_TX_BUFFER_OVERFLOW), (EV_PILOT, 9)]
