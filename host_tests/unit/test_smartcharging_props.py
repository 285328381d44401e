# cpython-only: hypothesis properties of evse.services.smartcharging.
# For random sets of profiles (all purposes, kinds, stack levels, validity
# windows, durations): the GetCompositeSchedule periods agree at every instant
# with target_a() capped by the local limits, so the next-change logic that
# builds the periods misses no boundary; next_change_s() never skips a change;
# and the profiles survive a restart unchanged.
from hypothesis import given, settings, strategies as st

from support import DictConfig, tmpdir
from evse.clock import iso8601
from evsesim.hal.simclock import VirtualClock
from evse.hal.fsstore import Storage
from evse.services.smartcharging import SmartCharging

T0 = 1772409600
CFG = {"SmartChargingEnabled": True, "MaxCurrentConnection": 32, "ChargePointCurrentLimit": 40,
       "NominalAmperage": 16.0, "NominalPeriod": 30, "ChargingProfileMaxStackLevel": 3,
       "ChargingScheduleAllowedChargingRateUnit": "Current", "ChargingSchedulesMaxPeriods": 1000,
       "MaxChargingProfilesInstalled": 8, "MainsVoltage": 230}


class Cfg(DictConfig):
    def __init__(self, **kw):
        values = dict(CFG)
        values.update(kw)
        DictConfig.__init__(self, values)


@st.composite
def profiles(draw):
    purpose = draw(st.sampled_from(["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"]))
    conn = 0 if purpose == "ChargePointMaxProfile" else (
        1 if purpose == "TxProfile" else draw(st.sampled_from([0, 1])))
    kind = draw(st.sampled_from(["Absolute", "Recurring", "Relative"]))
    starts = sorted(set([0] + draw(st.lists(st.integers(1, 30000), max_size=4))))
    per = [{"startPeriod": s, "limit": draw(st.integers(0, 400)) / 10} for s in starts]
    sched = {"chargingRateUnit": "A", "chargingSchedulePeriod": per}
    if kind != "Relative":
        sched["startSchedule"] = iso8601(T0 + draw(st.integers(-90000, 90000)))
    if draw(st.booleans()):
        sched["duration"] = draw(st.integers(1, 100000))
    d = {"chargingProfileId": draw(st.integers(1, 20)), "stackLevel": draw(st.integers(0, 3)),
         "chargingProfilePurpose": purpose, "chargingProfileKind": kind, "chargingSchedule": sched}
    if kind == "Recurring":
        d["recurrencyKind"] = draw(st.sampled_from(["Daily", "Weekly"]))
    if draw(st.booleans()):
        a = T0 + draw(st.integers(-50000, 50000))
        d["validFrom"] = iso8601(a)
        if draw(st.booleans()):
            d["validTo"] = iso8601(a + draw(st.integers(1, 100000)))
    return conn, d


def _value_at(conf, off):
    v = None
    for p in conf["chargingSchedule"]["chargingSchedulePeriod"]:
        if p["startPeriod"] <= off:
            v = p["limit"]
    return v


@settings(max_examples=150, deadline=None)
@given(st.lists(profiles(), max_size=6), st.lists(st.integers(0, 200000), min_size=1, max_size=25),
       st.one_of(st.none(), st.integers(-3000, 3000)))
def test_composite_matches_target_and_next_change(profs, offsets, tx_off):
    store = Storage(tmpdir("scprop"))
    # without a transaction the composite anchors Relative profiles at
    # scheduleStart and has no NominalPeriod: target_a(tx_start=start) with
    # NominalPeriod 0 is the same view
    cfg = Cfg(NominalPeriod=30 if tx_off is not None else 0)
    sc = SmartCharging(cfg, store, VirtualClock(T0 - 100000), 2)
    for conn, d in profs:
        sc.set_profile(conn, d, lambda c: True)
    start = T0
    tx = None if tx_off is None else T0 + tx_off
    dur = 200001
    conf = sc.composite_schedule(1, dur, "A", now=start, tx_start=tx)
    assert conf["chargingSchedule"]["duration"] == dur
    conf0 = sc.composite_schedule(0, dur, "A", now=start)
    for off in offsets:
        t = start + off
        want = min(32.0, 40.0, sc.target_a(1, t, start if tx is None else tx))
        assert abs(_value_at(conf, off) - want) < 1e-9, (off, _value_at(conf, off), want)
        lim0 = sc.limit_a(0, t)
        assert abs(_value_at(conf0, off) - min(40.0, 40.0 if lim0 is None else lim0)) < 1e-9
    # next_change_s: the limit is constant until the announced change
    txs = {} if tx is None else {1: tx}
    t = start
    for _ in range(20):
        nc = sc.next_change_s(t, txs)
        if nc is None:
            break
        assert nc > 0
        for probe in (t + nc // 2, t + nc - 1):
            if probe > t:
                for c in (0, 1, 2):
                    assert sc.limit_a(c, probe, txs.get(c)) == sc.limit_a(c, t, txs.get(c))
        t += nc
    # persistence
    sc2 = SmartCharging(cfg, store, VirtualClock(T0), 2)
    assert sc2.errors == []
    assert sorted((p.pid, p.cid, str(p.to_dict())) for p in sc2.profiles) == \
        sorted((p.pid, p.cid, str(p.to_dict())) for p in sc.profiles)


@settings(max_examples=150, deadline=None)
@given(st.lists(profiles(), max_size=6), st.lists(st.integers(0, 20000), min_size=1, max_size=30),
       st.one_of(st.none(), st.integers(-3000, 3000)), st.integers(0, 29))
def test_the_energy_steps_cached_answers_are_the_computed_ones(profs, gaps, tx_off, change_at):
    # step_da (what the MCU step asks, cached until the next change) equals
    # target_a / limit_a computed afresh, while time passes, a profile is
    # added or cleared and a key changes on the way
    store = Storage(tmpdir("scstep"))
    cfg = Cfg()
    sc = SmartCharging(cfg, store, VirtualClock(T0 - 100000), 2)
    for conn, d in profs[:-1]:
        sc.set_profile(conn, d, lambda c: True)
    tx = None if tx_off is None else T0 + tx_off
    t = T0
    for k, gap in enumerate(gaps):
        t += gap
        if k == change_at:
            if profs:
                sc.set_profile(profs[-1][0], profs[-1][1], lambda c: True)
            cfg.set("NominalAmperage", 10.0)
        if k == change_at + 2:
            sc.clear(connector_id=1)
        for c in (1, 2):
            start = tx if c == 1 else None
            assert sc.step_da(c, t, start) == int(round(sc.target_a(c, t, start) * 10)), (k, c, t)
        lim = sc.limit_a(0, t)
        assert sc.step_da(0, t) == (-1 if lim is None else int(round(lim * 10)))
        nc = sc.step_change_s(t)
        want = sc.next_change_s(t, {} if tx is None else {1: tx})
        assert nc == want or (nc is not None and want is not None and nc <= want), (nc, want)
