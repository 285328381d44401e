# What each error means to a person and what to check (manual 8.2 and 8.5):
# the one text table behind the website's status page and the generated
# docs/troubleshooting.md (tools/gen_troubleshooting.py; a test fails when it
# is stale). The OCPP fields, latching and blocking of the IOCU codes come from
# iocu/errors.py TABLE; this module adds only words. Imported by the website
# and the docs generator, never by the safety core (frozen, the strings stay
# in flash).

# IOCU codes: name -> (meaning, what to check)
IOCU = {
    "ERR_CCID_TRIPPED": (
        "The residual-current device (CCID) detected leakage current; energy stopped at once.",
        "Insulation of the EV, the cable and the socket wiring; the CCID itself (manual 7.1)."),
    "ERR_CHANGE_PWM_NOT_YET_ALLOWED": (
        "A charge rate above 40 A was asked for while the two-step start (diode test at 40 A) was still running; it applies when the step ends.",
        "Nothing in the field: a warning. Frequent reports point at a Central System changing limits every few seconds."),
    "ERR_DIODE_FAILURE": (
        "The EV's diode was not seen on the control pilot during the session; the session was aborted.",
        "Charging cable, the EV's pilot circuit, the PWM wiring, dirty or damaged socket contacts."),
    "ERR_EXT_SENS1_BOUNCED": (
        "External sensor input 1 changed state too often; the input is ignored for 60 s.",
        "Sensor cabling (loose or damaged), the sensor itself, an unstable signal source."),
    "ERR_EXT_SENS2_BOUNCED": (
        "External sensor input 2 changed state too often; the input is ignored for 60 s.",
        "Sensor cabling (loose or damaged), the sensor itself, an unstable signal source."),
    "ERR_HEARTBEAT": (
        "The safety core lost the heartbeat of the communication processor; running sessions were stopped, the LEDs turn red.",
        "Should never happen: a hung or overloaded controller. Power-cycle; if it returns, replace the controller."),
    "ERR_MODE3_PILOT_SHORTED": (
        "The control pilot is shorted to ground (Mode 3 state E).",
        "Charging cable, socket wiring, the EV's connector."),
    "ERR_NOT_LOCKED_FOR_POWER": (
        "The servo lock was found open when energy was to be, or was being, delivered; power stopped at once.",
        "Plug fully inserted, lock pin free of dirt or ice, an object in the socket, the servo itself."),
    "ERR_PLUG_EXPECTED_LOCKED": (
        "The plug could not be locked in time while the session was being prepared.",
        "Servo gearbox, plug seated correctly, dirt (sand, stones, ice) in the lock."),
    "ERR_PLUG_EXPECTED_PRESENT": (
        "The plug was missing while the session was being prepared.",
        "Servo lock defective or forced open, the cable's locking notch damaged."),
    "ERR_RELAYS_MULTIPLE_SWITCHES": (
        "The EV switched Mode 3 states too often (more than 10 times in 5 s); the session was interrupted.",
        "Charging cable and socket contacts; if frequent with several EVs, the controller."),
    "ERR_REQ_CRC_WRONG": (
        "A message between the two processors had a wrong checksum (a warning).",
        "Sporadic reports are harmless; frequent ones point at the controller board."),
    "ERR_RX_BUFFER_OVERFLOW": (
        "The safety core's command buffer overflowed: too many commands in a short time (a warning).",
        "Loose cabling inside the station producing many signal changes."),
    "ERR_SERVO_EXPECTED_LOCK": (
        "The lock should be locked but reports unlocked.",
        "Servo gearbox, a lock forced open, the servo's feedback wiring, a badly seated plug, dirt in the lock."),
    "ERR_SERVO_EXPECTED_UNLOCK": (
        "The lock should be unlocked but reports locked.",
        "Servo gearbox, a lock forced closed, the servo's feedback wiring, a badly seated plug, dirt in the lock."),
    "ERR_SERVO_LOCK_FAILED": (
        "The servo did not reach the locked or unlocked position after its retries.",
        "A blocked or dirty lock, the position feedback wiring, an object in the socket or plug."),
    "ERR_SOCKETID_NOT_ALLOWED": (
        "The safety core got a command for a socket it does not have (a warning).",
        "Firmware update incomplete or mismatched: reinstall the firmware."),
    "ERR_TEMPERATURE_SOCKET": (
        "The socket's temperature sensor reads above the allowed value; energy is stopped until it cools down.",
        "Plug and socket contacts (burn marks, loose terminals), the socket sensor's wiring."),
    "ERR_TEST_CMD_NOT_ALLOWED": (
        "A production test command was refused (a warning).",
        "Should never occur in operation."),
    "ERR_TX_BUFFER_OVERFLOW": (
        "The safety core had more reports waiting than its buffer holds; some were lost (a warning).",
        "Loose cabling producing many signal changes; a controller too busy to read its safety core."),
    "ERR_UNEXP_CHRG_ALLOWED_STATE_A": (
        "The EV disappeared (state A) while charging was allowed; charging was aborted.",
        "EV and cable communication; repeated cases point at the socket or cable."),
    "ERR_UNEXP_INV_STATE": (
        "An invalid Mode 3 state change was seen; charging was aborted.",
        "Damaged socket or charging cable (plug)."),
    "ERR_UNEXP_INV_STATE_FROM_BCD": (
        "An invalid Mode 3 state change from state B, C or D was seen; charging was aborted.",
        "Damaged socket or charging cable (plug)."),
    "ERR_UNEXP_STATE_F_FROM_BCD": (
        "The pilot went to state F (EVSE not available) from B, C or D; charging was aborted.",
        "Damaged socket or charging cable (plug)."),
    "ERR_UNEXPECTED_HW_SETUP": (
        "The safety core was given an impossible hardware setup and starts no charging.",
        "The hardware configuration keys (lock type, relays, sockets); a faulty update."),
    "ERR_UNEXPECTED_PLUG_REMOVAL": (
        "The plug was pulled out while it should have been held by the lock.",
        "Servo lock defective or forced open, the cable's locking notch damaged."),
    "ERR_UNKNOWN_REQ": (
        "The safety core got a command it does not know (a warning).",
        "Mismatched firmware parts: reinstall the firmware."),
    "ERR_UNLOCK_DURING_TRANSACT": (
        "An unlock was carried out during a session (usually a remote UnlockConnector); the session was stopped.",
        "Nothing broken: who sent the unlock. The red LED goes when the EV leaves."),
    "ERR_VOLTAGE_TOO_HIGH": (
        "One of the controller's own supplies (VCC main, VCC buffer, 3.3 V) is too high.",
        "The 12 V power adapter and its adjustment; the controller's converters."),
    "ERR_VOLTAGE_TOO_LOW": (
        "One of the controller's own supplies (VCC main, VCC buffer, 3.3 V) is too low.",
        "The 12 V power adapter (undersized, failing), the controller's converters."),
    "IOCU_EVENT_POWER_FAILURE": (
        "The controller's main supply fell to 10 V: a controlled power-down, contactors opened.",
        "The power adapter (defective or undersized for the load), mains dips, or a reboot in progress."),
    "ERR_RELAY_WELDED": (
        "The contactor's helper contact says closed while the coil is off: the contacts may be welded and the socket live. The lock stays closed.",
        "Replace the contactor. Cleared only by a service action (ClearError, hard reset)."),
    "ERR_RELAY_NO_CLOSE": (
        "The contactor's helper contact stayed open while the coil was on.",
        "Contactor coil and its supply, helper-contact wiring, RelayHelperContact* keys."),
    "ERR_CCID_SELFTEST_FAILED": (
        "The residual-current device did not trip on its self-test (manual 7.1.1).",
        "CCID wiring (test and fault lines), the CCID module."),
    "ERR_EXTERNAL": (
        "A sensor scenario raised an error (SetError action, manual 5.6).",
        "The sensor named in the scenario; cleared by the scenario's ClearError or a reset."),
}

