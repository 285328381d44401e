# CCID: charge current interrupting device (residual current monitor, manual
# chapter 7; SSCU, wired to StationIO ccid_test_set / ccid_fault).
#
#  1. Self-test before a session (7.1.1): when a session starts (authorized,
#     EV connected), the Test line goes on; Fault must rise within TEST_MS,
#     then Test goes off and Fault must fall within RELEASE_MS. Only then
#     may the PWM start and the contactor close. A failed test raises
#     ERR_CCID_SELFTEST_FAILED (extension code), latched until the EV leaves.
#  2. Monitoring (7.1.2): while the session lasts, Fault = 1 in ANY sample
#     raises ERR_CCID_TRIPPED; the connector opens the contactor in the same
#     tick (no debounce on the way to safety).
#  3. Auto re-test (7.1.3): RETEST_MS (15 min) after a trip, if the Fault
#     line is low, the self-test runs again; when it passes the trip error
#     clears and energy is restored. If the Fault line is still high or the
#     test fails, the next re-test is 15 min later. After MAX_RETESTS failed
#     re-tests in one session the CCID gives up: the session stays stopped
#     and ERR_CCID_TRIPPED stays until the EV is disconnected (a new session
#     starts with a fresh self-test and a fresh re-test count).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ticks import ticks_diff
from evse.iocu import errors as E_

TEST_MS = const(500)
RELEASE_MS = const(500)
RETEST_MS = const(900000)
_MAX_RETESTS = const(3)

OFF = const(0)        # no CCID fitted
IDLE = const(1)       # no session / not yet tested
TEST_ON = const(2)    # Test line on, waiting for Fault to rise
TEST_OFF = const(3)   # Test line off, waiting for Fault to fall
OK = const(4)         # tested, monitoring
_TRIPPED = const(5)    # fault seen, waiting for the re-test
FAILED = const(6)     # self-test failed, until the session ends
GAVE_UP = const(7)    # MAX_RETESTS re-tests failed, until the session ends
NAMES = ("OFF", "IDLE", "TEST_ON", "TEST_OFF", "OK", "TRIPPED", "FAILED", "GAVE_UP")

CLEARED = const(-1)   # step() result: the trip is over, clear ERR_CCID_TRIPPED


class Ccid:
    def __init__(self) -> None:
        self.state = OFF
        self.test_out = False
        self.retests = 0
        self._retest = False
        self._t0 = 0

    def configure(self, fitted: bool) -> None:
        self.state = IDLE if fitted else OFF
        self.test_out = False
        self.retests = 0
        self._retest = False

    def ok(self) -> bool:
        """Energy allowed as far as the CCID is concerned."""
        return self.state == OFF or self.state == OK

    def next_ms(self, now: int) -> int:
        st = self.state
        if st == TEST_ON or st == TEST_OFF:
            return 10
        if st == _TRIPPED:
            left = RETEST_MS - ticks_diff(now, self._t0)
            return left if left > 0 else 0
        return -1

    def step(self, now: int, session: bool, fault: int) -> int:
        """One tick. Returns an ERR_* code to raise, CLEARED, or 0.
        Drive the Test line from self.test_out afterwards."""
        st = self.state
        if st == OFF:
            return 0
        if not session:
            self.state = IDLE
            self.test_out = False
            self.retests = 0
            self._retest = False
            return 0
        if st == IDLE:
            self._start_test(now, False)
            return 0
        if st == OK:
            if fault:
                # no re-test left in this session: give up at once
                self.state = GAVE_UP if self.retests >= _MAX_RETESTS else _TRIPPED
                self._t0 = now
                return E_.ERR_CCID_TRIPPED
            return 0
        if st == TEST_ON:
            if fault:
                self.state = TEST_OFF
                self.test_out = False
                self._t0 = now
            elif ticks_diff(now, self._t0) >= TEST_MS:
                return self._test_failed(now)
            return 0
        if st == TEST_OFF:
            if not fault:
                self.state = OK
                if self._retest:
                    self._retest = False
                    return CLEARED
            elif ticks_diff(now, self._t0) >= RELEASE_MS:
                return self._test_failed(now)
            return 0
        if st == _TRIPPED:
            if ticks_diff(now, self._t0) >= RETEST_MS:
                self.retests += 1
                if fault:  # still unsafe: this re-test failed
                    return self._retest_failed(now)
                self._start_test(now, True)
            return 0
        return 0  # FAILED / GAVE_UP: wait for the session to end

    def _start_test(self, now: int, retest: bool) -> None:
        self.state = TEST_ON
        self.test_out = True
        self._retest = retest
        self._t0 = now

    def _test_failed(self, now: int) -> int:
        self.test_out = False
        if self._retest:
            return self._retest_failed(now)
        self.state = FAILED
        return E_.ERR_CCID_SELFTEST_FAILED

    def _retest_failed(self, now: int) -> int:
        self._retest = False
        if self.retests >= _MAX_RETESTS:
            self.state = GAVE_UP
        else:
            self.state = _TRIPPED
            self._t0 = now
        return 0
