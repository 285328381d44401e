# Persistent queue of transaction-related OCPP messages (OCPP 1.6 section 3.7):
# StartTransaction, StopTransaction and transaction MeterValues go through it,
# in order, and survive reboot, kill -9 and power cuts at any instant.
#
# Storage: one append-only log in Storage (evse.hal.fsstore), one record a line:
#
#   <crc32 of BODY, 8 lowercase hex> <BODY>\n
#
#   P <seq> <fails> <action> <ref> <payload-json>   a queued message
#   A <seq> [<transactionId>]                       delivered (txid for Start)
#   F <seq>                                         one failed attempt
#   D <seq>                                         dropped (attempts used up,
#                                                    or queue overflow)
#   H <next-seq> <refs-json>                        first line after compaction:
#        refs-json = [[ref, transactionId|null, stopped 0|1, start-seq], ...]
#
# <ref> is the JSON of the caller's local transaction reference (an int or a
# str without blanks; "null" when none).
#
# RAM holds only metadata per queued message (seq, action, ref, fails, and the
# byte offset + length of its P record in the log): a few dozen bytes, so the
# queue is bounded by flash, not RAM. The payload stays on flash: peek (and
# entries) read the record back with Storage.read_at, verify its checksum and
# parse the payload then. A record that no longer matches (flash corrupted
# after it was queued) is noted in `errors` and dropped, like a message whose
# attempts are used up, and the log is rewritten without it. A P record whose
# append failed is kept in RAM (`_pending`) until a rewrite has stored it.
# Loading streams the log in small chunks, so boot needs no RAM for the file.
# Compaction rewrites the survivors (header + P lines, with their fail
# counts) through Storage.write_chunks (atomic: temp + rename), streaming each
# payload from the old log to the new one.
#
# Crash rules (load never raises):
# - a last line without "\n" or with a bad checksum is the record a cut
#   interrupted: it is discarded silently (`tail_discarded` counts bytes);
# - a bad line elsewhere is skipped and noted in `errors`;
# - after either, the file is rewritten at once, so later appends never
#   continue a torn line.
# A record is durable when push/ack/fail returns. So nothing acknowledged is
# lost, and nothing is delivered twice except a message whose ack record the
# cut itself prevented: that one is peeked (sent) again after the reboot.
#
# Delivery (OCPP 1.6 3.7.1 and errata 3.18):
# - only the head (oldest) message is in flight; ack/fail name it by seq, and
#   an ack or fail for another seq (a late answer) is ignored (returns False);
# - fail() is for a "failure to process the message": a CALLERROR or a timeout
#   while connected. A lost connection is not a failure: just peek again later.
# - after `attempts` (TransactionMessageAttempts) failures the message is
#   dropped; before the next try the caller waits retry_interval_s *
#   failures-so-far (TransactionMessageRetryInterval times the preceding
#   transmissions): ready(now_ms) / wait_ms(now_ms). Fail counts persist (F
#   records); the wait itself does not: after a reboot the head is due at once.
# - the rule applies to StartTransaction too: a CS that never processes it
#   must not block the queue forever. Its transaction then gets
#   transactionId -1, which its later messages carry (errata 3.18).
# - StopTransaction and MeterValues pushed with a ref get "transactionId"
#   filled in when peeked: the id from the StartTransaction.conf of that ref,
#   -1 if that Start was dropped or is unknown. So a transaction started
#   offline is reported with the id the Central System assigns later.
# - bounded queue: past `max_queued` messages, each push drops the oldest queued
#   MeterValues (never Start/Stop, never the head in flight); `overflowed`
#   counts them. Start/Stop are always accepted.
#
# Byte budget (`budget`, 0 = none; the station passes the board's, 32 KiB on
# an STM32F4 whose flash FS has 112 KiB): the log file plus the compaction
# copy never exceed it. The log (S bytes) is rewritten as the compacted log
# (C bytes: header + the queued P records) next to the old one, so S + C
# must stay within the budget: every record is checked before it is
# appended, and when it would not fit the log is compacted instead (the
# compaction stores the change). When the compacted log itself would pass
# half the budget, less MARGIN for the ack/fail records and the header's
# growth, something gives way, in this order, until it fits with an eighth
# of the budget to spare (so that a full journal is not rewritten at every
# push):
#   1. the oldest queued sampled MeterValues (Sample.Periodic);
#   2. then the oldest other MeterValues (clock-aligned, triggered);
#   3. then the transactionData of the StopTransaction being queued (its
#      meterStop, timestamp, reason and idTag stay): `trimmed` counts them.
# Never a StartTransaction or StopTransaction, never the head in flight:
# when those alone pass the budget (about 100 offline transactions at
# 32 KiB) they are kept anyway and `over_budget` counts the records stored
# past it. `budget_dropped` counts the MeterValues that gave way; stats()
# has every count (station status, diagnostics). A log found over the
# budget at boot (a smaller budget than before) is brought within it by
# the same rule, its first compaction excepted.
import gc
import json
import sys

