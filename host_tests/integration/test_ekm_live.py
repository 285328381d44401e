"""MeterType 10 read from a peer speaking EKM's v.4 protocol over the
simulator's meter transport (docs/simulator.md --modbus: the bytes of the RS485
bus over TCP, whatever the protocol): an asyncio TCP server answers request A
for meter numbers 1 and 2 with the 255-byte block A of a fake EKM Omnimeter
(host_tests/unit/ekm_rig.py). The simulator runs on the MicroPython Unix port
with the virtual clock against the development Central System: the status
and meterStart follow the peer; a wrong CRC and a peer that stops answering
give PowerMeterFailure, which clears when the answers are good again."""
from ekm_rig import EkmReading
from meter_rig import EkmBridge, run_station, until


def test_ekm_meters_over_the_simulated_bus(tmp_path):
    bridge = EkmBridge()
    m1 = bridge.peer.meters[1] = EkmReading()
    m2 = bridge.peer.meters[2] = EkmReading()
    m1.kwh_raw, m1.scale = 15000, 1        # 1500.0 kWh
    m2.kwh_raw, m2.scale = 250000, 2       # 2500.00 kWh

    async def body(rig):
        await bridge.start()
        try:
            await rig.start()
            c1 = await until(rig, lambda c: c["energy_wh"] == 1500000, "first reading")
            c2 = await rig.connector(2)
            assert c2["energy_wh"] == 2500000
            assert c1["error_code"] == c2["error_code"] == "NoError"
            assert c1["current_a"] == [16.0, 70.1, 0.5]
            assert c1["voltage_v"] == [230.1, 231.2, 229.9]
            assert 1 in bridge.peer.requests and 2 in bridge.peer.requests
            assert bridge.peer.closes > 0

            await rig.plug_ev(1)
            await rig.advance(1)
            (start,) = await rig.wait_call("StartTransaction", 1)
            assert start["meterStart"] == 1500000

            # a wrong CRC: PowerMeterFailure 'EKM 1: CRC error', then cleared
            bridge.peer.corrupt = True
            await until(rig, lambda c: c["error_code"] == "PowerMeterFailure", "CRC failure")
            await rig.advance(1)
            fails = await rig.wait_call("StatusNotification", 1,
                                        pred=lambda p: p["connectorId"] == 1 and
                                        p["errorCode"] == "PowerMeterFailure")
            assert fails[-1]["info"] == "EKM 1: CRC error"
            bridge.peer.corrupt = False
            m1.kwh_raw = 15001                 # 100 Wh more: plausible
            c1 = await until(rig, lambda c: c["error_code"] == "NoError", "recovery")
            assert c1["energy_wh"] == 1500100

            # nobody answers: a timeout
            bridge.silent = True
            await until(rig, lambda c: c["error_code"] == "PowerMeterFailure", "timeout")
            await rig.advance(1)
            fails = await rig.wait_call("StatusNotification", 2,
                                        pred=lambda p: p["connectorId"] == 1 and
                                        p["errorCode"] == "PowerMeterFailure")
            assert fails[-1]["info"] == "EKM 1: timeout"
            st = await rig.status()
            assert st["modbus"]["protocol"] == "EKM v4" and st["modbus"]["timeouts"] >= 3
            bridge.silent = False
            await until(rig, lambda c: c["error_code"] == "NoError", "recovery from timeouts")
        finally:
            await bridge.stop()

    run_station(tmp_path, body, bridge, 10, timeout=60)
