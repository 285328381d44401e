# The transaction lifecycle on a real Station (evse.station on the simulated
# board, virtual clock, OCPP client offline so the transaction messages stay
# in the journal): ConnectionTimeOut, PlugPresentTimeout, EV side disconnect
# (StopTransactionOnEVSideDisconnect / UnlockConnectorOnEVSideDisconnect),
# TaglessCharging, StartTransactionDelay and the StopTransaction reason of
# every way a transaction ends (manual 4.4, OCPP 1.6 4.8-4.10, 5.x).
from session_rig import FakeCS, Rig

from evse.services.session import AUTHORIZED, FINISHING, IDLE, TX
from evsesim import simdrive


def charging(r, c=1, tag="A", reader=1):
    """EV in B, card, EV charging (C)."""
    r.arrive(c)
    res = r.card(tag, reader)
    assert res["result"] in ("accepted", "pending"), res
    assert r.session(c).state == TX
    r.ev(c, "C")
    r.run(10)
    assert r.status(c) == "Charging"
    return res


def ev_leaves(r, c=1):
    """The EV ends its charge (C -> B) and unplugs its side (A)."""
    r.ev(c, "B")
    r.ev(c, "A")
    r.run(3)


# ---- a normal session -------------------------------------------------------------------
def test_card_session_start_and_local_stop():
    r = Rig(StartTransactionDelay=0)
    assert r.status() == "Available"
    r.arrive()
    assert r.status() == "Preparing" and r.session().plug_wait
    charging(r)
    assert r.conn().locked and r.conn().contactor_closed
    r.run(60)
    wh = r.energy()
    assert wh > 100
    res = r.card("A")
    assert res["result"] == "stopped"
    r.run(2)
    assert r.session().state == FINISHING and r.status() == "Finishing"
    assert not r.conn().contactor_closed and not r.conn().locked
    (start,) = r.starts()
    (stop,) = r.stops()
    assert start["connectorId"] == 1 and start["idTag"] == "A" and start["meterStart"] == 0
    assert stop["reason"] == "Local" and stop["idTag"] == "A"
    assert abs(stop["meterStop"] - wh) < 5
    ev_leaves(r)
    assert r.unplug()
    assert r.session().state == IDLE and r.status() == "Available"


# ---- ConnectionTimeOut / PlugPresentTimeout --------------------------------------------
def test_connection_timeout_returns_to_available():
    r = Rig(ConnectionTimeOut=20)
    assert r.card("A")["result"] == "accepted"
    assert r.session().state == AUTHORIZED and r.status() == "Preparing"
    assert r.led()["color"] == "GREEN" and r.led()["blinking"]      # LEDcolor_Authorized
    r.run(19)
    assert r.session().state == AUTHORIZED
    r.run(2)
    assert r.session().state == IDLE and r.status() == "Available"
    assert r.txs() == []
    r.arrive()                    # too late: the EV waits for a new card
    assert r.session().state == IDLE and r.starts() == []


def test_connection_timeout_ev_in_time_starts():
    r = Rig(ConnectionTimeOut=20)
    r.card("A")
    r.run(15)
    r.arrive()
    assert r.session().state == TX and len(r.starts()) == 1
    r.run(30)                     # the timeout no longer applies
    assert r.session().state == TX


def test_plug_present_timeout_no_session():
    r = Rig(PlugPresentTimeout=60)
    r.arrive()
    assert r.session().plug_wait
    r.run(61)
    assert not r.session().plug_wait and r.session().plug_expired
    res = r.card("A")
    assert res["result"] == "rejected" and res["reason"] == "no free connector"
    assert r.st.tx.ocpp_remote_start_transaction({"idTag": "RS", "connectorId": 1})["status"] == "Rejected"
    assert r.starts() == [] and r.session().state == IDLE
    r.ev(1, "A")                  # disconnect and connect again: a new chance
    r.ev(1, "B")
    assert r.session().plug_wait and not r.session().plug_expired
    assert r.card("A")["result"] == "accepted"
    assert r.session().state == TX and len(r.starts()) == 1


