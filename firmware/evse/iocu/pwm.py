# Offered current -> control pilot duty (IEC 61851-1 Annex A), in integers:
# currents in deci-amps (dA), duty in permille (1000 = steady +12 V, no PWM).
#
#   6.0 A .. 51.0 A:   duty% = A / 0.6        permille = round(dA * 5 / 3)
#   51.1 A .. 80.0 A:  duty% = A / 2.5 + 64   permille = dA * 2 // 5 + 640
#   below 6 A:         nothing offered -> 1000 (never a duty under 10 %)
# 51.1 .. 52.5 A cannot be signalled (IEC gap between the two ranges): the
# second formula gives 84.4 .. 85 %, which an EV reads with the FIRST range
# as 50.6 .. 51 A, less than at 51 A; so these get 85 % (51 A), keeping the
# duty monotonic in the current and never above what was asked.
# The first range is rounded to the nearest 0.1 % (16 A -> 267 = 26.7 %; an
# EV reads 16.0 A, IEC 61851-1 gives it +/-0.5 A of tolerance anyway).
#
# Cable capacity from the PP resistor of a socket (IEC 61851-1 Table B.2 /
# IEC 62196): 1500 ohm -> 13 A, 680 -> 20 A, 220 -> 32 A, 100 -> 63 A, read
# with the detection bands below. Tethered cables have no PP limit.
#
# Two-step start above 40 A (manual ERR_CHANGE_PWM_NOT_YET_ALLOWED): when the
# PWM starts with more than 40 A to offer, the first duty offers STEP_DA
# (40 A) until the diode test has passed, then the full rate (in practice
# DEBOUNCE_MS after the PWM starts; bounded by the diode test, which fails
# the session within tens of ms if the diode is missing). A later rise above
# 40 A while the PWM keeps running is applied at once (the diode has passed).
# Rule for the error: a set_limit_da() above 40 A that arrives while the
# two-step is in progress is reported as the warning
# ERR_CHANGE_PWM_NOT_YET_ALLOWED (OCPP InternalError, kind PULSE); the value
# is still stored and becomes the target when the step ends, so an energy
# management limit is never exceeded and never lost. Limits <= 40 A apply at
# once and end the two-step.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

MIN_DA = const(60)
MAX_DA = const(800)
_SPLIT_DA = const(510)
STEP_DA = const(400)
NO_PWM = const(1000)

PP_NONE = const(-1)


def duty_for_da(da: int) -> int:
    """Offered current (dA) -> duty permille; 1000 when under 6 A."""
    if da < MIN_DA:
        return NO_PWM
    if da > MAX_DA:
        da = MAX_DA
    if da <= _SPLIT_DA:
        return (da * 5 + 1) // 3   # rounded to the nearest 0.1 %
    d = da * 2 // 5 + 640
    return d if d > 850 else 850


def cable_da(ohms: int) -> int:
    """PP resistor -> cable capacity in dA; -1 = no cable (open);
    0 = cable present but the resistor is out of every band."""
    if ohms < 0 or ohms >= 2200:
        return PP_NONE
    if ohms >= 1000:
        return 130
    if ohms >= 330:
        return 200
    if ohms >= 150:
        return 320
    if ohms >= 75:
        return 630
    return 0


class Pwm:
    """Offered current with the >40 A two-step start."""

    def __init__(self) -> None:
        self.running = False
        self.stepping = False
        self.offered_da = 0
        self.duty = NO_PWM

    def reset(self) -> None:
        self.running = False
        self.stepping = False
        self.offered_da = 0
        self.duty = NO_PWM

    def update(self, enable: bool, want_da: int, diode_ok: bool) -> int:
        """want_da: min of all limits (already floored at the minimum);
        returns the duty permille to drive."""
        if not enable or want_da < MIN_DA:
            self.running = False
            self.stepping = False
            self.offered_da = 0
            self.duty = NO_PWM
            return NO_PWM
        if want_da > MAX_DA:
            want_da = MAX_DA
        if not self.running:
            self.running = True
            self.stepping = want_da > STEP_DA and not diode_ok
        if self.stepping and (diode_ok or want_da <= STEP_DA):
            self.stepping = False
        off = STEP_DA if self.stepping else want_da
        self.offered_da = off
        self.duty = duty_for_da(off)
        return self.duty
