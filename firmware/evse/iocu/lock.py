# Servo lock driver of a socket (FlexCable=True with FlexConnectorWithActuator).
# No actuator (tethered cable, or a socket without actuator): `fitted` False,
# the lock is never driven and never required.
#
# Feedback (HAL lock_sense): bit0 = lock switch, bit1 = plug-present switch of
# a 3-stage actuator (3StageServo). Non-inverted (Mennekes style): bit = 1
# means locked / plug present. InversedServo inverts the feedback bits read
# (bit0, and bit1 on a 3-stage actuator) before anything else.
#
# Driving: the motor runs toward the target until the lock switch reports it,
# at most DRIVE_MS per attempt, PAUSE_MS between attempts, ATTEMPTS attempts;
# then ERR_SERVO_LOCK_FAILED, motor off, and a new series of attempts every
# RETRY_MS (ice melts, dirt moves) or at once when the target changes.
#
# Supervision while holding a position (feedback debounced):
#   holding LOCKED, switch opens:  ERR_NOT_LOCKED_FOR_POWER if the contactor
#                                  is closed (the connector opens it in the
#                                  same tick), else ERR_SERVO_EXPECTED_LOCK
#   holding UNLOCKED, switch closes:                ERR_SERVO_EXPECTED_UNLOCK
#   3-stage: reached LOCKED but the plug switch says no plug while PP says a
#            cable is in (pin closed beside the plug, plug not engaged):
#                                                   ERR_PLUG_EXPECTED_LOCKED
#   3-stage: holding LOCKED, plug switch drops:     ERR_PLUG_EXPECTED_PRESENT
# (Plug removal seen on PP is judged by the connector: ERR_PLUG_EXPECTED_PRESENT
# before energy, ERR_UNEXPECTED_PLUG_REMOVAL during a charge.)
#
# Policy (connector.py decides `want`): lock when a cable is in the socket, a
# session is authorized and the EV is connected (state B/C/D), before any
# PWM or energy; hold while the session lasts (also after an EV-side
# disconnect unless UnlockConnectorOnEVSideDisconnect); unlock at session
# end, on request_unlock(), and while a blocking error other than a welded
# contactor is active (so the user can take the cable); never while the
# contactor is closed.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ticks import ticks_diff
from evse.iocu.debounce import Debounce
from evse.iocu import errors as E_

DRIVE_MS = const(600)
PAUSE_MS = const(200)
ATTEMPTS = const(3)
RETRY_MS = const(30000)
SENSE_N = const(3)
_SENSE_MS = const(20)

# positions
POS_UNKNOWN = const(0)
POS_UNLOCKED = const(1)
POS_LOCKED = const(2)
# driver states
IDLE = const(0)
DRIVING = const(1)
_PAUSE = const(2)
FAILED = const(3)


