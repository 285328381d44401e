# Control pilot (IEC 61851-1 Mode 3) state machine of one connector.
#
# Classification of the pilot HIGH level (mV), each band +/-1 V:
#   A 12 V (no EV)   B 9 V (EV connected)   C 6 V (EV wants energy)
#   D 3 V (EV wants energy, ventilation required)   E 0 V (shorted / no power)
#   F -12 V (EVSE not available)   anything else: INVALID.
# While PWM runs (0 < duty < 1000 permille) the LOW level must read -12 V
# +/-1 V (<= DIODE_MAX_MV): the EV's diode blocks the negative half. A higher
# low level with an EV connected (B/C/D) is ERR_DIODE_FAILURE.
#
# A classified reading counts only when it has been read in DEBOUNCE_N
# consecutive samples spanning >= DEBOUNCE_MS (the diode test likewise).
#
# Transition table (old debounced state -> new), see transition_error():
#   any -> E                      ERR_MODE3_PILOT_SHORTED
#   B/C/D -> F                    ERR_UNEXP_STATE_F_FROM_BCD
#   A/E/INVALID/start -> F        ERR_UNEXP_INV_STATE  (only the EVSE makes F)
#   B/C/D -> INVALID              ERR_UNEXP_INV_STATE_FROM_BCD
#   A/E/F/start -> INVALID        ERR_UNEXP_INV_STATE
#   C/D -> A while charging is allowed (PWM offered: the EV was told it may
#   draw current, and left without passing B, i.e. opened the pilot under
#   load)                         ERR_UNEXP_CHRG_ALLOWED_STATE_A
#   every other change (A<->B<->C<->D, B->A, back from E/F/INVALID): no error.
# More than MAX_SWITCHES debounced changes within SWITCH_WINDOW_MS:
#   ERR_RELAYS_MULTIPLE_SWITCHES (preallocated ring of timestamps).
#
# State D rule (ventilation): the connector keeps signalling PWM in D but
# closes the contactor in D only when configured with ventilation_ok=True.
# Otherwise the EV waits in D with the contactor open; status SuspendedEVSE.
# (Withdrawing the PWM instead would make the EV bounce B<->D.)
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ticks import ticks_diff
from evse.iocu.debounce import Debounce
from evse.iocu import errors as E_

UNKNOWN = const(0)
A = const(1)
B = const(2)
C = const(3)
D = const(4)
E = const(5)
F = const(6)
INVALID = const(7)
NAMES = ("?", "A", "B", "C", "D", "E", "F", "INVALID")

_DEBOUNCE_N = const(3)
DEBOUNCE_MS = const(20)
_DIODE_MAX_MV = const(-11000)
_MAX_SWITCHES = const(10)
_SWITCH_WINDOW_MS = const(5000)


def classify(high_mv: int) -> int:
    if 11000 <= high_mv <= 13000:
        return A
    if 8000 <= high_mv <= 10000:
        return B
    if 5000 <= high_mv <= 7000:
        return C
    if 2000 <= high_mv <= 4000:
        return D
    if -1000 <= high_mv <= 1000:
        return E
    if -13000 <= high_mv <= -11000:
        return F
    return INVALID


def ev_connected(state: int) -> bool:
    return B <= state <= D


def transition_error(old: int, new: int, charging_allowed: bool) -> int:
    """ERR_* code for a debounced change old -> new, or 0."""
    if new == old:
        return 0
    bcd = B <= old <= D
    if new == E:
        return E_.ERR_MODE3_PILOT_SHORTED
    if new == F:
        return E_.ERR_UNEXP_STATE_F_FROM_BCD if bcd else E_.ERR_UNEXP_INV_STATE
    if new == INVALID:
        return E_.ERR_UNEXP_INV_STATE_FROM_BCD if bcd else E_.ERR_UNEXP_INV_STATE
    if new == A and (old == C or old == D) and charging_allowed:
        return E_.ERR_UNEXP_CHRG_ALLOWED_STATE_A
    return 0


class Pilot:
    def __init__(self) -> None:
        self._deb = Debounce(_DEBOUNCE_N, DEBOUNCE_MS, UNKNOWN)
        self._diode = Debounce(_DEBOUNCE_N, DEBOUNCE_MS, -1)
        self._ring = [0] * (_MAX_SWITCHES + 1)
        self._ri = 0
        self._rn = 0
        self.state = UNKNOWN
        self.prev = UNKNOWN
        self.diode_ok = False

    def reset(self) -> None:
        self._deb.reset(UNKNOWN)
        self._diode.reset(-1)
        self._rn = 0
        self.state = UNKNOWN
        self.prev = UNKNOWN
        self.diode_ok = False

    def in_motion(self) -> bool:
        return self._deb.pending() or self._diode.pending()

    def sample(self, now: int, high_mv: int) -> bool:
        """Feed the high level; True when the debounced state changed
        (then self.prev is the old state, self.state the new one)."""
        if self._deb.update(now, classify(high_mv)):
            self.prev = self.state
            self.state = self._deb.value
            return True
        return False

    def count_switch(self, now: int) -> bool:
        """Record a debounced change; True when more than MAX_SWITCHES
        happened within SWITCH_WINDOW_MS."""
        ring = self._ring
        n = _MAX_SWITCHES + 1
        ring[self._ri] = now
        self._ri += 1
        if self._ri == n:
            self._ri = 0
        if self._rn < n:
            self._rn += 1
            if self._rn < n:
                return False
        # ring full: _ri now points at the oldest of the last n changes
        return ticks_diff(now, ring[self._ri]) <= _SWITCH_WINDOW_MS

    def diode_sample(self, now: int, low_mv: int, testing: bool) -> bool:
        """Diode test while PWM runs with an EV connected (testing=True).
        Updates diode_ok; True when the diode is confirmed missing."""
        if not testing:
            self._diode.reset(-1)
            self.diode_ok = False
            return False
        if self._diode.update(now, 1 if low_mv <= _DIODE_MAX_MV else 0):
            if self._diode.value == 1:
                self.diode_ok = True
            else:
                self.diode_ok = False
                return True
        return False
