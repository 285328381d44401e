# RFID master/slave: two single-socket controllers sharing one RFID reader
# over the RS485 bus (manual 4.4 RFIDMasterSlaveEnabled, RFIDMasterSlaveID:
# 1 = master, the unit with the reader; 2 = slave). docs/rs485-master-slave.md
# has the full protocol; evse.services.rs485link the framing.
#
# Synchronous cores, no asyncio, no clock of their own:
#   MasterLink(bus, unit) / SlaveLink(bus, unit)
#     poll(now_ms)            read the bus, handle frames, timeouts, polls
#     feed(data, n)           frames from bytes (poll() does this from the bus)
#     next_deadline_ms(now)   when poll() next has something to do (-1 never)
#     card(reader, tag, now)  a card at this unit's reader (station.rfid)
#     busy() / awaiting()     an exchange is in flight / and worth waiting for
#     info()                  counters and state for the simulator's status
# bus: the HAL's RS485 port (evse/hal/__init__.py): write(buf), readinto(buf)
#   -> n, any() -> int. unit: the station as the link sees it
#   (evse.services.mswiring.StationUnit, which lists the methods, or a fake
#   in tests). mswiring also builds the link from the configuration
#   (attach) and holds the simulator's async shell.
#
# Messages (payload = TYPE SEQ ...; requests ADDR = slave address 2, replies
# ADDR = 0x82; SEQ 1..255 per request, kept by retries):
#   POLL   0x01 SEQ                          master -> slave, every POLL_MS
#   STATUS 0x81 SEQ N {FLAGS CODE TL TAG PL PARENT}*N CSEQ CRES CCONN
#          per slave connector: F_* flags, evse.iocu.status code, the id tag
#          and parent id tag of its session (UTF-8, TL/PL bytes, 0 = none);
#          then the latest card (CSEQ) and its outcome so far (RES_*) and
#          connector: how a "pending" card ended.
#   CARD   0x02 SEQ TL TAG                   master -> slave: present this card
#   RESULT 0x82 SEQ RES CONN                 RES_* outcome at once, connector
# A reply is accepted only with the SEQ of the request in flight. The slave
# answers a repeated CARD (same SEQ and tag within DEDUP_MS: its RESULT was
# lost) from its memory instead of presenting the card twice.
#
# Timing: a request without reply for REPLY_MS is sent again, RETRIES times;
# then the exchange failed. LOST_EXCHANGES failed exchanges in a row: the
# master calls the slave offline, routes every card locally and keeps
# polling. The slave with no valid frame from the master for
# (LOST_POLLS + 1) * POLL_MS (N = 5 missed polls) has no card source: it
# reports ReaderFailure on connector 0 (its reader 1 is the bus, marked
# faulted) until the master is heard again. Timeouts count the station's
# clock, virtual or real.
#
# Routing (master, card at its reader), first match wins; "owns" = the
# card's tag (case-insensitive) is the session's tag, then by parent tag:
#   1. a local session owns the card               -> local (it stops there)
#   2. a slave session owns the card               -> slave
#   3. a local / slave session of the card's group -> local / slave
#   4. the slave has an EV waiting for authorization and the master has not
#                                                  -> slave
#   5. the local connector is free (idle, operative) -> local
#   6. the slave's connector is free               -> slave
#   7. otherwise                                   -> local (refuses it)
# With the slave offline, or the card still ignored (StartTransactionDelay
# after it stopped a slave session), cards never go to the slave. Each card
# with the slave online is routed on a fresh STATUS (a POLL at once), so the
# answer to station.rfid() is "pending" and the outcome comes through
# unit.result() (feedback at the master's reader).
#
# A bus card the slave's CardRouter answers "pending" (Authorize.req) ends
# with the router's next late outcome (CardRouter.on_result, hooked by
# attach()); the slave has no reader, so only a RemoteStartTransaction
# answered late at the same moment could be mistaken for it (feedback only).
#
# Allocation: steady-state polling allocates nothing on MicroPython (frames
# in preallocated buffers; the per-frame methods are kept short because the
# VM puts a call's state on the heap above a few words). Cards allocate.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.services import rs485link as L
from evse.ticks import ticks_add, ticks_diff

MASTER = 1          # RFIDMasterSlaveID
SLAVE = 2
SLAVE_ADDR = 2      # the slave's link address

POLL_MS = 1000
REPLY_MS = 250
RETRIES = 2
LOST_EXCHANGES = 3
LOST_POLLS = 5
DEDUP_MS = 3000

MSG_POLL = 0x01
MSG_CARD = 0x02
MSG_STATUS = 0x81
MSG_RESULT = 0x82

