# Authorization and its effect on transactions, on a real Station with a fake
# Central System on the OCPP client's synchronous core (session_rig.FakeCS):
# every AuthorizationStatus from the Central System, the local list and the
# cache, the offline rules (AllowOfflineTxForUnknownId, LocalAuthorizeOffline),
# StartTransaction.conf not Accepted (StopTransactionOnInvalidId,
# MaxEnergyOnInvalidId), RemoteStartTransaction (OCPP 1.6 3.5, 4.1, 4.8, 5.11).
from session_rig import FakeCS, Rig

from evse.services.session import AUTHORIZED, IDLE, TX

NOT_ACCEPTED = ("Blocked", "Expired", "Invalid", "ConcurrentTx")
STATUSES = ("Accepted",) + NOT_ACCEPTED


def listed(r, *entries, version=1):
    lst = []
    for e in entries:
        info = {"status": e[1]}
        if len(e) > 2:
            info["parentIdTag"] = e[2]
        lst.append({"idTag": e[0], "idTagInfo": info})
    assert r.st.authlist.send_local_list(version, "Full", lst) == "Accepted"


def test_every_authorize_status_from_the_central_system():
    cs = FakeCS({s: s for s in STATUSES})
    r = Rig()
    r.online(cs)
    r.arrive()
    for st in NOT_ACCEPTED:
        res = r.card(st)
        assert res["result"] == "pending"
        last = r.st.cards._last
        assert last["result"] == "rejected" and last["status"] == st and last["source"] == "cs"
        assert r.session().state == IDLE
    assert [p["idTag"] for p in r.calls("Authorize")] == list(NOT_ACCEPTED)
    r.card("Accepted")
    assert r.session().state == TX
    assert r.starts() == [] and r.calls("StartTransaction")[0]["idTag"] == "Accepted"


def test_every_local_list_status_offline():
    r = Rig(LocalAuthListEnabled=True, AllowOfflineTxForUnknownId=True)
    listed(r, *[(s, s) for s in STATUSES])
    r.arrive()
    for st in NOT_ACCEPTED:
        res = r.card(st)
        assert res["result"] == "rejected" and res["status"] == st and res["source"] == "list", res
    res = r.card("Accepted")
    assert res["result"] == "accepted" and res["source"] == "list"
    assert r.session().state == TX


def test_local_list_expiry_date_makes_expired():
    r = Rig(LocalAuthListEnabled=True)
    from evse.clock import iso8601
    assert r.st.authlist.send_local_list(1, "Full", [
        {"idTag": "OLD", "idTagInfo": {"status": "Accepted", "expiryDate": iso8601(r.clock.now() + 30)}}]) == "Accepted"
    r.run(31)
    res = r.card("OLD")
    assert res["result"] == "rejected" and res["status"] == "Expired"


def test_local_list_pre_authorize_online_needs_no_authorize_req():
    cs = FakeCS(auth_default="Invalid")
    r = Rig(LocalAuthListEnabled=True, LocalPreAuthorize=True)
    listed(r, ("A", "Accepted"), ("B", "Blocked"))
    r.online(cs)
    r.arrive()
    assert r.card("B")["status"] == "Blocked"
    res = r.card("A")
    assert res["result"] == "accepted" and res["source"] == "list"
    assert r.calls("Authorize") == []


def test_local_list_without_pre_authorize_asks_the_central_system():
    cs = FakeCS({"A": "Blocked"})
    r = Rig(LocalAuthListEnabled=True, LocalPreAuthorize=False)
    listed(r, ("A", "Accepted"))
    r.online(cs)
    r.arrive()
    assert r.card("A")["result"] == "pending"
    assert r.st.cards._last["status"] == "Blocked" and r.session().state == IDLE
    assert r.st.authorizer.conflicts == 1          # LocalListConflict (3.5.2)


def test_cache_statuses_offline():
    cs = FakeCS({s: s for s in STATUSES})
    r = Rig(AuthorisationCacheEnabled=True, AllowOfflineTxForUnknownId=True)
    r.online(cs)
    for st in STATUSES:           # no EV: learn the answers only
        r.card(st)
    assert r.session().state == AUTHORIZED
    assert r.card("Accepted")["result"] == "stopped"      # cancels the authorization
    r.offline()
    r.arrive()
    for st in NOT_ACCEPTED:
        res = r.card(st)          # 3.5.4: known NOT-valid ids are never accepted offline
        assert res["result"] == "rejected" and res["status"] == st and res["source"] == "cache", (st, res)
    res = r.card("Accepted")
    assert res["result"] == "accepted" and res["source"] == "cache"
    assert r.session().state == TX


def test_cache_disabled_is_not_used_offline():
    cs = FakeCS()
    r = Rig(AuthorisationCacheEnabled=False, AllowOfflineTxForUnknownId=False)
    r.online(cs)
    r.card("A")
    r.card("A")
    r.offline()
    res = r.card("A")
    assert res["result"] == "rejected" and res["source"] == "offline"


