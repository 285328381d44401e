"""Every Modbus MeterType the station reads, against a pymodbus slave serving
its registers as the register map describes them (meter_rig.ModbusPeer:
address, function code, data type, word order and scale, encoded by the
test's own encoder). The simulator (MicroPython Unix port, virtual clock)
reads them over --modbus; what a user sees is asserted: the MeterValues a
TriggerMessage brings (every mapped measurand, the phases the meter
measures and no other, each value within the register's step and the
value's printed resolution) and the connector's status.

Then the faults, once per word-order family (ABCD: ABB B23 on function 03;
CDAB: Carlo Gavazzi EM24 on function 04): CRC errors, exception replies and
timeouts give PowerMeterFailure with the reason as info, and the failure
clears by itself (NoError, "cleared ...") when the meter answers again."""
import pytest

from meter_rig import ModbusPeer, held, reported, run_station, step, until

from evse.metering import regmap

pytest.importorskip("pymodbus")

MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,Frequency"

# two register images per meter: distinct values per phase (a phase swap
# shows), values with high words (a word-order mistake shows), exact at
# every map's scale (0.01 A, 0.1 V...); the energy of the second is 40 Wh
# more (plausible within a second of a 60 kW installation), which a 0.1 kWh
# register (Carlo Gavazzi) does not show yet
READINGS = (
    dict(energy_wh=123456700, power_w=11109.6, frequency_hz=50.1,
         current_l1=16.2, current_l2=15.5, current_l3=14.8,
         voltage_l1=230.1, voltage_l2=231.2, voltage_l3=229.9),
    dict(energy_wh=123456740, power_w=7222.4, frequency_hz=49.9,
         current_l1=10.3, current_l2=10.4, current_l3=10.5,
         voltage_l1=228.4, voltage_l2=232.6, voltage_l3=233.0),
)
# (measurand, phase) -> the quantity read, and the resolution of the value
# printed in MeterValues (evse.services.metering)
SAMPLED = {
    ("Energy.Active.Import.Register", None): ("energy_wh", 1.0),
    ("Power.Active.Import", None): ("power_w", 0.1),
    ("Frequency", None): ("frequency_hz", 0.01),
    ("Current.Import", "L1"): ("current_l1", 0.1),
    ("Current.Import", "L2"): ("current_l2", 0.1),
    ("Current.Import", "L3"): ("current_l3", 0.1),
    ("Voltage", "L1-N"): ("voltage_l1", 0.1),
    ("Voltage", "L2-N"): ("voltage_l2", 0.1),
    ("Voltage", "L3-N"): ("voltage_l3", 0.1),
}
MODBUS_TYPES = [m[0] for m in regmap.METERS]


def test_every_modbus_meter_type_has_a_peer_test():
    # a type mapped later is tested here without a change to this file
    assert MODBUS_TYPES == [1, 2, 4, 5, 6, 13, 14], MODBUS_TYPES


def close(peer, name, value, got, display):
    """got (as reported) matches value within half a register step and half
    the printed resolution."""
    r = peer.reg(name)
    want = held(r, value)
    return abs(got - want) <= display / 2 + 1e-6 and abs(got - value) <= (step(r, value) + display) / 2 + 1e-6


async def check_meter_values(rig, peer, reading, n):
    conf = await rig.call("TriggerMessage", requestedMessage="MeterValues", connectorId=1)
    assert conf["status"] == "Accepted"
    await rig.advance(0)
    mvs = await rig.wait_call("MeterValues", n)
    (mv,) = mvs[n - 1]["meterValue"]
    got = {}
    for sv in mv["sampledValue"]:
        key = (sv["measurand"], sv.get("phase"))
        assert key not in got, sv
        got[key] = sv
    # exactly the measurands and phases the map reads
    want = {k for k, (name, _) in SAMPLED.items() if name in peer.mapped()}
    assert set(got) == want, (sorted(map(str, got)), sorted(map(str, want)))
    for key, sv in got.items():
        name, display = SAMPLED[key]
        v = float(sv["value"])
        assert close(peer, name, reading[name], v, display), (key, sv["value"], reading[name])
        assert sv.get("unit") == {"Energy.Active.Import.Register": "Wh", "Power.Active.Import": "W",
                                  "Current.Import": "A", "Voltage": "V", "Frequency": None}[key[0]]
        assert sv["context"] == "Trigger"
        if key[0] == "Energy.Active.Import.Register":
            assert sv["value"] == "%d" % int(v)          # whole Wh, never a float


