# Reservations on a real Station (OCPP 1.6 3.11, 5.1, 5.13; manual LED keys
# LEDcolor_Reserved / LEDcolor_Reserved_Authorized): honoured by the
# reserving card (reservationId in StartTransaction.req), refused to others,
# expiring back to Available, CancelReservation, a ConnectionTimeOut giving
# the reservation back, TaglessCharging waiting for the reserving card.
from session_rig import Rig

from evse.clock import iso8601
from evse.services.session import AUTHORIZED, IDLE, TX
from evsesim import simdrive


def reserve(r, c, tag, rid, seconds=600, parent=None):
    return r.st.cards.reserve_now(c, iso8601(r.clock.now() + seconds), tag, parent, rid)


def test_reservation_honoured_by_the_reserving_card():
    r = Rig("dscu")
    assert reserve(r, 1, "R1", 11) == "Accepted"
    r.run(1)
    assert r.status(1) == "Reserved" and r.status(2) == "Available"
    assert r.led(1) == {"color": "MAGENTA", "blinking": False, "intensity": 5}   # LEDcolor_Reserved
    res = r.card("X")             # another card: the other connector
    assert res["result"] == "accepted" and res["connector"] == 2
    assert r.status(1) == "Reserved"
    res = r.card("R1")
    assert res["result"] == "accepted" and res["connector"] == 1
    assert r.session(1).state == AUTHORIZED and r.status(1) == "Preparing"
    assert r.led(1)["color"] == "MAGENTA" and r.led(1)["blinking"]              # Reserved_Authorized
    r.arrive(1)
    assert r.session(1).state == TX
    (start,) = r.starts()
    assert start["connectorId"] == 1 and start["idTag"] == "R1" and start["reservationId"] == 11
    assert len(r.st.cards.reservation_service()) == 0            # consumed by its transaction
    r.ev(1, "C")
    r.run(5)
    assert r.led(1)["color"] != "MAGENTA"


def test_reserved_connector_refuses_other_cards():
    r = Rig("sscu")
    reserve(r, 1, "R1", 12)
    r.arrive()
    res = r.card("OTHER")
    assert res["result"] == "rejected" and res["reason"] == "no free connector"
    assert r.st.tx.ocpp_remote_start_transaction({"idTag": "OTHER", "connectorId": 1})["status"] == "Rejected"
    assert r.card("R1")["result"] == "accepted"
    assert r.starts()[0]["reservationId"] == 12


def test_reservation_by_parent_id_tag():
    r = Rig("sscu", LocalAuthListEnabled=True)
    r.st.authlist.send_local_list(1, "Full", [
        {"idTag": "MEMBER", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}}])
    reserve(r, 1, "R1", 14, parent="FLEET")
    r.arrive()
    assert r.card("MEMBER")["result"] == "accepted"
    assert r.starts()[0]["idTag"] == "MEMBER" and r.starts()[0]["reservationId"] == 14


def test_remote_start_for_the_reserving_tag():
    r = Rig("sscu")
    reserve(r, 1, "R1", 15)
    assert r.st.tx.ocpp_remote_start_transaction({"idTag": "R1", "connectorId": 1})["status"] == "Accepted"
    r.arrive()
    assert r.starts()[0]["reservationId"] == 15


def test_reservation_expires_back_to_available():
    r = Rig("sscu")
    assert reserve(r, 1, "R1", 21, seconds=60) == "Accepted"
    r.run(1)
    assert r.status() == "Reserved"
    r.run(58)
    assert r.status() == "Reserved"
    r.run(2)
    assert r.status() == "Available" and len(r.st.cards.reservation_service()) == 0
    assert r.led()["color"] == "GREEN" and not r.led()["blinking"]
    assert r.card("ANY")["result"] == "accepted"


def test_cancel_reservation():
    r = Rig("sscu")
    reserve(r, 1, "R1", 31)
    r.run(1)
    assert r.status() == "Reserved"
    assert r.st.cards.cancel_reservation(99) == "Rejected"
    assert r.st.cards.cancel_reservation(31) == "Accepted"
    r.run(1)
    assert r.status() == "Available"
    assert r.st.cards.cancel_reservation(31) == "Rejected"


def test_connection_timeout_gives_the_reservation_back():
    r = Rig("sscu", ConnectionTimeOut=30)
    reserve(r, 1, "R1", 41)
    r.run(1)
    assert r.card("R1")["result"] == "accepted"
    assert r.status() == "Preparing" and r.led()["color"] == "MAGENTA" and r.led()["blinking"]
    r.run(31)
    assert r.session().state == IDLE
    assert r.status() == "Reserved" and not r.led()["blinking"]      # still reserved
    assert r.card("OTHER")["result"] == "rejected"


def test_reservation_expiring_while_authorized():
    r = Rig("sscu", ConnectionTimeOut=120)
    reserve(r, 1, "R1", 42, seconds=30)
    r.run(1)
    r.card("R1")
    r.run(31)
    assert r.session().state == AUTHORIZED and len(r.st.cards.reservation_service()) == 0
    assert r.led()["color"] == "GREEN" and r.led()["blinking"]     # plain Authorized now
    r.arrive()
    assert r.session().state == TX and "reservationId" not in r.starts()[0]


def test_reservation_occupied_and_faulted():
    r = Rig("sscu")
    r.arrive()
    assert reserve(r, 1, "R1", 51) == "Occupied"
    r = Rig("sscu")
    assert reserve(r, 1, "R1", 52) == "Accepted"
    simdrive.fault(r.st, "pilot_short", True)
    r.arrive()
    r.run(2)
    assert r.status() == "Faulted"
    assert len(r.st.cards.reservation_service()) == 0           # 5.13: a Faulted connector ends it
    assert reserve(r, 1, "R1", 53) == "Faulted"


def test_reservation_survives_a_reboot():
    r = Rig("sscu")
    reserve(r, 1, "R1", 61)
    r2 = r.reboot()
    r2.run(1)
    assert r2.status() == "Reserved"
    assert r2.card("OTHER")["result"] == "rejected"


def test_tagless_waits_for_the_reserving_card():
    r = Rig("dscu", TaglessCharging=True)
    reserve(r, 1, "R1", 71)
    r.arrive(1)
    r.arrive(2)
    assert [p["connectorId"] for p in r.starts()] == [2]          # 1 is reserved
    assert r.session(1).state == IDLE and r.session(1).plug_wait
    assert r.card("R1")["result"] == "accepted"
    assert [(p["connectorId"], p["idTag"], p.get("reservationId")) for p in r.starts()] == [
        (2, "TAGLESS2", None), (1, "R1", 71)]


def test_tagless_starts_when_the_reservation_ends():
    r = Rig("sscu", TaglessCharging=True)
    reserve(r, 1, "R1", 72)
    r.arrive()
    assert r.starts() == []
    r.st.cards.cancel_reservation(72)
    r.run(1)
    assert [p["idTag"] for p in r.starts()] == ["TAGLESS1"]
