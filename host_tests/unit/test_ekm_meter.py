# MeterType 10, the EKM Omnimeter Pulse UL v.4 in EKM's own protocol
# (evse.metering.ekm) against a fake meter speaking it (ekm_rig: the reply
# built field by field from EKM's client library's layout, its CRC computed
# bit by bit): every field read, the request on the wire, CRC errors, short
# and garbled replies, another meter's reply and timeouts reported as
# PowerMeterFailure and recovered from; two meters taking turns; the
# station with MeterType 10. Both runtimes.
from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.metering import ekm
from evse.metering.ekm import EkmMaster, EkmMeter
from evse.station import Station
from ekm_rig import EkmPeer, EkmReading, ref_ekm_crc
from modbus_rig import Port, Clock, run
from support import tmpdir


def rig(numbers=(1,), **kw):
    peer = EkmPeer()
    for n in numbers:
        peer.meters[n] = EkmReading()
    clock = Clock()
    port = Port(peer)
    master = EkmMaster(port, **kw)
    meters = [EkmMeter(master, n, clock) for n in numbers]
    return peer, port, master, meters, clock


def settled(board, st):
    """Both EKM meters read (the peer's numbers), no failure: the connectors."""
    for _ in range(300):
        st.step()
        board.clock.advance_ms(max(1, min(st.next_deadline_ms(), 10)))
    c1, c2 = st.status()["connectors"]
    assert c1["energy_wh"] == 123456700 and c2["energy_wh"] == 420000, (c1, c2)
    assert c1["error_code"] == c2["error_code"] == "NoError"
    return c1, c2


def test_crc_is_ekms():
    data = bytes(range(7, 240))
    assert ekm.ekm_crc(data, 0, len(data)) == ref_ekm_crc(data)
    assert ekm.ekm_crc(b"", 0, 0) == 0x7F7F        # 0xFFFF swapped and masked


def test_every_field_of_block_a_is_read():
    peer, port, master, (m,), clock = rig()
    assert not m.ok() and m.info() == ""          # nothing read yet, nothing failed
    run([m], clock, 100)
    assert m.ok(), m.info()
    assert m.energy_wh() == 123456700             # 1234567 / 10 kWh
    assert [m.current_da(p) for p in range(3)] == [160, 701, 5]
    assert [m.current_a(p) for p in range(3)] == [16.0, 70.1, 0.5]
    assert [m.voltage_v(p) for p in range(3)] == [230.1, 231.2, 229.9]
    assert m.power_w() == 19995.0
    assert m.frequency_hz() == 50.01
    assert m.has("Voltage", 2) and m.has("Frequency")
    # request A for meter number 1, then the close-session frame
    assert port.written[0] == b"/?00000000000100!\r\n"
    assert port.written[1] == b"\x01\x42\x30\x03\x75" and peer.closes == 1


def test_kwh_scale():
    for scale, wh in ((0, 1234567000), (1, 123456700), (2, 12345670)):
        peer, port, master, (m,), clock = rig()
        peer.meters[1].scale = scale
        run([m], clock, 100)
        assert m.ok() and m.energy_wh() == wh, (scale, m.energy_wh())


def fail_then_recover(flag, why):
    peer, port, master, (m,), clock = rig()
    run([m], clock, 100)
    assert m.ok()
    setattr(peer, flag, True)
    peer.meters[1].kwh_raw += 1
    run([m], clock, 3000)
    assert not m.ok() and m.info() == "EKM 1: " + why, m.info()
    assert m.energy_wh() == 123456700             # the last good reading is kept
    setattr(peer, flag, False)
    run([m], clock, 2000)
    assert m.ok() and m.info() == "" and m.energy_wh() == 123456800
    return master


def test_crc_error_fails_then_recovers():
    master = fail_then_recover("corrupt", "CRC error")
    assert master.crc_errors >= 3 and master.resends >= 2


def test_short_reply_fails_then_recovers():
    fail_then_recover("short", "short reply")


def test_garbled_reply_fails_then_recovers():
    fail_then_recover("garble", "garbled reply")


def test_timeout_fails_then_recovers():
    peer, port, master, (m,), clock = rig()
    run([m], clock, 100)
    peer.offline.add(1)
    run([m], clock, 3000)
    assert not m.ok() and m.info() == "EKM 1: timeout"
    assert master.timeouts >= 3
    peer.offline.clear()
    run([m], clock, 2000)
    assert m.ok()


