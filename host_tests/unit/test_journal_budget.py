# The OCPP journal's byte budget (evse.ocpp.journal): the log file plus its
# compaction copy never pass it; when it is full the oldest sampled
# MeterValues give way first, then other MeterValues, then the queued
# StopTransaction's transactionData; StartTransaction/StopTransaction never.
# What gave way is counted (stats(): station status and diagnostics). Both
# runtimes; the kill -9 during compaction is in test_journal_crash.py.
import os

from support import tmpdir
from evse.hal.fsstore import Storage
from evse.ocpp.journal import Journal, START, STOP, METER, MARGIN
from session_rig import Rig, FakeCS

NAME = "txjournal"


class PeakStorage(Storage):
    """Storage that records the most bytes the journal ever held on flash:
    the log, plus the compaction copy while it is being written."""

    def __init__(self, root: str) -> None:
        Storage.__init__(self, root)
        self.peak = 0
        self.rewrites = 0

    def _size(self, name: str) -> int:
        try:
            return os.stat(self._p(name))[6]
        except OSError:
            return 0

    def _see(self, n: int) -> None:
        if n > self.peak:
            self.peak = n

    def append(self, name: str, data) -> None:
        if name == NAME:
            self._see(self._size(name) + len(data))
        Storage.append(self, name, data)

    def write_chunks(self, name: str, chunks) -> int:
        if name != NAME:
            return Storage.write_chunks(self, name, chunks)
        old = self._size(name)
        self.rewrites += 1
        box = [0]

        def counted():
            for c in chunks:
                box[0] += len(c)
                self._see(old + box[0])      # the old log is still there
                yield c
        return Storage.write_chunks(self, name, counted())


def _start(k):
    return {"connectorId": 1, "idTag": "T%d" % k, "meterStart": 1000 * k,
            "timestamp": "2026-01-01T00:00:00Z"}


def _mv(wh, context):
    return {"connectorId": 1, "meterValue": [{"timestamp": "2026-01-01T00:30:00Z", "sampledValue": [
        {"value": "%d" % wh, "context": context, "measurand": "Energy.Active.Import.Register",
         "unit": "Wh"}]}]}


