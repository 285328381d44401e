# Transaction messages survive what the link and the power do to them (OCPP
# 1.6 3.7, 4.8-4.10, errata 3.18): link loss mid-transaction, a Central
# System that does not answer (MessageResponseTimeOut,
# TransactionMessageAttempts/RetryInterval), and kill -9 of the simulator with
# a restart on the same state directory.
import asyncio

from ocpp_rig import TAG, parse_iso, rig_run

SETTINGS = {"MeterValueSampleInterval": "60", "MeterValuesSampledData": "Energy.Active.Import.Register"}


def _energy(p):
    return int(p["meterValue"][0]["sampledValue"][0]["value"])


def _check_tx_messages(rig, txid, reason):
    """Start, MeterValues..., Stop of one transaction, in order, with
    consistent meter readings; returns them."""
    def ours(r):
        if r.action == "StartTransaction":
            return r.answer is not None and r.answer[0] == "result" and r.answer[1]["transactionId"] == txid
        return r.payload.get("transactionId") == txid
    msgs = [(r.action, r.payload) for r in rig.tx_calls() if ours(r)]
    acts = [a for a, _ in msgs]
    assert acts[0] == "StartTransaction" and acts[-1] == "StopTransaction", acts
    assert set(acts[1:-1]) <= {"MeterValues"}, acts
    start, stop = msgs[0][1], msgs[-1][1]
    energies = [_energy(p) for a, p in msgs[1:-1]]
    stamps = [parse_iso(p["meterValue"][0]["timestamp"]) for a, p in msgs[1:-1]]
    assert energies == sorted(energies) and stamps == sorted(stamps)
    assert start["meterStart"] <= (energies[0] if energies else stop["meterStop"])
    assert stop["meterStop"] >= (energies[-1] if energies else start["meterStart"])
    assert stop["reason"] == reason
    return msgs


