"""Meter-driven behaviour of the simulator on the MicroPython Unix port
against the development Central System: grid voltage supervision
(OverVoltage/UnderVoltage on connectorId 0 from the `grid` op), EV
overcurrent (the `ev` op's overdraw_a) and the energy register across a
kill -9 (no MeterValues above the PowerLoss meterStop)."""
from ocpp_rig import rig_run

TAGLESS = {"TaglessCharging": "true", "RFIDReader1Enabled": "false"}


def energies(payloads):
    return [int(sv["value"]) for p in payloads for mv in p["meterValue"]
            for sv in mv["sampledValue"] if sv["measurand"] == "Energy.Active.Import.Register"]


def test_grid_over_voltage_reported_n_times_then_cleared(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.advance(1)
        n0 = len([p for p in rig.payloads("StatusNotification") if p["connectorId"] == 0])
        await rig.op("grid", volts=[270, 270, 270])
        for _ in range(6):                           # six checks, one every 10 s
            await rig.advance(10)
        got = [p for p in rig.payloads("StatusNotification") if p["connectorId"] == 0][n0:]
        assert [(p["status"], p["errorCode"], p.get("info")) for p in got] == \
            [("Available", "OverVoltage", "L1 270 V")] * 3, got
        st = await rig.status()
        assert st["station"]["error_code"] == "OverVoltage"
        assert st["connectors"][0]["voltage_v"] == [270.0, 270.0, 270.0]
        await rig.op("grid", volts=[230, 230, 230])
        await rig.advance(10)
        await rig.advance(1)
        got = [p for p in rig.payloads("StatusNotification") if p["connectorId"] == 0][n0:]
        assert len(got) == 4 and got[-1]["errorCode"] == "NoError", got
        assert got[-1]["info"] == "cleared OverVoltage"
        assert (await rig.status())["station"]["error_code"] == "NoError"
    rig_run(tmp_path, body, settings={"VoltageLimitCheckInterval": "10",
                                      "VoltageLimitMaxSequentialStatusNotification": "3"})


def test_kill_9_never_leaves_a_reported_energy_above_meter_stop(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.plug_ev(1, state="C")
        await rig.advance(2)
        (start,) = await rig.wait_call("StartTransaction")
        await rig.op("ev", connector=1, state="C", max_current=32, phases=3)
        for _ in range(23):              # the last sample after the last periodic save
            await rig.advance(1)
        mvs = await rig.wait_call("MeterValues", 4)
        reported = [start["meterStart"]] + energies(mvs)
        assert reported[-1] > reported[0] + 50, reported
        await rig.kill()
        await rig.start()
        await rig.advance(2)
        (stop,) = await rig.wait_call("StopTransaction")
        assert stop["reason"] == "PowerLoss"
        reported = [start["meterStart"]] + energies(rig.payloads("MeterValues"))
        assert max(reported) <= stop["meterStop"], (reported, stop)
        # and the register goes on from there
        assert (await rig.connector(1))["energy_wh"] >= stop["meterStop"]
    rig_run(tmp_path, body, settings=dict(TAGLESS, MeterValueSampleInterval="5"))


def test_ev_overcurrent_warned_reduced_then_cut_off(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.plug_ev(1, state="C")
        await rig.advance(3)
        assert (await rig.connector(1))["status"] == "Charging"
        bad = await rig.request({"op": "ev", "connector": 1, "state": "C", "overdraw_a": -1})
        assert bad["ok"] is False and "overdraw_a" in bad["error"]
        await rig.op("ev", connector=1, state="C", max_current=16, phases=3, overdraw_a=4)
        await rig.advance(3)
        c = await rig.connector(1)
        assert c["current_a"] == [20.0, 20.0, 20.0] and c["error_code"] == "NoError"
        await rig.advance(3)
        c = await rig.connector(1)
        assert c["error_code"] == "OverCurrentFailure" and c["status"] == "Charging", c
        assert c["offered_a"] == 6.0 and c["contactor"]
        await rig.advance(6)
        c = await rig.connector(1)
        assert c["status"] == "Faulted" and not c["contactor"] and c["current_a"] == [0.0, 0.0, 0.0]
        sn = [(p["status"], p["errorCode"], p.get("info")) for p in rig.payloads("StatusNotification")
              if p["connectorId"] == 1]
        assert ("Charging", "OverCurrentFailure", "EV 20.0 A > 16.0 A") in sn, sn
        assert sn[-1] == ("Faulted", "OverCurrentFailure", "EV 10.0 A > 6.0 A"), sn
    rig_run(tmp_path, body, settings=TAGLESS)