def test_plug_present_timeout_card_in_time():
    r = Rig(PlugPresentTimeout=60)
    r.arrive()
    r.run(50)
    assert r.card("A")["result"] == "accepted" and r.session().state == TX


def test_plug_present_timeout_other_connector_still_free():
    r = Rig("dscu", PlugPresentTimeout=60)
    r.arrive(1)
    r.run(61)
    res = r.card("A")            # reader 1 serves both: connector 2 takes it
    assert res["result"] == "accepted" and res["connector"] == 2


# ---- EV side disconnect -------------------------------------------------------------------
def test_ev_disconnect_stops_when_configured():
    r = Rig(StopTransactionOnEVSideDisconnect=True, UnlockConnectorOnEVSideDisconnect=True)
    charging(r)
    ev_leaves(r)
    assert r.reasons() == ["EVDisconnected"]
    assert r.session().state == FINISHING and r.status() == "Finishing"
    assert r.st.status_report.fields(1)[2] == "EV side disconnected"
    assert not r.conn().locked
    r.ev(1, "B")                  # reconnecting does not restart energy
    r.ev(1, "C")
    r.run(5)
    assert not r.conn().contactor_closed and len(r.starts()) == 1
    r.ev(1, "A")
    assert r.unplug()
    assert r.status() == "Available" and r.session().state == IDLE


def test_ev_disconnect_continues_session_when_not_configured():
    r = Rig(StopTransactionOnEVSideDisconnect=False, StartTransactionDelay=0)
    charging(r)
    wh = r.energy()
    ev_leaves(r)
    assert r.stops() == [] and r.session().state == TX
    assert r.status() == "SuspendedEV"                          # OCPP 1.6 4.9
    sn = [i[1] for i in r.st.ocpp.queue if i[0] == "StatusNotification" and i[1]["connectorId"] == 1]
    assert sn[-1]["status"] == "SuspendedEV" and sn[-1]["info"] == "EV side disconnected"
    assert r.conn().locked and not r.unplug()                   # cable stays locked
    r.run(600)
    assert r.session().state == TX
    r.ev(1, "B")
    r.ev(1, "C")                  # reconnect: the same transaction goes on
    r.run(60)
    assert r.status() == "Charging" and r.energy() > wh + 100
    assert len(r.starts()) == 1 and r.stops() == []
    r.card("A")
    assert r.reasons() == ["Local"]


def test_stop_false_has_priority_over_unlock():
    # OCPP 1.6 4.10: cables always remain locked when the EV side disconnects
    # while StopTransactionOnEVSideDisconnect is false
    r = Rig(StopTransactionOnEVSideDisconnect=False, UnlockConnectorOnEVSideDisconnect=True)
    charging(r)
    ev_leaves(r)
    assert r.session().state == TX and r.conn().locked and r.conn().error == 0
    r.ev(1, "B")
    r.ev(1, "C")
    r.run(10)
    assert r.status() == "Charging" and r.stops() == []


def test_unlock_on_ev_disconnect_false_keeps_cable_until_card():
    r = Rig(StopTransactionOnEVSideDisconnect=True, UnlockConnectorOnEVSideDisconnect=False,
            StartTransactionDelay=0)
    charging(r)
    ev_leaves(r)
    assert r.reasons() == ["EVDisconnected"]
    assert r.conn().locked and r.session().cable_held
    assert not r.unplug()                                   # locked at the station
    assert r.card("B")["result"] == "rejected"              # not the owner
    assert r.conn().locked
    res = r.card("A")
    assert res["result"] == "unlocked", res
    r.run(2)
    assert not r.conn().locked and r.unplug()
    assert r.session().state == IDLE and r.status() == "Available"
    assert r.reasons() == ["EVDisconnected"]                # no second stop


