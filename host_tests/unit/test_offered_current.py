# The current a connector is offered and what GetCompositeSchedule reports for it
# (evse.station on the simulated board, virtual clock): NominalAmperage is the
# charge rate without smart charging too (manual NominalAmperage,
# SmartChargingEnabled), and the composite schedule is what the station really
# offers: min(profiles or NominalAmperage, MaxCurrentConnection, the plugged
# cable, the load-balancing share), 0 below the 6 A minimum.
from session_rig import Rig


def offered_a(r, c=1):
    return r.conn(c).offered_da / 10


def composite(r, c=1, duration=3600):
    res = r.st.energy.ocpp_get_composite_schedule({"connectorId": c, "duration": duration})
    assert res["status"] == "Accepted"
    return [(p["startPeriod"], p["limit"]) for p in res["chargingSchedule"]["chargingSchedulePeriod"]]


def charging(r, c=1, tag="A", cable=32, ev=32):
    r.plug(c, cable)
    r.ev(c, "B", amps=ev)
    assert r.card(tag)["result"] in ("accepted", "pending")   # reader 1: the waiting connector
    r.ev(c, "C", amps=ev)
    r.run(60)
    assert r.status(c) == "Charging"


def test_nominal_amperage_applies_without_smart_charging():
    r = Rig("sscu", StartTransactionDelay=0, NominalAmperage=10)
    assert r.config.get("SmartChargingEnabled") is False
    charging(r)
    assert offered_a(r) == 10.0
    assert r.st.meters[0].current_a(0) == 10.0
    assert composite(r) == [(0, 10.0)]
    # a change takes effect at once, and the schedule follows
    assert r.config.change("NominalAmperage", "13.5") == "Accepted"
    r.run(5)
    assert offered_a(r) == 13.5 and composite(r) == [(0, 13.5)]


def test_composite_schedule_reports_the_cable_limit():
    r = Rig("sscu", StartTransactionDelay=0, MaxCurrentConnection=32, NominalAmperage=32,
            ChargePointCurrentLimit=32)
    charging(r, cable=13)
    assert offered_a(r) == 13.0
    assert composite(r) == [(0, 13.0)]


def test_composite_schedule_reports_the_load_balancing_share():
    r = Rig("dscu", StartTransactionDelay=0, ChargePointCurrentLimit=25)
    charging(r, 1, "A")
    assert offered_a(r, 1) == 16.0 and composite(r, 1) == [(0, 16.0)]
    charging(r, 2, "B")
    assert offered_a(r, 1) == offered_a(r, 2) == 12.5
    assert composite(r, 1) == [(0, 12.5)] and composite(r, 2) == [(0, 12.5)]
    # no transaction on a connector: what a new session would get from the rules
    r.st.sessions[1].stop("Remote")
    r.run(5)
    assert offered_a(r, 1) == 16.0 and composite(r, 1) == [(0, 16.0)]


def _profile(limits, purpose="TxDefaultProfile", pid=1):
    return {"chargingProfileId": pid, "stackLevel": 0, "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                {"startPeriod": s, "limit": a} for s, a in limits]}}


def test_composite_schedule_is_what_is_offered_with_smart_charging():
    r = Rig("sscu", StartTransactionDelay=0, SmartChargingEnabled=True, NominalPeriod=30,
            NominalAmperage=16)
    assert r.st.energy.set_charging_profile(1, _profile([(0, 10), (600, 5), (1200, 12)])) == "Accepted"
    charging(r)
    # 60 s into the transaction: NominalPeriod is over, the profile's 10 A holds
    assert offered_a(r) == 10.0
    # 5 A is below the 6 A a connector can offer: it pauses, the schedule says 0
    el = r.clock.now() - r.session().start_time
    assert composite(r) == [(0, 10.0), (600 - el, 0.0), (1200 - el, 12.0)]
    r.run(600)
    assert offered_a(r) == 0.0
    r.run(600)
    assert offered_a(r) == 12.0


def test_smart_charging_follows_a_change_of_its_inputs_while_charging():
    # the smart charging service and the energy allocation hear the keys the
    # offer is computed from (Config.subscribe with keys): a change while
    # charging reaches the connector at the next step, with no profile installed
    r = Rig("sscu", StartTransactionDelay=0, SmartChargingEnabled=True, NominalPeriod=30,
            NominalAmperage=16, MaxCurrentConnection=32, ChargePointCurrentLimit=32)
    charging(r)
    assert offered_a(r) == 16.0 and composite(r) == [(0, 16.0)]
    assert r.config.change("NominalAmperage", "11") == "Accepted"
    r.run(5)
    assert offered_a(r) == 11.0 and composite(r) == [(0, 11.0)]
    assert r.config.change("ChargePointCurrentLimit", "8") == "Accepted"
    r.run(5)
    assert offered_a(r) == 8.0 and composite(r) == [(0, 8.0)]
    # a key of another service (a LED colour) leaves the offer as it is
    assert r.config.change("LEDcolor_Charging", "RED") == "Accepted"
    r.run(5)
    assert offered_a(r) == 8.0
