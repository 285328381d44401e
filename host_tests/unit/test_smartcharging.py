# Smart charging (evse.services.smartcharging): SetChargingProfile rules,
# replacement, ClearChargingProfile filters, stacking and combining in
# GetCompositeSchedule, Absolute/Recurring/Relative schedules, validity,
# NominalPeriod, persistence. Runs on CPython (pytest) and the Unix port.
import json

from support import DictConfig, raises, tmpdir
from evse.clock import parse_iso8601
from evsesim.hal.simclock import VirtualClock
from evse.hal.fsstore import Storage
from evse.services.smartcharging import SmartCharging, FILE

T0 = parse_iso8601("2026-03-02T00:00:00Z")   # a Monday, midnight UTC
H = 3600

DEFAULTS = {
    "SmartChargingEnabled": True,
    "MaxCurrentConnection": 32,
    "ChargePointCurrentLimit": 63,
    "MinCurrentConnection": 6.0,
    "NominalAmperage": 16.0,
    "NominalPeriod": 30,
    "ChargingProfileMaxStackLevel": 6,
    "ChargingScheduleAllowedChargingRateUnit": "Current",
    "ChargingSchedulesMaxPeriods": 255,
    "MaxChargingProfilesInstalled": 8,
    "MainsVoltage": 230,
}


class FakeConfig(DictConfig):
    def __init__(self, **kw):
        values = dict(DEFAULTS)
        values.update(kw)
        DictConfig.__init__(self, values)


class BrokenStorage:
    """Reads nothing, every write fails like a full flash."""

    def read(self, name):
        return None

    def write(self, name, data):
        raise OSError(28)


def _sc(n=2, store=None, now=T0, **cfg):
    clock = VirtualClock(now)
    return SmartCharging(FakeConfig(**cfg), store or Storage(tmpdir("sc")), clock, n)


def prof(pid, stack=0, purpose="TxDefaultProfile", kind="Absolute", periods=((0, 16),),
         unit="A", start=T0, duration=None, recur=None, valid_from=None, valid_to=None,
         txid=None):
    per = []
    for row in periods:
        e = {"startPeriod": row[0], "limit": row[1]}
        if len(row) > 2:
            e["numberPhases"] = row[2]
        per.append(e)
    s = {"chargingRateUnit": unit, "chargingSchedulePeriod": per}
    if start is not None:
        s["startSchedule"] = _iso(start)
    if duration is not None:
        s["duration"] = duration
    d = {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
         "chargingProfileKind": kind, "chargingSchedule": s}
    if recur is not None:
        d["recurrencyKind"] = recur
    if valid_from is not None:
        d["validFrom"] = _iso(valid_from)
    if valid_to is not None:
        d["validTo"] = _iso(valid_to)
    if txid is not None:
        d["transactionId"] = txid
    return d


def _iso(t):
    from evse.clock import iso8601
    return iso8601(t)


def tx_on(*connectors):
    return lambda c: 7 if c in connectors else None


def _periods(conf):
    return [(p["startPeriod"], p["limit"]) for p in conf["chargingSchedule"]["chargingSchedulePeriod"]]


# ---- SetChargingProfile: acceptance and rejection ----------------------------------
def test_txdefault_accepted_and_limits():
    sc = _sc()
    assert sc.set_profile(0, prof(1, periods=((0, 10),))) == "Accepted"
    assert sc.limit_a(1, T0) == 10.0
    assert sc.limit_a(2, T0 + 5 * H) == 10.0
    assert sc.limit_a(0, T0) is None          # no ChargePointMaxProfile
    assert sc.reason == ""


def test_disabled_is_not_supported_and_ignores_profiles():
    sc = _sc(SmartChargingEnabled=False)
    assert sc.set_profile(0, prof(1)) == "NotSupported"
    assert sc.profiles == []
    sc.config.values["SmartChargingEnabled"] = True
    assert sc.set_profile(0, prof(1, periods=((0, 10),))) == "Accepted"
    sc.config.values["SmartChargingEnabled"] = False
    assert sc.limit_a(1, T0) is None          # stored but ignored
    assert sc.target_a(1, T0) == 16.0         # NominalAmperage
    assert sc.next_change_s(T0) is None
    assert sc.clear() == "Accepted"