try:
    from binascii import crc32
except ImportError:  # pragma: no cover
    from zlib import crc32  # type: ignore[no-redef]

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ticks import ticks_add, ticks_diff

START = "StartTransaction"
STOP = "StopTransaction"
METER = "MeterValues"

# queue entry: [seq, action, ref, fails, record offset, record length, kind]
# (offset -1: the record is in _pending, not yet on flash)
_SEQ = const(0)
_ACT = const(1)
_REF = const(2)
_FAILS = const(3)
_OFF = const(4)
_LEN = const(5)
# refs table value: [transactionId or None, stopped, start seq]
_TXID = const(0)
_STOPPED = const(1)
_SSEQ = const(2)

_MAX_WAIT_MS = const(0x1FFFFFFF)  # longest wait ticks_diff handles (~6.2 days)
_MAX_ERRORS = const(16)
_MAX_REFS = const(32)             # closed-or-stale refs kept across compaction
_CHUNK = const(512)               # bytes read at a time while loading
_COLLECT_BYTES = const(16384)     # collect the heap after reading this much
_KIND = const(6)                  # what gives way first: 0 sampled MeterValues,
_SAMPLED = const(0)               # 1 other MeterValues, 2 never (Start/Stop/other)
_KEEP = const(2)
MARGIN = const(256)               # kept free for ack/fail records and header growth
_FAST = const(2048)               # a header longer than this is measured, not assumed
_HEAD = const(96)                 # bytes read first of a P record: its head (see _pjson)
BOARD_BUDGET = const(32768)       # the default byte budget on a board


def _kind(action: str, b, start: int, end: int) -> int:
    if action != METER:
        return _KEEP
    return _SAMPLED if b.find(b'"Sample.Periodic"', start, end) >= 0 else 1
# (what gives way is in evse.ocpp.jbudget, imported only when the budget is
# reached: a journal far from it carries none of that code in RAM)


# Each record is built once, as one object: near the heap limit every copy
# of a payload is a chance to fail, and the records used to be formatted as
# a str, encoded, checksummed and joined again (4-5 copies of a payload).
_MP = sys.implementation.name == "micropython"


def text_bytes(s: str):
    """The UTF-8 bytes of s as a bytes-like object: on MicroPython a view of
    the str itself (its buffer is its UTF-8), no copy; len() is in bytes."""
    return memoryview(s) if _MP else s.encode()  # type: ignore[arg-type]


def _line(body: bytes) -> bytes:
    """A short record (A, F, D): <crc> body, one bytes object."""
    return b"%08x %s\n" % (crc32(body) & 0xFFFFFFFF, body)


def _record(head: bytes, tail) -> bytearray:
    """A long record (P, H): <crc> head+tail, tail a bytes-like payload
    (text_bytes of its JSON). The checksum runs over the parts; the line is
    one buffer of its final size, holding the only copy of tail."""
    crc = crc32(tail, crc32(head)) & 0xFFFFFFFF
    nh = len(head)
    nt = len(tail)
    b = bytearray(10 + nh + nt)
    b[0:9] = b"%08x " % crc
    b[9:9 + nh] = head
    b[9 + nh:9 + nh + nt] = tail
    b[9 + nh + nt] = 0x0A
    return b


