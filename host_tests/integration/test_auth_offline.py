# Authorization while the Central System is unreachable (OCPP 1.6 3.5, 4.8,
# manual AllowOfflineTxForUnknownId, StopTransactionOnInvalidId,
# MaxEnergyOnInvalidId): the simulator (MicroPython Unix port, virtual clock)
# against the development Central System, which drops the link and refuses
# new connections for a while. Transactions started offline are reported,
# with their offline timestamps, once the link is back.
from ocpp_rig import parse_iso, rig_run


async def go_offline(rig):
    rig.cs.reject_connections = True
    await rig.cs.disconnect(rig.cp)
    for _ in range(50):
        await rig.advance(1)
        if not (await rig.status())["ocpp"]["connected"]:
            return
    raise AssertionError("the station did not notice the lost link")


async def go_online(rig):
    rig.cs.reject_connections = False
    for _ in range(60):
        await rig.advance(10)
        st = await rig.status()
        if st["ocpp"]["connected"] and st["ocpp"]["queued"] == 0:
            return
    raise AssertionError("the station did not come back online")


async def charge(rig, tag, connector=1):
    await rig.plug_ev(connector)
    res = await rig.op("rfid", reader=1, id=tag)
    await rig.op("ev", connector=connector, state="C", max_current=16, phases=3)
    await rig.advance(2)
    return res


def test_local_list_and_unknown_tag_while_offline(tmp_path):
    async def body(rig):
        await rig.start()
        conf = await rig.call("SendLocalList", listVersion=1, updateType="Full",
                              localAuthorizationList=[
                                  {"idTag": "LIST1", "idTagInfo": {"status": "Accepted"}},
                                  {"idTag": "BLOCK1", "idTagInfo": {"status": "Blocked"}}])
        assert conf == {"status": "Accepted"}
        await go_offline(rig)
        t_off = rig.vnow
        await rig.plug_ev(1)
        res = await rig.op("rfid", reader=1, id="NOPE")        # unknown: refused offline
        assert res["result"] == "rejected" and res["status"] == "Invalid", res
        res = await rig.op("rfid", reader=1, id="BLOCK1")
        assert res["result"] == "rejected" and res["status"] == "Blocked", res
        res = await rig.op("rfid", reader=1, id="LIST1")
        assert res["result"] == "accepted" and res["source"] == "list", res
        await rig.op("ev", connector=1, state="C", max_current=16, phases=3)
        await rig.advance(120)
        c = await rig.connector(1)
        assert c["status"] == "Charging" and c["transaction_id"] is None
        assert rig.calls("StartTransaction") == [] and rig.calls("Authorize") == []
        await go_online(rig)
        (start,) = rig.payloads("StartTransaction")
        assert start["idTag"] == "LIST1"
        assert t_off <= parse_iso(start["timestamp"]) <= t_off + 10     # when it started, offline
        txid = (await rig.connector(1))["transaction_id"]
        assert txid in rig.cs.transactions
        res = await rig.op("rfid", reader=1, id="LIST1")
        assert res["result"] == "stopped"
        await rig.advance(1)
        stop = (await rig.wait_call("StopTransaction"))[0]
        assert stop["transactionId"] == txid and stop["reason"] == "Local"
        assert stop["meterStop"] >= start["meterStart"] + 300
    rig_run(tmp_path, body, settings={"LocalAuthListEnabled": "true",
                                      "AllowOfflineTxForUnknownId": "false",
                                      "StartTransactionDelay": "0"})