def test_txprofile_needs_a_transaction():
    sc = _sc()
    assert sc.set_profile(1, prof(1, purpose="TxProfile")) == "Rejected"
    assert sc.set_profile(1, prof(1, purpose="TxProfile"), tx_on(2)) == "Rejected"
    assert sc.set_profile(1, prof(1, purpose="TxProfile"), lambda c: False) == "Rejected"
    assert sc.set_profile(1, prof(1, purpose="TxProfile"), tx_on(1)) == "Accepted"
    # transactionId 0 is a valid id (errata 3.54): the transaction is running
    assert sc.set_profile(2, prof(2, purpose="TxProfile"), lambda c: 0) == "Accepted"


def test_txprofile_transaction_id_must_match():
    sc = _sc()
    assert sc.set_profile(1, prof(1, purpose="TxProfile", txid=8), tx_on(1)) == "Rejected"
    assert sc.set_profile(1, prof(1, purpose="TxProfile", txid=7), tx_on(1)) == "Accepted"
    # id not yet known (StartTransaction.conf pending): accepted
    assert sc.set_profile(2, prof(2, purpose="TxProfile", txid=9), lambda c: True) == "Accepted"
    # transactionId on another purpose
    assert sc.set_profile(1, prof(3, txid=7), tx_on(1)) == "Rejected"


def test_purpose_connector_rules():
    sc = _sc()
    assert sc.set_profile(1, prof(1, purpose="ChargePointMaxProfile")) == "Rejected"
    assert sc.set_profile(0, prof(1, purpose="ChargePointMaxProfile")) == "Accepted"
    assert sc.set_profile(0, prof(2, purpose="TxProfile"), lambda c: 1) == "Rejected"


def test_stack_level_above_max_rejected():
    sc = _sc(ChargingProfileMaxStackLevel=3)
    assert sc.set_profile(0, prof(1, stack=4)) == "Rejected"
    assert "stackLevel" in sc.reason
    assert sc.set_profile(0, prof(1, stack=3)) == "Accepted"


def test_too_many_periods_rejected():
    sc = _sc(ChargingSchedulesMaxPeriods=3)
    four = ((0, 10), (60, 11), (120, 12), (180, 13))
    assert sc.set_profile(0, prof(1, periods=four)) == "Rejected"
    assert sc.set_profile(0, prof(1, periods=four[:3])) == "Accepted"


def test_unit_w_rejected_when_only_current_allowed():
    for allowed in ("Current", "Current [A]", "A"):
        sc = _sc(ChargingScheduleAllowedChargingRateUnit=allowed)
        assert sc.set_profile(0, prof(1, unit="W", periods=((0, 11000),))) == "Rejected"
        assert sc.set_profile(0, prof(2, unit="A")) == "Accepted"
    sc = _sc(ChargingScheduleAllowedChargingRateUnit="Power")
    assert sc.set_profile(0, prof(2, unit="A")) == "Rejected"


def test_unit_w_converted_with_mains_voltage_and_phases():
    sc = _sc(ChargingScheduleAllowedChargingRateUnit="Current,Power")
    # 11000 W / (230 V * 3) = 15.94 A -> 15.9 (rounded down); 1 phase: 4600/230 = 20
    periods = ((0, 11000), (H, 4600, 1))
    assert sc.set_profile(0, prof(1, unit="W", periods=periods)) == "Accepted"
    assert sc.limit_a(1, T0) == 15.9
    assert sc.limit_a(1, T0 + H) == 20.0
    conf = sc.composite_schedule(1, 2 * H, "W", now=T0)
    assert _periods(conf) == [(0, 11000.0), (H, 4600.0)]
    assert conf["chargingSchedule"]["chargingSchedulePeriod"][1]["numberPhases"] == 1