def _payload_at(b, start: int, end: int) -> int:
    """Offset of the payload in the P line b[start:end] (without "\n";
    b[start + 9:] = "P <seq> <fails> <action> <ref> <payload>"): after the
    fifth blank; -1 if there is none."""
    k = start + 9
    for _ in range(5):
        k = b.find(b" ", k, end)
        if k < 0:
            return -1
        k += 1
    return k


def _ref_json(ref) -> str:
    if ref is None:
        return "null"
    if type(ref) is not int and type(ref) is not str:
        raise ValueError("tx ref must be int or str")
    s = json.dumps(ref)
    for c in " \t\r\n":
        if c in s:
            raise ValueError("tx ref must not contain blanks")
    return s


class Journal:
    def __init__(self, storage, name: str = "txjournal", attempts: int = 3,
                 retry_interval_s: int = 60, max_queued: int = 500,
                 compact_bytes: int = 4096, budget: int = 0) -> None:
        self._st = storage
        self._name = name
        # TransactionMessageAttempts / ...RetryInterval: the owner of those
        # configuration keys updates these attributes when they change.
        self.attempts = attempts
        self.retry_interval_s = retry_interval_s
        self.max_queued = max_queued
        self.compact_bytes = compact_bytes
        self.budget = budget
        self.budget_dropped = 0   # MeterValues that gave way to the byte budget
        self.trimmed = 0          # StopTransactions queued without their transactionData
        self.over_budget = 0      # records stored past the budget (Start/Stop alone fill it)
        self.errors = []          # type: list
        self.tail_discarded = 0   # bytes of a torn last record dropped at load
        self.dropped = 0          # messages dropped after `attempts` failures
        self.overflowed = 0       # MeterValues dropped for max_queued
        self._q = []              # type: list
        self._pending = {}        # type: dict  # seq -> P record not on flash yet
        self._acts = {START: START, STOP: STOP, METER: METER}  # shared names
        self._refs = {}           # type: dict
        self._next = 1
        self._due = None          # type: int | None  # ticks_ms the head is due; None = now
        self._size = 0           # bytes in the log file
        self._live = 0            # bytes a compacted log would hold (about)
        self._dirty = False       # a write failed: the next one rewrites all
        self._load()

    # ---- queue API ------------------------------------------------------

    def __len__(self) -> int:
        return len(self._q)

    def push(self, action: str, payload: dict, ref=None) -> int:
        """Queue a message; returns its sequence number once it is durable."""
        if not action or " " in action:
            raise ValueError("bad action")
        rj = _ref_json(ref)
        js = json.dumps(payload)
        if len(self._q) >= self.max_queued:
            self._overflow()
        seq = self._next
        kind = _KEEP if action != METER else (_SAMPLED if js.find('"Sample.Periodic"') >= 0 else 1)
        pb = text_bytes(js)
        if action == STOP and self.budget and not self._fits(2 * len(pb)):
            from evse.ocpp.jbudget import trim
            pb = trim(self, payload, pb)
        self._next = seq + 1
        b = _record(("P %d 0 %s %s " % (seq, action, rj)).encode(), pb)
        del pb, js
        act = self._acts.get(action)
        if act is None:
            act = self._acts[action] = action
        e = [seq, act, ref, 0, -1, len(b), kind]
        self._q.append(e)
        self._live += len(b)
        if ref is not None:
            if action == START:
                self._refs[ref] = [None, False, seq]
            elif action == STOP:
                r = self._refs.get(ref)
                if r is not None:
                    r[_STOPPED] = True
        self._persist(b, e)
        self._maybe_compact()
        return seq

    def peek(self):
        """(seq, action, payload) of the oldest undelivered message, or None.
        Stop/MeterValues of a transaction carry its current transactionId."""
        while self._q:
            e = self._q[0]
            pj = self._pjson(e)
            if pj is not None:
                try:
                    payload = json.loads(pj)
                    break
                except ValueError:
                    pass
            self._corrupt(e)
        else:
            return None
        pj = None
        ref = e[_REF]
        if ref is not None and e[_ACT] != START and type(payload) is dict:
            r = self._refs.get(ref)
            txid = r[_TXID] if r is not None else None
            if txid is not None:
                payload["transactionId"] = txid
            elif "transactionId" not in payload:
                payload["transactionId"] = -1
        return (e[_SEQ], e[_ACT], payload)

    def ack(self, seq: int, result=None) -> bool:
        """The Central System confirmed the head message. For StartTransaction
        `result` is the .conf payload: its transactionId is recorded."""
        if not self._q or self._q[0][_SEQ] != seq:
            return False
        e = self._q[0]
        if e[_ACT] == START:
            txid = result.get("transactionId") if type(result) is dict else None
            if type(txid) is not int:
                self._error("seq %d: StartTransaction.conf without transactionId" % seq)
                txid = -1
            self._done(e, txid)
            self._persist(_line(b"A %d %d" % (seq, txid)))
        else:
            self._done(e, None)
            self._persist(_line(b"A %d" % seq))
        self._maybe_compact()
        return True

    def fail(self, seq: int, now_ms: int) -> bool:
        """One failed attempt of the head (CALLERROR or timeout). Returns True
        when this used up the attempts and the message was dropped."""
        if not self._q or self._q[0][_SEQ] != seq:
            return False
        e = self._q[0]
        e[_FAILS] += 1
        n = e[_FAILS]
        if n >= self.attempts:
            self.dropped += 1
            self._drop(e)
            self._persist(_line(b"D %d" % seq))
            self._maybe_compact()
            return True
        wait = self.retry_interval_s * 1000 * n
        if wait > _MAX_WAIT_MS:
            wait = _MAX_WAIT_MS
        self._due = ticks_add(now_ms, wait)
        self._persist(_line(b"F %d" % seq))
        return False

    def ready(self, now_ms: int) -> bool:
        """True when there is a head message and its retry wait is over."""
        return bool(self._q) and (self._due is None or ticks_diff(now_ms, self._due) >= 0)

    def wait_ms(self, now_ms: int):
        """ms until the head may be sent (0 = now), None when empty."""
        if not self._q:
            return None
        if self._due is None:
            return 0
        d = ticks_diff(self._due, now_ms)
        return d if d > 0 else 0

    def tx_id(self, ref):
        """transactionId of the transaction `ref`: None while its Start is not
        confirmed (or ref unknown), -1 when the Start was dropped."""
        r = self._refs.get(ref)
        return None if r is None else r[_TXID]

    def open_refs(self) -> list:
        """Refs whose StartTransaction was pushed but no StopTransaction yet:
        after a reboot these are the sessions the power cut interrupted."""
        return [k for k, r in self._refs.items() if not r[_STOPPED]]

    def entries(self) -> list:
        """[(seq, action, ref, fails, payload as pushed)], oldest first. Reads
        every payload from flash (None for a record that no longer matches)."""
        return [(e[_SEQ], e[_ACT], e[_REF], e[_FAILS], self._payload(e)) for e in self._q]

    def compact(self) -> None:
        """Rewrite the log as header + surviving messages (atomic)."""
        while True:
            self._prune_refs()
            # Streamed: the survivors are written chunk by chunk (temp file +
            # rename, Storage.write_chunks), so RAM never holds the whole file;
            # each payload is copied from the old log. Their new places are
            # taken only once the new log is in place.
            offs = []   # type: list
            bad = []    # type: list
            try:
                size = self._st.write_chunks(self._name, self._lines(offs, bad))
            except OSError as ex:
                self._dirty = True
                self._error("rewrite failed: %r" % (ex,))
                return
            self._dirty = False
            self._size = size
            self._live = size
            self._pending = {}
            i = 0
            for e in self._q:
                if i < len(offs) and e is offs[i][0]:
                    e[_OFF] = offs[i][1]
                    e[_LEN] = offs[i][2]
                    i += 1
            if not bad:
                return
            # records that no longer matched were left out: forget them and
            # rewrite again, so the header reflects their drop
            for e in bad:
                self._error("seq %d: record corrupt on flash, dropped" % e[_SEQ])
                self._drop(e)

    # ---- internals ------------------------------------------------------

    def _header(self) -> bytearray:
        return _record(b"H %d " % self._next, text_bytes(json.dumps(
            [[k, r[_TXID], 1 if r[_STOPPED] else 0, r[_SSEQ]] for k, r in self._refs.items()])))

    def stats(self) -> dict:
        """What the journal holds and what gave way (status, diagnostics)."""
        return {"queued": len(self._q), "bytes": self._size, "budget": self.budget,
                "budget_dropped": self.budget_dropped, "trimmed": self.trimmed,
                "over_budget": self.over_budget, "overflowed": self.overflowed,
                "dropped": self.dropped, "errors": len(self.errors)}

    def _fits(self, n: int) -> bool:
        """The log with n more bytes appended and its compacted copy fit the
        budget (with MARGIN to spare when a P record was just queued)."""
        need = self._size + n + self._live + MARGIN
        if need + _FAST <= self.budget:
            return True
        return need + len(self._header()) <= self.budget

    def _lines(self, offs: list, bad: list):
        hb = self._header()
        pos = len(hb)
        yield hb
        del hb
        for e in self._q:
            pv = self._pview(e)
            if pv is None:
                bad.append(e)
                continue
            # the payload goes from the old log to the new one as a view of
            # the record read back: no copy of it is made here
            head = ("P %d %d %s %s " % (e[_SEQ], e[_FAILS], e[_ACT], _ref_json(e[_REF]))).encode()
            crc = crc32(pv, crc32(head)) & 0xFFFFFFFF
            b = b"%08x %s" % (crc, head)
            n = len(b) + len(pv) + 1
            offs.append((e, pos, n))
            pos += n
            yield b
            yield pv
            yield b"\n"
            pv = None

    def _pview(self, e):
        """Payload JSON (a memoryview of the bytes read back) of e's P record,
        verified; None when it no longer matches (or cannot be read)."""
        if e[_OFF] < 0:
            b = self._pending.get(e[_SEQ])
        else:
            b = self._st.read_at(self._name, e[_OFF], e[_LEN])
        n = e[_LEN]
        if b is None or len(b) != n or n < 12 or b[n - 1] != 0x0A or b[8] != 0x20:
            return None
        try:
            mv = memoryview(b)
            if crc32(mv[9:n - 1]) & 0xFFFFFFFF != int(bytes(mv[0:8]), 16):
                return None
            k = _payload_at(b, 0, n - 1)
            if k < 0:
                return None
            f = bytes(mv[9:k - 1]).decode().split(" ")
            if len(f) != 5 or f[0] != "P" or int(f[1]) != e[_SEQ]:
                return None
            return mv[k:n - 1]
        except (ValueError, UnicodeError):
            return None

    def _pjson(self, e):
        """Payload JSON text of e's P record, verified (see _pview), or None.
        From flash, the head is read first and the payload (with its "\n",
        which JSON allows) apart: the str is made from exactly the bytes
        read, which MicroPython shares instead of copying, so the payload
        is in RAM once before it is parsed, not twice."""
        n = e[_LEN]
        h = None
        if e[_OFF] >= 0:
            h = self._st.read_at(self._name, e[_OFF], n if n < _HEAD else _HEAD)
        k = -1
        if h is not None and len(h) >= 12 and h[8] == 0x20:
            k = _payload_at(h, 0, len(h))
        if k < 0:                       # in RAM, or a head longer than _HEAD
            pv = self._pview(e)
            if pv is None:
                return None
            try:
                return str(pv, "utf-8")
            except UnicodeError:
                return None
        try:
            hv = memoryview(h)
            f = bytes(hv[9:k - 1]).decode().split(" ")
            if len(f) != 5 or f[0] != "P" or int(f[1]) != e[_SEQ]:
                return None
            b = self._st.read_at(self._name, e[_OFF] + k, n - k)
            if b is None or len(b) != n - k or b[n - k - 1] != 0x0A:
                return None
            if crc32(memoryview(b)[0:n - k - 1], crc32(hv[9:k])) & 0xFFFFFFFF != int(bytes(hv[0:8]), 16):
                return None
            return str(b, "utf-8")
        except (ValueError, UnicodeError):
            return None

    def _payload(self, e):
        pj = self._pjson(e)
        if pj is None:
            return None
        try:
            return json.loads(pj)
        except ValueError:
            return None

    def _corrupt(self, e) -> None:
        """e's record no longer matches: drop it and rewrite the log."""
        self._error("seq %d: record corrupt on flash, dropped" % e[_SEQ])
        self._drop(e)
        self.compact()

    def _error(self, msg: str) -> None:
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append(msg)

    def _persist(self, b, e=None) -> None:
        # RAM already holds the change; make it durable. e: the queue entry
        # whose P record b is (kept in _pending until it is on flash).
        if e is not None:
            self._pending[e[_SEQ]] = b
        if self.budget and not self._dirty and not self._fits(len(b) if e is not None else len(b) - MARGIN):
            # the record and a later compaction copy would not fit: compact
            # now (it stores the change), after making room if needed
            from evse.ocpp.jbudget import full
            what = full(self, e)
            if what == 1:             # NOTHING: the new MeterValues gave way
                return
            if what == 0:             # COMPACT
                self._dirty = True
        if self._dirty:
            self.compact()
            return
        try:
            self._st.append(self._name, b)
        except OSError as ex:
            # a torn line may be on disk now: never append after it
            self._dirty = True
            self._error("append failed: %r" % (ex,))
            return
        if e is not None:
            del self._pending[e[_SEQ]]
            e[_OFF] = self._size
        self._size += len(b)

    def _maybe_compact(self) -> None:
        # rewrite when the dead records outweigh both the threshold and the
        # live ones: with a long queue (offline for hours) the cost of a
        # rewrite stays proportional to what was freed, not to the queue
        dead = self._size - self._live
        if dead >= self.compact_bytes and dead >= self._live:
            self.compact()

    def _remove(self, e) -> None:
        q = self._q
        for i in range(len(q)):
            if q[i] is e:
                del q[i]
                if i == 0:
                    self._due = None  # the next message is due at once
                break
        self._live -= e[_LEN]
        if e[_OFF] < 0:
            self._pending.pop(e[_SEQ], None)

    def _done(self, e, txid) -> None:
        """Effects of an ack (live or replayed)."""
        self._remove(e)
        ref = e[_REF]
        if ref is None:
            return
        if e[_ACT] == START:
            r = self._refs.get(ref)
            if r is None:
                self._refs[ref] = [txid, False, e[_SEQ]]
            else:
                r[_TXID] = txid
        elif e[_ACT] == STOP:
            self._refs.pop(ref, None)

    def _drop(self, e) -> None:
        """Effects of a drop (live or replayed)."""
        if e[_ACT] == START:
            self._done(e, -1)  # errata 3.18: its messages go with id -1
        else:
            self._done(e, None)

    def _overflow(self) -> None:
        for i in range(1, len(self._q)):
            e = self._q[i]
            if e[_ACT] == METER:
                self.overflowed += 1
                self._drop(e)
                self._persist(_line(b"D %d" % e[_SEQ]))
                return

    def _prune_refs(self) -> None:
        # Refs leave the table when their Stop is acked or dropped. Bound it
        # anyway (a session that never got a Stop): keep the newest ones and
        # every ref a queued message still needs.
        if len(self._refs) <= _MAX_REFS:
            return
        needed = {}
        for e in self._q:
            if e[_REF] is not None:
                needed[e[_REF]] = True
        old = sorted([(r[_SSEQ], k) for k, r in self._refs.items() if k not in needed])
        for i in range(len(self._refs) - _MAX_REFS):
            if i < len(old):
                self._refs.pop(old[i][1], None)

    def _find(self, seq: int):
        for e in self._q:
            if e[_SEQ] == seq:
                return e
        return None

    def _load(self) -> None:
        # Streamed: read _CHUNK bytes at a time; RAM holds at most one line
        # plus one chunk. A line is judged once it is known whether it is the
        # last one in the file (a bad last line is a torn tail, not an error).
        st = self._st
        name = self._name
        buf = st.read_at(name, 0, _CHUNK)
        if not buf:
            return
        mv = memoryview(buf)
        nread = 0
        base = 0                  # file offset of buf[0]
        eof = False
        self._lastp = 0           # P records must have rising seqs
        self._hnext = 0           # seqs below this were pushed before the last compaction
        pos = 0
        lineno = 0
        rewrite = False
        while True:
            end = buf.find(b"\n", pos)
            if end < 0 or end + 1 >= len(buf):
                if not eof:
                    # need more: keep the unjudged rest, read the next chunk
                    more = st.read_at(name, base + len(buf), _CHUNK)
                    if not more:
                        eof = True
                    else:
                        nread += len(more)
                        if nread >= _COLLECT_BYTES:
                            # what loading leaves behind (a few dozen bytes a
                            # message) stays packed at the start of the heap
                            # instead of strewn between the chunks' garbage:
                            # a long queue must not leave a heap with no
                            # block for the next large allocation
                            nread = 0
                            gc.collect()
                        base += pos
                        buf = buf[pos:] + more
                        mv = memoryview(buf)
                        pos = 0
                        more = None
                    continue
                if end < 0:
                    if pos < len(buf):
                        self.tail_discarded = len(buf) - pos   # a write the cut interrupted
                        rewrite = True
                    break
            lineno += 1
            last = eof and end + 1 >= len(buf)
            why = self._replay(buf, mv, pos, end, base + pos)
            if why is not None:
                rewrite = True
                if last:
                    self.tail_discarded = end + 1 - pos
                else:
                    self._error("line %d: %s" % (lineno, why))
            pos = end + 1
        self._size = base + len(buf)
        buf = None
        del mv
        self._live = 0
        for e in self._q:
            self._live += e[_LEN]
        if self.budget and not self._fits(0):
            from evse.ocpp.jbudget import make_room
            make_room(self, None)   # a log from a larger budget: brought within this one
            rewrite = True
        if rewrite:
            self.compact()

    def _replay(self, buf, mv, start: int, end: int, off: int):
        """Apply one record (buf[start:end], mv a view of buf, at file offset
        off); returns None or why it was rejected."""
        if end - start < 10 or mv[start + 8] != 0x20:
            return "malformed"
        try:
            crc = int(bytes(mv[start:start + 8]), 16)
        except ValueError:
            return "malformed"
        if crc32(mv[start + 9:end]) & 0xFFFFFFFF != crc:
            return "bad checksum"
        try:
            kind = chr(mv[start + 9])
            if kind == "P":
                # only the header is decoded: the payload stays in the log
                # (loading a long queue must not copy every payload around)
                k = _payload_at(buf, start, end)
                if k < 0:
                    return "bad P record"
                f = bytes(mv[start + 9:k - 1]).decode().split(" ")
                seq = int(f[1])
                if len(f) != 5 or seq <= self._lastp:
                    return "bad P record"
                self._lastp = seq
                if seq >= self._next:
                    self._next = seq + 1
                ref = json.loads(f[4])
                act = self._acts.get(f[3])
                if act is None:
                    act = self._acts[f[3]] = f[3]
                e = [seq, act, ref, int(f[2]), off, end + 1 - start, _kind(act, buf, k, end)]
                self._q.append(e)
                # a message kept by a compaction: the header's refs already
                # hold its push and whatever was acked after it
                if ref is not None and seq >= self._hnext:
                    if f[3] == START:
                        self._refs[ref] = [None, False, seq]
                    elif f[3] == STOP:
                        r = self._refs.get(ref)
                        if r is not None:
                            r[_STOPPED] = True
                return None
            body = bytes(mv[start + 9:end]).decode()
            if kind == "H":
                f = body.split(" ", 2)
                self._next = int(f[1])
                self._hnext = self._next
                self._lastp = 0
                self._q = []
                self._refs = {}
                for item in json.loads(f[2]):
                    self._refs[item[0]] = [item[1], bool(item[2]), item[3]]
                return None
            f = body.split(" ")
            seq = int(f[1])
            e = self._find(seq)
            if e is None:
                return "%s for unknown seq %d" % (kind, seq)
            if kind == "A":
                self._done(e, int(f[2]) if e[_ACT] == START and len(f) > 2 else None)
            elif kind == "F":
                e[_FAILS] += 1
            elif kind == "D":
                self._drop(e)
            else:
                return "unknown record"
        except (ValueError, IndexError, TypeError, KeyError):
            return "malformed"
        return None
