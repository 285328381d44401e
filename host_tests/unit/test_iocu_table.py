# Walks the error table: every ERR_* code is reached by an injected fault
# (simulated hardware or MCU command), reported with the right scope, stops
# energy when it blocks, and maps to the expected OCPP fields.
from evse.iocu import errors as E
from evse.iocu import link as L
from evse.iocu.events import EventRing, EV_WARNING
from iocu_rig import Rig

# independent expectation (manual 8.1-8.2 + our choices for extensions)
EXPECTED_OCPP = {
    E.ERR_CCID_TRIPPED: "GroundFailure",
    E.ERR_CHANGE_PWM_NOT_YET_ALLOWED: "InternalError",
    E.ERR_DIODE_FAILURE: "EVCommunicationError",
    E.ERR_EXT_SENS1_BOUNCED: "OtherError",
    E.ERR_EXT_SENS2_BOUNCED: "OtherError",
    E.ERR_HEARTBEAT: "InternalError",
    E.ERR_MODE3_PILOT_SHORTED: "EVCommunicationError",
    E.ERR_NOT_LOCKED_FOR_POWER: "ConnectorLockFailure",
    E.ERR_PLUG_EXPECTED_LOCKED: "ConnectorLockFailure",
    E.ERR_PLUG_EXPECTED_PRESENT: "ConnectorLockFailure",
    E.ERR_RELAYS_MULTIPLE_SWITCHES: "EVCommunicationError",
    E.ERR_REQ_CRC_WRONG: "InternalError",
    E.ERR_RX_BUFFER_OVERFLOW: "InternalError",
    E.ERR_SERVO_EXPECTED_LOCK: "ConnectorLockFailure",
    E.ERR_SERVO_EXPECTED_UNLOCK: "ConnectorLockFailure",
    E.ERR_SERVO_LOCK_FAILED: "ConnectorLockFailure",
    E.ERR_SOCKETID_NOT_ALLOWED: "InternalError",
    E.ERR_TEMPERATURE_SOCKET: "HighTemperature",
    E.ERR_TEST_CMD_NOT_ALLOWED: "InternalError",
    E.ERR_TX_BUFFER_OVERFLOW: "InternalError",
    E.ERR_UNEXP_CHRG_ALLOWED_STATE_A: "EVCommunicationError",
    E.ERR_UNEXP_INV_STATE: "EVCommunicationError",
    E.ERR_UNEXP_INV_STATE_FROM_BCD: "EVCommunicationError",
    E.ERR_UNEXP_STATE_F_FROM_BCD: "EVCommunicationError",
    E.ERR_UNEXPECTED_HW_SETUP: "InternalError",
    E.ERR_UNEXPECTED_PLUG_REMOVAL: "ConnectorLockFailure",
    E.ERR_UNKNOWN_REQ: "InternalError",
    E.ERR_UNLOCK_DURING_TRANSACT: "OtherError",
    E.ERR_VOLTAGE_TOO_HIGH: "InternalError",
    E.ERR_VOLTAGE_TOO_LOW: "InternalError",
    E.IOCU_EVENT_POWER_FAILURE: "OtherError",
    E.ERR_RELAY_WELDED: "PowerSwitchFailure",
    E.ERR_RELAY_NO_CLOSE: "PowerSwitchFailure",
    E.ERR_CCID_SELFTEST_FAILED: "OtherError",
    E.ERR_EXTERNAL: "OtherError",
}


# ---- one scenario per code: returns the Rig after the fault was injected
def s_ccid_tripped():
    r = Rig(ccid=True)
    r.charge()
    r.sio.set_fault("ccid_trip", True)
    r.tick()
    assert not r.c.contactor_closed  # same tick
    return r


def s_pwm_not_yet():
    r = Rig(max_current_a=63)
    r.plug_ev("B", cable=63, ev_max=63)
    r.c.authorize(True)
    r.until(lambda: r.c.pwm.stepping)
    assert r.c.offered_da == 400
    assert not r.c.set_limit_da(500)
    return r


def s_diode():
    r = Rig()
    r.charge()
    r.io.set_fault("diode_missing", True)
    r.run(50)
    return r


def s_ext(n):
    def s():
        r = Rig()
        for i in range(12):
            r.sio.set_input(n, i & 1 ^ 1)
            r.run(100)
        return r
    return s


def s_heartbeat():
    r = Rig()
    r.heartbeat = True
    r.charge()
    r.heartbeat = False
    r.run(5100)
    assert not r.c.contactor_closed
    return r


def s_pilot_short():
    r = Rig()
    r.charge()
    r.io.set_fault("pilot_short", True)
    r.run(50)
    return r