def test_malformed_requests():
    sc = _sc()
    assert sc.profile_error(3, prof(1)) == ("PropertyConstraintViolation", "connectorId")
    assert sc.profile_error(-1, prof(1))[0] == "PropertyConstraintViolation"
    bad = prof(1)
    bad["chargingProfilePurpose"] = "Whatever"
    assert sc.profile_error(0, bad)[0] == "PropertyConstraintViolation"
    bad = prof(1)
    bad["chargingSchedule"]["chargingRateUnit"] = "kW"
    assert sc.profile_error(0, bad)[0] == "PropertyConstraintViolation"
    bad = prof(1)
    del bad["stackLevel"]
    assert sc.profile_error(0, bad)[0] == "OccurenceConstraintViolation"
    bad = prof(1)
    bad["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = True
    assert sc.profile_error(0, bad)[0] == "TypeConstraintViolation"
    bad = prof(1)
    bad["validFrom"] = "yesterday"
    assert sc.profile_error(0, bad)[0] == "TypeConstraintViolation"
    bad = prof(1)
    bad["chargingSchedule"]["chargingSchedulePeriod"] = []
    assert sc.profile_error(0, bad) is not None
    assert sc.profile_error(0, "nope")[0] == "TypeConstraintViolation"
    assert sc.profile_error(0, prof(1)) is None
    assert sc.set_profile(3, prof(1)) == "Rejected"
    assert sc.set_profile(0, bad) == "Rejected"
    assert sc.profiles == []


def test_inconsistent_schedules_rejected():
    sc = _sc()
    assert sc.set_profile(0, prof(1, periods=((60, 10),))) == "Rejected"           # first not 0
    assert sc.set_profile(0, prof(1, periods=((0, 10), (0, 12)))) == "Rejected"    # same start
    assert sc.set_profile(0, prof(1, periods=((0, -1),))) == "Rejected"
    assert sc.set_profile(0, prof(1, periods=((0, 10, 4),))) == "Rejected"          # phases
    assert sc.set_profile(0, prof(1, periods=((0, 10, 0),))) == "Rejected"
    assert sc.set_profile(0, prof(1, duration=0)) == "Rejected"
    assert sc.set_profile(0, prof(1, kind="Recurring")) == "Rejected"               # no recurrencyKind
    assert sc.set_profile(0, prof(1, kind="Recurring", recur="Daily", start=None)) == "Rejected"
    assert sc.set_profile(0, prof(1, valid_from=T0 + H, valid_to=T0 + H)) == "Rejected"
    assert sc.set_profile(0, prof(1, valid_to=T0 - 1)) == "Rejected"                # already past
    assert sc.profiles == []
    # periods out of order are sorted
    assert sc.set_profile(0, prof(1, periods=((H, 8), (0, 10)))) == "Accepted"
    assert sc.limit_a(1, T0) == 10.0 and sc.limit_a(1, T0 + H) == 8.0


# ---- replacement and capacity ---------------------------------------------------------
def test_same_id_replaces():
    sc = _sc()
    assert sc.set_profile(0, prof(1, stack=0, periods=((0, 10),))) == "Accepted"
    assert sc.set_profile(1, prof(1, stack=2, periods=((0, 12),))) == "Accepted"
    assert len(sc.profiles) == 1
    assert sc.profiles[0].cid == 1 and sc.profiles[0].stack == 2
    assert sc.limit_a(1, T0) == 12.0 and sc.limit_a(2, T0) is None


def test_same_stack_and_purpose_replaces_per_connector():
    sc = _sc()
    assert sc.set_profile(0, prof(1, periods=((0, 10),))) == "Accepted"
    assert sc.set_profile(0, prof(2, periods=((0, 11),))) == "Accepted"
    assert [p.pid for p in sc.profiles] == [2]
    # connector 1's own TxDefaultProfile at the same level replaces it for connector 1 only
    assert sc.set_profile(1, prof(3, periods=((0, 6),))) == "Accepted"
    assert len(sc.profiles) == 2
    assert sc.limit_a(1, T0) == 6.0 and sc.limit_a(2, T0) == 11.0
    # other purpose at the same level coexists
    assert sc.set_profile(0, prof(4, purpose="ChargePointMaxProfile", periods=((0, 20),))) == "Accepted"
    assert len(sc.profiles) == 3


def test_max_profiles_installed():
    sc = _sc(MaxChargingProfilesInstalled=2)
    assert sc.set_profile(0, prof(1, stack=0)) == "Accepted"
    assert sc.set_profile(0, prof(2, stack=1)) == "Accepted"
    assert sc.set_profile(0, prof(3, stack=2)) == "Rejected"
    assert "MaxChargingProfilesInstalled" in sc.reason
    # a replacement does not need a free slot
    assert sc.set_profile(0, prof(2, stack=1, periods=((0, 9),))) == "Accepted"
    assert sc.set_profile(0, prof(9, stack=1, periods=((0, 8),))) == "Accepted"
    assert sorted(p.pid for p in sc.profiles) == [1, 9]


def test_expired_profiles_free_their_slot():
    sc = _sc(MaxChargingProfilesInstalled=1)
    assert sc.set_profile(0, prof(1, valid_to=T0 + H)) == "Accepted"
    sc.clock.advance_ms(2 * H * 1000)
    assert sc.set_profile(0, prof(2, stack=1)) == "Accepted"
    assert [p.pid for p in sc.profiles] == [2]


def test_save_failure_rejects_and_rolls_back():
    sc = _sc(store=BrokenStorage())
    assert sc.set_profile(0, prof(1)) == "Rejected"
    assert sc.profiles == []
    assert sc.errors and "save failed" in sc.errors[0]


# ---- ClearChargingProfile ---------------------------------------------------------------
def _three(sc):
    assert sc.set_profile(0, prof(1, stack=0, purpose="ChargePointMaxProfile")) == "Accepted"
    assert sc.set_profile(0, prof(2, stack=1)) == "Accepted"
    assert sc.set_profile(1, prof(3, stack=1)) == "Accepted"
    assert sc.set_profile(1, prof(4, stack=2, purpose="TxProfile"), tx_on(1)) == "Accepted"


def _ids(sc):
    return sorted(p.pid for p in sc.profiles)


def test_clear_filters():
    sc = _sc()
    _three(sc)
    assert sc.clear(id=99) == "Unknown"
    assert sc.clear(id=2) == "Accepted" and _ids(sc) == [1, 3, 4]
    assert sc.clear(connector_id=2) == "Unknown"
    assert sc.clear(connector_id=1, purpose="ChargePointMaxProfile") == "Unknown"
    assert sc.clear(connector_id=1, stack_level=2) == "Accepted" and _ids(sc) == [1, 3]
    assert sc.clear(purpose="TxDefaultProfile", stack_level=0) == "Unknown"
    assert sc.clear(purpose="TxDefaultProfile") == "Accepted" and _ids(sc) == [1]
    assert sc.clear(purpose="Nonsense") == "Unknown"
    assert sc.clear(id=1, connector_id=1) == "Unknown"     # logical AND (errata 3.25)
    assert sc.clear(connector_id=0) == "Accepted" and _ids(sc) == []
    assert sc.clear() == "Unknown"


def test_clear_all():
    sc = _sc()
    _three(sc)
    assert sc.clear() == "Accepted"
    assert sc.profiles == []
    assert _sc(store=sc.storage).profiles == []


def test_tx_ended_removes_tx_profiles_of_that_connector():
    sc = _sc()
    _three(sc)
    assert sc.set_profile(2, prof(5, stack=2, purpose="TxProfile"), tx_on(2)) == "Accepted"
    sc.tx_ended(1)
    assert _ids(sc) == [1, 2, 3, 5]
    assert _ids(_sc(store=sc.storage)) == [1, 2, 3, 5]


# ---- combining and stacking ----------------------------------------------------------
def test_composite_combines_all_three_purposes_and_stack_levels():
    sc = _sc()
    # station max: 20 A, 10 A from 02:00
    assert sc.set_profile(0, prof(1, purpose="ChargePointMaxProfile",
                                  periods=((0, 20), (2 * H, 10)))) == "Accepted"
    # defaults: level 0 everywhere 16 A; level 1 for one hour from 03:00 at 6 A
    assert sc.set_profile(0, prof(2, stack=0, periods=((0, 16),))) == "Accepted"
    assert sc.set_profile(0, prof(3, stack=1, start=T0 + 3 * H, duration=H,
                                  periods=((0, 6),))) == "Accepted"
    conf = sc.composite_schedule(1, 6 * H, "A", now=T0)
    assert conf["status"] == "Accepted" and conf["connectorId"] == 1
    assert conf["scheduleStart"] == "2026-03-02T00:00:00Z"
    assert conf["chargingSchedule"]["duration"] == 6 * H
    assert conf["chargingSchedule"]["chargingRateUnit"] == "A"
    assert "startSchedule" not in conf["chargingSchedule"]         # errata 3.57
    assert _periods(conf) == [(0, 16.0), (2 * H, 10.0), (3 * H, 6.0), (4 * H, 10.0)]
    # a TxProfile overrides the TxDefaultProfiles, CPMax still caps it
    assert sc.set_profile(1, prof(4, purpose="TxProfile", periods=((0, 32), (H, 13))),
                          tx_on(1)) == "Accepted"
    conf = sc.composite_schedule(1, 6 * H, "A", now=T0)
    assert _periods(conf) == [(0, 20.0), (H, 13.0), (2 * H, 10.0)]
    # connector 2 has no TxProfile: still the defaults
    conf = sc.composite_schedule(2, 6 * H, now=T0)
    assert _periods(conf) == [(0, 16.0), (2 * H, 10.0), (3 * H, 6.0), (4 * H, 10.0)]
    # connector 0: the station limit over time
    conf = sc.composite_schedule(0, 6 * H, now=T0)
    assert _periods(conf) == [(0, 20.0), (2 * H, 10.0)]
    assert sc.limit_a(0, T0 + 3 * H) == 10.0
    assert sc.limit_a(1, T0 + 30 * 60) == 20.0
    assert sc.limit_a(2, T0 + 3 * H) == 6.0


def test_composite_local_limits_and_gaps():
    sc = _sc(MaxCurrentConnection=16, ChargePointCurrentLimit=25)
    # no profile: NominalAmperage (16) capped by MaxCurrentConnection
    assert _periods(sc.composite_schedule(1, H, now=T0)) == [(0, 16.0)]
    assert _periods(sc.composite_schedule(0, H, now=T0)) == [(0, 25.0)]
    assert sc.set_profile(0, prof(1, start=T0 + 600, duration=600, periods=((0, 32), (300, 8)))) == "Accepted"
    conf = sc.composite_schedule(1, H, now=T0)
    assert _periods(conf) == [(0, 16.0), (900, 8.0), (1200, 16.0)]
    # power view: local limits converted with MainsVoltage x 3 phases
    conf = sc.composite_schedule(0, H, "W", now=T0)
    assert _periods(conf) == [(0, 25 * 230 * 3.0)]


def test_composite_rejections():
    sc = _sc()
    assert sc.composite_schedule(3, 100) is None
    assert sc.composite_schedule(-1, 100) is None
    assert sc.composite_schedule(1, 0) is None
    raises(ValueError, sc.composite_schedule, 1, 100, "kW")


def test_composite_period_count_is_bounded():
    sc = _sc(ChargingSchedulesMaxPeriods=3)
    assert sc.set_profile(0, prof(1, kind="Recurring", recur="Daily",
                                  periods=((0, 10), (12 * H, 6)))) == "Accepted"
    conf = sc.composite_schedule(1, 7 * 86400, now=T0)
    assert len(_periods(conf)) == 3
    assert conf["chargingSchedule"]["duration"] == 36 * H


def test_higher_stack_without_duration_hides_lower():
    sc = _sc()
    assert sc.set_profile(0, prof(1, stack=0, periods=((0, 16),))) == "Accepted"
    assert sc.set_profile(0, prof(2, stack=1, periods=((0, 8),))) == "Accepted"
    assert sc.limit_a(1, T0 + 1000 * H) == 8.0
    assert sc.next_change_s(T0 + H) is None


def test_validity_window():
    sc = _sc()
    assert sc.set_profile(0, prof(1, stack=0, periods=((0, 16),))) == "Accepted"
    assert sc.set_profile(0, prof(2, stack=1, periods=((0, 8),), valid_from=T0 + H,
                                  valid_to=T0 + 2 * H)) == "Accepted"
    assert sc.limit_a(1, T0) == 16.0
    assert sc.limit_a(1, T0 + H) == 8.0
    assert sc.limit_a(1, T0 + 2 * H) == 16.0
    assert sc.next_change_s(T0) == H
    assert sc.next_change_s(T0 + H) == H
    assert sc.next_change_s(T0 + 2 * H) is None


def test_connector_txdefault_over_connector_zero_by_stack_level():
    sc = _sc()
    assert sc.set_profile(0, prof(1, stack=2, periods=((0, 20),))) == "Accepted"
    assert sc.set_profile(1, prof(2, stack=1, periods=((0, 10),))) == "Accepted"
    assert sc.limit_a(1, T0) == 20.0      # higher stack of connector 0 prevails
    assert sc.set_profile(1, prof(3, stack=2, periods=((0, 12),))) == "Accepted"
    assert sc.limit_a(1, T0) == 12.0      # same level: the connector's own one
    assert sc.limit_a(2, T0) == 20.0


# ---- kinds ----------------------------------------------------------------------------
def test_recurring_daily_crossing_midnight():
    sc = _sc()
    # Daily from 22:00: 6 A until 06:00 (8 h), then 16 A until 22:00
    start = T0 - 2 * H                    # Sunday 22:00
    assert sc.set_profile(0, prof(1, kind="Recurring", recur="Daily", start=start,
                                  periods=((0, 6), (8 * H, 16)))) == "Accepted"
    assert sc.limit_a(1, T0) == 6.0                     # Monday 00:00
    assert sc.limit_a(1, T0 + 5 * H + 3599) == 6.0      # 05:59:59
    assert sc.limit_a(1, T0 + 6 * H) == 16.0            # 06:00
    assert sc.limit_a(1, T0 + 22 * H - 1) == 16.0
    assert sc.limit_a(1, T0 + 22 * H) == 6.0            # Monday 22:00
    assert sc.limit_a(1, T0 + 30 * 86400 + H) == 6.0    # a month later, 01:00
    assert sc.limit_a(1, T0 - 10 * 86400 + 12 * H) == 16.0   # recurrence runs both ways
    assert sc.next_change_s(T0) == 6 * H
    assert sc.next_change_s(T0 + 6 * H) == 16 * H
    conf = sc.composite_schedule(1, 86400, now=T0 + 20 * H)
    assert _periods(conf) == [(0, 16.0), (2 * H, 6.0), (10 * H, 16.0)]


def test_recurring_duration_shorter_than_day_falls_back():
    sc = _sc()
    assert sc.set_profile(0, prof(1, stack=0, periods=((0, 16),))) == "Accepted"
    # every day 18:00-21:00 at 8 A, then back to the level 0 profile (errata 3.43)
    assert sc.set_profile(0, prof(2, stack=1, kind="Recurring", recur="Daily", start=T0 + 18 * H,
                                  duration=3 * H, periods=((0, 8),))) == "Accepted"
    assert sc.limit_a(1, T0 + 12 * H) == 16.0
    assert sc.limit_a(1, T0 + 19 * H) == 8.0
    assert sc.limit_a(1, T0 + 21 * H) == 16.0
    assert sc.limit_a(1, T0 + 86400 + 20 * H) == 8.0


def test_recurring_periods_beyond_recurrence_not_executed():
    sc = _sc()
    assert sc.set_profile(0, prof(1, kind="Recurring", recur="Daily",
                                  periods=((0, 10), (90000, 6)))) == "Accepted"
    assert sc.limit_a(1, T0 + 86399) == 10.0
    assert sc.limit_a(1, T0 + 86400 + 3600) == 10.0   # 90000 s never reached


def test_recurring_weekly():
    sc = _sc()
    # weekends (Saturday 00:00 + 48 h) 32 A, weekdays 10 A
    sat = T0 + 5 * 86400
    assert sc.set_profile(0, prof(1, kind="Recurring", recur="Weekly", start=sat,
                                  periods=((0, 32), (2 * 86400, 10)))) == "Accepted"
    assert sc.limit_a(1, T0 + 12 * H) == 10.0                   # Monday
    assert sc.limit_a(1, sat + 10 * H) == 32.0                  # Saturday
    assert sc.limit_a(1, sat + 86400 + 23 * H) == 32.0          # Sunday 23:00
    assert sc.limit_a(1, sat + 2 * 86400) == 10.0               # Monday
    assert sc.limit_a(1, sat + 7 * 86400 + 1) == 32.0           # next Saturday
    assert sc.limit_a(1, sat - 7 * 86400 + 1) == 32.0           # previous Saturday


def test_relative_schedule_follows_transaction_start():
    sc = _sc()
    assert sc.set_profile(1, prof(1, purpose="TxProfile", kind="Relative", start=None,
                                  periods=((0, 10), (H, 20)), duration=2 * H),
                          tx_on(1)) == "Accepted"
    ts = T0 + 5 * H
    assert sc.limit_a(1, ts + 60, ts) == 10.0
    assert sc.limit_a(1, ts + H, ts) == 20.0
    assert sc.limit_a(1, ts + 2 * H, ts) is None        # duration over
    assert sc.next_change_s(ts + 60, {1: ts}) == H - 60
    # before the transaction start is known it stays at its first period
    assert sc.limit_a(1, ts + 3 * H) == 10.0
    # composite: relative to the transaction start
    conf = sc.composite_schedule(1, 3 * H, now=ts + 1800, tx_start=ts)
    assert _periods(conf) == [(0, 10.0), (1800, 20.0), (1800 + H, 16.0)]


def test_relative_txdefault_in_composite_without_transaction():
    sc = _sc()
    assert sc.set_profile(0, prof(1, kind="Relative", start=None, periods=((0, 6), (600, 12)))) == "Accepted"
    conf = sc.composite_schedule(1, 1200, now=T0)
    assert _periods(conf) == [(0, 6.0), (600, 12.0)]
    assert sc.next_change_s(T0) is None


def test_absolute_without_start_schedule_starts_when_received():
    sc = _sc(now=T0 + 100)
    assert sc.set_profile(0, prof(1, start=None, periods=((0, 10), (60, 8)))) == "Accepted"
    assert sc.limit_a(1, T0 + 100) == 10.0
    assert sc.limit_a(1, T0 + 160) == 8.0
    assert sc.limit_a(1, T0 + 99) is None


def test_nominal_period_and_target():
    sc = _sc()
    assert sc.target_a(1, T0) == 16.0                       # nothing installed: NominalAmperage
    assert sc.set_profile(0, prof(1, purpose="ChargePointMaxProfile", periods=((0, 12),))) == "Accepted"
    assert sc.target_a(1, T0) == 12.0
    assert sc.target_a(0, T0) == 12.0
    assert sc.set_profile(1, prof(2, purpose="TxProfile", periods=((0, 8),)), tx_on(1)) == "Accepted"
    ts = T0 + 1000
    # first NominalPeriod (30 s) of the session: the TxProfile is ignored
    assert sc.limit_a(1, ts + 10, ts) == 12.0
    assert sc.target_a(1, ts + 10, ts) == 12.0
    assert sc.next_change_s(ts + 10, {1: ts}) == 20
    assert sc.limit_a(1, ts + 30, ts) == 8.0
    assert sc.target_a(1, ts + 30, ts) == 8.0
    conf = sc.composite_schedule(1, 100, now=ts, tx_start=ts)
    assert _periods(conf) == [(0, 12.0), (30, 8.0)]


# ---- persistence ---------------------------------------------------------------------
def test_persistence_across_restart():
    sc = _sc()
    assert sc.set_profile(0, prof(1, purpose="ChargePointMaxProfile", periods=((0, 20), (H, 10)))) == "Accepted"
    assert sc.set_profile(0, prof(2, kind="Recurring", recur="Weekly", stack=3,
                                  periods=((0, 7.5, 1),), duration=H, valid_to=T0 + 86400)) == "Accepted"
    assert sc.set_profile(1, prof(3, purpose="TxProfile", txid=7, kind="Relative", start=None),
                          tx_on(1)) == "Accepted"
    sc2 = _sc(store=sc.storage)
    assert sc2.errors == []
    assert _ids(sc2) == [1, 2, 3]
    for p in sc.profiles:
        q = [x for x in sc2.profiles if x.pid == p.pid][0]
        assert q.to_dict() == p.to_dict()
        assert q.cid == p.cid and q.installed == p.installed
    for t in (T0, T0 + 1800, T0 + H, T0 + 2 * H):
        assert sc2.limit_a(1, t, T0) == sc.limit_a(1, t, T0)
        assert sc2.limit_a(2, t) == sc.limit_a(2, t)
    assert sc2.limit_a(2, T0 + 60) == 7.5
    raw = json.loads(sc.storage.read(FILE).decode())
    assert raw["v"] == 1 and len(raw["profiles"]) == 3


def test_corrupt_file_loads_nothing_and_reports():
    store = Storage(tmpdir("sc"))
    store.write(FILE, b'{"v": 1, "profiles": [{"connectorId": 0, "inst')
    sc = _sc(store=store)
    assert sc.profiles == []
    assert len(sc.errors) == 1 and "corrupt" in sc.errors[0]
    store.write(FILE, b"\xff\xfe\x00garbage")
    assert _sc(store=store).profiles == []
    store.write(FILE, b'[1, 2]')
    assert _sc(store=store).profiles == []
    store.write(FILE, b'{"v": 1, "profiles": 5}')
    assert _sc(store=store).errors
    # and it heals on the next change
    assert sc.set_profile(0, prof(1)) == "Accepted"
    assert _ids(_sc(store=store)) == [1]


def test_bad_entry_dropped_others_kept():
    sc = _sc()
    assert sc.set_profile(0, prof(1)) == "Accepted"
    assert sc.set_profile(0, prof(2, stack=1)) == "Accepted"
    raw = json.loads(sc.storage.read(FILE).decode())
    raw["profiles"][0]["profile"]["chargingProfileKind"] = "Sometimes"
    raw["profiles"].append({"connectorId": 9, "installed": 0, "profile": prof(5)})
    raw["profiles"].append("junk")
    sc.storage.write(FILE, json.dumps(raw).encode())
    sc2 = _sc(store=sc.storage)
    assert len(sc2.profiles) == 1
    assert len(sc2.errors) == 3


def test_relative_station_profile_runs_from_receipt():
    sc = _sc(now=T0 + 100)
    assert sc.set_profile(0, prof(1, purpose="ChargePointMaxProfile", kind="Relative", start=None,
                                  periods=((0, 20), (H, 10)))) == "Accepted"
    assert sc.limit_a(0, T0 + 100) == 20.0
    assert sc.limit_a(0, T0 + 100 + H) == 10.0
    assert sc.limit_a(1, T0 + 100 + H, T0 + H) == 10.0     # a transaction does not move it
    assert _periods(sc.composite_schedule(0, 2 * H, now=T0 + 100)) == [(0, 20.0), (H, 10.0)]


def test_with_the_real_configuration_store():
    from evse.config.store import Config
    from evse.services.loadbalance import LoadBalancer
    cfg = Config(Storage(tmpdir("sccfg")), "dscu")
    for name in ("SmartChargingEnabled", "MainsVoltage", "L1Active", "L2Active", "L3Active",
                 "NominalAmperage", "NominalPeriod", "MaxChargingProfilesInstalled",
                 "ChargingProfileMaxStackLevel", "ChargingSchedulesMaxPeriods",
                 "ChargingScheduleAllowedChargingRateUnit", "ChargePointCurrentLimit",
                 "MaxCurrentConnection", "MinCurrentConnection", "TempLowerOffsetDegrees",
                 "TempLowerOffsetLimit", "TempUpperOffsetDegrees", "TempUpperOffsetLimit"):
        assert cfg.supported(name), name
    sc = SmartCharging(cfg, Storage(tmpdir("sc")), VirtualClock(T0), 2)
    assert sc.set_profile(0, prof(1)) == "NotSupported"        # default: disabled
    assert cfg.change("SmartChargingEnabled", "true") == "Accepted"
    assert sc.set_profile(0, prof(1, periods=((0, 10),))) == "Accepted"
    assert sc.set_profile(0, prof(2, stack=7)) == "Rejected"    # max stack level 6
    assert sc.set_profile(0, prof(2, unit="W")) == "Rejected"   # "Current" only
    assert sc.target_a(1, T0) == 10.0
    lb = LoadBalancer(2)
    sc_a = [sc.target_a(1, T0), sc.target_a(2, T0)]
    assert lb.step(T0, cfg, [True, True], [True, True], sc_a, sc.limit_a(0, T0), 30) == [100, 100]
