# Warnings as a Central System sees them (services/warnings.py): temperature
# derating is HighTemperature on connector 0 while it lasts.
from ocpp_rig import rig_run


def test_derating_reaches_the_central_system_as_high_temperature(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.card_start(1)
        await rig.op("temperature", celsius=60)
        await rig.advance(5)
        st0 = [p for p in rig.payloads("StatusNotification") if p["connectorId"] == 0]
        assert st0[-1]["errorCode"] == "HighTemperature" and st0[-1]["info"] == "derating to 10 A"
        assert (await rig.connector(1))["offered_a"] <= 10
        await rig.op("temperature", celsius=30)
        await rig.advance(5)
        st0 = [p for p in rig.payloads("StatusNotification") if p["connectorId"] == 0]
        assert st0[-1]["errorCode"] == "NoError" and st0[-1]["info"] == "cleared HighTemperature"
    rig_run(tmp_path, body, settings={"TempLowerOffsetDegrees": "55", "TempLowerOffsetLimit": "10"})