def test_held_cable_released_by_group_card():
    r = Rig(StopTransactionOnEVSideDisconnect=True, UnlockConnectorOnEVSideDisconnect=False,
            LocalAuthListEnabled=True, StartTransactionDelay=0)
    r.st.authlist.send_local_list(1, "Full", [
        {"idTag": "A", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}},
        {"idTag": "B", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}}])
    charging(r)
    ev_leaves(r)
    assert r.conn().locked
    assert r.card("B")["result"] == "unlocked"
    r.run(2)
    assert not r.conn().locked


def test_held_cable_released_by_unlock_connector():
    r = Rig(StopTransactionOnEVSideDisconnect=True, UnlockConnectorOnEVSideDisconnect=False)
    charging(r)
    ev_leaves(r)
    assert r.conn().locked
    got = []
    assert r.st.availability.unlock(1, got.append) == ""      # answered once the lock has moved
    r.run(2)
    assert got == ["Unlocked"]
    assert not r.conn().locked and r.unplug() and r.status() == "Available"
    assert r.reasons() == ["EVDisconnected"]


def test_unlock_on_ev_disconnect_true_releases():
    r = Rig(StopTransactionOnEVSideDisconnect=True, UnlockConnectorOnEVSideDisconnect=True)
    charging(r)
    ev_leaves(r)
    assert not r.conn().locked and r.unplug()


def test_abrupt_disconnect_under_load_ends_the_transaction():
    # C -> A while charging: the safety core latches an error and ends the
    # session, even with StopTransactionOnEVSideDisconnect false
    r = Rig(StopTransactionOnEVSideDisconnect=False)
    charging(r)
    r.ev(1, "A")
    r.run(5)
    assert r.reasons() == ["EVDisconnected"]
    assert not r.conn().locked and r.unplug() and r.status() == "Available"


def test_safety_error_with_ev_connected_stops_other():
    r = Rig()
    charging(r)
    simdrive.fault(r.st, "diode_missing", True)
    r.run(3)
    assert r.reasons() == ["Other"] and r.status() == "Faulted"
    simdrive.fault(r.st, "diode_missing", False)
    r.ev(1, "A")
    r.run(5)
    assert r.unplug() and r.status() == "Available"


def test_ev_error_state_is_not_a_disconnection():
    r = Rig(StopTransactionOnEVSideDisconnect=True)
    charging(r)
    r.ev(1, "F")
    r.run(3)
    assert r.reasons() == ["Other"]


# ---- stop reasons -------------------------------------------------------------------------
def test_stop_by_group_card_reports_its_tag():
    r = Rig(LocalAuthListEnabled=True, StartTransactionDelay=0)
    r.st.authlist.send_local_list(1, "Full", [
        {"idTag": "A", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}},
        {"idTag": "B", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}},
        {"idTag": "C", "idTagInfo": {"status": "Accepted", "parentIdTag": "OTHER"}},
        {"idTag": "D", "idTagInfo": {"status": "Blocked", "parentIdTag": "FLEET"}}])
    charging(r)
    assert r.card("C")["result"] == "rejected"          # another group
    assert r.card("D")["result"] == "rejected"          # NOT-valid member
    assert r.session().state == TX
    res = r.card("B")
    assert res["result"] == "stopped"
    (stop,) = r.stops()
    assert stop["reason"] == "Local" and stop["idTag"] == "B"


def test_same_card_stops_case_insensitively():
    r = Rig(StartTransactionDelay=0)
    charging(r, tag="abc")
    assert r.card("ABC")["result"] == "stopped"
    assert r.reasons() == ["Local"]


