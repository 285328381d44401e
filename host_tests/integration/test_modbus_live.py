"""The energy meters read from a real Modbus RTU peer (SIMULATOR.md --modbus):
a pymodbus RTU-over-TCP slave holds Eastron SDM630 (MeterType 4) register
images at addresses 1 and 2; the simulator runs on the MicroPython Unix port
with --modbus tcp:127.0.0.1:PORT and the virtual clock against the
development Central System. The status, StartTransaction.meterStart and
StopTransaction.meterStop follow the slave's registers; stopping the slave
(or corrupting its replies' CRC) gives PowerMeterFailure, restarting it (or
healing the replies) clears it."""
import pytest

from meter_rig import ModbusPeer, run_station, until

pytest.importorskip("pymodbus")

SETTINGS = {"StopTransactionOnEVSideDisconnect": "true", "UnlockConnectorOnEVSideDisconnect": "true"}


class MeterPeer(ModbusPeer):
    """An RTU-over-TCP gateway with an SDM630 at units 1 and 2."""

    def __init__(self) -> None:
        super().__init__(4, units=(1, 2))

    def set(self, unit: int, kwh: float, amps: float, volts: float = 230.0) -> None:  # type: ignore[override]
        super().set(unit, energy_wh=kwh * 1000, power_w=3 * volts * amps, frequency_hz=50.0,
                    current_l1=amps, current_l2=amps, current_l3=amps,
                    voltage_l1=volts, voltage_l2=volts, voltage_l3=volts)


def test_meters_follow_a_modbus_rtu_peer(tmp_path):
    peer = MeterPeer()
    peer.set(1, 1500.0, 0.0)
    peer.set(2, 2500.0, 0.0)

    async def body(rig):
        await peer.start()
        try:
            await rig.start()
            await rig.advance(2)
            c1, c2 = (await rig.status())["connectors"]
            assert (c1["energy_wh"], c2["energy_wh"]) == (1500000.0, 2500000.0)
            assert c1["error_code"] == c2["error_code"] == "NoError"
            assert c1["current_a"] == [0.0, 0.0, 0.0]
            assert peer.requests > 0

            # a tagless session on connector 1: meterStart is the peer's register
            await rig.plug_ev(1)
            await rig.advance(1)
            (start,) = await rig.wait_call("StartTransaction", 1)
            assert start["meterStart"] == 1500000 and start["connectorId"] == 1
            await rig.op("ev", connector=1, state="C", max_current=16, phases=3)
            peer.set(1, 1500.011, 16.0)   # plausible: 11 Wh in 2 s
            await rig.advance(2)
            c1 = await rig.connector(1)
            assert c1["status"] == "Charging"
            assert c1["current_a"] == [16.0, 16.0, 16.0] and c1["energy_wh"] == 1500011
            peer.set(1, 1500.013, 10.5)
            await rig.advance(2)
            c1 = await rig.connector(1)
            assert c1["current_a"] == [10.5, 10.5, 10.5] and c1["energy_wh"] == 1500013

            # the peer goes away: PowerMeterFailure, the last reading stays
            await peer.stop()
            c1 = await until(rig, lambda c: c["error_code"] == "PowerMeterFailure", "failure")
            assert c1["energy_wh"] == 1500013
            await rig.advance(3)                     # connector 2's meter times out in turn
            assert (await rig.connector(2))["error_code"] == "PowerMeterFailure"
            fails = await rig.wait_call("StatusNotification", 1,
                                        pred=lambda p: p["connectorId"] == 1 and
                                        p["errorCode"] == "PowerMeterFailure")
            assert fails[-1]["info"].startswith("Modbus 1: ")

            # and comes back: the failure clears by itself
            peer.set(1, 1500.020, 16.0)
            await peer.start()
            c1 = await until(rig, lambda c: c["error_code"] == "NoError", "recovery")
            await rig.advance(1)
            c1 = await rig.connector(1)
            assert c1["energy_wh"] == 1500020 and c1["status"] == "Charging"
            await rig.wait_call("StatusNotification", 1,
                                pred=lambda p: p["connectorId"] == 1 and p["errorCode"] == "NoError"
                                and p.get("info", "").startswith("cleared"))

            # garbage answers (bad CRC) fail the meters as well
            peer.corrupt = True
            c1 = await until(rig, lambda c: c["error_code"] == "PowerMeterFailure", "CRC failure")
            fails = await rig.wait_call("StatusNotification", 2,
                                        pred=lambda p: p["connectorId"] == 1 and
                                        p["errorCode"] == "PowerMeterFailure")
            assert fails[-1]["info"] == "Modbus 1: CRC error"
            mb = (await rig.status())["modbus"]
            assert mb["crc_errors"] >= 3 and mb["timeouts"] >= 3
            assert mb["meters"][0]["unit"] == 1 and mb["meters"][0]["ok"] is False
            peer.corrupt = False
            await until(rig, lambda c: c["error_code"] == "NoError", "recovery from CRC errors")

            # the EV leaves: meterStop is the peer's register
            peer.set(1, 1500.021, 0.0)
            await rig.advance(2)
            await rig.op("ev", connector=1, state="B", max_current=16, phases=3)
            await rig.op("ev", connector=1, state="A", max_current=16, phases=3)
            await rig.advance(2)
            (stop,) = await rig.wait_call("StopTransaction")
            assert stop["meterStop"] == 1500021 and stop["reason"] == "EVDisconnected"
        finally:
            await peer.stop()

    run_station(tmp_path, body, peer, 4, timeout=60, settings=SETTINGS)


