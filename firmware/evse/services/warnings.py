# Warnings that reach the Central System (manual 8.2, 8.5; key
# DetailedWarningMessages). Fed by Station from the safety core's events and
# from the energy pipeline; reports through services/conditions.py (a state:
# raised, then NoError "cleared ..." when it ends) or as one StatusNotification
# event with the current status (a pulse).
#
# What is reported (decision, docs/troubleshooting.md):
# - always: every IOCU error (blocking ones through the connector's/station's
#   error, non-blocking ones with a state such as ERR_EXT_SENS1_BOUNCED as a
#   condition here), the IOCU's pulse warnings (ERR_CHANGE_PWM_NOT_YET_ALLOWED,
#   ERR_TX_BUFFER_OVERFLOW, ERR_REQ_CRC_WRONG, ...) as one StatusNotification
#   each, and temperature derating as HighTemperature on connector 0 for as
#   long as it lasts (the Central System otherwise sees a current it did not
#   ask for without a reason);
# - DetailedWarningMessages true adds the manual's example: a charging limit
#   that the connector cannot deliver (below the 6 A Mode 3 minimum, so
#   charging pauses; or above what the cable and MaxCurrentConnection allow),
#   as OtherError / PROFILE_NOT_DELIVERABLE on that connector while it lasts,
#   and the temperature in the HighTemperature info.
# Every report is also a line in the error log.
from evse.iocu import errors
from evse.iocu.events import EV_ERROR_SET, EV_ERROR_CLEARED, EV_WARNING
from evse.services.conditions import PRIO_WARNING

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_MIN_DA = const(60)            # IEC 61851-1: no PWM below 6 A


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("DetailedWarningMessages",))


class Warnings:
    def __init__(self, conditions, config, error_log, send_event) -> None:
        self.cond = conditions
        self.config = config
        self.log = error_log
        self.send_event = send_event    # (cid, errorCode, vendorErrorCode, info)
        self._derating = None       # type: tuple | None  # (cap, whole degrees) reported; None: not derating

    def _detailed(self) -> bool:
        return bool(self.config.get("DetailedWarningMessages"))

    # ---- the safety core's events ------------------------------------------
    def iocu_event(self, conn: int, ev: int, code: int) -> None:
        if ev == EV_ERROR_SET:
            name = errors.name(code)
            self.log.add("c%d %s" % (conn, name))
            if not errors.BLOCKS[code]:     # blocking ones are the connector's error
                ocpp_code, vendor, info = errors.ocpp(code)
                self.cond.set(conn, name, ocpp_code, vendor, info, PRIO_WARNING)
        elif ev == EV_ERROR_CLEARED:
            self.cond.clear(conn, errors.name(code))
        elif ev == EV_WARNING:
            ocpp_code, vendor, info = errors.ocpp(code)
            self.log.warn("c%d warning %s" % (conn, vendor))
            self.send_event(conn, ocpp_code, vendor, info)

    # ---- the energy pipeline ---------------------------------------------------
    def derating(self, cap_da, temp_dc: int) -> None:
        """Temperature derating (TempLower/UpperOffset*): cap_da is the cap in
        force (None: not derating), temp_dc the station temperature in 0.1
        degC. Called every step: the report is built only when the cap (or,
        detailed, the whole degree) changes."""
        if cap_da is None:
            if self._derating is not None:
                self._derating = None
                self.cond.clear(0, "derating")
            return
        detailed = self._detailed()
        now = (cap_da, int(temp_dc / 10) if detailed else 0)
        if now == self._derating:
            return
        info = "derating to %d A" % (cap_da // 10)
        if detailed:
            info += " at %d C" % now[1]
        if self._derating is None:
            self.log.add("c0 HighTemperature " + info)
        self._derating = now
        self.cond.set(0, "derating", "HighTemperature", "", info, PRIO_WARNING)

    def limit(self, cid: int, in_tx: bool, target_da, max_da: int) -> None:
        """DetailedWarningMessages: a charging limit (deci-amps, None: none)
        the connector cannot deliver."""
        info = ""
        if in_tx and target_da is not None and self._detailed():
            da = target_da
            if 0 < da < _MIN_DA:
                info = "limit %.1f A below 6 A: paused" % (da / 10)
            elif da > max_da > 0:
                info = "limit %.1f A above %.1f A offered" % (da / 10, max_da / 10)
        if info:
            if self.cond.set(cid, "limit", "OtherError", "PROFILE_NOT_DELIVERABLE", info, PRIO_WARNING):
                self.log.add("c%d %s" % (cid, info))
        else:
            self.cond.clear(cid, "limit")
