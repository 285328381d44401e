# Contactor (main power relay) of one connector: the closing rule and the
# helper-contact supervision.
#
# may_close() is THE rule: the coil is energised only while every condition
# holds, evaluated every tick after all inputs of that tick were processed,
# so it opens in the same tick a condition fails:
#   - a session is authorized by the MCU, and the connector is operative
#   - the pilot (debounced) is C, or D with ventilation_ok (see pilot.py)
#   - the lock confirms LOCKED where an actuator is fitted
#   - the offered current (PWM running) is >= 6 A
#   - no blocking error on the connector or the station
#   - the CCID (if fitted) passed its self-test and reports no fault
#   - the diode test passed since the PWM started (pilot.py)
#
# Helper contact (SafetyRelayEnabled, SSCU): a contact of the contactor wired
# to relay_sense(); RelayHelperContactNormallyOpen True = NO (reads 1 when
# the contactor is closed), False = NC (reads 0 when closed). SETTLE_MS after
# each coil change the helper must agree with the coil; SENSE_N consecutive
# disagreeing samples raise (extension codes, the manual has none):
#   coil off, contacts closed  -> ERR_RELAY_WELDED   (PowerSwitchFailure)
#   coil on, contacts open     -> ERR_RELAY_NO_CLOSE (PowerSwitchFailure)
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ticks import ticks_diff
from evse.iocu import errors as E_
from evse.iocu import pilot as P

SETTLE_MS = const(200)
SENSE_N = const(3)
MIN_DA = const(60)


def may_close(authorized: bool, operative: bool, pilot: int, ventilation_ok: bool,
              lock_ok: bool, offered_da: int, blocked: bool, ccid_ok: bool,
              diode_ok: bool) -> bool:
    if not (authorized and operative and lock_ok and ccid_ok and diode_ok) or blocked:
        return False
    if offered_da < MIN_DA:
        return False
    return pilot == P.C or (pilot == P.D and ventilation_ok)


class Contactor:
    def __init__(self) -> None:
        self.safety_relay = False
        self.helper_no = True
        self.reset()

    def configure(self, safety_relay: bool, helper_no: bool) -> None:
        self.safety_relay = bool(safety_relay)
        self.helper_no = bool(helper_no)
        self._bad = 0

    def reset(self) -> None:
        self.closed = False   # commanded (coil)
        self._t_switch = 0
        self._bad = 0
        self.contacts = False  # helper reading, meaningful with safety_relay

    def in_motion(self, now: int) -> bool:
        return self.safety_relay and (ticks_diff(now, self._t_switch) < SETTLE_MS or self._bad > 0)

    def next_ms(self, now: int) -> int:
        if not self.safety_relay:
            return -1
        if self._bad > 0:
            return 10
        left = SETTLE_MS - ticks_diff(now, self._t_switch)
        return left if left > 0 else -1

    def command(self, now: int, on: bool) -> bool:
        """Set the coil; True when it changed."""
        if on == self.closed:
            return False
        self.closed = on
        self._t_switch = now
        self._bad = 0
        return True

    def supervise(self, now: int, sense: int) -> int:
        """Helper-contact check; returns an ERR_* code or 0."""
        if not self.safety_relay:
            return 0
        c = (sense == 1) if self.helper_no else (sense == 0)
        self.contacts = c
        if ticks_diff(now, self._t_switch) < SETTLE_MS or c == self.closed:
            self._bad = 0
            return 0
        self._bad += 1
        if self._bad < SENSE_N:
            return 0
        self._bad = 0
        return E_.ERR_RELAY_NO_CLOSE if self.closed else E_.ERR_RELAY_WELDED