def s_not_locked_for_power():
    r = Rig()
    r.charge()
    r.io.set_fault("lock_forced_open", True)
    r.run(50)
    return r


def s_plug_expected_locked():
    r = Rig(three_stage=True)
    r.io.set_fault("plug_not_seated", True)
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1000)
    return r


def s_plug_expected_present():
    r = Rig()
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1000)
    assert r.c.locked
    assert not r.io.unplug()       # the lock holds the plug
    assert r.io.unplug(force=True)  # broken notch
    r.run(100)
    return r


def s_multiple_switches():
    r = Rig()
    r.charge()
    for i in range(12):
        r.io.set_ev("B" if i % 2 == 0 else "C")
        r.run(100)
    return r


def s_crc():
    r = Rig()
    r.iocu.post_frame(bytes([1, L.CMD_AUTHORIZE, 0, 1, 0]))
    r.tick()
    assert not r.c.authorized
    return r


def s_rx_overflow():
    r = Rig()
    n = 0
    while r.iocu.post(1, L.CMD_SET_LIMIT, 100):
        n += 1
    assert n == 16
    r.tick()
    return r


def s_servo_expected_lock():
    r = Rig()
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1000)
    assert r.c.locked
    r.io.set_fault("lock_forced_open", True)
    r.run(50)
    return r


def s_servo_expected_unlock():
    r = Rig()
    r.io.plug(32)
    r.run(200)
    r.io.set_fault("lock_forced_closed", True)
    r.run(50)
    return r


def s_lock_failed():
    r = Rig()
    r.io.set_fault("lock_stuck", True)
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(3000)
    return r


def s_socketid():
    r = Rig()
    r.iocu.post(3, L.CMD_AUTHORIZE, 1)
    r.tick()
    return r


def s_temperature():
    r = Rig(socket_temp_max_dc=800)
    r.charge()
    r.io.set_socket_temp_dc(850)
    r.tick()
    assert not r.c.contactor_closed
    return r


def s_test_cmd():
    r = Rig()
    r.iocu.post(0, L.CMD_TEST_BUZZER, 1)
    r.tick()
    assert r.sio.buzzer == 0
    return r


def s_tx_overflow():
    r = Rig(ring=4)
    r.drain_events = False
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1500)
    assert r.ev.total_dropped > 0
    r.drain()
    return r


def s_chrg_allowed_a():
    r = Rig(actuator=False)
    r.charge()
    r.io.set_ev("A")
    r.run(50)
    return r


def s_inv_state():
    r = Rig()
    r.io.plug(32)
    r.run(100)
    r.io.set_ev("F")
    r.run(50)
    return r


def s_inv_from_bcd():
    r = Rig()
    r.charge()
    r.io.set_fault("pilot_invalid", True)
    r.run(50)
    return r


def s_f_from_bcd():
    r = Rig()
    r.charge()
    r.io.set_ev("F")
    r.run(50)
    return r


def s_hw_setup():
    r = Rig()
    assert not r.c.configure(max_current_a=99)
    r.tick()
    return r


def s_plug_removal():
    r = Rig(actuator=False)
    r.charge()
    assert r.io.unplug()
    r.run(50)
    return r


def s_unknown_req():
    r = Rig()
    r.iocu.post(1, 0x33, 0)
    r.tick()
    return r


def s_unlock_during_tx():
    r = Rig()
    r.charge()
    assert r.c.request_unlock()
    r.tick()
    assert not r.c.contactor_closed
    r.run(1000)
    assert not r.c.locked
    return r


def s_supply(rail, mv):
    def s():
        r = Rig()
        r.charge()
        r.sio.set_supply_mv(rail, mv)
        r.run(150)
        assert not r.c.contactor_closed
        return r
    return s


def s_welded():
    r = Rig(safety_relay=True)
    r.charge()
    r.io.set_fault("contactor_welded", True)
    r.c.authorize(False)
    r.run(400)
    return r


def s_no_close():
    r = Rig(safety_relay=True)
    r.io.set_fault("contactor_no_close", True)
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1500)
    r.io.set_ev("C")
    r.run(400)
    return r


def s_ccid_selftest():
    r = Rig(ccid=True)
    r.sio.set_fault("ccid_selftest_fail", True)
    r.plug_ev("B")
    r.c.authorize(True)
    r.run(1500)
    return r


def s_external():
    r = Rig()
    r.charge()
    r.c.set_external_error()
    r.tick()
    return r


