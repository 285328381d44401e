# IOCU: the safety core (manual 8.1). Mode 3 control pilot, PWM, servo lock,
# contactor with helper contact, CCID, and the station supervision (supply
# rails, MCU heartbeat, external inputs, command link). Synchronous, tick
# driven, allocation-free in steady state; reports upward through
# evse.iocu.events.EventRing.
#
#   errors     ERR_* codes and the OCPP mapping table
#   events     EventRing and EV_* codes
#   pilot      pilot classification, debounce, transition table, diode test
#   pwm        amps <-> duty, PP cable capacity, >40 A two-step start
#   lock       servo lock driver (2/3-stage, inversed)
#   contactor  closing rule, helper-contact supervision
#   ccid       residual current device self-test / monitoring / re-test
#   connector  Connector: ties the above together, tick(now_ms)
#   station    Iocu: station supervision + the one tick for all connectors
#   link       MCU -> IOCU command frames (queue + CRC)
#   port       IocuPort: the MCU side's only handle (frames out, mirrors in)
#   status     OCPP ChargePointStatus derivation
#   debounce   Debounce helper
