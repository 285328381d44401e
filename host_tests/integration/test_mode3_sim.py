"""Mode 3 through the simulator on the Unix port (issue P2): a tagless session,
duty and offered current, contactor and lock, and hardware faults mapped to
OCPP error codes as the Central System would see them in `status`."""
import pytest

from simclient import Simulator


def sim(tmp_path, *extra, model="dscu"):
    return Simulator(["--clock", "virtual", "--model", model, "--set", "OfflineMode=true"] + list(extra),
                     state_dir=str(tmp_path / "state"))


def charge(s, connector=1, cable=32, ev_max=16):
    s.call("plug", connector=connector, cable_amps=cable)
    s.call("ev", connector=connector, state="B", max_current=ev_max, phases=3)
    s.call("advance", seconds=1)
    s.call("ev", connector=connector, state="C", max_current=ev_max, phases=3)
    s.call("advance", seconds=2)
    return s.connector(connector)


def test_tagless_session_charges_at_16a_and_ev_a_opens_contactor(tmp_path):
    with sim(tmp_path, "--set", "TaglessCharging=true", "--set", "MaxCurrentConnection=16") as s:
        c = charge(s)
        assert c["status"] == "Charging"
        assert c["duty"] == 26.7 and c["offered_a"] == 16.0
        assert c["contactor"] is True and c["locked"] is True
        assert c["id_tag"] == "TAGLESS1" and c["pilot"] == "C"
        assert c["led"]["color"] == "BLUE"
        assert c["current_a"] == [16.0, 16.0, 16.0]
        s.call("advance", seconds=3600)
        c = s.connector(1)
        # 16 A x 3 phases x 230 V for one hour
        assert abs(c["energy_wh"] - 11040) < 60
        s.call("ev", connector=1, state="A")
        s.call("advance", seconds=0.05)
        c = s.connector(1)
        assert c["contactor"] is False and c["current_a"] == [0.0, 0.0, 0.0]
        assert c["duty"] == 100.0


def test_ev_to_b_suspends_and_back_to_c_resumes(tmp_path):
    with sim(tmp_path, "--set", "TaglessCharging=true") as s:
        charge(s)
        s.call("ev", connector=1, state="B", max_current=16)
        s.call("advance", seconds=0.2)
        c = s.connector(1)
        assert c["status"] == "SuspendedEV" and c["contactor"] is False and c["duty"] == 26.7
        s.call("ev", connector=1, state="C", max_current=16)
        s.call("advance", seconds=0.5)
        assert s.connector(1)["status"] == "Charging"


def test_cable_capacity_limits_offered_current(tmp_path):
    with sim(tmp_path, "--set", "TaglessCharging=true", "--set", "MaxCurrentConnection=32") as s:
        c = charge(s, cable=13, ev_max=32)
        assert c["offered_a"] == 13.0 and c["duty"] == 21.7
        assert c["current_a"][0] == 13.0


def test_no_authorization_no_energy(tmp_path):
    with sim(tmp_path) as s:
        c = charge(s)
        assert c["status"] == "Preparing"
        assert c["contactor"] is False and c["duty"] == 100.0 and c["locked"] is False


def test_both_dscu_connectors_charge_tagless(tmp_path):
    with sim(tmp_path, "--set", "TaglessCharging=true", "--set", "ChargePointCurrentLimit=32") as s:
        charge(s, 1)
        charge(s, 2)
        st = s.status()["connectors"]
        assert [c["status"] for c in st] == ["Charging", "Charging"]
        assert st[0]["id_tag"] == "TAGLESS1" and st[1]["id_tag"] == "TAGLESS2"


@pytest.mark.parametrize("fault,setup,error_code,vendor", [
    ("diode_missing", (), "EVCommunicationError", "ERR_DIODE_FAILURE"),
    ("pilot_short", (), "EVCommunicationError", "ERR_MODE3_PILOT_SHORTED"),
    ("lock_forced_open", (), "ConnectorLockFailure", None),
    ("contactor_welded", ("SafetyRelayEnabled=true",), "PowerSwitchFailure", "ERR_RELAY_WELDED"),
])
def test_fault_while_charging_opens_contactor_and_reports(tmp_path, fault, setup, error_code, vendor):
    extra = ["--set", "TaglessCharging=true"]
    for kv in setup:
        extra += ["--set", kv]
    with sim(tmp_path, *extra, model="sscu") as s:
        assert charge(s)["status"] == "Charging"
        s.call("fault", name=fault, active=True)
        if fault == "contactor_welded":
            s.call("ev", connector=1, state="B", max_current=16)   # coil opens, contacts stay
        s.call("advance", seconds=2)
        c = s.connector(1)
        assert c["status"] == "Faulted"
        assert c["error_code"] == error_code
        if vendor:
            assert c["vendor_error"] == vendor
        assert c["led"]["color"] == "RED"
        if fault != "contactor_welded":
            assert c["contactor"] is False and c["current_a"] == [0.0, 0.0, 0.0]


def test_ccid_trip_is_ground_failure(tmp_path):
    with sim(tmp_path, "--set", "TaglessCharging=true", "--set", "ExternalSensor1Type=8", model="sscu") as s:
        assert charge(s)["status"] == "Charging"
        s.call("fault", name="ccid_trip", active=True)
        s.call("advance", seconds=0.1)
        c = s.connector(1)
        assert c["contactor"] is False
        assert c["error_code"] == "GroundFailure" and c["vendor_error"] == "ERR_CCID_TRIPPED"


def test_lock_stuck_before_charging_never_energises(tmp_path):
    with sim(tmp_path, "--set", "TaglessCharging=true", model="sscu") as s:
        s.call("fault", name="lock_stuck", active=True)
        c = charge(s)
        s.call("advance", seconds=10)
        c = s.connector(1)
        assert c["contactor"] is False
        assert c["error_code"] == "ConnectorLockFailure"


def test_mcu_heartbeat_loss_stops_energy_and_the_session(tmp_path):
    with sim(tmp_path, "--set", "TaglessCharging=true", model="sscu") as s:
        assert charge(s)["status"] == "Charging"
        s.call("fault", name="heartbeat", active=True)
        s.call("advance", seconds=10)
        c = s.connector(1)
        assert c["contactor"] is False
        assert c["vendor_error"] == "ERR_HEARTBEAT" and c["error_code"] == "InternalError"
        assert c["session"] != "Transaction"      # manual 8.5: the session is stopped
        s.call("fault", name="heartbeat", active=False)
        s.call("advance", seconds=5)
        c = s.connector(1)
        # the error clears; the stopped session waits for the EV to leave
        assert c["vendor_error"] == "" and c["status"] == "Finishing"
