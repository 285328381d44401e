# Local load balancing (evse.services.loadbalance): manual 6.2 rules 1-5,
# smart-charging limits (6.3) and temperature derating. Currents in deci-amps.
# Runs on CPython (pytest) and the Unix port.
from evse.services.loadbalance import LoadBalancer, Derating, equal_share, deci

T0 = 1772409600
MIN = 15 * 60


class FakeConfig:
    def __init__(self, **kw):
        self.values = {
            "ChargePointCurrentLimit": 32, "MaxCurrentConnection": 16,
            "MinCurrentConnection": 12.5,
            "TempLowerOffsetDegrees": 55, "TempLowerOffsetLimit": 16.0,
            "TempUpperOffsetDegrees": 70, "TempUpperOffsetLimit": 0.0,
        }
        for k in kw:
            self.values[k] = kw[k]

    def get(self, name):
        return self.values[name]


YES = [True, True]


def test_equal_share_pure():
    assert equal_share(320, [160, 160], [125, 125]) == [160, 160]        # fits
    assert equal_share(250, [160, 160], [125, 125]) == [125, 125]
    assert equal_share(280, [160, 160], [125, 125]) == [140, 140]
    assert equal_share(200, [160, 100], [60, 60]) == [130, 70]           # same step for both
    assert equal_share(260, [160, 130], [125, 125]) == [135, 125]        # floor holds
    assert equal_share(200, [160, 160], [125, 125]) is None              # floors do not fit
    assert equal_share(200, [60, 160], [125, 125]) == [60, 140]          # floor above cap = cap
    assert equal_share(100, [60, 160], [125, 125]) is None
    assert equal_share(0, [], []) == []
    # odd leftover: 0.1 A steps never overshoot
    got = equal_share(251, [160, 160, 160], [0, 0, 0])
    assert got == [83, 83, 83] and sum(got) <= 251


def test_rule1_no_balancing_when_the_sum_fits():
    lb = LoadBalancer(2)
    assert lb.allocate(T0, 320, 160, 125, YES, YES) == [160, 160]
    assert not lb.in_turns
    assert lb.allocate(T0, 320, 160, 125, [True, False], YES) == [160, 0]


def test_rule2_equal_reduction():
    lb = LoadBalancer(2)
    assert lb.allocate(T0, 280, 160, 125, YES, YES) == [140, 140]
    assert lb.allocate(T0, 250, 160, 60, YES, YES) == [125, 125]
    # smart-charging limit on connector 2 (10 A): both lose the same 3 A
    assert lb.allocate(T0, 200, 160, 60, YES, YES, sc_da=[None, 100]) == [130, 70]


def test_rule3_floor_at_min_current():
    lb = LoadBalancer(2)
    assert lb.allocate(T0, 260, 160, 125, YES, YES, sc_da=[None, 130]) == [135, 125]
    # a profile below MinCurrentConnection is obeyed, not raised
    assert lb.allocate(T0, 260, 160, 125, YES, YES, sc_da=[None, 60]) == [160, 60]


def test_rule4_in_turns_rotates():
    lb = LoadBalancer(2)
    # 20 A for two EVs with a 12.5 A minimum: one at a time, with the full 16 A
    assert lb.allocate(T0, 200, 160, 125, YES, YES) == [160, 0]
    assert lb.in_turns
    assert lb.next_change_s(T0) == MIN
    assert lb.allocate(T0 + MIN - 1, 200, 160, 125, YES, [True, False]) == [160, 0]
    assert lb.allocate(T0 + MIN, 200, 160, 125, YES, YES) == [0, 160]
    assert lb.next_change_s(T0 + MIN) == MIN
    assert lb.allocate(T0 + 2 * MIN, 200, 160, 125, YES, YES) == [160, 0]
    # an EV asks for energy only while offered some: the waiting one is never
    # released by rule 5, the turns keep alternating
    t = T0 + 2 * MIN
    a = lb.alloc
    for k in range(8):
        t += MIN
        prev = a
        a = lb.allocate(t, 200, 160, 125, YES, [prev[0] > 0, prev[1] > 0])
        assert a == [prev[1], prev[0]], (k, prev, a)
    assert lb.released == [False, False]
    # back to both when the limit allows
    assert lb.allocate(t + 1, 320, 160, 125, YES, YES) == [160, 160]
    assert not lb.in_turns
    assert lb.next_change_s(t + 1) is None


def test_rule4_unused_turn_is_released():
    lb = LoadBalancer(2)
    assert lb.allocate(T0, 200, 160, 125, YES, YES) == [160, 0]
    assert lb.allocate(T0 + MIN, 200, 160, 125, YES, [True, False]) == [0, 160]
    # connector 2 had its turn for 15 min and did not use it: rule 5 releases it,
    # connector 1 charges alone and 2 is offered what is left
    assert lb.allocate(T0 + 2 * MIN, 200, 160, 125, YES, [True, False]) == [160, 40]
    assert lb.released == [False, True] and not lb.in_turns


def test_rule4_turn_holder_capped_by_station_below_min():
    lb = LoadBalancer(2)
    # ChargePointMaxProfile 8 A, below MinCurrentConnection: one EV gets the 8 A
    assert lb.allocate(T0, 320, 160, 125, YES, YES, station_sc_da=80) == [80, 0]
    assert lb.allocate(T0, 320, 160, 125, YES, YES, station_sc_da=0) == [0, 0]


