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