def test_unknown_tag_offline_allowed_or_not():
    r = Rig(AllowOfflineTxForUnknownId=True)
    r.arrive()
    res = r.card("NEW")
    assert res["result"] == "accepted" and res["source"] == "offline" and r.session().state == TX
    r = Rig(AllowOfflineTxForUnknownId=False)
    r.arrive()
    res = r.card("NEW")
    assert res["result"] == "rejected" and res["status"] == "Invalid" and r.session().state == IDLE
    assert r.txs() == []


def test_local_authorize_offline_false_falls_back_to_unknown_rule():
    r = Rig(LocalAuthListEnabled=True, LocalAuthorizeOffline=False, AllowOfflineTxForUnknownId=False)
    listed(r, ("A", "Accepted"))
    assert r.card("A")["result"] == "rejected"


def test_authorize_timeout_applies_offline_rules():
    for allow, want in ((True, TX), (False, IDLE)):
        cs = FakeCS()
        cs.silent.append("Authorize")
        r = Rig(AllowOfflineTxForUnknownId=allow, MessageResponseTimeOut=10)
        r.online(cs)
        r.arrive()
        assert r.card("A")["result"] == "pending"
        r.run(5)
        assert r.session().state == IDLE
        r.run(10)
        assert r.session().state == want, allow


def test_concurrent_tx_card_already_charging_elsewhere():
    r = Rig("dscu", RFIDReader2Enabled=True)
    r.arrive(1)
    r.card("A", reader=1)
    r.run(5)                      # past StartTransactionDelay
    res = r.card("A", reader=2)
    assert res["result"] == "rejected" and res["status"] == "ConcurrentTx"
    assert r.session(2).state == IDLE


# ---- StartTransaction.conf not Accepted -----------------------------------------------------
def charge_online(r, cs, tag="A"):
    r.online(cs)
    r.arrive()
    r.card(tag)
    r.ev(1, "C")


def test_start_conf_not_accepted_stops_deauthorized():
    for st in NOT_ACCEPTED:
        cs = FakeCS(start_tags={"A": st})
        r = Rig(StopTransactionOnInvalidId=True)
        charge_online(r, cs)
        r.run(2)
        (stop,) = r.calls("StopTransaction")
        assert stop["reason"] == "DeAuthorized" and stop["transactionId"] == cs.next_tx, st
        assert not r.conn().contactor_closed and r.status() == "Finishing"


def statuses(r, c=1) -> list:
    return [p["status"] for p in r.calls("StatusNotification") if p["connectorId"] == c]


def test_start_conf_invalid_charges_max_energy_then_only_suspends():
    # OCPP 1.6 3.5.4 / errata 4.8: StopTransactionOnInvalidId false "only
    # stop energy delivery": after MaxEnergyOnInvalidId Wh the station offers
    # nothing (SuspendedEVSE), the transaction stays open and the cable locked
    cs = FakeCS(start_tags={"A": "Invalid"})
    r = Rig(StopTransactionOnInvalidId=False, MaxEnergyOnInvalidId=300)
    charge_online(r, cs)
    r.run(30)
    assert r.session().state == TX and r.status() == "Charging"
    at_conf = r.energy()
    r.run(600)
    assert r.calls("StopTransaction") == []
    assert r.session().state == TX and r.st.tx.transaction_id(r.session()) == cs.next_tx
    assert r.status() == "SuspendedEVSE" and statuses(r)[-1] == "SuspendedEVSE"
    c = r.conn()
    assert not c.contactor_closed and c.offered_da == 0 and c.locked
    used = r.energy() - r.calls("StartTransaction")[0]["meterStart"]
    assert 300 <= used < 310, used            # checked every second at ~11 kW
    assert at_conf < 300
    r.run(600)                                 # stays suspended, nothing more delivered
    assert r.energy() - r.calls("StartTransaction")[0]["meterStart"] == used
    assert r.status() == "SuspendedEVSE" and r.calls("StopTransaction") == []
    # it ends like any transaction: here the owner's card
    assert r.card("A")["result"] == "stopped"
    r.run(1)
    (stop,) = r.calls("StopTransaction")
    assert stop["reason"] == "Local" and stop["transactionId"] == cs.next_tx


def test_start_conf_invalid_max_energy_zero_suspends_at_once():
    cs = FakeCS(start_tags={"A": "Blocked"})
    r = Rig(StopTransactionOnInvalidId=False, MaxEnergyOnInvalidId=0)
    charge_online(r, cs)
    r.run(60)
    assert r.calls("StopTransaction") == [] and r.session().state == TX
    assert r.status() == "SuspendedEVSE" and "Charging" not in statuses(r)
    assert not r.conn().contactor_closed and r.conn().locked
    assert r.energy() - r.calls("StartTransaction")[0]["meterStart"] < 1
    # a RemoteStopTransaction ends it
    assert r.st.tx.remote_stop(cs.next_tx) == "Accepted"
    r.run(1)
    assert [p["reason"] for p in r.calls("StopTransaction")] == ["Remote"]


