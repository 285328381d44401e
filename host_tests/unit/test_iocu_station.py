# Station supervision: supply rails, MCU heartbeat, external inputs, and the
# MCU -> IOCU command link.
from evse.iocu import errors as E
from evse.iocu import link as L
from evse.iocu import station as ST
from evse.iocu.events import EV_INPUT, EV_WARNING
from iocu_rig import Rig


def test_supply_low_blocks_and_recovers_with_hysteresis():
    r = Rig()
    r.charge()
    r.sio.set_supply_mv(2, 10000)      # VBUFF low
    r.run(150)
    assert r.raised(E.ERR_VOLTAGE_TOO_LOW, 0) and not r.c.contactor_closed
    assert r.c.error == E.ERR_VOLTAGE_TOO_LOW and r.iocu.error == E.ERR_VOLTAGE_TOO_LOW
    r.sio.set_supply_mv(2, 10600)      # above the limit but inside the hysteresis
    r.run(300)
    assert r.iocu.active(E.ERR_VOLTAGE_TOO_LOW)
    r.sio.set_supply_mv(2, 12000)
    r.run(150)
    assert r.cleared(E.ERR_VOLTAGE_TOO_LOW, 0)
    assert r.c.error == 0
    r.run(100)
    assert r.c.contactor_closed        # self-clearing: the session goes on


def test_supply_glitch_is_debounced():
    r = Rig()
    r.sio.set_supply_mv(0, 9000)
    r.tick()
    r.sio.set_supply_mv(0, 12000)
    r.run(200)
    assert r.iocu.error == 0
    assert not r.raised(E.IOCU_EVENT_POWER_FAILURE, 0)


def test_power_failure_and_high():
    r = Rig()
    r.sio.set_supply_mv(0, 9500)
    r.run(150)
    assert r.iocu.error == E.IOCU_EVENT_POWER_FAILURE
    assert not r.iocu.active(E.ERR_VOLTAGE_TOO_LOW)
    r.sio.set_supply_mv(0, 14000)
    r.run(150)
    assert r.iocu.error == E.ERR_VOLTAGE_TOO_HIGH
    assert r.cleared(E.IOCU_EVENT_POWER_FAILURE, 0)
    r.sio.set_supply_mv(1, 3700)
    r.sio.set_supply_mv(0, 12000)
    r.run(150)
    assert r.iocu.error == E.ERR_VOLTAGE_TOO_HIGH   # now from 3V3IO


def test_unmeasured_rail_ignored():
    r = Rig()
    r.sio.set_supply_mv(1, -1)
    r.run(200)
    assert r.iocu.error == 0


def test_heartbeat_armed_by_first_beat_and_recovers():
    r = Rig()
    r.run(10000)
    assert r.iocu.error == 0             # never armed
    r.heartbeat = True
    r.charge()
    r.heartbeat = False
    r.run(4900)
    assert r.iocu.error == 0
    r.run(300)
    assert r.iocu.error == E.ERR_HEARTBEAT and not r.c.contactor_closed
    r.heartbeat = True
    r.run(100)
    assert r.iocu.error == 0 and r.cleared(E.ERR_HEARTBEAT, 0)


def test_heartbeat_deadline_for_the_simulator():
    r = Rig()
    r.iocu.heartbeat(r.now())
    r.run(100)
    d = r.iocu.next_deadline_ms(r.now())
    assert 4800 <= d <= 5001
    r.clk.advance_ms(d)
    r.tick()
    assert r.iocu.error == E.ERR_HEARTBEAT


def test_heartbeat_via_link():
    r = Rig()
    r.iocu.post(0, L.CMD_HEARTBEAT)
    r.tick()
    r.run(5100)
    assert r.iocu.error == E.ERR_HEARTBEAT


def test_ext_input_debounce_and_events():
    r = Rig()
    r.run(100)
    r.log = []
    r.sio.set_input(1, 1)
    r.tick()
    r.tick()
    r.sio.set_input(1, 0)   # 20 ms glitch
    r.run(200)
    assert r.events(EV_INPUT, 0) == []
    r.sio.set_input(2, 1)
    r.run(100)
    assert r.events(EV_INPUT, 0) == [2 * 2 + 1]
    assert r.iocu.ext_level[2] == 1 and r.iocu.ext_level[1] == 0


