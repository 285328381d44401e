# Manual 5.9.1, tilt detection, as a Central System sees it: a normally-open
# tilt sensor on external sensor 1 (TILT, all connectors). The station boots
# Available (the sensor at rest reads High/Open), a tilt stops the session
# (EmergencyStop), reports TILT and blocks charging; the manual's
# RecoverActions are all 0, so the station stays Faulted upright until a
# reset, after which it comes up Available again.
from ocpp_rig import rig_run

TRIGGER = ('[[3, "StatusNotification"], [1, "StopTransaction"], [0, "UnlockConnector"], '
           '[2, "SetError"], [0, "ClearError"], [0, "HardReset"], [0, "SetLEDIntensityLow"], '
           '[0, "SetLEDIntensityHigh"]]')
NOTHING = TRIGGER.replace("[3,", "[0,").replace("[1,", "[0,").replace("[2,", "[0,")
RECOVER = ('[[2, "StatusNotification"], [0, "StopTransaction"], [0, "UnlockConnector"], '
           '[0, "SetError"], [1, "ClearError"], [0, "HardReset"], [0, "SetLEDIntensityLow"], '
           '[0, "SetLEDIntensityHigh"]]')
TILT = {"ExternalSensor1Type": "1", "ExternalSensor1NormallyOpen": "true",
        "ExternalSensor1CoupledConnector": "0", "ExternalSensor1TriggerActions": TRIGGER}


def tilt_reports(rig):
    return [p for p in rig.payloads("StatusNotification") if p.get("info") == "TILT"]


def test_manual_tilt_detection_boots_available_and_blocks_after_a_tilt(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.advance(5)
        assert rig.statuses(1)[-1] == "Available"
        assert "Faulted" not in rig.statuses(1) and not tilt_reports(rig)
        tx = await rig.card_start(1)
        await rig.op("input", name="ext1", triggered=True)       # hit by a vehicle
        await rig.advance(2)
        stop = rig.payloads("StopTransaction")[-1]
        assert stop["transactionId"] == tx and stop["reason"] == "EmergencyStop"
        assert tilt_reports(rig)[-1]["errorCode"] == "OtherError"
        assert rig.statuses(1)[-1] == "Faulted"
        assert (await rig.connector(1))["contactor"] is False
        await rig.op("input", name="ext1", triggered=False)      # upright again
        await rig.advance(5)
        assert rig.statuses(1)[-1] == "Faulted"                  # RecoverActions: none
        await rig.op("unplug", connector=1)
        await rig.advance(2)
        assert rig.statuses(1)[-1] == "Faulted"                  # still blocked
        n = len(rig.payloads("StatusNotification"))
        assert (await rig.call("Reset", type="Hard"))["status"] == "Accepted"
        await rig.wait_call("BootNotification", 2)
        await rig.advance(5)
        assert rig.statuses(1)[-1] == "Available"
        assert not [p for p in rig.payloads("StatusNotification")[n:] if p.get("info") == "TILT"]
    rig_run(tmp_path, body, settings=dict(TILT, ExternalSensor1RecoverActions=NOTHING))


def test_tilt_with_recover_actions_clears_when_upright(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.advance(5)
        assert rig.statuses(1)[-1] == "Available"
        await rig.op("input", name="ext1", triggered=True)
        await rig.advance(2)
        assert rig.statuses(1)[-1] == "Faulted"
        await rig.op("input", name="ext1", triggered=False)
        await rig.advance(5)
        assert rig.statuses(1)[-1] == "Available"
        assert [p for p in rig.payloads("StatusNotification") if p.get("info") == "TILT recovered"]
    rig_run(tmp_path, body, settings=dict(TILT, ExternalSensor1RecoverActions=RECOVER))