# ---- 5. link dropped mid-transaction ----------------------------------------------------------
def test_link_lost_mid_transaction_messages_delivered_in_order(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await rig.advance(120)
        assert len(rig.payloads("MeterValues")) == 2
        # the link goes down and stays down a while
        rig.cs.reject_connections = True
        await rig.cs.disconnect(rig.cp)
        await rig.cs.wait_for(lambda rs: not rig.cs.connected(rig.cp))
        await rig.advance(300)
        st = await rig.status()
        assert not st["ocpp"]["connected"]
        assert st["connectors"][0]["status"] == "Charging"     # charging goes on offline
        # the card stops it offline (the owner needs no Authorize)
        await rig.op("rfid", reader=1, id=TAG)
        await rig.advance(30)
        assert (await rig.connector(1))["transaction_id"] is None
        assert (await rig.status())["ocpp"]["queued"] >= 6
        n_seen = len(rig.calls())
        # a new transaction, started offline (AllowOfflineTxForUnknownId)
        await rig.op("ev", connector=1, state="A")
        await rig.op("unplug", connector=1)
        await rig.advance(5)
        await rig.plug_ev(1)
        await rig.op("rfid", reader=1, id="OFFLINE1")
        await rig.op("ev", connector=1, state="C")
        await rig.advance(130)
        assert len(rig.calls()) == n_seen                      # nothing got through
        # the link comes back: everything in order, the offline transaction gets its id
        rig.cs.reject_connections = False
        await rig.advance(300)
        await rig.cs.wait_for(lambda rs: rig.cs.connected(rig.cp))
        await rig.advance(1)
        assert (await rig.status())["ocpp"]["queued"] == 0
        msgs = _check_tx_messages(rig, txid, "Local")
        mvs = [p for a, p in msgs if a == "MeterValues"]
        assert len(mvs) == 7                                    # 2 online + 5 offline
        stamps = [parse_iso(p["meterValue"][0]["timestamp"]) for p in mvs]
        assert [b - a for a, b in zip(stamps, stamps[1:])] == [60] * 6
        starts = rig.payloads("StartTransaction")
        assert [s["idTag"] for s in starts] == [TAG, "OFFLINE1"]
        txid2 = rig.cs.next_transaction_id - 1
        assert txid2 == txid + 1
        later = [(r.action, r.payload.get("transactionId")) for r in rig.tx_calls()][len(msgs):]
        # 2 meter values taken offline, then 5 online, all with the id assigned later
        assert later == [("StartTransaction", None)] + [("MeterValues", txid2)] * 7
        assert (await rig.connector(1))["transaction_id"] == txid2
        # the connection was refused while down, then came back once
        assert [c[1] for c in rig.cs.connections] == ["connect", "disconnect", "connect"]
    rig_run(tmp_path, body, settings=SETTINGS)


def test_link_lost_while_a_message_is_in_flight(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        # the Central System takes a second to answer MeterValues; the link
        # drops before the answer: the message goes again after reconnecting
        rig.cs.delays = {"MeterValues": 1.0}
        adv = asyncio.ensure_future(rig.advance(61))
        await rig.wait_call("MeterValues")
        rig.cs.reject_connections = True
        await rig.cs.disconnect(rig.cp)
        await adv
        # (the Central System's late answer went into a closed connection)
        await rig.cs.wait_for(lambda rs: _links(rig) == ["connect", "disconnect"])
        rig.cs.delays = {}
        rig.cs.reject_connections = False
        for _ in range(20):                     # reconnect backoff runs on virtual time
            await rig.advance(5)
            if len(_links(rig)) == 3:
                break
        await rig.advance(1)
        assert _links(rig) == ["connect", "disconnect", "connect"]
        mvs = rig.calls("MeterValues")
        assert len(mvs) == 2 and mvs[0].payload == mvs[1].payload
        assert mvs[1].answer[0] == "result"
        assert mvs[0].payload["transactionId"] == txid
        assert (await rig.status())["ocpp"]["queued"] == 0
    rig_run(tmp_path, body, settings=SETTINGS)


def _links(rig):
    return [c[1] for c in rig.cs.connections if c[0] == rig.cp]


# ---- 6. Central System silent -----------------------------------------------------------------
def test_silent_central_system_retries_then_drops(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await rig.advance(10)
        rig.cs.ignore_actions = {"StopTransaction"}
        await rig.op("rfid", reader=1, id=TAG)                 # stop: StopTransaction at t0
        await rig.advance(2)
        assert len(rig.calls("StopTransaction")) == 1
        # MessageResponseTimeOut (3 s), then TransactionMessageRetryInterval x attempts so far
        await rig.advance(12)                                  # t0+14: 1st timeout at t0+3, retry due t0+13
        assert len(rig.calls("StopTransaction")) == 2
        await rig.advance(20)                                  # t0+34: 2nd timeout t0+16, retry due t0+36
        assert len(rig.calls("StopTransaction")) == 2
        await rig.advance(3)
        assert len(rig.calls("StopTransaction")) == 3
        await rig.advance(120)                                 # 3rd timeout: attempts used up, dropped
        assert len(rig.calls("StopTransaction")) == 3
        st = await rig.status()
        assert st["ocpp"]["queued"] == 0 and st["ocpp"]["connected"]
        assert all(p == rig.payloads("StopTransaction")[0] for p in rig.payloads("StopTransaction"))
        assert rig.payloads("StopTransaction")[0]["transactionId"] == txid
        # the station keeps going: a new session is reported normally
        rig.cs.ignore_actions = set()
        await rig.op("ev", connector=1, state="A")
        await rig.op("unplug", connector=1)
        await rig.advance(5)
        txid2 = await rig.card_start(1, tag="TAG0002")
        assert txid2 == txid + 1
        await rig.advance(5)                                   # StartTransactionDelay
        await rig.op("rfid", reader=1, id="TAG0002")
        await rig.advance(2)
        assert rig.payloads("StopTransaction")[-1]["transactionId"] == txid2
        assert rig.calls("StopTransaction")[-1].answer[0] == "result"
    rig_run(tmp_path, body, settings={"MessageResponseTimeOut": "3", "TransactionMessageAttempts": "3",
                                      "TransactionMessageRetryInterval": "10",
                                      "MeterValueSampleInterval": "0"})


def test_silent_central_system_authorize_times_out_and_offline_rules_apply(tmp_path):
    async def body(rig):
        await rig.start()
        rig.cs.ignore_actions = {"Authorize", "StartTransaction"}
        await rig.plug_ev(1, state="C")
        await rig.op("rfid", reader=1, id="NEWCARD")
        await rig.advance(2)
        assert rig.payloads("Authorize") == [{"idTag": "NEWCARD"}]
        assert (await rig.connector(1))["session"] == "Idle"
        # no answer within MessageResponseTimeOut: AllowOfflineTxForUnknownId decides
        await rig.advance(5)
        c = await rig.connector(1)
        assert c["session"] == "Transaction" and c["status"] == "Charging" and c["transaction_id"] is None
        await rig.advance(10)
        assert len(rig.calls("StartTransaction")) == 1           # sent, unanswered
        # the Central System answers again: the StartTransaction is retried and confirmed
        rig.cs.ignore_actions = set()
        await rig.advance(60)
        starts = rig.calls("StartTransaction")
        assert starts[-1].answer[0] == "result"
        assert (await rig.connector(1))["transaction_id"] == starts[-1].answer[1]["transactionId"]
    rig_run(tmp_path, body, settings={"MessageResponseTimeOut": "4", "TransactionMessageRetryInterval": "20"})


# ---- 7. kill -9 mid-transaction ------------------------------------------------------------------
def test_kill_9_mid_transaction_then_restart(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await rig.advance(150)
        assert len(rig.payloads("MeterValues")) == 2
        # the third MeterValues reaches the Central System, whose answer never comes back
        rig.cs.ignore_actions = {"MeterValues"}
        await rig.advance(40)
        assert len(rig.payloads("MeterValues")) == 3
        lost = rig.payloads("MeterValues")[-1]
        await rig.kill()
        rig.cs.ignore_actions = set()
        # power back: same state directory
        await rig.start()
        await rig.advance(2)
        st = await rig.status()
        assert st["ocpp"]["queued"] == 0
        c = st["connectors"][0]
        assert c["transaction_id"] is None and not c["contactor"]
        msgs = _check_tx_messages(rig, txid, "PowerLoss")
        acts = [a for a, _ in msgs]
        assert acts == ["StartTransaction"] + ["MeterValues"] * 4 + ["StopTransaction"]
        mvs = [p for a, p in msgs if a == "MeterValues"]
        # only the message whose confirmation the kill lost comes twice, unchanged
        assert mvs[2] == lost and mvs[3] == lost
        assert mvs[0] != mvs[1] != mvs[2]
        stop = msgs[-1][1]
        assert stop["transactionId"] == txid
        assert stop["meterStop"] >= _energy(lost)
        assert rig.cs.transactions[txid]["reason"] == "PowerLoss"
        # and the station works after it (the simulated EV went down with the process)
        await rig.plug_ev(1)
        await rig.op("rfid", reader=1, id="TAG0002")
        await rig.advance(2)
        assert (await rig.connector(1))["transaction_id"] == txid + 1
    rig_run(tmp_path, body, settings=SETTINGS)
