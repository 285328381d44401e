# Meter values as a Central System receives them (evse.services.metering on a
# real Station, virtual clock, fake Central System or the offline journal):
# clock-aligned values at ClockAlignedDataInterval boundaries counted from
# midnight UTC and never at boot (OCPP 1.6 9.1.5, manual ClockAlignedDataInterval),
# and StopTransaction.transactionData from StopTxnSampledData / StopTxnAlignedData
# (OCPP 1.6 9.1.25, 9.1.27).
from session_rig import FakeCS, Rig

from evse.clock import iso8601, parse_iso8601
from evse.services import metering as M

DAY = 86400
T0 = 1767225600          # 2026-01-01T00:00:00Z, the rig's virtual start


def aligned(r):
    """(timestamp, connectorId) of every Sample.Clock MeterValues sent or queued."""
    out = []
    for p in r.calls("MeterValues") + [p for a, p in r.txs("MeterValues")]:
        for mv in p["meterValue"]:
            if mv["sampledValue"] and mv["sampledValue"][0]["context"] == "Sample.Clock":
                out.append((mv["timestamp"], p["connectorId"]))
    return out


def test_next_boundary_counts_from_midnight():
    assert M.next_boundary(T0, 900) == T0 + 900
    assert M.next_boundary(T0 + 899, 900) == T0 + 900
    assert M.next_boundary(T0 + 900, 900) == T0 + 1800
    # 7 h does not divide the day: 07:00, 14:00, 21:00, then midnight again
    assert M.next_boundary(T0, 25200) == T0 + 25200
    assert M.next_boundary(T0 + 21 * 3600, 25200) == T0 + DAY
    assert M.next_boundary(T0 + DAY, 25200) == T0 + DAY + 25200
    assert M.next_boundary(T0 + 5, 86400) == T0 + DAY


def test_aligned_values_at_boundaries_from_midnight_not_from_the_epoch():
    # 1767225600 is a midnight but not a multiple of 7 h: epoch-counted
    # boundaries would fall at other hours
    r = Rig("sscu", ClockAlignedDataInterval=25200, HeartBeatInterval=0)
    r.online(FakeCS())
    r.run(2 * DAY)
    got = [t for t, c in aligned(r)]
    want = []
    for d in range(2):
        for h in (7, 14, 21, 24):
            want.append(iso8601(T0 + d * DAY + h * 3600))
    assert got == want


def test_no_aligned_value_at_boot_when_the_clock_is_set_forward():
    # a board without a clock boots at the default time; the Central System's
    # currentTime then moves it on by hours (as after a restart): nothing is read
    # at a boundary the clock jumped over
    r = Rig("sscu", ClockAlignedDataInterval=900, HeartBeatInterval=0)
    r.clock.follow_csms = True          # a board's clock: takes every currentTime
    r.online(FakeCS())
    r.run(5)
    r.clock.set_utc(r.clock.now() + 5 * 3600 + 37)      # BootNotification.conf currentTime
    r.run(5)
    assert aligned(r) == []
    r.run(900)
    assert [t for t, c in aligned(r)] == [iso8601(T0 + 5 * 3600 + 900)]
    # set back by an hour: the next boundary is the next one of the new time
    now = r.clock.now()
    r.clock.set_utc(now - 3600)
    r.run(900)
    got = [parse_iso8601(t) for t, c in aligned(r)]
    assert len(got) == 2 and got[1] % 900 == 0 and got[1] < now


def test_aligned_values_follow_a_changed_interval():
    r = Rig("sscu", ClockAlignedDataInterval=900, HeartBeatInterval=0)
    r.online(FakeCS())
    r.run(100)
    assert r.st.config.change("ClockAlignedDataInterval", "600") == "Accepted"
    r.run(1200)
    assert [t for t, c in aligned(r)] == [iso8601(T0 + 600), iso8601(T0 + 1200)]
    assert r.st.config.change("ClockAlignedDataInterval", "0") == "Accepted"
    r.run(3600)
    assert len(aligned(r)) == 2