def test_rule4_three_connectors_take_turns_fairly():
    lb = LoadBalancer(3)
    on = [True, True, True]
    # 30 A, floors 12.5 A: two fit (25 A), they share 30 A; the third waits
    a = lb.allocate(T0, 300, 160, 125, on, on)
    assert a == [150, 150, 0] and lb.in_turns
    a = lb.allocate(T0 + MIN, 300, 160, 125, on, on)
    assert a == [150, 0, 150]
    a = lb.allocate(T0 + 2 * MIN, 300, 160, 125, on, on)
    assert a == [0, 150, 150]


def test_rule5_idle_ev_releases_its_share():
    lb = LoadBalancer(2)
    assert lb.allocate(T0, 250, 160, 125, YES, YES) == [125, 125]
    idle = [True, False]
    assert lb.allocate(T0 + 60, 250, 160, 125, YES, idle) == [125, 125]
    assert lb.next_change_s(T0 + 60) == MIN - 60
    assert lb.allocate(T0 + MIN - 1, 250, 160, 125, YES, idle) == [125, 125]
    # 15 minutes without demand: connector 1 gets all it can, 2 gets what is left
    assert lb.allocate(T0 + MIN, 250, 160, 125, YES, idle) == [160, 90]
    assert lb.released == [False, True]
    assert lb.allocate(T0 + 2 * MIN, 250, 160, 125, YES, idle) == [160, 90]
    # the EV asks again: back to equal shares
    assert lb.allocate(T0 + 2 * MIN + 5, 250, 160, 125, YES, YES) == [125, 125]
    assert lb.released == [False, False]


def test_rule5_new_session_gets_a_grace_period():
    lb = LoadBalancer(2)
    assert lb.allocate(T0, 250, 160, 125, [True, False], [True, False]) == [160, 0]
    # connector 2 starts a session; its EV is not yet asking
    assert lb.allocate(T0 + 10, 250, 160, 125, YES, [True, False]) == [125, 125]
    assert lb.allocate(T0 + 10 + MIN, 250, 160, 125, YES, [True, False]) == [160, 90]
    # session ends: state forgotten
    assert lb.allocate(T0 + 20 + MIN, 250, 160, 125, [True, False], [True, False]) == [160, 0]
    assert lb.allocate(T0 + 30 + MIN, 250, 160, 125, YES, [True, False]) == [125, 125]


def test_smart_charging_never_raises_the_station_limit():
    lb = LoadBalancer(2)
    assert lb.allocate(T0, 250, 160, 60, YES, YES, station_sc_da=400) == [125, 125]
    assert lb.allocate(T0, 250, 160, 60, YES, YES, station_sc_da=200) == [100, 100]
    assert lb.allocate(T0, 250, 160, 60, YES, YES, sc_da=[320, 320]) == [125, 125]


def test_single_connector_station():
    lb = LoadBalancer(1)
    assert lb.allocate(T0, 100, 160, 125, [True], [True]) == [100]   # below the 12.5 A floor
    assert not lb.in_turns
    assert lb.allocate(T0, 320, 160, 125, [True], [True]) == [160]
    assert lb.allocate(T0, 320, 160, 125, [False], [False]) == [0]


def test_derating_levels_and_hysteresis():
    d = Derating()
    args = (55, 16.0, 70, 0.0)
    assert d.cap_da(None, *args) is None
    assert d.cap_da(40, *args) is None
    assert d.cap_da(54.9, *args) is None
    assert d.cap_da(55, *args) == 160
    assert d.cap_da(54, *args) == 160           # hysteresis: still derated
    assert d.cap_da(53.1, *args) == 160
    assert d.cap_da(53, *args) is None          # released at Degrees - 2
    assert d.cap_da(70, *args) == 0
    assert d.cap_da(69, *args) == 0
    assert d.cap_da(67.9, *args) == 160         # back to the lower level
    assert d.cap_da(None, *args) is None
    # misconfigured (upper limit above lower): the lower Limit wins
    assert Derating().cap_da(80, 55, 10.0, 70, 20.0) == 100


def test_step_reads_configuration_and_derates():
    cfg = FakeConfig(ChargePointCurrentLimit=25)
    lb = LoadBalancer(2)
    assert lb.step(T0, cfg, YES, YES) == [125, 125]
    assert lb.step(T0, cfg, YES, YES, temp_c=60) == [125, 125]   # 16 A cap changes nothing here
    cfg.values["TempLowerOffsetLimit"] = 10.0
    assert lb.step(T0, cfg, YES, YES, temp_c=60) == [100, 100]   # both capped at 10 A
    assert lb.step(T0, cfg, YES, YES, temp_c=71) == [0, 0]
    assert lb.step(T0, cfg, YES, YES, temp_c=20) == [125, 125]
    # amps from SmartCharging.target_a / limit_a(0)
    assert lb.step(T0, cfg, YES, YES, sc_a=[8.0, None]) == [80, 160]
    assert lb.step(T0, cfg, YES, YES, station_sc_a=20.0) == [160, 0]
    assert deci(12.5) == 125 and deci(16) == 160