# MCU-side conditions (services/conditions.py and the meters): OCPP errorCode ->
# (meaning, what to check, latches)
OCPP = {
    "OverVoltage": (
        "The grid voltage on an active phase is above OverVoltageLimit (a warning, repeated at most VoltageLimitMaxSequentialStatusNotification times).",
        "Mains supply; the limit and L1Active/L2Active/L3Active keys.", "no"),
    "UnderVoltage": (
        "The grid voltage on an active phase is below UnderVoltageLimit (a warning).",
        "Mains supply, a phase missing, meter wiring; the limit and L*Active keys.", "no"),
    "HighTemperature": (
        "The station is derating: its temperature passed TempLowerOffsetDegrees or TempUpperOffsetDegrees.",
        "Ventilation, sun exposure, the load; the Temp* keys.", "no"),
    "OverCurrentFailure": (
        "The EV drew more than offered for longer than IEC 61851-1 allows (5 s); the offer was lowered and the contactor opened if it went on.",
        "The EV's charger; the meter's current transformers and phase wiring.", "until the EV leaves"),
    "PowerMeterFailure": (
        "The energy meter does not answer, answers garbage, or reports impossible energy; info names the cause.",
        "RS485 wiring and termination, meter address and MeterType, baud rate; S0 wiring.", "no"),
    "ReaderFailure": (
        "The RFID reader (or the master station's reader over RS485) does not answer.",
        "Reader cable, RS485 link to the master, RFIDMasterSlave* keys.", "no"),
    "ConnectorLockFailure": (
        "The cable could not be locked before the transaction; no transaction was started.",
        "See the ERR_* lock codes in the vendorErrorCode.", "until the EV leaves"),
}
