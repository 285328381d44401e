# IOCU error codes (manual 8.4/8.5) and the ONE table that maps each to the
# OCPP 1.6 StatusNotification fields (errorCode, vendorErrorCode, info) as in
# manual 8.1-8.2, plus how each code is cleared and whether it stops energy.
#
# Codes are small ints so that the safety tick passes them around without
# allocating; names/strings are only looked up above the IOCU (MCU side).
#
# Clear kinds (KIND column):
#   PULSE   a warning, reported once (EV_WARNING event), no state, never stops
#           energy. OCPP: StatusNotification with the current status and the
#           errorCode/vendorErrorCode (a warning, status is not Faulted).
#   SELF    active while its cause is present; clears by itself when the cause
#           is gone (with hysteresis / hold time chosen by the detector).
#   UNPLUG  latched: clears only once the EV has disconnected (pilot A,
#           debounced, after the error was raised or while it was raised with
#           no EV), the error has been shown for ERROR_HOLD_MS, and the
#           subsystem that raised it is settled again (e.g. the lock confirms
#           the position it is told to hold). clear_error() / reset also clears.
#   RESET   latched: clears only by clear_error() (MCU ClearError, sensor
#           scenario ClearError, hard reset / power cycle).
#
# clear_error() behaves like a reset: it clears every latched code; a code
# whose cause is still there is raised again by its detector.
#
# BLOCKS: 1 = the connector (or, for station scope, every connector) may not
# deliver energy while the code is active: contactor open, PWM off, status
# Faulted. 0 = warning only.
#
# SCOPE: CONN = raised by a Connector (events carry its connector id);
#        STATION = raised by the station supervisor (events carry connector 0).
#
# Codes marked "extension" are not in manual 8.4; the manual has no vendor
# code for them, so we added one with the same naming style.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# --- codes (manual 8.4 order) ---
_ERR_NONE = const(0)
ERR_CCID_TRIPPED = const(1)
ERR_CHANGE_PWM_NOT_YET_ALLOWED = const(2)
ERR_DIODE_FAILURE = const(3)
ERR_EXT_SENS1_BOUNCED = const(4)
ERR_EXT_SENS2_BOUNCED = const(5)
ERR_HEARTBEAT = const(6)
ERR_MODE3_PILOT_SHORTED = const(7)
ERR_NOT_LOCKED_FOR_POWER = const(8)
ERR_PLUG_EXPECTED_LOCKED = const(9)
ERR_PLUG_EXPECTED_PRESENT = const(10)
ERR_RELAYS_MULTIPLE_SWITCHES = const(11)
ERR_REQ_CRC_WRONG = const(12)
ERR_RX_BUFFER_OVERFLOW = const(13)
ERR_SERVO_EXPECTED_LOCK = const(14)
ERR_SERVO_EXPECTED_UNLOCK = const(15)
ERR_SERVO_LOCK_FAILED = const(16)
ERR_SOCKETID_NOT_ALLOWED = const(17)
ERR_TEMPERATURE_SOCKET = const(18)
ERR_TEST_CMD_NOT_ALLOWED = const(19)
ERR_TX_BUFFER_OVERFLOW = const(20)
ERR_UNEXP_CHRG_ALLOWED_STATE_A = const(21)
ERR_UNEXP_INV_STATE = const(22)
ERR_UNEXP_INV_STATE_FROM_BCD = const(23)
ERR_UNEXP_STATE_F_FROM_BCD = const(24)
ERR_UNEXPECTED_HW_SETUP = const(25)
ERR_UNEXPECTED_PLUG_REMOVAL = const(26)
ERR_UNKNOWN_REQ = const(27)
ERR_UNLOCK_DURING_TRANSACT = const(28)
ERR_VOLTAGE_TOO_HIGH = const(29)
ERR_VOLTAGE_TOO_LOW = const(30)
IOCU_EVENT_POWER_FAILURE = const(31)
# --- extensions (not in the manual) ---
ERR_RELAY_WELDED = const(32)          # helper contact: closed while coil off
ERR_RELAY_NO_CLOSE = const(33)        # helper contact: open while coil on
ERR_CCID_SELFTEST_FAILED = const(34)  # CCID Fault did not follow Test (manual 7.1.1)
ERR_EXTERNAL = const(35)              # sensor scenario "SetError" (manual 5.6)
N_CODES = const(36)