RES_IGNORED = 0
RES_ACCEPTED = 1
RES_REJECTED = 2
RES_STOPPED = 3
RES_PENDING = 4
RESULT_NAMES = ("ignored", "accepted", "rejected", "stopped", "pending")

F_USABLE = 1        # idle, operative, not Faulted/Unavailable: may take a card
F_EV_WAITING = 2    # EV plugged in, waiting for authorization (plug_wait)
F_AUTHORIZED = 4    # a tag is authorized, waiting for the EV
F_TX = 8            # a transaction is running

ROUTE_LOCAL = 0
ROUTE_SLAVE = 1

MAX_CONN = 2
MAX_TAG = 40        # bytes of a tag (IdToken: 20 characters) in UTF-8

_C_NONE = const(0)
_C_ROUTING = const(1)       # waiting for a fresh STATUS
_C_FORWARDED = const(2)     # CARD in flight

_L_UNKNOWN = const(0)
_L_UP = const(1)
_L_DOWN = const(2)


def _res(result: str, connector: int = 0, **extra) -> dict:
    d = {"result": result, "connector": connector}
    for k in extra:
        d[k] = extra[k]
    return d


def result_code(name) -> int:
    for i in range(len(RESULT_NAMES)):
        if RESULT_NAMES[i] == name:
            return i
    return RES_IGNORED


def _put_str(buf, off: int, s: str) -> int:
    """TL + UTF-8 bytes of s (at most MAX_TAG) at buf[off]; -> next offset.
    ASCII (every real IdToken) goes without allocating."""
    n = len(s)
    ascii_only = n <= MAX_TAG
    if ascii_only:
        for i in range(n):
            if ord(s[i]) > 127:
                ascii_only = False
                break
    if ascii_only:
        buf[off] = n
        for i in range(n):
            buf[off + 1 + i] = ord(s[i])
        return off + 1 + n
    b = s.encode()[:MAX_TAG]
    buf[off] = len(b)
    buf[off + 1:off + 1 + len(b)] = b
    return off + 1 + len(b)


def _key(s: str) -> str:
    return s.upper()


def _take(p, n: int, off: int, dst, lens, i: int) -> int:
    """Copy a TL-prefixed string at p[off] into dst (no allocation) -> next
    offset, -1 if malformed."""
    if off >= n:
        return -1
    ln = p[off]
    if ln > MAX_TAG or off + 1 + ln > n:
        return -1
    for k in range(ln):
        dst[k] = p[off + 1 + k]
    lens[i] = ln
    return off + 1 + ln


def _rstr(bufs, lens, i: int) -> str:
    ln = lens[i]
    if not ln:
        return ""
    try:
        return bytes(bufs[i][:ln]).decode()
    except UnicodeError:
        return ""


# ---- routing (pure) -------------------------------------------------------------------------
def _owns(conn, key: str, pkey: str) -> bool:
    """conn = (flags, tag, parent): does its session belong to the card?"""
    if not conn[0] & (F_AUTHORIZED | F_TX):
        return False
    if conn[1] and _key(conn[1]) == key:
        return True
    return bool(pkey) and bool(conn[2]) and _key(conn[2]) == pkey


def route(tag: str, parent: str, local, remote) -> int:
    """ROUTE_LOCAL or ROUTE_SLAVE for a card (rules in the module header).
    local/remote: sequences of (flags, tag, parent) per connector; remote
    None = the slave is offline or unknown."""
    key = _key(tag)
    rem = remote or ()
    for c in local:
        if _owns(c, key, ""):
            return ROUTE_LOCAL
    for c in rem:
        if _owns(c, key, ""):
            return ROUTE_SLAVE
    if parent:
        pkey = _key(parent)
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


# ---- the common part -----------------------------------------------------------------------
class _Link:
    role = ""

    def __init__(self, bus, unit, addr: int) -> None:
        self.bus = bus
        self.unit = unit
        self.addr = addr
        self.dec = L.Decoder(self._on_frame, L.MAX_PAYLOAD)
        self._tx = bytearray(L.MAX_FRAME)
        self._txv = memoryview(self._tx)
        self._wn = 0
        self._wmv = self._txv[:0]
        self._rx = bytearray(64)
        self._now = 0
        self._started = False
        self.sent = 0               # frames written
        self.stray = 0              # well-formed frames not expected here
        self.echoes = 0             # our own frames heard back
        self.task = None            # the async shell's task (simulator, virtual clock)

    def feed(self, data, n: int = -1) -> None:
        self.dec.feed(data, n, self._now)

    def _read(self) -> None:
        bus = self.bus
        rx = self._rx
        while bus.any():
            n = bus.readinto(rx)
            if not n:
                break
            self.dec.feed(rx, n, self._now)

    def _write(self, n: int) -> None:
        self.sent += 1
        if n != self._wn:              # steady state repeats one length: no allocation
            self._wn = n
            self._wmv = self._txv[:n]
        self.bus.write(self._wmv)

    def _counters(self) -> dict:
        d = self.dec
        return {"frames": d.frames, "crc_errors": d.crc_errors, "oversize": d.oversize,
                "dropped_partial": d.dropped_partial, "garbage": d.garbage,
                "sent": self.sent, "stray": self.stray, "echoes": self.echoes}

    def _on_frame(self, addr: int, p, n: int) -> None:
        raise NotImplementedError

    def card_late(self, res: dict) -> None:
        pass


