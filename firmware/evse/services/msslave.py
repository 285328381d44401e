# The slave of the RFID master/slave link (evse.services.masterslave has the
# protocol, the messages and the common part): answers the master's POLL with
# its STATUS, presents a CARD from the bus to its CardRouter (a repeated CARD
# is answered from memory), and reports ReaderFailure when the master is not
# heard for (LOST_POLLS + 1) * POLL_MS. Synchronous, no clock of its own.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.services import rs485link as L
from evse.ticks import ticks_add, ticks_diff
from evse.services.masterslave import (SLAVE_ADDR, POLL_MS, LOST_POLLS, DEDUP_MS, MSG_POLL,
                                       MSG_CARD, MSG_STATUS, MSG_RESULT, RES_IGNORED, RES_PENDING,
                                       MAX_CONN, MAX_TAG, outcome, put_str, tag_key, Link,
                                       result_code)

_L_UNKNOWN = const(0)
_L_UP = const(1)
_L_DOWN = const(2)


# ---- slave -----------------------------------------------------------------------------------
class SlaveLink(Link):
    role = "slave"

    def __init__(self, bus, unit, addr: int = SLAVE_ADDR, poll_ms: int = POLL_MS,
                 lost_polls: int = LOST_POLLS) -> None:
        Link.__init__(self, bus, unit, addr)
        self.lost_ms = poll_ms * (lost_polls + 1)
        self._link = _L_UNKNOWN
        self._last_rx = 0
        self._cseq = 0              # the latest CARD: seq, tag, when, outcome
        self._ctag = ""
        self._cat = 0
        self._cres = RES_IGNORED
        self._cconn = 0
        self._late = False          # its outcome is still pending (Authorize.req)
        self.polls = 0
        self.cards = 0
        self.duplicates = 0

    @property
    def online(self) -> bool:
        return self._link == _L_UP

    def poll(self, now: int) -> None:
        self._now = now
        if not self._started:
            self._started = True
            self._last_rx = now
        self._read()
        self.dec.expire(now)
        if self._link != _L_DOWN and ticks_diff(now, self._last_rx) >= self.lost_ms:
            self._link = _L_DOWN
            self.unit.link_changed(False)

    def next_deadline_ms(self, now: int) -> int:
        if not self._started:
            return 0
        best = -1
        if self._link != _L_DOWN:
            best = max(0, ticks_diff(ticks_add(self._last_rx, self.lost_ms), now))
        g = self.dec.gap_deadline_ms(now)
        if g >= 0 and (best < 0 or g < best):
            best = g
        return best

    def busy(self) -> bool:
        return False

    def awaiting(self) -> bool:
        return False

    def card(self, reader: int, tag: str, now: int) -> dict:
        return outcome("ignored", reason="RFID slave: the reader is at the master")

    def card_late(self, res: dict) -> None:
        """The CardRouter's late outcome (Authorize.conf) of the bus card."""
        if self._late:
            self._late = False
            self._cres = result_code(res.get("result"))
            c = res.get("connector", 0)
            self._cconn = c if type(c) is int and 0 <= c < 256 else 0

    def info(self) -> dict:
        d = {"role": self.role, "online": self.online, "link_lost": self._link == _L_DOWN,
             "polls": self.polls, "cards": self.cards, "duplicates": self.duplicates}
        d.update(self._counters())
        return d

    def _alive(self) -> None:
        self._last_rx = self._now
        if self._link != _L_UP:
            self._link = _L_UP
            self.unit.link_changed(True)

    def _on_frame(self, addr: int, p, n: int) -> None:
        if addr == (self.addr | L.REPLY):
            self.echoes += 1                        # our own reply, heard back
            return
        if addr != self.addr or n < 2:
            self.stray += 1
            return
        t = p[0]
        if t == MSG_POLL:
            self._alive()
            self.polls += 1
            self._send_status(p[1])
        elif t == MSG_CARD and n >= 3 and 3 + p[2] <= n and p[2] <= MAX_TAG:
            self._alive()
            try:
                tag = bytes(p[3:3 + p[2]]).decode()
            except UnicodeError:
                tag = ""
            self._on_card(p[1], tag)
        else:
            self.stray += 1

    def _on_card(self, seq: int, tag: str) -> None:
        now = self._now
        if (seq == self._cseq and tag and tag_key(tag) == tag_key(self._ctag)
                and ticks_diff(now, self._cat) < DEDUP_MS):
            self.duplicates += 1                    # our RESULT was lost: same answer
        else:
            self.cards += 1
            self._cseq = seq
            self._ctag = tag
            self._cat = now
            self._late = False
            res = self.unit.present(tag, 1) if tag else outcome("ignored", reason="not an IdToken")
            self._cres = result_code(res.get("result"))
            c = res.get("connector", 0)
            self._cconn = c if type(c) is int and 0 <= c < 256 else 0
            self._late = self._cres == RES_PENDING
        t = self._tx
        t[L.HEADER] = MSG_RESULT
        t[L.HEADER + 1] = seq
        t[L.HEADER + 2] = self._cres
        t[L.HEADER + 3] = self._cconn
        self._write(L.frame_into(t, self.addr | L.REPLY, 4))

    def _send_status(self, seq: int) -> None:
        t = self._tx
        u = self.unit
        h = L.HEADER
        t[h] = MSG_STATUS
        t[h + 1] = seq
        cnt = min(u.connectors(), MAX_CONN)
        t[h + 2] = cnt
        off = h + 3
        for i in range(cnt):
            t[off] = u.conn_flags(i) & 0xFF
            t[off + 1] = u.conn_status(i) & 0xFF
            off = put_str(t, off + 2, u.conn_tag(i))
            off = put_str(t, off, u.conn_parent(i))
        t[off] = self._cseq
        t[off + 1] = self._cres
        t[off + 2] = self._cconn
        off += 3
        self._write(L.frame_into(t, self.addr | L.REPLY, off - h))

