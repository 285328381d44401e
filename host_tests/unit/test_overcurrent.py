# EV overcurrent from the meter's per-phase current (evse.services.
# overcurrent; IEC 61851-1: the EV follows a lower duty within 5 s):
# StatusNotification OverCurrentFailure, the offer cut to 6 A, the
# contactor opened when the EV does not follow. Both runtimes.
from session_rig import Rig


class CS:
    def answer(self, action, payload):
        if action == "StartTransaction":
            return {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}
        if action == "Heartbeat":
            return {"currentTime": "2026-01-01T00:00:00Z"}
        return {}


def charging(overdraw):
    r = Rig(TaglessCharging=True)
    r.online(CS())
    r.plug(1)
    r.ev(1, "C")
    r.run(5)
    assert r.status() == "Charging" and r.conn().offered_da == 160
    r.cio(1).set_ev(overdraw_a=overdraw)
    r.settle()
    return r


def sn(r):
    return [(p["status"], p["errorCode"], p.get("info")) for p in r.calls("StatusNotification")
            if p["connectorId"] == 1]


def test_within_tolerance_is_not_overcurrent():
    r = charging(1.5)                            # 17.5 A on a 16 A offer: within 1.6 A
    r.run(30)
    assert r.st.status()["connectors"][0]["current_a"][0] == 17.5
    assert sn(r)[-1] == ("Charging", "NoError", None) and r.conn().offered_da == 160


def test_an_ev_that_does_not_follow_is_cut_off():
    r = charging(4)                              # 20 A on a 16 A offer (2 s ago)
    r.run(2)
    assert sn(r)[-1][1] == "NoError"             # the EV has 5 s
    r.run(2)
    assert sn(r)[-1] == ("Charging", "OverCurrentFailure", "EV 20.0 A > 16.0 A"), sn(r)
    assert r.conn().offered_da == 60             # asked to reduce: 6 A
    assert r.cio(1).contacts_closed()
    r.run(4)
    assert sn(r)[-1][0] == "Charging"            # 10 A on the 6 A offer: 5 s again
    r.run(2)
    assert sn(r)[-1] == ("Faulted", "OverCurrentFailure", "EV 10.0 A > 6.0 A"), sn(r)
    assert not r.cio(1).contacts_closed() and r.st.status()["connectors"][0]["current_a"][0] == 0.0
    # the EV is unplugged: cleared
    r.ev(1, "A")
    r.run(3)
    assert sn(r)[-1][1] == "NoError" and r.status() != "Faulted", sn(r)


def test_an_ev_that_follows_the_cut_offer_charges_on():
    r = charging(4)
    r.run(6)
    assert sn(r)[-1][1] == "OverCurrentFailure" and r.conn().offered_da == 60
    r.cio(1).set_ev(overdraw_a=0)                # the EV follows
    r.run(2)
    assert sn(r)[-1] == ("Charging", "NoError", "cleared OverCurrentFailure"), sn(r)
    r.run(60)
    assert r.status() == "Charging" and r.conn().offered_da == 60
    assert r.st.status()["connectors"][0]["current_a"][0] == 6.0
    # a new session is offered the full current again
    r.ev(1, "A")
    r.unplug(1)
    r.plug(1)
    r.ev(1, "C")
    r.run(5)
    assert r.status() == "Charging" and r.conn().offered_da == 160


def test_a_lower_offer_gives_the_ev_5_s():
    r = charging(0)
    r.st.overcurrent.cap_da[0] = 100             # the offer drops to 10 A
    r.cio(1).set_ev(max_current_a=16)
    r.run(1)
    assert r.conn().offered_da == 100
    # the simulated EV follows at once: no report
    r.run(10)
    assert all(x[1] == "NoError" for x in sn(r)), sn(r)
