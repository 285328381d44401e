# RFID master/slave live: two SSCU simulators on the MicroPython Unix port,
# a master (RFIDMasterSlaveID 1, --rs485 listen:...) and a slave (ID 2,
# --rs485 connect:...) sharing one simulated RS485 bus over TCP loopback,
# both against one tools/csms.py Central System under two charge point ids.
# A card at the master's reader starts a session on the slave's connector
# (its EV waits for authorization) and the same card stops it; the Central
# System sees StartTransaction/StopTransaction from the slave only.
# Run with both clocks: virtual (time moves by `advance`; the link's bytes
# still cross TCP in real time) and real.
import asyncio

import pytest

from csms import CentralSystem
from ocpp_rig import Rig
from simclient import free_port

TAG = "04A1B2C3"
MASTER, SLAVE = "CP-MASTER", "CP-SLAVE"


def _rig(tmp_path, name, cp, role, spec, cs, clock):
    d = tmp_path / name
    d.mkdir()
    return Rig(d, cp_id=cp, cs=cs, clock=clock, sim_args=["--rs485", spec],
               settings={"RFIDMasterSlaveEnabled": "true", "RFIDMasterSlaveID": str(role)})


async def _both(m, s, seconds):
    """Time passes on both stations (virtual: the master first, whose polls
    keep the slave's link alive; real: just wait)."""
    if m.clock == "virtual":
        await m.advance(seconds)
        await s.advance(seconds)
    else:
        await asyncio.sleep(seconds)


async def _until(m, s, pred, what, tries=40):
    for _ in range(tries):
        if await pred():
            return
        await _both(m, s, 0.5)
    raise AssertionError("timed out waiting for " + what)


async def _scenario(tmp_path, clock):
    cs = CentralSystem(heartbeat_interval=65000)
    await cs.start()
    port = free_port()
    m = _rig(tmp_path, "master", MASTER, 1, "listen:127.0.0.1:%d" % port, cs, clock)
    s = _rig(tmp_path, "slave", SLAVE, 2, "connect:127.0.0.1:%d" % port, cs, clock)
    try:
        await m.start()
        await s.start()

        async def linked():
            ms = (await m.status())["rs485"]
            ss = (await s.status())["rs485"]
            return ms["online"] and ss["online"]
        await _until(m, s, linked, "the RS485 link")
        st = await m.status()
        assert st["rs485"]["role"] == "master"
        assert (await s.status())["rs485"]["role"] == "slave"

        # the slave's EV is plugged in and waits for a card
        await s.plug_ev(1)
        await _both(m, s, 1)
        assert (await s.connector(1))["status"] == "Preparing"

        # the card at the master's reader: routed to the slave
        r = await m.op("rfid", reader=1, id=TAG)
        assert r["result"] == "pending", r
        # sent once the slave's lock holds the cable: the lock needs time to move
        async def started():
            return bool(s.calls("StartTransaction"))
        await _until(m, s, started, "the StartTransaction of the slave")
        starts = s.payloads("StartTransaction")
        assert starts[0]["idTag"] == TAG and starts[0]["connectorId"] == 1

        async def charging_ready():
            c = await s.connector(1)
            return c["transaction_id"] is not None
        await _until(m, s, charging_ready, "the transaction id on the slave")
        await s.op("ev", connector=1, state="C", max_current=16, phases=3)
        await _both(m, s, 1)
        c = await s.connector(1)
        assert c["status"] == "Charging" and c["id_tag"] == TAG, c
        assert (await m.connector(1))["status"] == "Available"
        last = (await m.status())["rs485"]["last_card"]
        assert last["unit"] == "slave" and last["result"] == "accepted", last

        # past StartTransactionDelay (4 s): the same card at the master stops it
        await _both(m, s, 5)
        r = await m.op("rfid", reader=1, id=TAG)
        assert r["result"] == "pending", r
        stops = await s.wait_call("StopTransaction", 1, timeout=15)
        assert stops[0]["reason"] == "Local"
        assert stops[0]["transactionId"] == c["transaction_id"]

        async def stopped():
            return (await m.status())["rs485"]["last_card"]["result"] == "stopped"
        await _until(m, s, stopped, "the stop outcome at the master")

        # the master itself never transacted; the slave never lost its reader
        assert cs.calls("StartTransaction", MASTER) == []
        assert cs.calls("StopTransaction", MASTER) == []
        assert [r.payload["idTag"] for r in cs.calls("StartTransaction", SLAVE)] == [TAG]
        assert not [p for p in s.payloads("StatusNotification")
                    if p["connectorId"] == 0 and p["errorCode"] == "ReaderFailure"]
        info = (await m.status())["rs485"]
        assert info["crc_errors"] == 0 and info["cards_forwarded"] == 2
    finally:
        try:
            await s.close()
        finally:
            await m.close()
    assert cs.violations == [], cs.violations


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_card_at_master_starts_and_stops_a_session_on_the_slave(tmp_path, clock):
    asyncio.run(asyncio.wait_for(_scenario(tmp_path, clock), 60))
