# The master of the RFID master/slave link (evse.services.masterslave has the
# protocol, the messages and the common part): polls the slave for its
# STATUS, routes a card at the master's reader (route(), first match wins)
# locally or to the slave (CARD), and calls the slave offline after
# LOST_EXCHANGES failed exchanges. Synchronous, no clock of its own.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.services import rs485link as L
from evse.ticks import ticks_add, ticks_diff
from evse.services.masterslave import (SLAVE_ADDR, POLL_MS, REPLY_MS, RETRIES, LOST_EXCHANGES,
                                       MSG_POLL, MSG_CARD, MSG_STATUS, MSG_RESULT, RES_IGNORED,
                                       RES_PENDING, RESULT_NAMES, F_USABLE, F_EV_WAITING,
                                       F_AUTHORIZED, F_TX, ROUTE_LOCAL, ROUTE_SLAVE, MAX_CONN,
                                       MAX_TAG, outcome, put_str, tag_key, take_str, read_str,
                                       Link)

_C_NONE = const(0)
_C_ROUTING = const(1)       # waiting for a fresh STATUS
_C_FORWARDED = const(2)     # CARD in flight


# ---- routing (pure) -------------------------------------------------------------------------
def _owns(conn, key: str, pkey: str) -> bool:
    """conn = (flags, tag, parent): does its session belong to the card?"""
    if not conn[0] & (F_AUTHORIZED | F_TX):
        return False
    if conn[1] and tag_key(conn[1]) == key:
        return True
    return bool(pkey) and bool(conn[2]) and tag_key(conn[2]) == pkey


def route(tag: str, parent: str, local, remote) -> int:
    """ROUTE_LOCAL or ROUTE_SLAVE for a card (rules in the module header).
    local/remote: sequences of (flags, tag, parent) per connector; remote
    None = the slave is offline or unknown."""
    key = tag_key(tag)
    rem = remote or ()
    for c in local:
        if _owns(c, key, ""):
            return ROUTE_LOCAL
    for c in rem:
        if _owns(c, key, ""):
            return ROUTE_SLAVE
    if parent:
        pkey = tag_key(parent)
        for c in local:
            if _owns(c, "\0", pkey):
                return ROUTE_LOCAL
        for c in rem:
            if _owns(c, "\0", pkey):
                return ROUTE_SLAVE
    waiting = F_EV_WAITING | F_USABLE
    local_wait = False
    for c in local:
        if c[0] & waiting == waiting:
            local_wait = True
    if not local_wait:
        for c in rem:
            if c[0] & waiting == waiting:
                return ROUTE_SLAVE
    for c in local:
        if c[0] & F_USABLE:
            return ROUTE_LOCAL
    for c in rem:
        if c[0] & F_USABLE:
            return ROUTE_SLAVE
    return ROUTE_LOCAL