def test_cache_start_while_offline(tmp_path):
    async def body(rig):
        await rig.start()
        rig.cs.auth_tags = {"CACHED": "Accepted", "BAD": "Blocked"}
        for tag in ("CACHED", "BAD"):
            await rig.op("rfid", reader=1, id=tag)            # Authorize.req: learnt
            await rig.advance(1)
        assert [p["idTag"] for p in rig.payloads("Authorize")] == ["CACHED", "BAD"]
        res = await rig.op("rfid", reader=1, id="CACHED")     # cancels its authorization
        assert res["result"] == "stopped", res
        await go_offline(rig)
        await rig.plug_ev(1)
        res = await rig.op("rfid", reader=1, id="BAD")
        assert res["result"] == "rejected" and res["source"] == "cache", res
        res = await rig.op("rfid", reader=1, id="CACHED")
        assert res["result"] == "accepted" and res["source"] == "cache", res
        await rig.advance(30)
        assert (await rig.connector(1))["transaction_id"] is None
        await go_online(rig)
        (start,) = rig.payloads("StartTransaction")
        assert start["idTag"] == "CACHED"
        assert isinstance((await rig.connector(1))["transaction_id"], int)
        assert len(rig.payloads("Authorize")) == 2
    rig_run(tmp_path, body, settings={"AuthorisationCacheEnabled": "true",
                                      "AllowOfflineTxForUnknownId": "false",
                                      "LocalPreAuthorize": "true"})


def test_unknown_tag_offline_then_invalid_stops(tmp_path):
    async def body(rig):
        await rig.start()
        await go_offline(rig)
        res = await charge(rig, "STRANGER")
        assert res["result"] == "accepted" and res["source"] == "offline", res
        await rig.advance(60)
        assert (await rig.connector(1))["status"] == "Charging"
        rig.cs.start_tags = {"STRANGER": "Invalid"}
        await go_online(rig)
        await rig.advance(2)
        stop = (await rig.wait_call("StopTransaction"))[0]
        assert stop["reason"] == "DeAuthorized"
        assert rig.cs.transactions[stop["transactionId"]]["idTag"] == "STRANGER"
        c = await rig.connector(1)
        assert not c["contactor"] and c["status"] == "Finishing"
    rig_run(tmp_path, body, settings={"AllowOfflineTxForUnknownId": "true",
                                      "StopTransactionOnInvalidId": "true"})


def test_unknown_tag_offline_then_invalid_charges_max_energy_then_suspends(tmp_path):
    # OCPP 1.6 3.5.4 (errata: 4.8) StopTransactionOnInvalidId false: "only stop
    # energy delivery". MaxEnergyOnInvalidId Wh more after the invalidation,
    # then SuspendedEVSE; the transaction stays open.
    async def body(rig):
        await rig.start()
        await go_offline(rig)
        res = await charge(rig, "STRANGER")
        assert res["result"] == "accepted", res
        await rig.advance(30)
        rig.cs.start_tags = {"STRANGER": "Invalid"}
        before = (await rig.connector(1))["energy_wh"]    # ~90 Wh charged offline
        await go_online(rig)                               # the invalidation comes in here
        c = await rig.connector(1)
        assert c["status"] == "Charging" and rig.calls("StopTransaction") == []
        after = c["energy_wh"]
        for _ in range(30):
            await rig.advance(20)
            if (await rig.connector(1))["status"] == "SuspendedEVSE":
                break
        c = await rig.connector(1)
        assert c["status"] == "SuspendedEVSE" and not c["contactor"] and c["locked"]
        assert c["offered_a"] == 0 and c["session"] == "Transaction"
        # counted from the invalidation, not from the start of the transaction
        assert c["energy_wh"] - before >= 500, (before, c["energy_wh"])
        assert c["energy_wh"] - after <= 520, (after, c["energy_wh"])
        start = rig.payloads("StartTransaction")[0]
        assert before - start["meterStart"] > 50
        sn = rig.payloads("StatusNotification")[-1]
        assert sn["connectorId"] == 1 and sn["status"] == "SuspendedEVSE", sn
        await rig.advance(600)                     # nothing more, still open
        c2 = await rig.connector(1)
        assert c2["energy_wh"] == c["energy_wh"] and c2["status"] == "SuspendedEVSE"
        assert rig.calls("StopTransaction") == [] and c2["transaction_id"] is not None
        # it ends as any transaction does
        assert await rig.call("RemoteStopTransaction", transactionId=c2["transaction_id"]) == \
            {"status": "Accepted"}
        await rig.advance(1)
        (stop,) = await rig.wait_call("StopTransaction")
        assert stop["reason"] == "Remote"
    rig_run(tmp_path, body, settings={"AllowOfflineTxForUnknownId": "true",
                                      "StopTransactionOnInvalidId": "false",
                                      "MaxEnergyOnInvalidId": "500"})