def _stop(k, readings=0):
    p = {"meterStop": 1000 * k + 999, "timestamp": "2026-01-01T01:00:00Z", "reason": "Local"}
    if readings:
        p["transactionData"] = [{"timestamp": "2026-01-01T00:%02d:00Z" % (i % 60), "sampledValue": [
            {"value": "%d" % (1000 * k + i), "context": "Sample.Periodic",
             "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]} for i in range(readings)]
    return p


def _fill(j, sessions, per_session, every_clock=0):
    """Offline sessions: Start, MeterValues (every every_clock-th one
    clock-aligned), Stop. Returns the MeterValues pushed, in order."""
    pushed = []
    for k in range(1, sessions + 1):
        j.push(START, _start(k), k)
        for i in range(per_session):
            ctx = "Sample.Clock" if every_clock and i % every_clock == 0 else "Sample.Periodic"
            wh = 1000 * k + i
            j.push(METER, _mv(wh, ctx), k)
            pushed.append((wh, ctx))
        j.push(STOP, _stop(k, 5), k)
    return pushed


def _drain(j):
    """Reconnected: the Central System takes every message in order."""
    got = []
    tx = 500
    while True:
        h = j.peek()
        if h is None:
            return got
        seq, action, payload = h
        got.append((action, payload))
        if action == START:
            tx += 1
            j.ack(seq, {"transactionId": tx})
        else:
            j.ack(seq)


def _energy(payload) -> int:
    return int(payload["meterValue"][0]["sampledValue"][0]["value"])


def test_full_journal_offline_keeps_every_start_stop_and_the_newest_values():
    st = PeakStorage(tmpdir("jbudget"))
    budget = 16384
    j = Journal(st, max_queued=100000, budget=budget)
    pushed = _fill(j, 6, 60, every_clock=10)           # 6 x 60 MeterValues: ~60 KB of log
    assert st.peak <= budget, st.peak
    assert st._size(NAME) <= budget
    assert j.budget_dropped > 0 and j.over_budget == 0 and j.trimmed == 0
    s = j.stats()
    assert s["budget"] == budget and s["budget_dropped"] == j.budget_dropped
    assert s["queued"] == len(j) and s["bytes"] == st._size(NAME)
    kept = [(_energy(p), p["meterValue"][0]["sampledValue"][0]["context"])
            for _, a, _r, _f, p in j.entries() if a == METER]
    # the kept ones are the newest: a tail of what was pushed, less the
    # sampled ones that gave way before the clock-aligned ones
    assert kept and kept[-1] == pushed[-1]
    first = pushed.index(kept[0])
    tail = pushed[first:]
    assert [x for x in tail if x[1] == "Sample.Clock"] == [x for x in kept if x[1] == "Sample.Clock"]
    assert len(kept) + j.budget_dropped == len(pushed)
    older = pushed[:first]
    assert older and all(x not in kept for x in older)
    # a reboot finds the same queue (every drop was stored)
    j2 = Journal(st, max_queued=100000, budget=budget)
    assert [e[0] for e in j2.entries()] == [e[0] for e in j.entries()]
    got = _drain(j2)
    starts = [p["idTag"] for a, p in got if a == START]
    stops = [(p["meterStop"], p["transactionId"]) for a, p in got if a == STOP]
    assert starts == ["T%d" % k for k in range(1, 7)]
    assert stops == [(1000 * k + 999, 500 + k) for k in range(1, 7)]
    assert all(len(p["transactionData"]) == 5 for a, p in got if a == STOP)
    sent = [_energy(p) for a, p in got if a == METER]
    assert sent == [x[0] for x in kept] and sent[-1] == pushed[-1][0]
    assert st.peak <= budget, st.peak


def test_sampled_values_give_way_before_clock_aligned_ones():
    st = PeakStorage(tmpdir("jbudget"))
    j = Journal(st, max_queued=100000, budget=4096)
    j.push(START, _start(1), 1)
    for i in range(5):
        j.push(METER, _mv(i, "Sample.Clock"), 1)
    for i in range(100, 160):
        j.push(METER, _mv(i, "Sample.Periodic"), 1)
    kept = [(_energy(p)) for _, a, _r, _f, p in j.entries() if a == METER]
    assert kept[:5] == list(range(5)) and len(kept) > 5, kept     # every clock-aligned value kept
    assert kept[-1] == 159 and j.budget_dropped > 0 and st.peak <= 4096


def test_stop_transaction_data_gives_way_when_starts_and_stops_fill_it():
    st = PeakStorage(tmpdir("jbudget"))
    budget = 16384
    j = Journal(st, max_queued=100000, budget=budget)
    for k in range(1, 9):
        j.push(START, _start(k), k)
        j.push(STOP, _stop(k, 3), k)
    assert j.trimmed == 0 and st.peak <= budget
    j.push(START, _start(9), 9)
    j.push(STOP, _stop(9, 40), 9)                      # ~4 KB of readings: cannot fit
    assert j.trimmed == 1 and st.peak <= budget, (j.trimmed, st.peak)
    got = _drain(j)
    stops = [p for a, p in got if a == STOP]
    assert [p["meterStop"] for p in stops] == [1000 * k + 999 for k in range(1, 10)]
    assert "transactionData" not in stops[-1] and stops[-1]["reason"] == "Local"
    assert len(stops[0]["transactionData"]) == 3


def test_starts_and_stops_are_kept_past_the_budget_and_counted():
    st = PeakStorage(tmpdir("jbudget"))
    j = Journal(st, max_queued=100000, budget=4096)
    for k in range(1, 40):                              # ~40 x 2 x 150 B of Start/Stop
        j.push(START, _start(k), k)
        j.push(STOP, _stop(k), k)
    assert len(j) == 78 and j.over_budget > 0 and j.budget_dropped == 0
    assert any("exceed the budget" in e for e in j.errors), j.errors
    # a MeterValues now has nothing older to displace: it gives way itself
    n = len(j)
    rewrites = st.rewrites
    j.push(METER, _mv(7, "Sample.Periodic"), 39)
    assert len(j) == n and j.budget_dropped == 1 and st.rewrites == rewrites
    got = _drain(j)
    assert [p["idTag"] for a, p in got if a == START] == ["T%d" % k for k in range(1, 40)]


def test_log_from_a_larger_budget_is_brought_within_at_boot():
    d = tmpdir("jbudget")
    j = Journal(Storage(d), max_queued=100000)          # no budget: ~40 KB
    _fill(j, 2, 150)
    assert os.stat(d + "/" + NAME)[6] > 30000
    st = PeakStorage(d)
    j2 = Journal(st, max_queued=100000, budget=8192)
    assert os.stat(d + "/" + NAME)[6] <= 8192 and j2.budget_dropped > 0
    got = _drain(j2)
    assert [a for a, p in got].count(START) == 2 and [a for a, p in got].count(STOP) == 2


def test_station_offline_for_hours_stays_within_the_board_budget():
    # a station (32 KiB by default, like the STM32F4 board) offline through
    # four two-hour sessions with MeterValues every minute, then back online
    r = Rig("sscu", MeterValueSampleInterval=60, ClockAlignedDataInterval=900, HeartBeatInterval=0)
    st = r.st.journal._st
    peak = [0]
    orig_append = st.append
    orig_chunks = st.write_chunks

    def size():
        try:
            return os.stat(st._p(NAME))[6]
        except OSError:
            return 0

    def append(name, data):
        if name == NAME:
            peak[0] = max(peak[0], size() + len(data))
        orig_append(name, data)

    def write_chunks(name, chunks):
        old = size()
        box = [0]

        def counted():
            for c in chunks:
                box[0] += len(c)
                if name == NAME:
                    peak[0] = max(peak[0], old + box[0])
                yield c
        return orig_chunks(name, counted())
    st.append = append
    st.write_chunks = write_chunks
    budget = r.st.journal.budget
    assert budget == 32768
    stops = []
    for k in range(4):
        r.arrive(1)
        r.card("A")
        r.ev(1, "C")
        r.run(7200)
        stops.append(r.energy())
        r.leave(1)
        r.card("A")          # nothing to stop: a harmless card
        r.run(60)
    j = r.st.journal
    assert j.budget_dropped > 0 and peak[0] <= budget, (j.budget_dropped, peak[0])
    info = r.st.status()["ocpp"]["journal"]
    assert info["budget_dropped"] == j.budget_dropped and info["bytes"] <= budget
    assert r.st.status_report.diag_info()["ocpp"]["journal"]["budget_dropped"] == j.budget_dropped
    r.online(FakeCS())
    r.run(600)
    assert len(r.calls("StartTransaction")) == 4
    got = r.calls("StopTransaction")
    assert [p["meterStop"] for p in got] == [int(e) for e in stops]
    mvs = r.calls("MeterValues")
    last = mvs[-1]["meterValue"][0]["sampledValue"]
    e_last = [int(sv["value"]) for sv in last if sv["measurand"] == "Energy.Active.Import.Register"]
    # the newest sampled value of the last session (within a minute of its end)
    assert e_last and stops[-1] - 200 <= e_last[0] <= stops[-1], (e_last, stops)
    assert peak[0] <= budget and len(r.st.journal) == 0
    assert MARGIN < budget // 8