def test_energy_glitches_are_rejected_and_no_failure_at_boot(tmp_path):
    """Replies with -5000 Wh, 3e38, 0 or a lower register than before never
    reach status, MeterValues or StopTransaction: PowerMeterFailure "energy
    ... rejected" while they last. A meter that answers from its first poll
    is never reported as PowerMeterFailure at boot."""
    peer = MeterPeer()
    peer.set(1, 1500.0, 0.0)
    peer.set(2, 2500.0, 0.0)

    async def body(rig):
        await peer.start()
        try:
            await rig.start()
            await rig.advance(2)
            sn = rig.payloads("StatusNotification")
            assert sn and all(p["errorCode"] == "NoError" for p in sn), sn
            await rig.plug_ev(1)
            await rig.advance(1)
            await rig.wait_call("StartTransaction", 1)
            await rig.op("ev", connector=1, state="C", max_current=16, phases=3)
            peer.set(1, 1500.01, 16.0)
            await rig.advance(3)
            assert (await rig.connector(1))["energy_wh"] == 1500010
            good = 1500010
            for bad, why in ((-5.0, "Modbus 1: energy -5000 Wh rejected"),
                             (3e38, "Modbus 1: energy >1e12 Wh rejected"),
                             (0.0, "Modbus 1: energy 0 Wh rejected"),
                             (1499.0, "Modbus 1: energy 1499000 Wh rejected")):
                peer.set(1, bad, 16.0)
                c1 = await until(rig, lambda c: c["error_code"] == "PowerMeterFailure", why)
                assert c1["energy_wh"] == good
                for _ in range(5):            # queued behind a MeterValues in flight
                    if [p for p in rig.payloads("StatusNotification") if p["connectorId"] == 1
                            and p["errorCode"] == "PowerMeterFailure" and p.get("info") == why]:
                        break
                    await rig.advance(1)
                else:
                    raise AssertionError(rig.payloads("StatusNotification")[-3:])
                good += 5
                peer.set(1, good / 1000, 16.0)
                c1 = await until(rig, lambda c: c["error_code"] == "NoError", "recovery")
                assert c1["energy_wh"] == good
            await rig.op("ev", connector=1, state="B", max_current=16, phases=3)
            await rig.op("ev", connector=1, state="A", max_current=16, phases=3)
            await rig.advance(2)
            (stop,) = await rig.wait_call("StopTransaction")
            assert stop["meterStop"] == good == 1500030
            energies = [int(sv["value"]) for p in rig.payloads("MeterValues")
                        for mv in p["meterValue"] for sv in mv["sampledValue"]
                        if sv["measurand"] == "Energy.Active.Import.Register"]
            assert energies and energies == sorted(energies), energies
            assert 1500000 <= energies[0] and energies[-1] <= stop["meterStop"], energies
            assert (await rig.status())["modbus"]["meters"][0]["rejected"] >= 12
        finally:
            await peer.stop()

    run_station(tmp_path, body, peer, 4, timeout=90,
                settings=dict(SETTINGS, MeterValueSampleInterval="1"))