def test_stop_by_remote_stop_transaction():
    cs = FakeCS()
    r = Rig()
    r.online(cs)
    charging(r)
    txid = r.st.tx.transaction_id(r.session())
    assert txid == cs.next_tx
    assert r.st.tx.remote_stop(txid + 1) == "Rejected"
    assert r.st.tx.remote_stop(txid) == "Accepted"
    r.run(2)
    (stop,) = r.calls("StopTransaction")
    assert stop["reason"] == "Remote" and stop["transactionId"] == txid
    assert r.status() == "Finishing"


def test_remote_stop_of_unconfirmed_transaction_is_rejected():
    r = Rig()
    charging(r)                   # offline: no transactionId yet
    assert r.st.tx.transaction_id(r.session()) is None
    assert r.st.tx.remote_stop(1) == "Rejected"
    assert r.session().state == TX


def test_stop_by_hard_and_soft_reset():
    for kind, reason in (("Hard", "HardReset"), ("Soft", "SoftReset")):
        r = Rig("dscu")
        charging(r, 1, "A")
        r.card("B")                                  # authorized on connector 2, no EV yet
        assert r.session(2).state == AUTHORIZED
        r.st.maint.reset(kind)
        assert r.reasons() == [reason], kind
        assert r.session(2).state == IDLE and len(r.starts()) == 1
        assert r.st.reboot_request == kind


def test_power_loss_reported_after_restart():
    r = Rig()
    charging(r)
    r.run(60)
    wh = r.energy()
    (start,) = r.starts()
    r2 = r.reboot()               # power cut: no StopTransaction was queued
    txs = r2.txs()
    assert [a for a, p in txs if a != "MeterValues"] == ["StartTransaction", "StopTransaction"]
    stop = r2.stops()[0]
    assert stop["reason"] == "PowerLoss"
    assert abs(stop["meterStop"] - wh) < 5
    starts = [e for e in r2.st.journal.entries() if e[1] == "StartTransaction"]
    stops = [e for e in r2.st.journal.entries() if e[1] == "StopTransaction"]
    assert starts[0][2] == stops[0][2]             # same transaction reference
    assert r2.session().state == IDLE and r2.status() == "Available"
    assert r2.st.journal.open_refs() == []


def test_stop_by_unlock_connector():
    r = Rig()
    charging(r)
    got = []
    assert r.st.availability.unlock(1, got.append) == ""
    r.run(2)
    assert got == ["Unlocked"]
    assert r.reasons() == ["UnlockCommand"] and not r.conn().locked
    assert r.conn().error == 0    # stopped before unlocking: no ERR_UNLOCK_DURING_TRANSACT


def test_unlock_connector_cancels_authorization():
    r = Rig()
    r.card("A")
    assert r.st.availability.unlock(1) == "Unlocked"
    assert r.session().state == IDLE and r.txs() == []


def test_change_availability_during_transaction_is_scheduled():
    r = Rig(StartTransactionDelay=0)
    charging(r)
    assert r.st.availability.change(1, False) == "Scheduled"
    assert r.status() == "Charging"
    assert r.card("A")["result"] == "stopped"
    ev_leaves(r)
    assert r.unplug()
    assert r.status() == "Unavailable"
    assert r.card("A")["result"] == "rejected"


def test_station_availability_waits_for_every_transaction():
    r = Rig("dscu", StartTransactionDelay=0)
    charging(r, 1, "A")
    charging(r, 2, "B")
    assert r.st.availability.change(0, False) == "Scheduled"
    r.card("A")
    r.run(2)
    assert r.status(1) == "Finishing" and r.status(0) == "Available"
    r.card("B")
    r.run(2)
    assert r.status(1) == "Unavailable" and r.status(2) == "Unavailable"