SCENARIOS = {
    E.ERR_CCID_TRIPPED: s_ccid_tripped,
    E.ERR_CHANGE_PWM_NOT_YET_ALLOWED: s_pwm_not_yet,
    E.ERR_DIODE_FAILURE: s_diode,
    E.ERR_EXT_SENS1_BOUNCED: s_ext(1),
    E.ERR_EXT_SENS2_BOUNCED: s_ext(2),
    E.ERR_HEARTBEAT: s_heartbeat,
    E.ERR_MODE3_PILOT_SHORTED: s_pilot_short,
    E.ERR_NOT_LOCKED_FOR_POWER: s_not_locked_for_power,
    E.ERR_PLUG_EXPECTED_LOCKED: s_plug_expected_locked,
    E.ERR_PLUG_EXPECTED_PRESENT: s_plug_expected_present,
    E.ERR_RELAYS_MULTIPLE_SWITCHES: s_multiple_switches,
    E.ERR_REQ_CRC_WRONG: s_crc,
    E.ERR_RX_BUFFER_OVERFLOW: s_rx_overflow,
    E.ERR_SERVO_EXPECTED_LOCK: s_servo_expected_lock,
    E.ERR_SERVO_EXPECTED_UNLOCK: s_servo_expected_unlock,
    E.ERR_SERVO_LOCK_FAILED: s_lock_failed,
    E.ERR_SOCKETID_NOT_ALLOWED: s_socketid,
    E.ERR_TEMPERATURE_SOCKET: s_temperature,
    E.ERR_TEST_CMD_NOT_ALLOWED: s_test_cmd,
    E.ERR_TX_BUFFER_OVERFLOW: s_tx_overflow,
    E.ERR_UNEXP_CHRG_ALLOWED_STATE_A: s_chrg_allowed_a,
    E.ERR_UNEXP_INV_STATE: s_inv_state,
    E.ERR_UNEXP_INV_STATE_FROM_BCD: s_inv_from_bcd,
    E.ERR_UNEXP_STATE_F_FROM_BCD: s_f_from_bcd,
    E.ERR_UNEXPECTED_HW_SETUP: s_hw_setup,
    E.ERR_UNEXPECTED_PLUG_REMOVAL: s_plug_removal,
    E.ERR_UNKNOWN_REQ: s_unknown_req,
    E.ERR_UNLOCK_DURING_TRANSACT: s_unlock_during_tx,
    E.ERR_VOLTAGE_TOO_HIGH: s_supply(0, 14500),
    E.ERR_VOLTAGE_TOO_LOW: s_supply(1, 2800),
    E.IOCU_EVENT_POWER_FAILURE: s_supply(0, 9000),
    E.ERR_RELAY_WELDED: s_welded,
    E.ERR_RELAY_NO_CLOSE: s_no_close,
    E.ERR_CCID_SELFTEST_FAILED: s_ccid_selftest,
    E.ERR_EXTERNAL: s_external,
}


def test_every_code_has_a_scenario_and_an_expectation():
    for code in range(1, E.N_CODES):
        assert code in SCENARIOS, E.name(code)
        assert code in EXPECTED_OCPP, E.name(code)
    assert len(SCENARIOS) == E.N_CODES - 1


def test_table_ocpp_mapping():
    for code in range(1, E.N_CODES):
        err, vendor, info = E.ocpp(code)
        assert err == EXPECTED_OCPP[code], (E.name(code), err)
        assert vendor == E.name(code) and (vendor[:4] == "ERR_" or vendor[:5] == "IOCU_")
        assert info == "IOCU"
    assert E.ocpp(0) == ("NoError", "", "")
    # the manual's example (8.1)
    assert E.ocpp(E.ERR_DIODE_FAILURE) == ("EVCommunicationError", "ERR_DIODE_FAILURE", "IOCU")


def test_walk_table_every_code_reached_by_injected_fault():
    for code in range(1, E.N_CODES):
        r = SCENARIOS[code]()
        r.drain()
        conn = 0 if E.SCOPE[code] == E.STATION else 1
        if E.KIND[code] == E.PULSE:
            assert r.warned(code, conn), E.name(code)
        else:
            assert r.raised(code, conn), (E.name(code), r.log)
        if E.BLOCKS[code]:
            # blocking: no energy, the connector is faulted
            assert not r.c.contactor_closed, E.name(code)
            if E.SCOPE[code] == E.CONN:
                assert r.c.active(code) or r.cleared(code, conn), E.name(code)
                assert r.c.error != 0 or r.cleared(code, conn), E.name(code)
            else:
                assert r.iocu.active(code) and r.c.error == r.iocu.error != 0, E.name(code)