# clear kinds
PULSE = const(0)
SELF = const(1)
UNPLUG = const(2)
RESET = const(3)
# scopes
CONN = const(0)
STATION = const(1)

INFO = "IOCU"  # manual 8.1: info field of every IOCU error

# OCPP 1.6 ChargePointErrorCode strings; const() keeps TABLE a constant tuple
# (in flash when frozen) instead of one built on the heap at import
_LOCK = const("ConnectorLockFailure")
_EVCOM = const("EVCommunicationError")
_GROUND = const("GroundFailure")
_INTERNAL = const("InternalError")
_OTHER = const("OtherError")
_SWITCH = const("PowerSwitchFailure")
_TEMP = const("HighTemperature")

# code -> (vendorErrorCode / name, OCPP errorCode, KIND, BLOCKS, SCOPE)
# Index = code. Row 0 is "no error".
TABLE = (
    ("", "NoError", SELF, 0, CONN),
    # CCID detected residual current: energy stops at once. Cleared by a
    # successful auto re-test (every 15 min, 3x per session, manual 7.1.3),
    # otherwise latched until the EV is disconnected.
    ("ERR_CCID_TRIPPED", _GROUND, UNPLUG, 1, CONN),
    # MCU asked for a new >40 A rate while the two-step start is running;
    # the new value is kept and applied when the step ends (see pwm.py).
    ("ERR_CHANGE_PWM_NOT_YET_ALLOWED", _INTERNAL, PULSE, 0, CONN),
    ("ERR_DIODE_FAILURE", _EVCOM, UNPLUG, 1, CONN),
    # external input bouncing: its level is frozen for 60 s (warning only;
    # the sensor scenario decides about energy).
    ("ERR_EXT_SENS1_BOUNCED", _OTHER, SELF, 0, STATION),
    ("ERR_EXT_SENS2_BOUNCED", _OTHER, SELF, 0, STATION),
    # MCU stopped calling Iocu.heartbeat(): sessions stop; clears when the
    # heartbeat comes back (the MCU then decides about the transactions).
    ("ERR_HEARTBEAT", _INTERNAL, SELF, 1, STATION),
    ("ERR_MODE3_PILOT_SHORTED", _EVCOM, UNPLUG, 1, CONN),
    ("ERR_NOT_LOCKED_FOR_POWER", _LOCK, UNPLUG, 1, CONN),
    ("ERR_PLUG_EXPECTED_LOCKED", _LOCK, UNPLUG, 1, CONN),
    ("ERR_PLUG_EXPECTED_PRESENT", _LOCK, UNPLUG, 1, CONN),
    ("ERR_RELAYS_MULTIPLE_SWITCHES", _EVCOM, UNPLUG, 1, CONN),
    ("ERR_REQ_CRC_WRONG", _INTERNAL, PULSE, 0, STATION),
    ("ERR_RX_BUFFER_OVERFLOW", _INTERNAL, PULSE, 0, STATION),
    ("ERR_SERVO_EXPECTED_LOCK", _LOCK, UNPLUG, 1, CONN),
    ("ERR_SERVO_EXPECTED_UNLOCK", _LOCK, UNPLUG, 1, CONN),
    ("ERR_SERVO_LOCK_FAILED", _LOCK, UNPLUG, 1, CONN),
    ("ERR_SOCKETID_NOT_ALLOWED", _INTERNAL, PULSE, 0, STATION),
    ("ERR_TEMPERATURE_SOCKET", _TEMP, SELF, 1, CONN),
    ("ERR_TEST_CMD_NOT_ALLOWED", _INTERNAL, PULSE, 0, STATION),
    ("ERR_TX_BUFFER_OVERFLOW", _INTERNAL, PULSE, 0, STATION),
    ("ERR_UNEXP_CHRG_ALLOWED_STATE_A", _EVCOM, UNPLUG, 1, CONN),
    ("ERR_UNEXP_INV_STATE", _EVCOM, UNPLUG, 1, CONN),
    ("ERR_UNEXP_INV_STATE_FROM_BCD", _EVCOM, UNPLUG, 1, CONN),
    ("ERR_UNEXP_STATE_F_FROM_BCD", _EVCOM, UNPLUG, 1, CONN),
    # configure() got an impossible hardware setup: no charging until a
    # valid configure() (SELF: the "cause" is the configuration).
    ("ERR_UNEXPECTED_HW_SETUP", _INTERNAL, SELF, 1, CONN),
    ("ERR_UNEXPECTED_PLUG_REMOVAL", _LOCK, UNPLUG, 1, CONN),
    ("ERR_UNKNOWN_REQ", _INTERNAL, PULSE, 0, STATION),
    # unlock requested with a transaction active: energy stops, the lock
    # opens, the session is over (red LED until the EV leaves).
    ("ERR_UNLOCK_DURING_TRANSACT", _OTHER, UNPLUG, 1, CONN),
    # Board supply rails (VCC main, 3V3IO, VBUFF), not the grid: OCPP's
    # Over/UnderVoltage are about the grid (manual 8.2 ties them to
    # OverVoltageLimit/UnderVoltageLimit), so these are InternalError.
    ("ERR_VOLTAGE_TOO_HIGH", _INTERNAL, SELF, 1, STATION),
    ("ERR_VOLTAGE_TOO_LOW", _INTERNAL, SELF, 1, STATION),
    # VCC main under 10 V: contactors open. An event of the supply rather than
    # a component failure, hence OtherError.
    ("IOCU_EVENT_POWER_FAILURE", _OTHER, SELF, 1, STATION),
    # extension: welded contactor; the socket may be live, so the lock stays
    # closed and only a service action (clear_error/reset) clears it.
    ("ERR_RELAY_WELDED", _SWITCH, RESET, 1, CONN),
    ("ERR_RELAY_NO_CLOSE", _SWITCH, UNPLUG, 1, CONN),
    # extension: a periphery (the CCID) failed, not the controller itself:
    # OtherError rather than InternalError (manual 8.2) or GroundFailure
    # (no fault current was detected).
    ("ERR_CCID_SELFTEST_FAILED", _OTHER, UNPLUG, 1, CONN),
    ("ERR_EXTERNAL", _OTHER, RESET, 1, CONN),
)