class Lock:
    def __init__(self) -> None:
        self._sw = Debounce(SENSE_N, _SENSE_MS, -1)
        self._psw = Debounce(SENSE_N, _SENSE_MS, -1)
        self.fitted = False
        self.three_stage = False
        self._inv = 0
        self.reset()

    def configure(self, fitted: bool, three_stage: bool, inversed: bool) -> None:
        self.fitted = bool(fitted)
        self.three_stage = bool(three_stage)
        self._inv = (3 if three_stage else 1) if inversed else 0
        self.reset()

    def reset(self) -> None:
        self.state = IDLE
        self.pos = POS_UNKNOWN
        self.target = POS_UNLOCKED
        self.drive = 0
        self.attempt = 0
        self._t0 = 0
        self.locked = False
        self.plug_sw = 0
        self._sw.reset(-1)
        self._psw.reset(-1)

    def settled(self, want_locked: bool) -> bool:
        """Holding the wanted position, confirmed by the feedback."""
        if not self.fitted:
            return True
        return self.state == IDLE and self.pos == (POS_LOCKED if want_locked else POS_UNLOCKED)

    def feedback(self) -> int:
        """The lock switch as last read (debounced, InversedServo applied):
        1 locked, 0 unlocked, -1 not read yet. What the actuator says, not
        what it was told."""
        return self._sw.value

    def retry(self, now: int) -> None:
        """A new series of attempts at once after FAILED (OCPP UnlockConnector
        is "forcing a new attempt", 5.18) instead of waiting RETRY_MS."""
        if self.fitted and self.state == FAILED:
            self._go(now, self.target)

    def in_motion(self) -> bool:
        return self.state == DRIVING or self.state == _PAUSE or self._sw.pending() or self._psw.pending()

    def next_ms(self, now: int) -> int:
        """ms until this driver needs a tick; -1 = none."""
        if self.state == DRIVING or self._sw.pending() or self._psw.pending():
            return 10
        if self.state == _PAUSE:
            return max(0, PAUSE_MS - ticks_diff(now, self._t0))
        if self.state == FAILED:
            return max(0, RETRY_MS - ticks_diff(now, self._t0))
        return -1

    def _go(self, now: int, target: int) -> None:
        self.target = target
        self.state = DRIVING
        self.attempt = 1
        self._t0 = now
        self.drive = 1 if target == POS_LOCKED else -1

    def step(self, now: int, want_locked: bool, raw: int, plug_present: bool, powered: bool) -> int:
        """One tick. raw = HAL lock_sense(). Returns an ERR_* code or 0;
        self.drive is the motor command to write (1 lock, -1 unlock, 0 off);
        self.locked is True only while holding LOCKED, confirmed."""
        err = self._step(now, want_locked, raw, plug_present, powered)
        self.locked = self.fitted and self.state == IDLE and self.pos == POS_LOCKED
        return err

    def _step(self, now: int, want_locked: bool, raw: int, plug_present: bool, powered: bool) -> int:
        if not self.fitted:
            self.drive = 0
            return 0
        sense = raw ^ self._inv
        sw = sense & 1
        self._sw.update(now, sw)
        if self.three_stage:
            self.plug_sw = (sense >> 1) & 1
            self._psw.update(now, self.plug_sw)
        target = POS_LOCKED if want_locked else POS_UNLOCKED
        st = self.state
        if st == IDLE:
            if self.pos != target:
                self._go(now, target)
                st = DRIVING
            else:
                v = self._sw.value
                if self.pos == POS_LOCKED and v == 0:
                    self.pos = POS_UNLOCKED
                    return E_.ERR_NOT_LOCKED_FOR_POWER if powered else E_.ERR_SERVO_EXPECTED_LOCK
                if self.pos == POS_UNLOCKED and v == 1:
                    self.pos = POS_LOCKED
                    return E_.ERR_SERVO_EXPECTED_UNLOCK
                if self.three_stage and self.pos == POS_LOCKED and self._psw.value == 0:
                    # the plug left the locked socket (forced / broken notch)
                    self.pos = POS_UNKNOWN
                    return E_.ERR_PLUG_EXPECTED_PRESENT
                return 0
        elif target != self.target:
            self._go(now, target)  # re-target at once (also from FAILED)
            st = DRIVING
        if st == DRIVING:
            want_sw = 1 if self.target == POS_LOCKED else 0
            if sw == want_sw:
                self.drive = 0
                self.state = IDLE
                self.pos = self.target
                self._sw.reset(sw)
                if self.three_stage:
                    self._psw.reset(self.plug_sw)
                if self.pos == POS_LOCKED:
                    if self.three_stage and self.plug_sw == 0 and plug_present:
                        self.pos = POS_UNKNOWN  # closed beside the plug: release
                        return E_.ERR_PLUG_EXPECTED_LOCKED
                return 0
            if ticks_diff(now, self._t0) >= DRIVE_MS:
                self.drive = 0
                self._t0 = now
                if self.attempt >= ATTEMPTS:
                    self.state = FAILED
                    self.pos = POS_UNKNOWN
                    return E_.ERR_SERVO_LOCK_FAILED
                self.state = _PAUSE
            return 0
        if st == _PAUSE:
            if ticks_diff(now, self._t0) >= PAUSE_MS:
                self.attempt += 1
                self.state = DRIVING
                self._t0 = now
                self.drive = 1 if self.target == POS_LOCKED else -1
            return 0
        # FAILED: motor off, a new series of attempts every RETRY_MS
        self.drive = 0
        if ticks_diff(now, self._t0) >= RETRY_MS:
            self._go(now, self.target)
        return 0
