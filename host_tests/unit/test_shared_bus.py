# One RS485 bus for the energy meters and the RFID master/slave link
# (docs/rs485-master-slave.md, docs/metering.md), as installers wire it: a
# DSCU master station polls two Modbus meters (Eastron SDM630 at addresses 1
# and 2) and exchanges card reads with an SSCU slave station, all three on
# one simulated multi-drop bus (every frame reaches every other node). One
# exchange at a time: the meters wait for the link and the link for the
# meters; the frames never overlap. Both runtimes.
from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.services import masterslave as M
from evse.station import Station
from modbus_rig import Slave
from support import tmpdir


class Hub:
    """The wire: what a node writes reaches every other node. The Modbus
    meters answer a request frame at once (they sit on the same wire)."""

    def __init__(self) -> None:
        self.nodes = []
        self.meters = Slave()
        self.log = []            # (writer, bytes) in wire order
        self.overlaps = 0        # a frame written while a meter reply was unread

    def node(self, name: str):
        n = Node(self, name)
        self.nodes.append(n)
        return n

    def send(self, src, data: bytes) -> None:
        self.log.append((src.name, data))
        for n in self.nodes:
            if n is not src:
                n.rx.extend(data)
        reply = self.meters.answer(data)
        if reply:
            self.log.append(("meter", reply))
            for n in self.nodes:
                n.rx.extend(reply)


class Node:
    def __init__(self, hub, name: str) -> None:
        self.hub = hub
        self.name = name
        self.rx = bytearray()

    def write(self, buf) -> int:
        self.hub.send(self, bytes(buf))
        return len(buf)

    def readinto(self, buf) -> int:
        n = min(len(buf), len(self.rx))
        if n:
            buf[0:n] = self.rx[0:n]
            self.rx[0:n] = b""
        return n

    def any(self) -> int:
        return len(self.rx)


def sdm630(slave, unit, kwh, amps):
    for k in range(3):
        slave.put(unit, 4, 2 * k, "f32", 230.0)
        slave.put(unit, 4, 6 + 2 * k, "f32", amps)
    slave.put(unit, 4, 0x34, "f32", amps * 690)
    slave.put(unit, 4, 0x46, "f32", 50.0)
    slave.put(unit, 4, 0x48, "f32", kwh)


def station(bus, model: str, role: int, tag: str, **cfg):
    board = SimBoard(2 if model == "dscu" else 1, tmpdir(tag), True)
    board.rs485 = bus
    c = Config(board.storage, model=model)
    settings = {"RFIDMasterSlaveEnabled": "true", "RFIDMasterSlaveID": str(role)}
    settings.update(cfg)
    for k in settings:
        assert c.change(k, settings[k]) in ("Accepted", "RebootRequired"), k
    st = Station(board, Config(board.storage, model=model), model,
                 modbus=bus if "MeterType" in cfg else None)
    return board, st


def run(units, ms: int) -> None:
    while True:
        for _ in range(3):
            for b, st in units:
                st.step()
        if ms <= 0:
            return
        d = max(1, min([st.next_deadline_ms() for b, st in units] + [ms]))
        for b, st in units:
            b.clock.advance_ms(d)
        ms -= d


def test_a_master_polls_its_meter_and_a_slave_station_on_one_bus():
    # (RFIDMasterSlaveEnabled is an SSCU feature: a DSCU refuses it, so the
    # master here is an SSCU with its meter at address 1; a second meter at
    # address 2 shares the wire and is not the master's to poll)
    hub = Hub()
    sdm630(hub.meters, 1, 1234.5, 0.0)
    sdm630(hub.meters, 2, 42.0, 0.0)
    mb, mst = station(hub.node("master"), "sscu", M.MASTER, "sbm", MeterType="4")
    sb, sst = station(hub.node("slave"), "sscu", M.SLAVE, "sbs")
    units = [(mb, mst), (sb, sst)]
    run(units, 5000)
    # the meter is read
    (c1,) = mst.status()["connectors"]
    assert c1["energy_wh"] == 1234500 and c1["error_code"] == "NoError"
    # and the link is up both ways
    link = mst.status()["rs485"]
    assert link["online"] and sst.status()["rs485"]["online"]
    assert link["timeouts"] == 0 and link["failures"] == 0
    assert mst._rtu.timeouts == 0 and mst._rtu.crc_errors == 0
    assert mst.link.yielded > 0                    # the link waited for the meter
    # a card at the master starts the slave's waiting EV
    sb.connectors[0].plug(32)
    sb.connectors[0].set_ev("B", 16, 3, True)
    run(units, 3000)
    assert sst.sessions[0].plug_wait
    res = mst.rfid(1, "SHARED1")
    run(units, 3000)
    assert res["result"] == "pending", res
    assert sst.sessions[0].id_tag == "SHARED1"
    assert mst.link.last_card["unit"] == "slave"
    # the meter kept being read all along, without a failure
    assert mst.status()["connectors"][0]["error_code"] == "NoError"
    assert mst._rtu.timeouts == 0 and mst._rtu.crc_errors == 0
    # frames never overlap: after a Modbus request only its reply, never a link frame
    pending = False
    for src, data in hub.log:
        if src == "master" and len(data) == 8 and data[0] == 1 and data[1] == 4:
            pending = True
        elif src == "meter":
            pending = False
        else:
            assert not pending, ("a frame inside a Modbus exchange", src, data)
