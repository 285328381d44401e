# The simulated HAL: EV pilot levels, PP, lock actuator, contactor, CCID,
# fault names.
from evsesim.hal.simclock import VirtualClock
from evsesim.hal.sim_io import (SimConnectorIO, SimStationIO, SimBoardIO, duty_to_da,
                             CONNECTOR_FAULTS, STATION_FAULTS, OTHER_FAULTS)
from support import raises


def test_pilot_levels():
    clk = VirtualClock()
    io = SimConnectorIO(clk)
    assert io.cp_high_mv() == 12000 and io.cp_low_mv() == 12000
    io.plug(32)
    for st, mv in (("A", 12000), ("B", 9000), ("C", 6000), ("D", 3000), ("E", 0), ("F", -12000)):
        io.set_ev(st)
        assert io.cp_high_mv() == mv, st
    io.set_ev("B")
    io.cp_set_duty(267)
    assert io.cp_high_mv() == 9000 and io.cp_low_mv() == -12000
    io.set_ev(diode=False)
    assert io.cp_low_mv() == -9000
    io.set_ev(diode=True)
    io.set_fault("diode_missing", True)
    assert io.cp_low_mv() == -9000
    io.set_fault("pilot_short", True)
    assert io.cp_high_mv() == 0 and io.cp_low_mv() == 0
    io.set_fault("pilot_short", False)
    io.set_fault("pilot_invalid", True)
    assert io.cp_high_mv() == 7500
    io.set_fault("pilot_invalid", False)
    io.cp_set_duty(0)
    assert io.cp_high_mv() == -12000


def test_ev_hidden_without_cable():
    io = SimConnectorIO(VirtualClock())
    io.set_ev("C")
    assert io.cp_high_mv() == 12000
    io.plug(63)
    assert io.cp_high_mv() == 6000
    t = SimConnectorIO(VirtualClock(), tethered=True)
    t.set_ev("B")
    assert t.cp_high_mv() == 9000 and t.pp_ohms() == -1
    raises(ValueError, t.plug, 32)


def test_pp():
    io = SimConnectorIO(VirtualClock())
    assert io.pp_ohms() == -1
    for a, ohm in ((13, 1500), (20, 680), (32, 220), (63, 100)):
        io.plug(a)
        assert io.pp_ohms() == ohm
    raises(ValueError, io.plug, 16)
    assert io.unplug() and io.pp_ohms() == -1


def test_lock_actuator_travel_and_polarity():
    clk = VirtualClock()
    io = SimConnectorIO(clk, lock_travel_ms=400)
    io.plug(32)
    io.lock_drive(1)
    clk.advance_ms(150)
    assert io.lock_sense() == 0
    clk.advance_ms(60)
    assert io.lock_sense() == 1
    assert not io.unplug()            # held by the pin
    io.lock_drive(0)
    clk.advance_ms(1000)
    assert io.lock_sense() == 1
    io.lock_drive(-1)
    clk.advance_ms(400)
    assert io.lock_sense() == 0 and io.lock_pos == 0
    inv = SimConnectorIO(clk, inversed=True)
    assert inv.lock_sense() == 1
    three = SimConnectorIO(clk, three_stage=True)
    assert three.lock_sense() == 0
    three.plug(32)
    assert three.lock_sense() == 2
    three.set_fault("plug_not_seated", True)
    assert three.lock_sense() == 0
    both = SimConnectorIO(clk, three_stage=True, inversed=True)
    both.plug(32)
    assert both.lock_sense() == 1


def test_lock_faults():
    clk = VirtualClock()
    io = SimConnectorIO(clk)
    io.set_fault("lock_stuck", True)
    io.lock_drive(1)
    clk.advance_ms(1000)
    assert io.lock_sense() == 0
    io.set_fault("lock_stuck", False)
    clk.advance_ms(1000)
    assert io.lock_sense() == 1
    io.set_fault("lock_no_feedback", True)
    assert io.lock_sense() == 0 and io.locked_mechanically()
    io.set_fault("lock_no_feedback", False)
    io.set_fault("lock_forced_open", True)
    assert io.lock_sense() == 0
    io.set_fault("lock_forced_open", False)
    io.lock_drive(0)
    io.set_fault("lock_forced_closed", True)
    assert io.lock_sense() == 1


