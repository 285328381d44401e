# OCPP 1.6 4.2 BootNotification and 4.6 Heartbeat: the simulator (MicroPython
# Unix port, virtual clock) against the development Central System.
import time

from ocpp_rig import TAG, parse_iso, rig_run


def _boots(rig):
    return rig.calls("BootNotification")


def test_boot_fields_and_accepted_interval_sets_heartbeat(tmp_path):
    async def body(rig):
        await rig.start()
        boot = rig.payloads("BootNotification")
        assert len(boot) == 1
        b = boot[0]
        assert b["chargePointVendor"] and b["chargePointModel"]
        assert b["firmwareVersion"] == await rig.config("FirmwareVersionMCU")
        assert b["meterType"] == "simulated"
        assert _boots(rig)[0].answer[0] == "result"
        # interval of BootNotification.conf becomes HeartBeatInterval
        assert await rig.config("HeartBeatInterval") == "120"
        st = await rig.status()
        assert st["ocpp"]["registered"] and st["ocpp"]["boot"] == "Accepted"
        # then every connector reports, station (0) included
        assert sorted(p["connectorId"] for p in rig.payloads("StatusNotification")) == [0, 1, 2]
        assert all(p["status"] == "Available" for p in rig.payloads("StatusNotification"))
        # currentTime of the answer (wall-clock time) set the virtual clock
        assert abs(parse_iso(st["time"]) - time.time()) < 5, st["time"]
    rig_run(tmp_path, body, model="dscu", heartbeat_interval=120)


def test_pending_then_accepted(tmp_path):
    async def body(rig):
        rig.cs.boot_status = "Pending"
        await rig.start()
        assert (await rig.status())["ocpp"]["boot"] == "Pending"
        # while Pending: nothing but BootNotification from the station...
        await rig.plug_ev(1)
        await rig.advance(29)
        assert [r.action for r in rig.calls()] == ["BootNotification"]
        # ...but it answers the Central System (4.2: may configure it)
        conf = await rig.call("GetConfiguration", key=["HeartBeatInterval"])
        assert conf["configurationKey"][0]["key"] == "HeartBeatInterval"
        # 4.2: while Pending, a triggered message may go out
        assert await rig.call("TriggerMessage", requestedMessage="StatusNotification", connectorId=1) == \
            {"status": "Accepted"}
        await rig.advance(0)
        assert [(r.action, r.payload.get("connectorId")) for r in rig.calls()] == \
            [("BootNotification", None), ("StatusNotification", 1)]
        assert await rig.call("TriggerMessage", requestedMessage="StatusNotification") == {"status": "Accepted"}
        await rig.advance(0)
        assert [(r.action, r.payload.get("connectorId")) for r in rig.calls()][2:] == \
            [("StatusNotification", 0), ("StatusNotification", 1)]
        assert await rig.call("RemoteStartTransaction", idTag=TAG) == {"status": "Rejected"}
        # the retry comes after the interval of the Pending answer
        rig.cs.boot_status = "Accepted"
        await rig.advance(2)
        assert len(_boots(rig)) == 2
        await rig.advance(0)
        st = await rig.status()
        assert st["ocpp"]["registered"] and st["ocpp"]["boot"] == "Accepted"
        assert [p["connectorId"] for p in rig.payloads("StatusNotification")] == [1, 0, 1, 0, 1]
        assert rig.payloads("StatusNotification")[-1]["status"] == "Preparing"
    rig_run(tmp_path, body, heartbeat_interval=30)


def test_pending_trigger_boot_notification(tmp_path):
    async def body(rig):
        rig.cs.boot_status = "Pending"
        rig.cs.heartbeat_interval = 3000
        await rig.start()
        rig.cs.boot_status = "Accepted"
        conf = await rig.call("TriggerMessage", requestedMessage="BootNotification")
        assert conf == {"status": "Accepted"}
        await rig.advance(0)
        assert len(_boots(rig)) == 2
        assert (await rig.status())["ocpp"]["boot"] == "Accepted"
    rig_run(tmp_path, body)


def test_rejected_then_retry_after_interval(tmp_path):
    async def body(rig):
        rig.cs.boot_status = "Rejected"
        await rig.start()
        assert (await rig.status())["ocpp"]["boot"] == "Rejected"
        # 4.2: while Rejected the station does not respond to the Central System
        assert await rig.cs.send_raw(rig.cp, '[2,"r1","GetLocalListVersion",{}]', timeout=0.5) is None
        await rig.advance(44)
        assert len(_boots(rig)) == 1
        assert [r.action for r in rig.calls()] == ["BootNotification"]
        rig.cs.boot_status = "Accepted"
        await rig.advance(2)
        assert len(_boots(rig)) == 2
        await rig.advance(0)
        assert (await rig.status())["ocpp"]["registered"]
        assert await rig.call("GetLocalListVersion") == {"listVersion": 0}
    rig_run(tmp_path, body, heartbeat_interval=45)


def test_heartbeat_only_after_inactivity(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.advance(59)
        assert rig.calls("Heartbeat") == []
        await rig.advance(2)
        assert len(rig.calls("Heartbeat")) == 1
        assert rig.calls("Heartbeat")[0].answer[0] == "result"
        # other traffic counts as activity: no heartbeat 60 s after the last one
        await rig.advance(30)
        await rig.plug_ev(1)                    # StatusNotification Preparing
        await rig.advance(40)
        assert len(rig.calls("Heartbeat")) == 1
        await rig.advance(21)
        assert len(rig.calls("Heartbeat")) == 2
        # steady state: one per interval
        await rig.advance(600)
        assert len(rig.calls("Heartbeat")) == 12
        # HeartBeatInterval 0 disables it
        conf = await rig.call("ChangeConfiguration", key="HeartbeatInterval", value="0")
        assert conf == {"status": "Accepted"}
        await rig.advance(7200)
        assert len(rig.calls("Heartbeat")) == 12
        # enabled again after two silent hours: one at once, then one per interval
        conf = await rig.call("ChangeConfiguration", key="HeartbeatInterval", value="3600")
        await rig.advance(1)
        assert len(rig.calls("Heartbeat")) == 13
        await rig.advance(3598)
        assert len(rig.calls("Heartbeat")) == 13
        await rig.advance(3)
        assert len(rig.calls("Heartbeat")) == 14
    rig_run(tmp_path, body, heartbeat_interval=60)


def test_wall_clock_heartbeats_never_undo_virtual_time(tmp_path):
    # a real Central System answers Heartbeat with wall-clock time: the
    # virtual clock takes the boot's answer once and then keeps its own time
    async def body(rig):
        await rig.start()
        t0 = parse_iso((await rig.status())["time"])
        for _ in range(8):
            await rig.advance(900)
        hb = rig.calls("Heartbeat")
        assert len(hb) >= 20, len(hb)                 # every 300 s for 2 h
        assert all(r.answer and r.answer[0] == "result" for r in hb)
        assert parse_iso((await rig.status())["time"]) - t0 == 7200
    rig_run(tmp_path, body, heartbeat_interval=300)


def test_virtual_clock_station_boots_without_an_advance(tmp_path):
    async def body(rig):
        await rig.start(settle=False)        # no `advance` at all: waits for the boot
        await rig.wait_call("StatusNotification", 2)
        st = await rig.status()
        assert st["ocpp"]["registered"] is True
    rig_run(tmp_path, body)