def test_stop_by_sensor_scenario_emergency_stop():
    stop_only = ('[[0, "StatusNotification"], [1, "StopTransaction"], [0, "UnlockConnector"], '
                 '[0, "SetError"], [0, "ClearError"], [0, "HardReset"], [0, "SetLEDIntensityLow"], '
                 '[0, "SetLEDIntensityHigh"]]')
    r = Rig(ExternalSensor1Type=6, ExternalSensor1NormallyOpen=True,     # BUTTON
            ExternalSensor1TriggerActions=stop_only)
    r.board.io.set_input(1, 1)    # normally open: High = normal
    r.run(1)
    charging(r)
    r.board.io.set_input(1, 0)    # emergency button pressed
    r.run(1)
    assert r.reasons() == ["EmergencyStop"]
    assert r.stops()[0]["idTag"] == "A"
    assert not r.conn().contactor_closed and r.status() == "Finishing"


# ---- TaglessCharging ------------------------------------------------------------------------
def test_tagless_charging_on_both_dscu_connectors():
    r = Rig("dscu", TaglessCharging=True, RFIDReader1Enabled=False,
            StopTransactionOnEVSideDisconnect=True, UnlockConnectorOnEVSideDisconnect=True)
    r.arrive(1)
    r.arrive(2)
    assert [(p["connectorId"], p["idTag"]) for p in r.starts()] == [(1, "TAGLESS1"), (2, "TAGLESS2")]
    r.ev(1, "C")
    r.ev(2, "C")
    r.run(30)
    assert r.status(1) == "Charging" and r.status(2) == "Charging"
    assert r.card("TAGLESS1")["result"] == "ignored"         # readers are off
    ev_leaves(r, 1)
    assert r.reasons() == ["EVDisconnected"] and r.status(2) == "Charging"
    assert r.unplug(1)
    r.arrive(1)                   # the next EV starts a new transaction at once
    assert [p["idTag"] for p in r.starts()] == ["TAGLESS1", "TAGLESS2", "TAGLESS1"]
    ev_leaves(r, 2)
    assert r.reasons() == ["EVDisconnected", "EVDisconnected"]


def test_tagless_id_tags_follow_configuration():
    r = Rig("dscu", TaglessCharging=True, RFIDReader1Enabled=False,
            TaglessIdTag1="CAR-LEFT", TaglessIdTag2="CAR-RIGHT")
    r.arrive(2)
    r.arrive(1)
    assert [(p["connectorId"], p["idTag"]) for p in r.starts()] == [(2, "CAR-RIGHT"), (1, "CAR-LEFT")]


def test_tagless_needs_reboot_and_waits_while_unavailable():
    r = Rig("sscu")
    assert r.config.change("TaglessCharging", "true") == "RebootRequired"
    r.arrive()
    assert r.starts() == []                     # not active before the reboot
    r = Rig("sscu", TaglessCharging=True)
    assert r.st.availability.change(1, False) == "Accepted"
    r.arrive()
    assert r.starts() == [] and r.status() == "Unavailable"
    r.st.availability.change(1, True)
    r.run(1)
    assert len(r.starts()) == 1


# ---- StartTransactionDelay -----------------------------------------------------------------
def test_start_transaction_delay_ignores_the_same_card():
    r = Rig(StartTransactionDelay=30)
    charging(r)                   # 12 s after the card
    res = r.card("A")
    assert res["result"] == "ignored" and res["reason"] == "StartTransactionDelay"
    r.run(19)
    assert r.card("A")["result"] == "stopped"
    assert r.card("A")["result"] == "ignored"       # again after the stop
    r.run(31)
    assert r.card("A")["result"] == "rejected"      # the cable is still in: no free connector
    assert r.reasons() == ["Local"]


def test_start_transaction_delay_ignores_any_spelling():
    r = Rig(StartTransactionDelay=30)
    charging(r, tag="abc")
    assert r.card("ABC")["result"] == "ignored"


def test_start_transaction_delay_zero_and_other_cards():
    r = Rig("dscu", StartTransactionDelay=0)
    charging(r, 1, "A")
    assert r.card("A")["result"] == "stopped"
    r = Rig("dscu", StartTransactionDelay=30)
    charging(r, 1, "A")
    assert r.card("B")["result"] == "accepted"      # another card is not delayed
