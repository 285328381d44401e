"""MeterType 10 read from a peer speaking EKM's v.4 protocol over the
simulator's meter transport (docs/simulator.md --modbus: the bytes of the RS485
bus over TCP, whatever the protocol): an asyncio TCP server answers request A
for two meter numbers with the 255-byte block A of a fake EKM Omnimeter
(host_tests/unit/ekm_rig.py): connector 1's meter by the number configured
in EkmMeterNumber1, connector 2's by the default of EkmMeterNumber2. The
simulator runs on the MicroPython Unix port with the virtual clock against
the development Central System: the status, a triggered MeterValues (every
field read) and meterStart follow the peer; a wrong CRC and a peer that
stops answering give PowerMeterFailure, which clears when the answers are
good again; a ChangeConfiguration of a meter number that is not 1 to 12
digits is Rejected."""
from ekm_rig import EkmReading
from meter_rig import EkmBridge, reported, run_station, until


NUMBER = 300001234567      # connector 1's meter: EkmMeterNumber1
MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,Frequency"


def test_ekm_meters_over_the_simulated_bus(tmp_path):
    bridge = EkmBridge()
    m1 = bridge.peer.meters[NUMBER] = EkmReading()
    m2 = bridge.peer.meters[2] = EkmReading()
    m1.kwh_raw, m1.scale = 15000, 1        # 1500.0 kWh
    m2.kwh_raw, m2.scale = 250000, 2       # 2500.00 kWh

    async def body(rig):
        await bridge.start()
        try:
            await rig.start()
            c1 = await until(rig, lambda c: c["energy_wh"] == 1500000, "first reading", seconds=30)
            c2 = await rig.connector(2)
            assert c2["energy_wh"] == 2500000
            assert c1["error_code"] == c2["error_code"] == "NoError"
            assert c1["current_a"] == [16.0, 70.1, 0.5]
            assert c1["voltage_v"] == [230.1, 231.2, 229.9]
            assert set(bridge.peer.requests) == {NUMBER, 2}
            assert bridge.peer.closes > 0

            # every field read, as a Central System sees it
            conf = await rig.call("TriggerMessage", requestedMessage="MeterValues", connectorId=1)
            assert conf["status"] == "Accepted"
            await rig.advance(0)
            (mv,) = (await rig.wait_call("MeterValues", 1))[0]["meterValue"]
            got = {(sv["measurand"], sv.get("phase")): (sv["value"], sv.get("unit"))
                   for sv in mv["sampledValue"]}
            assert got == {("Energy.Active.Import.Register", None): ("1500000", "Wh"),
                           ("Power.Active.Import", None): ("19995.0", "W"),
                           ("Frequency", None): ("50.01", None),
                           ("Current.Import", "L1"): ("16.0", "A"),
                           ("Current.Import", "L2"): ("70.1", "A"),
                           ("Current.Import", "L3"): ("0.5", "A"),
                           ("Voltage", "L1-N"): ("230.1", "V"),
                           ("Voltage", "L2-N"): ("231.2", "V"),
                           ("Voltage", "L3-N"): ("229.9", "V")}, got

            # the meter number is digits, 1 to 12 of them
            for bad in ("30000123456x", "3000012345678", ""):
                conf = await rig.call("ChangeConfiguration", key="EkmMeterNumber2", value=bad)
                assert conf["status"] == "Rejected", bad
            assert await rig.config("EkmMeterNumber2") == "000000000002"

            await rig.plug_ev(1)
            await rig.advance(1)
            (start,) = await rig.wait_call("StartTransaction", 1)
            assert start["meterStart"] == 1500000

            # a wrong CRC: PowerMeterFailure 'EKM <number>: CRC error', then cleared
            bridge.peer.corrupt = True
            await until(rig, lambda c: c["error_code"] == "PowerMeterFailure", "CRC failure")
            await rig.advance(1)
            fails = await rig.wait_call("StatusNotification", 1,
                                        pred=lambda p: p["connectorId"] == 1 and
                                        p["errorCode"] == "PowerMeterFailure")
            assert fails[-1]["info"] == "EKM %d: CRC error" % NUMBER
            bridge.peer.corrupt = False
            m1.kwh_raw = 15001                 # 100 Wh more: plausible
            c1 = await until(rig, lambda c: c["error_code"] == "NoError", "recovery")
            assert c1["energy_wh"] == 1500100
            await reported(rig, "NoError", "cleared", n=1)

            # nobody answers: a timeout
            bridge.silent = True
            await until(rig, lambda c: c["error_code"] == "PowerMeterFailure", "timeout",
                        seconds=30)       # each try waits in real time (meter shell)
            await rig.advance(1)
            fails = await rig.wait_call("StatusNotification", 2,
                                        pred=lambda p: p["connectorId"] == 1 and
                                        p["errorCode"] == "PowerMeterFailure")
            assert fails[-1]["info"] == "EKM %d: timeout" % NUMBER
            st = await rig.status()
            assert st["modbus"]["protocol"] == "EKM v4" and st["modbus"]["timeouts"] >= 3
            bridge.silent = False
            await until(rig, lambda c: c["error_code"] == "NoError", "recovery from timeouts")
            await reported(rig, "NoError", "cleared", n=2)
        finally:
            await bridge.stop()

    run_station(tmp_path, body, bridge, 10, timeout=120,
                settings={"EkmMeterNumber1": "%d" % NUMBER, "MeterValuesSampledData": MEASURANDS})