def test_another_meters_reply_is_not_taken():
    peer, port, master, (m,), clock = rig((2,))
    m.number = 3                                  # asks 3, meter 2 answers (wiring fault)
    peer.meters[3] = peer.meters[2]
    orig = peer.meters[2].block_a
    peer.meters[3].block_a = lambda number: orig(2)
    run([m], clock, 3000)
    assert not m.ok() and m.info() == "EKM 3: another meter answered"


def test_noise_before_the_reply_is_dropped():
    peer, port, master, (m,), clock = rig()
    peer.garbage = b"\x00\xff\x7f"
    run([m], clock, 100)
    assert m.ok() and master.dropped == 3


def test_two_meters_take_turns_on_one_bus():
    peer, port, master, meters, clock = rig((1, 2))
    peer.meters[2].kwh_raw = 42
    run(meters, clock, 2500)
    assert meters[0].ok() and meters[1].ok()
    assert meters[1].energy_wh() == 4200
    assert peer.requests[:4] == [1, 2, 1, 2]
    # one meter failing leaves the other read
    peer.offline.add(1)
    run(meters, clock, 5000)
    assert not meters[0].ok() and meters[1].ok()


def test_a_backwards_energy_reading_is_rejected():
    peer, port, master, (m,), clock = rig()
    run([m], clock, 100)
    peer.meters[1].kwh_raw = 5
    run([m], clock, 1500)
    assert not m.ok() and m.info() == "EKM 1: energy 500 Wh rejected", m.info()
    assert m.energy_wh() == 123456700


def test_station_reads_ekm_meters():
    peer = EkmPeer()
    peer.meters[1] = EkmReading()
    peer.meters[2] = EkmReading()
    peer.meters[2].kwh_raw = 4200
    board = SimBoard(2, tmpdir("ekm"), True)
    cfg = Config(board.storage, model="dscu")
    assert cfg.change("MeterType", "10") in ("Accepted", "RebootRequired")
    cfg = Config(board.storage, model="dscu")
    st = Station(board, cfg, "dscu", modbus=Port(peer))
    seen = []
    st.status_report.listeners.append(lambda *a: seen.append(a))
    c1, c2 = settled(board, st)
    assert st.ocpp.meter_type == "EKM Omnimeter Pulse UL v.4"
    peer.offline.add(2)
    for _ in range(600):
        st.step()
        board.clock.advance_ms(10)
    assert st.status()["connectors"][1]["error_code"] == "PowerMeterFailure"
    assert (2, "Available", "PowerMeterFailure", "EKM 2: timeout", "") in seen


def test_meter_numbers_come_from_the_configuration():
    # EkmMeterNumber1/2: each connector asks its own meter's serial number;
    # non-digits, nothing or more than 12 digits are Rejected
    board = SimBoard(2, tmpdir("ekmnum"), True)
    cfg = Config(board.storage, model="dscu")
    assert cfg.get("EkmMeterNumber1") == "000000000001" and cfg.get("EkmMeterNumber2") == "000000000002"
    for bad in ("3000012345a", "", "1234567890123", "-1", " 12", "1.5"):
        assert cfg.change("EkmMeterNumber1", bad) == "Rejected", bad
    assert cfg.change("MeterType", "10") in ("Accepted", "RebootRequired")
    assert cfg.change("EkmMeterNumber1", "300001234567") == "RebootRequired"
    assert cfg.change("EkmMeterNumber2", "17") == "RebootRequired"
    sscu = Config(SimBoard(1, tmpdir("ekmnum1"), True).storage, model="sscu")
    assert sscu.change("EkmMeterNumber2", "17") in ("Rejected", "NotSupported")
    cfg = Config(board.storage, model="dscu")
    peer = EkmPeer()
    peer.meters[300001234567] = EkmReading()
    peer.meters[17] = EkmReading()
    peer.meters[17].kwh_raw = 4200
    peer.meters[1] = EkmReading()           # the default numbers are not asked
    peer.meters[1].kwh_raw = 1
    st = Station(board, cfg, "dscu", modbus=Port(peer))
    c1, c2 = settled(board, st)
    assert set(peer.requests) == {300001234567, 17}
    # the meter behind connector 2 stops answering: the failure names its number
    seen = []
    st.status_report.listeners.append(lambda *a: seen.append(a))
    peer.offline.add(17)
    for _ in range(600):
        st.step()
        board.clock.advance_ms(10)
    assert (2, "Available", "PowerMeterFailure", "EKM 17: timeout", "") in seen