def check_status(c, peer, reading):
    assert c["error_code"] == "NoError", c
    assert close(peer, "energy_wh", reading["energy_wh"], c["energy_wh"], 1.0)
    assert close(peer, "power_w", reading["power_w"], c["power_w"], 2.0)   # int(): truncated
    for p in range(3):
        for q, key in (("current_l%d", "current_a"), ("voltage_l%d", "voltage_v")):
            name = q % (p + 1)
            if name in peer.mapped():
                assert close(peer, name, reading[name], c[key][p], 0.1), (name, c)
            else:
                assert c[key][p] == 0.0, (name, c)


@pytest.mark.parametrize("meter_type", MODBUS_TYPES)
def test_meter_type_read_from_its_register_map(tmp_path, meter_type):
    peer = ModbusPeer(meter_type)
    peer.set(1, **READINGS[0])

    async def body(rig):
        await peer.start()
        try:
            await rig.start()
            c = await until(rig, lambda c: c["energy_wh"] > 0, "first reading")
            check_status(c, peer, READINGS[0])
            await check_meter_values(rig, peer, READINGS[0], 1)
            peer.set(1, **READINGS[1])
            c = await until(rig, lambda c: abs(c["power_w"] - READINGS[1]["power_w"]) < 2,
                            "second reading")
            check_status(c, peer, READINGS[1])
            await check_meter_values(rig, peer, READINGS[1], 2)
            assert peer.requests > 0 and peer.wrong_fc == 0
            sn = rig.payloads("StatusNotification")
            assert sn and all(p["errorCode"] == "NoError" for p in sn), sn
        finally:
            await peer.stop()

    run_station(tmp_path, body, peer, meter_type, model="sscu", timeout=40,
                settings={"MeterValuesSampledData": MEASURANDS})


@pytest.mark.parametrize("meter_type", [1, 2])
def test_meter_faults_reported_and_recovered(tmp_path, meter_type):
    peer = ModbusPeer(meter_type)
    peer.set(1, **READINGS[0])

    async def fail_and_heal(rig, flag, value, info, n):
        setattr(peer, flag, value)
        # (a silent peer costs real seconds: each try waits for its reply
        # before virtual time moves on, evse.metering.shell.settle_io)
        c = await until(rig, lambda c: c["error_code"] == "PowerMeterFailure", info, seconds=30)
        assert c["info"] == info and c["energy_wh"] == READINGS[0]["energy_wh"]
        await reported(rig, "PowerMeterFailure", info)
        setattr(peer, flag, False if flag != "exception" else 0)
        c = await until(rig, lambda c: c["error_code"] == "NoError", "recovery from " + info)
        await reported(rig, "NoError", "cleared", n=n)

    async def body(rig):
        await peer.start()
        try:
            await rig.start()
            await until(rig, lambda c: c["energy_wh"] > 0, "first reading")
            await fail_and_heal(rig, "corrupt", True, "Modbus 1: CRC error", 1)
            await fail_and_heal(rig, "exception", 6, "Modbus 1: exception 6", 2)
            await fail_and_heal(rig, "silent", True, "Modbus 1: timeout", 3)
            mb = (await rig.status())["modbus"]
            assert mb["crc_errors"] >= 3 and mb["exceptions"] >= 1 and mb["timeouts"] >= 3, mb
            # the readings go on after the last failure
            peer.set(1, energy_wh=READINGS[0]["energy_wh"] + 100)
            await until(rig, lambda c: c["energy_wh"] == READINGS[0]["energy_wh"] + 100,
                        "reading after recovery")
        finally:
            await peer.stop()

    run_station(tmp_path, body, peer, meter_type, model="sscu", timeout=90)
