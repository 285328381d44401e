"""MeterType 10 read from a peer speaking EKM's v.4 protocol over the
simulator's meter transport (docs/simulator.md --modbus: the bytes of the RS485
bus over TCP, whatever the protocol): an asyncio TCP server answers request A
for meter numbers 1 and 2 with the 255-byte block A of a fake EKM Omnimeter
(host_tests/unit/ekm_rig.py). The simulator runs on the MicroPython Unix port
with the virtual clock against the development Central System: the status
and meterStart follow the peer; a wrong CRC and a peer that stops answering
give PowerMeterFailure, which clears when the answers are good again."""
import asyncio
import time

from ekm_rig import EkmPeer, EkmReading
from ocpp_rig import rig_run
from simclient import free_port


class EkmBridge:
    """A TCP-serial bridge with EKM meters behind it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.peer = EkmPeer()
        self.silent = False      # nobody answers (the meters are switched off)
        self.server = None

    async def _serve(self, reader, writer) -> None:
        buf = b""
        try:
            while True:
                data = await reader.read(256)
                if not data:
                    return
                buf += data
                while True:
                    if buf.startswith(b"\x01\x42\x30\x03\x75"):
                        self.peer.answer(buf[:5])
                        buf = buf[5:]
                        continue
                    end = buf.find(b"\r\n")
                    if end < 0:
                        break
                    frame, buf = buf[:end + 2], buf[end + 2:]
                    reply = b"" if self.silent else self.peer.answer(frame)
                    if reply:
                        writer.write(reply)
                        await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def test_ekm_meters_over_the_simulated_bus(tmp_path):
    bridge = EkmBridge(free_port())
    m1 = bridge.peer.meters[1] = EkmReading()
    m2 = bridge.peer.meters[2] = EkmReading()
    m1.kwh_raw, m1.scale = 15000, 1        # 1500.0 kWh
    m2.kwh_raw, m2.scale = 250000, 2       # 2500.00 kWh

    async def until(rig, pred, what, seconds=10.0):
        t_end = time.monotonic() + seconds
        while True:
            await rig.advance(1)
            c = await rig.connector(1)
            if pred(c):
                return c
            assert time.monotonic() < t_end, (what, c)
            await asyncio.sleep(0.1)

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

    rig = rig_run(tmp_path, body, timeout=60, model="dscu",
                  sim_args=["--modbus", "tcp:127.0.0.1:%d" % bridge.port],
                  settings={"MeterType": "10", "TaglessCharging": "true",
                            "RFIDReader1Enabled": "false", "RFIDReader2Enabled": "false"})
    assert rig.cs.violations == []
