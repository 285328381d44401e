# Login, sessions and brute-force lockout of the local management website.
#
# One account: user "admin" (or an empty user name) with the configuration's
# LocalManagementPassword (manual 4.4; the Central System rotates it whenever it
# reads the configuration, so only the operator knows the current one).
#
# - Pages: form login (POST /login) -> a session: a random 128-bit id in an
#   HttpOnly SameSite=Strict cookie, plus a random 128-bit CSRF token that
#   every state-changing form must echo. At most MAX_SESSIONS (the oldest is
#   dropped), each ending after IDLE_MS without a request.
# - API: HTTP Basic with the same credentials (or the page session).
# - Lockout: MAX_FAILURES wrong attempts in a row (form and Basic alike) lock
#   every login for LOCK_MS; a correct password during the lockout is refused
#   too (429), so guessing runs at most MAX_FAILURES per LOCK_MS. The lockout
#   is global, not per address: on a LAN addresses are cheap to change.
# - A new password (rotated by the Central System) ends every session.
# - Times come from the station clock's ticks (virtual in the simulator).
# The password is compared in constant time and never logged or shown.
TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only
    from typing import Any  # TYPE_CHECKING only

from evse.ticks import ticks_add, ticks_diff

MAX_FAILURES = 5
LOCK_MS = 60000
IDLE_MS = 900000
MAX_SESSIONS = 4

OK = 0
BAD = 1
LOCKED = 2

USERS = ("admin", "")
COOKIE = "evse_sid"             # the session cookie


try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("Registered",))


def same(a: str, b: str) -> bool:
    """a == b, in a time that depends only on their lengths."""
    x = a.encode()
    y = b.encode()
    r = len(x) ^ len(y)
    n = len(y)
    for i in range(len(x)):
        r |= x[i] ^ (y[i % n] if n else 0)
    return r == 0


def hex_token(raw) -> str:
    return "".join(["%02x" % b for b in raw])


class Auth:
    def __init__(self, config, clock, rng_bytes) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng_bytes
        self.failures = 0
        self._locked_until = None   # type: Any  # ticks when the lockout ends
        self._sessions = {}         # type: dict  # id -> [csrf token, last use ticks, created seq]
        self._seq = 0
        self._pw = self._password()

    def _password(self) -> str:
        return self.config.get("LocalManagementPassword")

    # ---- passwords and lockout ---------------------------------------------------
    def locked_s(self) -> int:
        """Seconds the lockout still lasts (0: none)."""
        if self._locked_until is None:
            return 0
        left = ticks_diff(self._locked_until, self.clock.ticks_ms())
        if left <= 0:
            self._locked_until = None
            self.failures = 0
            return 0
        return (left + 999) // 1000

    def check(self, user: str, password: str) -> int:
        """One login attempt -> OK, BAD or LOCKED (not even checked)."""
        if self.locked_s():
            return LOCKED
        good = same(password, self._password())
        if good and user in USERS:
            self.failures = 0
            return OK
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            self._locked_until = ticks_add(self.clock.ticks_ms(), LOCK_MS)
        return BAD

    # ---- sessions ----------------------------------------------------------------------
    def _sync(self) -> None:
        pw = self._password()
        if pw != self._pw:          # rotated by the Central System: everyone out
            self._pw = pw
            self._sessions = {}

    def login(self) -> tuple:
        """After check() == OK: a new session -> (session id, csrf token)."""
        self._sync()
        if len(self._sessions) >= MAX_SESSIONS:
            oldest = None
            for k, s in self._sessions.items():
                if oldest is None or s[2] < self._sessions[oldest][2]:
                    oldest = k
            del self._sessions[oldest]
        sid = hex_token(self.rng(16))
        csrf = hex_token(self.rng(16))
        self._seq += 1
        self._sessions[sid] = [csrf, self.clock.ticks_ms(), self._seq]
        return sid, csrf

    def session(self, sid: str):
        """The CSRF token of a live session (its idle timer restarts), else None."""
        self._sync()
        if not sid:
            return None
        s = self._sessions.get(sid)
        if s is None:
            return None
        now = self.clock.ticks_ms()
        if ticks_diff(now, s[1]) > IDLE_MS:
            del self._sessions[sid]
            return None
        s[1] = now
        return s[0]

    def logout(self, sid: str) -> None:
        self._sessions.pop(sid, None)

    def end_all(self) -> None:
        """Every session ends (a reset): the next request needs a new login."""
        self._sessions = {}

    def count(self) -> int:
        return len(self._sessions)
