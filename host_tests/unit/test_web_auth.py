# Login, lockout and sessions of the local management website (evse.web.auth),
# on a fake clock and configuration.
from evse.web import auth as A

PW = "$r33nFI^x"


class Clock:
    def __init__(self) -> None:
        self.t = 1000

    def ticks_ms(self) -> int:
        return self.t


class Cfg:
    def __init__(self) -> None:
        self.pw = PW

    def get(self, name: str):
        assert name == "LocalManagementPassword"
        return self.pw


_K = [0]


def rng(n: int) -> bytes:
    _K[0] += 1
    return bytes([(_K[0] * 7 + i) & 255 for i in range(n)])


def make():
    clock = Clock()
    cfg = Cfg()
    return A.Auth(cfg, clock, rng), clock, cfg


def test_same_is_plain_equality():
    assert A.same("abc", "abc") and A.same("", "")
    assert not A.same("abc", "abd") and not A.same("ab", "abc") and not A.same("abc", "")
    assert not A.same("", "abc")


def test_users_and_passwords():
    a, _, _ = make()
    assert a.check("admin", PW) == A.OK
    assert a.check("", PW) == A.OK
    assert a.check("root", PW) == A.BAD
    assert a.check("admin", PW + "x") == A.BAD
    assert a.check("admin", "") == A.BAD
    assert a.failures == 3


def test_lockout_after_five_failures_even_for_the_right_password():
    a, clock, _ = make()
    for i in range(A.MAX_FAILURES):
        assert a.locked_s() == 0
        assert a.check("admin", "guess%d" % i) == A.BAD
    assert a.locked_s() == 60
    assert a.check("admin", PW) == A.LOCKED
    clock.t += 59500
    assert a.locked_s() == 1 and a.check("admin", PW) == A.LOCKED
    clock.t += 500
    assert a.locked_s() == 0
    assert a.check("admin", PW) == A.OK


def test_a_success_resets_the_failure_count():
    a, _, _ = make()
    for _ in range(A.MAX_FAILURES - 1):
        a.check("admin", "x")
    assert a.check("admin", PW) == A.OK
    for _ in range(A.MAX_FAILURES - 1):
        a.check("admin", "x")
    assert a.locked_s() == 0


def test_lockout_survives_tick_wrap():
    a, clock, _ = make()
    clock.t = 0x3FFFFFFF - 1000
    for _ in range(A.MAX_FAILURES):
        a.check("admin", "x")
    clock.t = 5000              # wrapped, 6 s later
    assert a.locked_s() == 54


def test_sessions():
    a, clock, _ = make()
    sid, csrf = a.login()
    assert len(sid) == 32 and len(csrf) == 32 and sid != csrf
    assert a.session(sid) == csrf
    assert a.session("") is None and a.session("nope") is None
    clock.t += A.IDLE_MS - 1
    assert a.session(sid) == csrf           # each use restarts the idle timer
    clock.t += A.IDLE_MS - 1
    assert a.session(sid) == csrf
    clock.t += A.IDLE_MS + 1
    assert a.session(sid) is None
    sid, csrf = a.login()
    a.logout(sid)
    assert a.session(sid) is None


def test_oldest_session_gives_way():
    a, _, _ = make()
    ids = [a.login()[0] for _ in range(A.MAX_SESSIONS + 1)]
    assert a.count() == A.MAX_SESSIONS
    assert a.session(ids[0]) is None
    for sid in ids[1:]:
        assert a.session(sid) is not None


def test_a_new_password_ends_every_session():
    a, _, cfg = make()
    sid, _ = a.login()
    cfg.pw = "rotatedPW123"
    assert a.session(sid) is None
    assert a.check("admin", PW) == A.BAD
    assert a.check("admin", "rotatedPW123") == A.OK
