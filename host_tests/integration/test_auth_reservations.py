# ReserveNow / CancelReservation (OCPP 1.6 5.1, 5.13) and TaglessCharging
# (manual 4.4) end to end: the simulator (MicroPython Unix port, virtual
# clock) against the development Central System.
from ocpp_rig import iso, rig_run


def test_reservation_honoured_expiring_and_cancelled(tmp_path):
    async def body(rig):
        await rig.start()
        conf = await rig.call("ReserveNow", connectorId=1, expiryDate=iso(rig.vnow + 600),
                              idTag="RES1", reservationId=7)
        assert conf == {"status": "Accepted"}
        conf = await rig.call("ReserveNow", connectorId=2, expiryDate=iso(rig.vnow + 60),
                              idTag="RES2", reservationId=8)
        assert conf == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(1)[-1] == "Reserved" and rig.statuses(2)[-1] == "Reserved"
        assert (await rig.connector(1))["led"]["color"] == "MAGENTA"
        # another card finds no connector: both are reserved
        res = await rig.op("rfid", reader=1, id="OTHER")
        await rig.advance(1)
        assert rig.payloads("Authorize")[-1]["idTag"] == "OTHER"
        assert rig.payloads("StartTransaction") == [] and rig.statuses(1)[-1] == "Reserved"
        # the reserving card: authorized (Reserved_Authorized LED), then the EV
        await rig.op("rfid", reader=1, id="RES1")
        await rig.advance(1)
        c = await rig.connector(1)
        assert c["status"] == "Preparing" and c["led"]["color"] == "MAGENTA" and c["led"]["blinking"], c
        await rig.plug_ev(1)
        await rig.advance(1)
        (start,) = await rig.wait_call("StartTransaction")
        assert start["connectorId"] == 1 and start["idTag"] == "RES1" and start["reservationId"] == 7
        assert rig.cs.transactions[(await rig.connector(1))["transaction_id"]]["reservationId"] == 7
        # the other one expires: Available again
        await rig.advance(60)
        assert rig.statuses(2)[-1] == "Available"
        assert (await rig.call("CancelReservation", reservationId=8)) == {"status": "Rejected"}
        # a new one, cancelled
        conf = await rig.call("ReserveNow", connectorId=2, expiryDate=iso(rig.vnow + 600),
                              idTag="RES3", reservationId=9)
        assert conf == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(2)[-1] == "Reserved"
        assert (await rig.call("CancelReservation", reservationId=9)) == {"status": "Accepted"}
        await rig.advance(1)
        assert rig.statuses(2)[-1] == "Available"
        # occupied connector
        conf = await rig.call("ReserveNow", connectorId=1, expiryDate=iso(rig.vnow + 600),
                              idTag="RES4", reservationId=10)
        assert conf == {"status": "Occupied"}
    rig_run(tmp_path, body, model="dscu")


def test_tagless_charging_on_both_dscu_connectors(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.plug_ev(1)
        await rig.plug_ev(2)
        await rig.advance(1)
        starts = await rig.wait_call("StartTransaction", 2)
        assert sorted((p["connectorId"], p["idTag"]) for p in starts) == [(1, "TAGLESS1"), (2, "TAGLESS2")]
        for c in (1, 2):
            await rig.op("ev", connector=c, state="C", max_current=16, phases=3)
        await rig.advance(60)
        st = await rig.status()
        assert [c["status"] for c in st["connectors"]] == ["Charging", "Charging"]
        tx1 = st["connectors"][0]["transaction_id"]
        res = await rig.op("rfid", reader=1, id="TAGLESS1")
        assert res["result"] == "ignored"                    # the reader is off
        # the EV of connector 1 leaves: the transaction stops, the cable is free
        await rig.op("ev", connector=1, state="B", max_current=16, phases=3)
        await rig.advance(1)          # the EV stops drawing first (C -> B -> A)
        await rig.op("ev", connector=1, state="A", max_current=16, phases=3)
        await rig.advance(2)
        (stop,) = await rig.wait_call("StopTransaction")
        assert stop["reason"] == "EVDisconnected" and stop["transactionId"] == tx1
        assert stop["idTag"] == "TAGLESS1"
        c = await rig.connector(1)
        assert c["status"] == "Finishing" and not c["locked"] and c["error_code"] == "NoError", c
        assert (await rig.op("unplug", connector=1))["removed"]
        await rig.advance(1)
        assert rig.statuses(1)[-1] == "Available"
        assert (await rig.connector(2))["status"] == "Charging"
        # the next EV starts at once
        await rig.plug_ev(1)
        await rig.advance(1)
        starts = await rig.wait_call("StartTransaction", 3)
        assert starts[-1]["connectorId"] == 1 and starts[-1]["idTag"] == "TAGLESS1"
    rig_run(tmp_path, body, model="dscu",
            settings={"TaglessCharging": "true", "RFIDReader1Enabled": "false",
                      "StopTransactionOnEVSideDisconnect": "true",
                      "UnlockConnectorOnEVSideDisconnect": "true"})