# ---- master ----------------------------------------------------------------------------------
class MasterLink(_Link):
    role = "master"

    def __init__(self, bus, unit, addr: int = SLAVE_ADDR, poll_ms: int = POLL_MS,
                 reply_ms: int = REPLY_MS, retries: int = RETRIES,
                 lost_after: int = LOST_EXCHANGES) -> None:
        _Link.__init__(self, bus, unit, addr)
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
            return _res("ignored", reason="previous card still being routed")
        if self._recent and _key(tag) == self._recent:
            return _res("ignored", reason="StartTransactionDelay")
        if not self.online or u.tag_ignored(tag):
            return self._local(tag, False)
        self._card = tag
        self._card_state = _C_ROUTING
        if not self._req:
            self._send_poll()
        return _res("pending", reason="asking the RS485 slave")

    def info(self) -> dict:
        d = {"role": self.role, "online": self.online, "polls": self.polls,
             "cards_forwarded": self.cards_forwarded, "timeouts": self.timeouts,
             "failures": self.failures, "last_card": self.last_card}
        d.update(self._counters())
        if self.online and self.remote_n:
            d["slave"] = [{"flags": self.remote_flags[i], "code": self.remote_code[i],
                           "id_tag": _rstr(self._rtag, self._rtag_n, i)}
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
        end = _put_str(t, L.HEADER + 2, tag)
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
            self._outcome(_res("rejected", reason="RS485 slave not answering", unit="slave"))

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
                self._recent = _key(self._card)
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
            self._outcome(_res(RESULT_NAMES[code], conn, unit="slave"))

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
            off = _take(p, n, off, self._rtag[i], self._rtag_n, i)
            if off < 0:
                return False
            off = _take(p, n, off, self._rpar[i], self._rpar_n, i)
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
        return [(self.remote_flags[i], _rstr(self._rtag, self._rtag_n, i),
                 _rstr(self._rpar, self._rpar_n, i)) for i in range(self.remote_n)]

    def _late_outcome(self) -> None:
        # how a forwarded card that answered "pending" ended, from STATUS
        if self._r_cseq == self._late_seq and self._r_cres != RES_PENDING:
            code = self._r_cres if self._r_cres < len(RESULT_NAMES) else RES_IGNORED
            self._late_seq = 0
            self._outcome(_res(RESULT_NAMES[code], self._r_cconn, unit="slave"))

    def _route_card(self) -> None:
        tag = self._card
        u = self.unit
        local = [(u.conn_flags(i), u.conn_tag(i), u.conn_parent(i)) for i in range(u.connectors())]
        if route(tag, u.parent_of(tag), local, self.remote()) == ROUTE_SLAVE:
            self._send_card(tag)
        else:
            self._card_state = _C_NONE
            self._local(tag, True)


# ---- slave -----------------------------------------------------------------------------------
class SlaveLink(_Link):
    role = "slave"

    def __init__(self, bus, unit, addr: int = SLAVE_ADDR, poll_ms: int = POLL_MS,
                 lost_polls: int = LOST_POLLS) -> None:
        _Link.__init__(self, bus, unit, addr)
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
        return _res("ignored", reason="RFID slave: the reader is at the master")

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
        if (seq == self._cseq and tag and _key(tag) == _key(self._ctag)
                and ticks_diff(now, self._cat) < DEDUP_MS):
            self.duplicates += 1                    # our RESULT was lost: same answer
        else:
            self.cards += 1
            self._cseq = seq
            self._ctag = tag
            self._cat = now
            self._late = False
            res = self.unit.present(tag, 1) if tag else _res("ignored", reason="not an IdToken")
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
            off = _put_str(t, off + 2, u.conn_tag(i))
            off = _put_str(t, off, u.conn_parent(i))
        t[off] = self._cseq
        t[off + 1] = self._cres
        t[off + 2] = self._cconn
        off += 3
        self._write(L.frame_into(t, self.addr | L.REPLY, off - h))