def test_contactor_and_helper():
    clk = VirtualClock()
    io = SimConnectorIO(clk, relay_ms=20)
    io.relay_set(1)
    assert not io.contacts_closed() and io.relay_sense() == 0
    clk.advance_ms(20)
    assert io.contacts_closed() and io.relay_sense() == 1
    nc = SimConnectorIO(clk, helper_no=False)
    assert nc.relay_sense() == 1
    io.set_fault("contactor_welded", True)
    io.relay_set(0)
    clk.advance_ms(100)
    assert io.contacts_closed()
    io.set_fault("contactor_welded", False)
    io.set_fault("contactor_no_close", True)
    io.relay_set(1)
    clk.advance_ms(100)
    assert not io.contacts_closed()


def test_ev_current():
    clk = VirtualClock()
    io = SimConnectorIO(clk)
    io.plug(32)
    io.set_ev("C", max_current_a=10, phases=1)
    io.cp_set_duty(267)
    io.relay_set(1)
    clk.advance_ms(50)
    assert io.ev_current_da() == 100
    io.set_ev(max_current_a=32)
    assert io.ev_current_da() == duty_to_da(267) == 160
    io.set_ev("B")
    assert io.ev_current_da() == 0


def test_ccid_model():
    clk = VirtualClock()
    s = SimStationIO(clk, ccid_response_ms=50)
    assert s.ccid_fault() == 0
    s.ccid_test_set(1)
    clk.advance_ms(40)
    assert s.ccid_fault() == 0
    clk.advance_ms(10)
    assert s.ccid_fault() == 1
    s.ccid_test_set(0)
    assert s.ccid_fault() == 0
    s.set_fault("ccid_trip", True)
    assert s.ccid_fault() == 1
    s.set_fault("ccid_trip", False)
    s.set_fault("ccid_selftest_fail", True)
    s.ccid_test_set(1)
    clk.advance_ms(1000)
    assert s.ccid_fault() == 0


def test_station_inputs():
    s = SimStationIO(VirtualClock())
    assert s.supply_mv(0) == 12000 and s.supply_mv(1) == 3300 and s.supply_mv(2) == 12000
    s.set_input(2, 1)
    assert s.ext_input(2) == 1 and s.ext_input(1) == 0
    raises(ValueError, s.set_input, 3, 1)
    s.set_temperature_dc(455)
    assert s.temperature_dc() == 455
    s.buzzer_set(1)
    assert s.buzzer == 1 and s.buzzer_count == 1


def test_fault_names_routing():
    clk = VirtualClock()
    b = SimBoardIO(clk, 2)
    for n in CONNECTOR_FAULTS:
        assert b.set_fault(n, True, connector=2)
        assert n in b.connectors[1].faults and n not in b.connectors[0].faults
        assert b.set_fault(n, False, connector=2)
    for n in STATION_FAULTS:
        assert b.set_fault(n, True)
        assert b.set_fault(n, False)
    for n in OTHER_FAULTS:
        assert not b.set_fault(n, True)         # simulated elsewhere
    raises(ValueError, b.set_fault, "bogus", True)
    raises(ValueError, b.connectors[0].set_fault, "bogus", True)
    assert not b.connectors[0].set_fault("ccid_trip", True)
    assert not b.io.set_fault("lock_stuck", True)
    raises(ValueError, b.set_fault, "lock_stuck", True, 3)


def test_version_counts_changes():
    b = SimBoardIO(VirtualClock(), 1)
    v = b.version
    b.connectors[0].plug(32)
    b.connectors[0].set_ev("B")
    b.io.set_input(1, 1)
    assert b.version == v + 3