def test_ext_input_bounce_freezes_60s():
    r = Rig()
    r.run(100)
    for i in range(12):
        r.sio.set_input(1, (i + 1) % 2)
        r.run(100)
    assert r.raised(E.ERR_EXT_SENS1_BOUNCED, 0)
    assert r.c.error == 0                     # a warning: no energy effect
    n = len(r.events(EV_INPUT, 0))
    r.sio.set_input(1, 1)
    r.run(1000)
    assert len(r.events(EV_INPUT, 0)) == n    # frozen
    d = r.iocu.next_deadline_ms(r.now())
    assert 0 < d <= ST.BOUNCE_FREEZE_MS
    r.clk.advance_ms(d)
    r.run(100)
    assert r.cleared(E.ERR_EXT_SENS1_BOUNCED, 0)
    assert r.iocu.ext_level[1] == 1


def test_crc8_check_value():
    assert L.crc8(b"123456789", 0, 9) == 0xF4


def test_link_commands():
    r = Rig()
    r.plug_ev("B")
    assert r.iocu.post(1, L.CMD_AUTHORIZE, 1)
    assert r.iocu.next_deadline_ms(r.now()) == 0
    r.run(1500)
    assert r.c.authorized and r.c.locked
    r.iocu.post(1, L.CMD_SET_LIMIT, 100)
    r.tick()
    assert r.c.limit_da == 100 and r.c.offered_da == 100
    r.iocu.post(1, L.CMD_SET_OPERATIVE, 0)
    r.tick()
    assert not r.c.operative
    r.iocu.post(1, L.CMD_SET_OPERATIVE, 1)
    r.iocu.post(1, L.CMD_SET_ERROR, E.ERR_EXTERNAL)
    r.tick()
    assert r.c.error == E.ERR_EXTERNAL
    r.iocu.post(1, L.CMD_CLEAR_ERROR)
    r.tick()
    assert r.c.error == 0
    r.iocu.post(1, L.CMD_AUTHORIZE, 0)
    r.iocu.post(1, L.CMD_UNLOCK)
    r.run(500)
    assert not r.c.locked and not r.c.authorized
    assert r.events(EV_WARNING) == []


def test_link_rejects():
    r = Rig()
    r.iocu.post(1, L.CMD_SET_ERROR, 200)       # not a code
    r.iocu.post(9, L.CMD_AUTHORIZE, 1)
    r.iocu.post(1, 0x7F)
    r.iocu.post(1, L.CMD_TEST_LED, 1)
    good = bytearray(5)
    good[0] = 1
    good[1] = L.CMD_AUTHORIZE
    good[3] = 1
    good[4] = L.crc8(good, 0, 4)
    bad = bytearray(good)
    bad[4] ^= 0x55
    r.iocu.post_frame(bad)
    r.tick()
    assert r.events(EV_WARNING, 0) == [E.ERR_UNKNOWN_REQ, E.ERR_SOCKETID_NOT_ALLOWED, E.ERR_UNKNOWN_REQ,
                                        E.ERR_TEST_CMD_NOT_ALLOWED, E.ERR_REQ_CRC_WRONG]
    assert not r.c.authorized
    r.iocu.post_frame(good)
    r.tick()
    assert r.c.authorized


def test_test_mode_allows_test_commands():
    r = Rig()
    r.iocu.configure(test_mode=True)
    r.iocu.post(0, L.CMD_TEST_BUZZER, 1)
    r.iocu.post(1, L.CMD_TEST_LED, 2)
    r.tick()
    assert r.sio.buzzer == 1 and r.io.led_rgb == 0x00FF00
    assert r.events(EV_WARNING) == []


def test_two_connectors_independent_station_error_shared():
    r = Rig(n=2)
    c1, c2 = r.conns
    io1, io2 = r.ios
    io1.plug(32)
    io1.set_ev("B")
    c1.authorize(True)
    r.run(1500)
    io1.set_ev("C")
    io2.plug(20)
    io2.set_ev("C")
    c2.authorize(True)
    r.run(1500)
    assert c1.contactor_closed and c2.contactor_closed
    assert c2.offered_da == 160 and c2.cable_da == 200
    io1.set_fault("diode_missing", True)
    r.run(50)
    assert not c1.contactor_closed and c2.contactor_closed
    assert r.raised(E.ERR_DIODE_FAILURE, 1) and not r.raised(E.ERR_DIODE_FAILURE, 2)
    r.sio.set_supply_mv(0, 9000)
    r.run(150)
    assert not c2.contactor_closed and c2.error == E.IOCU_EVENT_POWER_FAILURE
    assert c1.error == E.ERR_DIODE_FAILURE   # its own error comes first