# ---- master ----------------------------------------------------------------------------------
class MasterLink(Link):
    role = "master"

    def __init__(self, bus, unit, addr: int = SLAVE_ADDR, poll_ms: int = POLL_MS,
                 reply_ms: int = REPLY_MS, retries: int = RETRIES,
                 lost_after: int = LOST_EXCHANGES) -> None:
        Link.__init__(self, bus, unit, addr)
        self.poll_ms = poll_ms
        self.reply_ms = reply_ms
        self.retries = retries
        self.lost_after = lost_after
        self.online = False
        self._seq = 0
        self._req = 0               # MSG_POLL / MSG_CARD in flight, 0 = none
        self._req_len = 0           # its frame length in _tx (for retries)
        self._deadline = 0
        self._tries = 0
        self.waited = False         # the async shell stopped waiting for this reply
        self._fails = 0             # failed exchanges in a row
        self._next_poll = 0
        # the slave's latest STATUS, preallocated
        self.remote_n = 0
        self.remote_flags = bytearray(MAX_CONN)
        self.remote_code = bytearray(MAX_CONN)
        self._rtag = [bytearray(MAX_TAG) for _ in range(MAX_CONN)]
        self._rtag_n = bytearray(MAX_CONN)
        self._rpar = [bytearray(MAX_TAG) for _ in range(MAX_CONN)]
        self._rpar_n = bytearray(MAX_CONN)
        self._r_cseq = 0
        self._r_cres = 0
        self._r_cconn = 0
        # the card being routed
        self._card = ""
        self._card_state = _C_NONE
        self._late_seq = 0          # a forwarded card that answered "pending"
        self._recent = ""           # StartTransactionDelay after a slave stop
        self._recent_until = 0
        self.last_card = None       # type: dict | None
        # counters
        self.polls = 0
        self.cards_forwarded = 0
        self.timeouts = 0           # replies not received in time (each try)
        self.failures = 0           # exchanges that failed after all retries

    # ---- the synchronous core -----------------------------------------------------------
    def poll(self, now: int) -> None:
        self._now = now
        if not self._started:
            self._started = True
            self._next_poll = now
        f = self.others_busy
        if not self._req and f is not None and f():
            # one exchange at a time on a shared bus (docs/rs485-master-slave.md):
            # the meters' request is on it, the bytes there are its reply
            self.yielded += 1
            return
        self._read()
        self.dec.expire(now)
        if self._req and ticks_diff(now, self._deadline) >= 0:
            self.timeouts += 1
            if self._tries <= self.retries:
                self._tries += 1
                self._deadline = ticks_add(now, self.reply_ms)
                self.waited = False
                self._write(self._req_len)
            else:
                self._failed()
        if not self._req and (self._card_state == _C_ROUTING
                              or ticks_diff(now, self._next_poll) >= 0):
            self._send_poll()
        if self._recent and ticks_diff(now, self._recent_until) >= 0:
            self._recent = ""

    def next_deadline_ms(self, now: int) -> int:
        if not self._started:
            return 0
        if self._req:
            best = max(0, ticks_diff(self._deadline, now))
        else:
            best = max(0, ticks_diff(self._next_poll, now))
        g = self.dec.gap_deadline_ms(now)
        if 0 <= g < best:
            best = g
        if self._recent:
            r = max(0, ticks_diff(self._recent_until, now))
            if r < best:
                best = r
        return best

    def busy(self) -> bool:
        return self._req != 0

    def awaiting(self) -> bool:
        return self._req != 0 and not self.waited

    def card(self, reader: int, tag: str, now: int) -> dict:
        """A card at the master's reader -> the result dict of CardRouter."""
        self._now = now
        u = self.unit
        if not u.reader_ok(reader):
            return u.present(tag, reader)            # the router says why it is ignored
        if self._card_state != _C_NONE:
            return outcome("ignored", reason="previous card still being routed")
        if self._recent and tag_key(tag) == self._recent:
            return outcome("ignored", reason="StartTransactionDelay")
        if not self.online or u.tag_ignored(tag):
            return self._local(tag, False)
        self._card = tag
        self._card_state = _C_ROUTING
        if not self._req:
            self._send_poll()
        return outcome("pending", reason="asking the RS485 slave")

    def info(self) -> dict:
        d = {"role": self.role, "online": self.online, "polls": self.polls,
             "cards_forwarded": self.cards_forwarded, "timeouts": self.timeouts,
             "failures": self.failures, "last_card": self.last_card}
        d.update(self._counters())
        if self.online and self.remote_n:
            d["slave"] = [{"flags": self.remote_flags[i], "code": self.remote_code[i],
                           "id_tag": read_str(self._rtag, self._rtag_n, i)}
                          for i in range(self.remote_n)]
        return d

    # ---- internals ----------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq = self._seq % 255 + 1
        return self._seq

    def _send(self, kind: int, n: int) -> None:
        self._req = kind
        self._req_len = L.frame_into(self._tx, self.addr, n)
        self._tries = 1
        self._deadline = ticks_add(self._now, self.reply_ms)
        self.waited = False
        self._write(self._req_len)

    def _send_poll(self) -> None:
        t = self._tx
        t[L.HEADER] = MSG_POLL
        t[L.HEADER + 1] = self._next_seq()
        self.polls += 1
        self._send(MSG_POLL, 2)

    def _send_card(self, tag: str) -> None:
        t = self._tx
        t[L.HEADER] = MSG_CARD
        t[L.HEADER + 1] = self._next_seq()
        end = put_str(t, L.HEADER + 2, tag)
        self.cards_forwarded += 1
        self._card_state = _C_FORWARDED
        self._send(MSG_CARD, end - L.HEADER)

    def _done(self) -> None:
        self._req = 0
        self._fails = 0
        self._next_poll = ticks_add(self._now, self.poll_ms)
        if not self.online:
            self.online = True
            self.unit.link_changed(True)

    def _failed(self) -> None:
        kind = self._req
        self._req = 0
        self.failures += 1
        self._fails += 1
        self._next_poll = ticks_add(self._now, self.poll_ms)
        if self.online and self._fails >= self.lost_after:
            self.online = False
            self.remote_n = 0
            self._late_seq = 0
            self.unit.link_changed(False)
        if kind == MSG_POLL and self._card_state == _C_ROUTING:
            self._card_state = _C_NONE
            self._local(self._card, True)           # no fresh status: local
        elif kind == MSG_CARD and self._card_state == _C_FORWARDED:
            self._card_state = _C_NONE
            self._outcome(outcome("rejected", reason="RS485 slave not answering", unit="slave"))

    def _local(self, tag: str, late: bool) -> dict:
        res = self.unit.present(tag, 1)
        res["unit"] = "master"
        self.last_card = {"id": tag, "unit": "master", "result": res.get("result")}
        if late and res.get("result") != "pending":
            self.unit.result(res)
        return res

    def _outcome(self, res: dict) -> None:
        self.last_card = {"id": self._card, "unit": "slave", "result": res.get("result"),
                          "connector": res.get("connector", 0)}
        if res.get("result") == "stopped":
            delay = self.unit.start_delay_ms()
            if delay > 0:
                self._recent = tag_key(self._card)
                self._recent_until = ticks_add(self._now, delay)
        self.unit.result(res)

    def _on_frame(self, addr: int, p, n: int) -> None:
        if addr == self.addr:
            self.echoes += 1                        # our own request, heard back
            return
        if addr != (self.addr | L.REPLY) or n < 2 or not self._req or p[1] != self._seq:
            self.stray += 1
            return
        # (small frames: MicroPython puts a call's state on the heap above
        # a few words, so the per-poll path is split into short methods)
        t = p[0]
        if self._req == MSG_POLL and t == MSG_STATUS:
            if not self._parse_status(p, n):
                self.stray += 1
                return
            self._done()
            if self._late_seq:
                self._late_outcome()
            if self._card_state == _C_ROUTING:
                self._route_card()
        elif self._req == MSG_CARD and t == MSG_RESULT and n >= 4:
            self._done()
            self._on_result(p[2], p[3])
        else:
            self.stray += 1

    def _on_result(self, code: int, conn: int) -> None:
        if code >= len(RESULT_NAMES):
            code = RES_IGNORED
        self._card_state = _C_NONE
        if code == RES_PENDING:
            self._late_seq = self._seq
            self.last_card = {"id": self._card, "unit": "slave", "result": "pending",
                              "connector": conn}
        else:
            self._outcome(outcome(RESULT_NAMES[code], conn, unit="slave"))

    def _parse_status(self, p, n: int) -> bool:
        if n < 3:
            return False
        cnt = p[2]
        if cnt > MAX_CONN:
            return False
        off = 3
        for i in range(cnt):
            if off + 3 > n:
                return False
            flags = p[off]
            code = p[off + 1]
            off += 2
            off = take_str(p, n, off, self._rtag[i], self._rtag_n, i)
            if off < 0:
                return False
            off = take_str(p, n, off, self._rpar[i], self._rpar_n, i)
            if off < 0:
                return False
            self.remote_flags[i] = flags
            self.remote_code[i] = code
        if off + 3 > n:
            return False
        self.remote_n = cnt
        self._r_cseq = p[off]
        self._r_cres = p[off + 1]
        self._r_cconn = p[off + 2]
        return True

    def remote(self) -> list:
        """The slave's connectors as (flags, tag, parent) (allocates: card time)."""
        return [(self.remote_flags[i], read_str(self._rtag, self._rtag_n, i),
                 read_str(self._rpar, self._rpar_n, i)) for i in range(self.remote_n)]

    def _late_outcome(self) -> None:
        # how a forwarded card that answered "pending" ended, from STATUS
        if self._r_cseq == self._late_seq and self._r_cres != RES_PENDING:
            code = self._r_cres if self._r_cres < len(RESULT_NAMES) else RES_IGNORED
            self._late_seq = 0
            self._outcome(outcome(RESULT_NAMES[code], self._r_cconn, unit="slave"))

    def _route_card(self) -> None:
        tag = self._card
        u = self.unit
        local = [(u.conn_flags(i), u.conn_tag(i), u.conn_parent(i)) for i in range(u.connectors())]
        if route(tag, u.parent_of(tag), local, self.remote()) == ROUTE_SLAVE:
            self._send_card(tag)
        else:
            self._card_state = _C_NONE
            self._local(tag, True)


