# The IOCU port (evse.iocu.port): the MCU side commands the safety core only
# through framed link commands and sees it only through the event-fed
# mirrors. A noisy wire between the two processors (NoisyLink: flipped bits,
# lost frames) gives the manual's link errors (8.5 ERR_REQ_CRC_WRONG,
# ERR_HEARTBEAT, ERR_RX_BUFFER_OVERFLOW), the safety core goes to its safe
# state, and the station recovers once frames are good again.
from session_rig import Rig

from evse.iocu import errors as E
from evse.iocu import link as L
from evsesim import simdrive

# what a mirror holds, compared with the safety core's own Connector
FIELDS = ("pilot", "plug_present", "cable_da", "locked", "contactor_closed", "offered_da",
          "duty_permille", "error", "station_error", "authorized", "operative", "limit_da",
          "flex_cable", "max_da", "min_da")


class NoisyLink:
    """The wire from the MCU to the IOCU: frames pass to the real link, some
    with a bit flipped after the CRC was computed (corrupt), some lost
    (drop, or everything while `cut`)."""

    def __init__(self, link) -> None:
        self.link = link
        self.flip = 0           # corrupt the next `flip` frames of command `only` (0: any)
        self.only = 0
        self.drop = 0
        self.cut = False
        self.sent = 0
        self._f = bytearray(L.FRAME)

    def post(self, sock: int, cmd: int, arg: int = 0) -> bool:
        self.sent += 1
        if self.cut:
            return True
        if self.drop:
            self.drop -= 1
            return True
        f = self._f
        f[0] = sock
        f[1] = cmd
        f[2] = (arg >> 8) & 0xFF
        f[3] = arg & 0xFF
        f[4] = L.crc8(f, 0, 4)
        if self.flip and (self.only == 0 or self.only == cmd):
            self.flip -= 1
            f[3] ^= 0x01
        return self.link.post_frame(f)


def noisy(r) -> NoisyLink:
    n = NoisyLink(r.st.port.link)
    r.st.port.link = n
    return n


def mirror_matches(r, c: int = 1) -> None:
    m = r.st.mirrors[c - 1]
    k = r.st.connectors[c - 1]           # the safety core's truth (tests only)
    for f in FIELDS:
        assert getattr(m, f) == getattr(k, f), (f, getattr(m, f), getattr(k, f))
    assert m.session_ended() == k.session_ended()
    assert m.cable_in() == k.cable_in()
    assert m.lock.fitted == k.lock.fitted
    assert (m.lock.state, m.lock.pos, m.lock.feedback()) == (k.lock.state, k.lock.pos, k.lock.feedback())
    for code in range(1, E.N_CODES):
        assert m.active(code) == k.active(code), E.name(code)


def warnings(r) -> list:
    return [ln.split("warning ")[1] for ln in r.st.error_log.lines() if " warning " in ln]


def tagless(**kw) -> Rig:
    return Rig("sscu", TaglessCharging=True, RFIDReader1Enabled=False, **kw)


def test_the_mirrors_follow_the_safety_core_through_a_session():
    r = tagless()
    mirror_matches(r)
    r.plug()
    mirror_matches(r)
    r.ev(1, "B")
    r.lock_in()
    r.run(1)
    assert len(r.starts()) == 1
    mirror_matches(r)
    r.ev(1, "C")
    r.run(2)
    assert r.status() == "Charging" and r.st.mirrors[0].contactor_closed
    mirror_matches(r)
    simdrive.fault(r.st, "lock_forced_open", True)   # the lock is forced: a latched error
    r.run(2)
    assert r.st.mirrors[0].active(E.ERR_NOT_LOCKED_FOR_POWER) and r.status() == "Faulted"
    mirror_matches(r)
    simdrive.fault(r.st, "lock_forced_open", False)
    r.ev(1, "A")
    r.unplug(force=True)
    r.run(5)
    mirror_matches(r)
    assert r.status() == "Available"


def test_a_corrupted_command_is_the_manuals_crc_error_and_is_sent_again():
    r = tagless()
    n = noisy(r)
    n.flip = 1
    n.only = L.CMD_AUTHORIZE             # the session's authorization is hit on the wire
    r.arrive()
    r.lock_in()
    r.run(1)
    assert "ERR_REQ_CRC_WRONG" in warnings(r)
    assert r.st.port.link_errors == 1
    # the port sent the commanded state again: the session goes on
    assert r.st.connectors[0].authorized and len(r.starts()) == 1
    r.ev(1, "C")
    r.run(2)
    assert r.status() == "Charging" and r.st.connectors[0].contactor_closed
    mirror_matches(r)


def test_a_lost_link_opens_the_contactor_and_comes_back():
    r = tagless()
    r.arrive()
    r.lock_in()
    r.ev(1, "C")
    r.run(2)
    assert r.status() == "Charging"
    n = noisy(r)
    n.cut = True                         # no frame gets through, heartbeats neither
    r.run(4)
    assert r.st.connectors[0].contactor_closed     # within the 5 s heartbeat timeout
    r.run(2)
    k = r.st.connectors[0]
    assert not k.contactor_closed and k.error == E.ERR_HEARTBEAT   # the safe state (manual 8.5)
    assert r.status() == "Faulted" and r.st.mirrors[0].error == E.ERR_HEARTBEAT
    assert r.reasons() == ["Other"]      # the MCU ends the transaction
    n.cut = False
    r.run(2)
    assert r.st.port.error == 0 and k.error == 0
    assert r.status() == "Finishing"     # the EV is still there; the station works again
    mirror_matches(r)
    r.leave()
    r.arrive()                           # a new EV charges again
    r.lock_in()
    r.ev(1, "C")
    r.run(2)
    assert r.status() == "Charging" and len(r.starts()) == 2
    mirror_matches(r)


def test_a_lost_command_is_repaired_after_the_next_link_error():
    r = tagless()
    n = noisy(r)
    n.drop = 0
    r.arrive()
    r.lock_in()
    r.run(1)
    limit = r.st.mirrors[0].limit_da
    n.drop = 1                           # the next command frame is lost: nobody can tell
    r.st.port.set_limit_da(1, 100)
    r.run(1)
    assert r.st.connectors[0].limit_da == limit
    n.flip = 1                           # the next frame (a heartbeat) is corrupted
    r.run(2)
    assert "ERR_REQ_CRC_WRONG" in warnings(r)
    assert r.st.connectors[0].limit_da == 100


def test_a_flooded_link_is_rx_buffer_overflow_then_resent():
    r = tagless()
    r.arrive()
    r.lock_in()
    r.run(1)
    p = r.st.port
    for _ in range(40):                  # more frames than the queue holds before a tick
        p.set_operative(1, True)
    p.set_limit_da(1, 130)               # dropped at the full queue
    r.run(1)
    assert "ERR_RX_BUFFER_OVERFLOW" in warnings(r)
    r.run(1)
    assert r.st.connectors[0].limit_da == 130     # resent after the overflow
    mirror_matches(r)


def test_lost_events_are_reported_again_in_full():
    r = tagless()
    r.arrive()
    r.lock_in()
    r.run(1)
    ring = r.st.events
    while ring.push(1, 99, 0):           # the IOCU's transmit ring overflows
        pass
    r.st.port.sync()                     # drains the junk and the overflow warning
    r.ev(1, "C")                         # meanwhile the EV starts charging
    r.run(2)
    assert "ERR_TX_BUFFER_OVERFLOW" in warnings(r)
    mirror_matches(r)
    assert r.status() == "Charging"
