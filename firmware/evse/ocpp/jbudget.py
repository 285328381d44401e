# What gives way when the OCPP journal (evse.ocpp.journal) reaches its byte
# budget; the policy is described there. Imported only then, so a journal
# far from its budget carries none of this code in RAM.
import json

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ocpp.journal import MARGIN, text_bytes

# the journal's queue entry fields and kinds (its const()s are not module
# attributes on MicroPython)
_LEN = const(5)
_KIND = const(6)
_SAMPLED = const(0)
_KEEP = const(2)


def kept_bytes(j) -> int:
    """The compacted log with every MeterValues but the head gone."""
    n = len(j._header())
    q = j._q
    for i in range(len(q)):
        if i == 0 or q[i][_KIND] == _KEEP:
            n += q[i][_LEN]
    return n


def trim(j, payload, pb):
    """A StopTransaction about to be queued (pb its JSON, text_bytes): when it cannot
    fit even with every MeterValues gone, its transactionData gives way
    (meterStop, timestamp, reason, idTag stay); returns the JSON to queue."""
    if (type(payload) is not dict or "transactionData" not in payload
            or 2 * (kept_bytes(j) + len(pb) + 64) + MARGIN <= j.budget):
        return pb
    p = dict(payload)
    del p["transactionData"]
    j.trimmed += 1
    return text_bytes(json.dumps(p))


def make_room(j, new) -> bool:
    """Before a compaction that must bring the log within the budget:
    MeterValues give way (sampled ones first, oldest first; never the head
    in flight nor `new`) until the compacted log takes at most half the
    budget less MARGIN with an eighth of the budget to spare, and the
    compaction copy fits next to the log. True when even that is not
    enough (Start/Stop alone fill it)."""
    hdr = len(j._header())
    goal = j.budget - j.budget // 8 - MARGIN
    q = j._q
    for kind in (_SAMPLED, 1):
        i = 1
        while i < len(q):
            c = hdr + j._live
            if 2 * c <= goal and j._size + c <= j.budget:
                return False
            e = q[i]
            if e[_KIND] == kind and e is not new:
                j.budget_dropped += 1
                j._drop(e)            # stored by the compaction that follows
            else:
                i += 1
    return 2 * (hdr + j._live) + MARGIN > j.budget


COMPACT = 0      # full(): compact now (the compaction stores the change)
NOTHING = 1      # nothing to write
APPEND = 2       # append the record (past the budget: a rewrite would not help)


def full(j, e) -> int:
    """A record (e: the queue entry of a P record, else None) does not fit
    with a later compaction copy: makes room, says what to do."""
    if e is None:
        return COMPACT
    n0 = j.budget_dropped
    if not make_room(j, e):
        return COMPACT
    if e[_KIND] != _KEEP:
        j.budget_dropped += 1         # nothing older can give way: the new one does
        j._drop(e)
        # the older drops, if any, are stored by the compaction
        return NOTHING if j.budget_dropped == n0 + 1 else COMPACT
    j.over_budget += 1                # a Start/Stop: stored past the budget
    if j.over_budget == 1:
        j._error("Start/Stop alone exceed the budget of %d bytes" % j.budget)
    return COMPACT if j.budget_dropped != n0 else APPEND