def charge(r, seconds):
    r.arrive()
    assert r.card("A")["result"] in ("accepted", "pending")
    r.ev(1, "C")
    r.run(seconds)
    assert r.card("A")["result"] == "stopped"
    r.run(2)
    (stop,) = r.stops()
    return stop


def test_stop_transaction_carries_stop_txn_sampled_and_aligned_data():
    r = Rig("sscu", StartTransactionDelay=0, MeterValueSampleInterval=300,
            MeterValuesSampledData="Current.Import", ClockAlignedDataInterval=900,
            StopTxnSampledData="Energy.Active.Import.Register,Power.Active.Import",
            StopTxnAlignedData="Energy.Active.Import.Register")
    stop = charge(r, 1000)
    data = stop["transactionData"]
    ctx = [mv["sampledValue"][0]["context"] for mv in data]
    assert ctx[0] == "Transaction.Begin" and ctx[-1] == "Transaction.End"
    assert sorted(ctx[1:-1]) == ["Sample.Clock"] + ["Sample.Periodic"] * 3
    times = [parse_iso8601(mv["timestamp"]) for mv in data]
    assert times == sorted(times)
    start = times[0]
    for mv in data[1:-1]:
        t = parse_iso8601(mv["timestamp"])
        names = [sv["measurand"] for sv in mv["sampledValue"]]
        if mv["sampledValue"][0]["context"] == "Sample.Clock":
            assert t == T0 + 900 and names == ["Energy.Active.Import.Register"]
        else:
            assert (t - start) % 300 == 0
            assert sorted(names) == ["Energy.Active.Import.Register", "Power.Active.Import"]
    wh = [int(sv["value"]) for mv in data for sv in mv["sampledValue"]
          if sv["measurand"] == "Energy.Active.Import.Register"]
    assert wh == sorted(wh) and wh[-1] == stop["meterStop"] and wh[1] > 0
    # the MeterValues of the transaction still carry MeterValuesSampledData only
    for a, p in r.txs("MeterValues"):
        for mv in p["meterValue"]:
            if mv["sampledValue"][0]["context"] == "Sample.Periodic":
                assert [sv["measurand"] for sv in mv["sampledValue"]] == ["Current.Import"] * 3


def test_stop_transaction_without_stop_txn_keys_has_begin_and_end_only():
    r = Rig("sscu", StartTransactionDelay=0, MeterValueSampleInterval=60)
    stop = charge(r, 600)
    assert [mv["sampledValue"][0]["context"] for mv in stop["transactionData"]] == \
        ["Transaction.Begin", "Transaction.End"]


def test_transaction_data_stays_bounded_and_spans_the_transaction():
    r = Rig("sscu", StartTransactionDelay=0, MeterValueSampleInterval=10,
            MeterValuesSampledData="", ClockAlignedDataInterval=0,
            StopTxnSampledData="Energy.Active.Import.Register,Current.Import,Voltage")
    stop = charge(r, 4 * 3600)
    kept = stop["transactionData"][1:-1]
    size = sum([len(M.json.dumps(mv)) + 2 for mv in kept])
    assert M.TXDATA_BYTES // 2 < size <= M.TXDATA_BYTES
    assert len(kept) >= 4
    times = [parse_iso8601(mv["timestamp"]) for mv in stop["transactionData"]]
    start, end = times[0], times[-1]
    assert times[1] - start <= 10                   # the first reading is kept
    assert end - times[-2] <= (end - start) // 2    # the late ones too
    gaps = [times[i + 1] - times[i] for i in range(1, len(times) - 2)]
    assert max(gaps) == min(gaps)                   # evenly thinned
    # the next transaction starts with an empty record
    r.leave()
    r.arrive()
    r.card("B")
    r.ev(1, "C")
    r.run(15)
    r.card("B")
    r.run(2)
    stop2 = r.stops()[-1]
    assert len(stop2["transactionData"]) == 3