def test_max_energy_on_invalid_id_counts_from_the_invalidation():
    # charged offline first: MaxEnergyOnInvalidId is energy added after the
    # Central System invalidated the identifier, not a cap on the whole
    # transaction (manual: "a (small) amount of added energy")
    r = Rig(StopTransactionOnInvalidId=False, MaxEnergyOnInvalidId=200,
            AllowOfflineTxForUnknownId=True)
    r.arrive()
    assert r.card("A")["source"] == "offline"
    r.ev(1, "C")
    r.run(300)                                     # ~900 Wh offline
    before = r.energy()
    assert before - r.starts()[0]["meterStart"] > 500
    r.online(FakeCS(start_tags={"A": "Invalid"}))
    r.run(2)
    assert r.status() == "Charging"
    r.run(600)
    added = r.energy() - before
    assert 200 <= added < 215, added
    assert r.status() == "SuspendedEVSE" and r.session().state == TX
    assert r.calls("StopTransaction") == []


def test_offline_started_session_invalidated_when_back_online():
    r = Rig(StopTransactionOnInvalidId=True, AllowOfflineTxForUnknownId=True)
    r.arrive()
    assert r.card("A")["source"] == "offline"
    r.ev(1, "C")
    r.run(120)
    assert r.status() == "Charging"
    cs = FakeCS(start_tags={"A": "Invalid"})
    r.online(cs)                                   # the journal is replayed
    r.run(2)
    start = r.calls("StartTransaction")[0]
    assert start["timestamp"] == "2026-01-01T00:00:05Z"    # when it started, offline
    (stop,) = r.calls("StopTransaction")
    assert stop["reason"] == "DeAuthorized" and stop["transactionId"] == cs.next_tx


def test_offline_started_session_kept_when_not_stopping_on_invalid():
    r = Rig(StopTransactionOnInvalidId=False, MaxEnergyOnInvalidId=60000)
    r.arrive()
    r.card("A")
    r.ev(1, "C")
    r.run(60)
    r.online(FakeCS(start_tags={"A": "Invalid"}))
    r.run(60)
    assert r.session().state == TX and r.calls("StopTransaction") == []


def test_late_start_answer_does_not_touch_the_next_session():
    # offline: session 1 (A) started and stopped, session 2 (B) started; the
    # Central System then rejects A's StartTransaction: B goes on
    r = Rig(StopTransactionOnInvalidId=True, StartTransactionDelay=0)
    r.arrive()
    r.card("A")
    r.card("A")
    r.leave()
    r.arrive()
    r.card("B")
    assert r.session().state == TX and r.session().id_tag == "B"
    cs = FakeCS(start_tags={"A": "Invalid"})
    r.online(cs)
    r.run(2)
    assert r.session().state == TX
    assert [p["reason"] for p in r.calls("StopTransaction")] == ["Local"]
    assert r.st.tx.transaction_id(r.session()) == cs.next_tx


def test_start_conf_updates_the_cache():
    cs = FakeCS(start_tags={"A": "Blocked"})
    cs.silent.append("StopTransaction")
    r = Rig(AuthorisationCacheEnabled=True, StopTransactionOnInvalidId=True)
    charge_online(r, cs)
    r.run(2)
    assert r.st.cache.lookup("A")["status"] == "Blocked"     # 4.8: StartTransaction.conf
    r.offline()
    r.leave()
    r.arrive()
    assert r.card("A")["status"] == "Blocked"


# ---- RemoteStartTransaction -----------------------------------------------------------------
def test_remote_start_without_authorization():
    cs = FakeCS()
    r = Rig("dscu", AuthorizeRemoteTxRequests=False)
    r.online(cs)
    assert r.st.tx.ocpp_remote_start_transaction({"idTag": "R", "connectorId": 2})["status"] == "Accepted"
    assert r.session(2).state == AUTHORIZED and r.calls("Authorize") == []
    r.arrive(2)
    assert r.session(2).state == TX
    assert r.calls("StartTransaction")[0]["connectorId"] == 2


def test_remote_start_with_authorization():
    cs = FakeCS({"OK": "Accepted", "NO": "Blocked"})
    r = Rig("dscu", AuthorizeRemoteTxRequests=True)
    r.online(cs)
    assert r.st.tx.ocpp_remote_start_transaction({"idTag": "NO"})["status"] == "Accepted"    # pending: Authorize.req
    r.run(1)
    assert r.session(1).state == IDLE and r.session(2).state == IDLE
    assert r.st.tx.ocpp_remote_start_transaction({"idTag": "OK"})["status"] == "Accepted"
    r.run(1)
    assert r.session(1).state == AUTHORIZED
    assert [p["idTag"] for p in r.calls("Authorize")] == ["NO", "OK"]


def test_remote_start_rejected_on_busy_or_unavailable_connector():
    r = Rig("sscu")
    r.card("A")
    assert r.st.tx.ocpp_remote_start_transaction({"idTag": "R", "connectorId": 1})["status"] == "Rejected"       # authorized for A
    r = Rig("sscu")
    r.st.availability.change(1, False)
    assert r.st.tx.ocpp_remote_start_transaction({"idTag": "R", "connectorId": 1})["status"] == "Rejected"