# Flat lookups built once at import (the tick indexes these, never TABLE).
KIND = bytearray(N_CODES)
BLOCKS = bytearray(N_CODES)
SCOPE = bytearray(N_CODES)
for _i in range(N_CODES):
    KIND[_i] = TABLE[_i][2]
    BLOCKS[_i] = TABLE[_i][3]
    SCOPE[_i] = TABLE[_i][4]

EXTENSIONS = (ERR_RELAY_WELDED, ERR_RELAY_NO_CLOSE, ERR_CCID_SELFTEST_FAILED, ERR_EXTERNAL)


def valid(code: int) -> bool:
    return type(code) is int and 0 < code < N_CODES


def name(code: int) -> str:
    """'ERR_DIODE_FAILURE'; '' for 0; 'ERR_<n>' for an unknown code."""
    if 0 <= code < N_CODES:
        return TABLE[code][0]
    return "ERR_%d" % code


def code_of(name_: str) -> int:
    """Inverse of name(); 0 if unknown."""
    for i in range(1, N_CODES):
        if TABLE[i][0] == name_:
            return i
    return 0


def ocpp(code: int) -> tuple:
    """-> (errorCode, vendorErrorCode, info) for StatusNotification."""
    if code == 0:
        return ("NoError", "", "")
    if not (0 < code < N_CODES):
        return (_INTERNAL, "ERR_%d" % code, INFO)
    row = TABLE[code]
    return (row[1], row[0], INFO)


ocpp_fields = ocpp  # alias


def is_latched(code: int) -> bool:
    k = KIND[code]
    return k == UNPLUG or k == RESET
