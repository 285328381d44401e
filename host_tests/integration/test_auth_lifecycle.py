# The transaction lifecycle end to end (OCPP 1.6 4.8-4.10, 5.11, 5.12, 5.14,
# manual ConnectionTimeOut / StopTransactionOnEVSideDisconnect): the simulator
# (MicroPython Unix port, virtual clock) against the development Central
# System. Every stop reason the Central System can see without a sensor.
from ocpp_rig import rig_run


def test_remote_start_connection_timeout_and_remote_stop(tmp_path):
    async def body(rig):
        await rig.start()
        # no EV within ConnectionTimeOut: back to Available, no transaction
        conf = await rig.call("RemoteStartTransaction", idTag="REMOTE1", connectorId=1)
        assert conf == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(1)[-1] == "Preparing"
        await rig.advance(30)
        assert rig.statuses(1)[-1] == "Available" and rig.calls("StartTransaction") == []
        # in time: the transaction starts when the EV connects
        conf = await rig.call("RemoteStartTransaction", idTag="REMOTE1", connectorId=1)
        assert conf == {"status": "Accepted"}
        await rig.advance(5)
        await rig.plug_ev(1)
        await rig.advance(1)
        (start,) = await rig.wait_call("StartTransaction")
        assert start["idTag"] == "REMOTE1"
        await rig.op("ev", connector=1, state="C", max_current=16, phases=3)
        await rig.advance(30)
        txid = (await rig.connector(1))["transaction_id"]
        assert (await rig.call("RemoteStopTransaction", transactionId=txid + 1)) == {"status": "Rejected"}
        assert (await rig.call("RemoteStopTransaction", transactionId=txid)) == {"status": "Accepted"}
        await rig.advance(1)
        (stop,) = await rig.wait_call("StopTransaction")
        assert stop["reason"] == "Remote" and stop["transactionId"] == txid
        assert rig.statuses(1)[-1] == "Finishing"
    rig_run(tmp_path, body, settings={"ConnectionTimeOut": "20"})


def test_ev_side_disconnect_continues_then_card_stops(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1, "CARD1")
        await rig.advance(30)
        await rig.op("ev", connector=1, state="B", max_current=16, phases=3)
        await rig.advance(1)          # the EV stops drawing first (C -> B -> A)
        await rig.op("ev", connector=1, state="A", max_current=16, phases=3)
        await rig.advance(2)
        c = await rig.connector(1)
        assert c["status"] == "SuspendedEV" and c["locked"] and c["transaction_id"] == txid
        sn = [p for p in rig.payloads("StatusNotification") if p["connectorId"] == 1][-1]
        assert sn["status"] == "SuspendedEV" and sn.get("info") == "EV side disconnected"
        assert not (await rig.op("unplug", connector=1))["removed"]      # still locked
        await rig.op("ev", connector=1, state="B", max_current=16, phases=3)
        await rig.advance(1)
        await rig.op("ev", connector=1, state="C", max_current=16, phases=3)
        await rig.advance(30)
        assert (await rig.connector(1))["status"] == "Charging"
        assert rig.calls("StopTransaction") == []
        res = await rig.op("rfid", reader=1, id="CARD1")
        assert res["result"] == "stopped"
        await rig.advance(1)
        (stop,) = await rig.wait_call("StopTransaction")
        assert stop["reason"] == "Local" and stop["idTag"] == "CARD1" and stop["transactionId"] == txid
    rig_run(tmp_path, body, settings={"StopTransactionOnEVSideDisconnect": "false",
                                      "StartTransactionDelay": "0"})


def test_power_loss_reported_after_kill(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1, "CARD1")
        await rig.advance(60)
        await rig.kill()                    # kill -9 during the transaction
        await rig.start()
        await rig.advance(2)
        (stop,) = await rig.wait_call("StopTransaction")
        assert stop["reason"] == "PowerLoss" and stop["transactionId"] == txid
        assert stop["meterStop"] >= rig.payloads("StartTransaction")[0]["meterStart"]
        assert (await rig.connector(1))["transaction_id"] is None
    rig_run(tmp_path, body)
