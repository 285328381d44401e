# The error table itself: completeness, names, kinds.
from evse.iocu import errors as E

MANUAL_8_4 = (
    "ERR_CCID_TRIPPED", "ERR_CHANGE_PWM_NOT_YET_ALLOWED", "ERR_DIODE_FAILURE",
    "ERR_EXT_SENS1_BOUNCED", "ERR_EXT_SENS2_BOUNCED", "ERR_HEARTBEAT", "ERR_MODE3_PILOT_SHORTED",
    "ERR_NOT_LOCKED_FOR_POWER", "ERR_PLUG_EXPECTED_LOCKED", "ERR_PLUG_EXPECTED_PRESENT",
    "ERR_RELAYS_MULTIPLE_SWITCHES", "ERR_REQ_CRC_WRONG", "ERR_RX_BUFFER_OVERFLOW",
    "ERR_SERVO_EXPECTED_LOCK", "ERR_SERVO_EXPECTED_UNLOCK", "ERR_SERVO_LOCK_FAILED",
    "ERR_SOCKETID_NOT_ALLOWED", "ERR_TEMPERATURE_SOCKET", "ERR_TEST_CMD_NOT_ALLOWED",
    "ERR_TX_BUFFER_OVERFLOW", "ERR_UNEXP_CHRG_ALLOWED_STATE_A", "ERR_UNEXP_INV_STATE",
    "ERR_UNEXP_INV_STATE_FROM_BCD", "ERR_UNEXP_STATE_F_FROM_BCD", "ERR_UNEXPECTED_HW_SETUP",
    "ERR_UNEXPECTED_PLUG_REMOVAL", "ERR_UNKNOWN_REQ", "ERR_UNLOCK_DURING_TRANSACT",
    "ERR_VOLTAGE_TOO_HIGH", "ERR_VOLTAGE_TOO_LOW", "IOCU_EVENT_POWER_FAILURE",
)

OCPP_CODES = ("ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature",
              "InternalError", "LocalListConflict", "NoError", "OtherError", "OverCurrentFailure",
              "OverVoltage", "PowerMeterFailure", "PowerSwitchFailure", "ReaderFailure",
              "ResetFailure", "UnderVoltage", "WeakSignal")


def test_every_manual_code_is_in_the_table():
    for n in MANUAL_8_4:
        c = E.code_of(n)
        assert c > 0, n
        assert E.name(c) == n
        assert getattr(E, n) == c   # a public int constant of the same name
        assert type(c) is int


def test_table_rows_and_extensions():
    assert len(E.TABLE) == E.N_CODES
    names = [row[0] for row in E.TABLE[1:]]
    assert len(set(names)) == len(names)
    assert len(names) == len(MANUAL_8_4) + len(E.EXTENSIONS)
    for c in E.EXTENSIONS:
        assert E.name(c) not in MANUAL_8_4


def test_ocpp_codes_are_valid():
    for c in range(1, E.N_CODES):
        err, vendor, info = E.ocpp(c)
        assert err in OCPP_CODES and err != "NoError"
        assert info == "IOCU"


def test_kinds_consistent():
    for c in range(1, E.N_CODES):
        k = E.KIND[c]
        assert k in (E.PULSE, E.SELF, E.UNPLUG, E.RESET)
        if k == E.PULSE:
            assert E.BLOCKS[c] == 0     # a warning never stops energy
        if E.is_latched(c):
            assert E.BLOCKS[c] == 1
    assert E.KIND[E.ERR_RELAY_WELDED] == E.RESET
    assert E.KIND[E.ERR_DIODE_FAILURE] == E.UNPLUG
    assert E.KIND[E.ERR_VOLTAGE_TOO_LOW] == E.SELF
    assert E.SCOPE[E.ERR_HEARTBEAT] == E.STATION


def test_unknown_code_helpers():
    assert E.name(999) == "ERR_999"
    assert E.code_of("NOPE") == 0
    assert E.ocpp(999)[0] == "InternalError"
    assert not E.valid(0) and not E.valid(E.N_CODES) and not E.valid(True)
    assert E.valid(E.ERR_EXTERNAL)
