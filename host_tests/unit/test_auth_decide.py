# The authorization decision (evse.services.auth.Authorizer): every key on
# and off, every AuthorizationStatus, list/cache priority, offline and
# timeout rules, CS answers, RemoteStart (OCPP 1.6 3.5, 4.1, 5.11).
from support import tmpdir
from test_auth import DAY, entry, info, make

from evse.hal.fsstore import Storage
from evse.services.auth import Authorizer, may_start, may_stop
from evse.services.authlist import AuthCache

STATUSES = ("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx")
NOT_VALID = ("Blocked", "Expired", "Invalid")


def auth(**over):
    d, cfg, clock, al, cache = make(**over)
    return Authorizer(cfg, al, cache, clock), cfg, clock, al, cache


def listed(a, al, tag, status="Accepted", parent=None, expiry=None):
    v = al.version() + 1
    assert al.send_local_list(v, "Differential", [entry(tag, status, parent, expiry)]) == "Accepted"


# ---- R3 unknown tags -------------------------------------------------------------------
def test_unknown_online_asks_cs():
    a = auth()[0]
    assert a.decide("NEW", True) is None


def test_unknown_offline_allow_on():
    a = auth(AllowOfflineTxForUnknownId=True)[0]
    assert a.decide("NEW", False) == ("Accepted", "", "offline")


def test_unknown_offline_allow_off():
    a = auth(AllowOfflineTxForUnknownId=False)[0]
    d = a.decide("NEW", False)
    assert d == ("Invalid", "", "offline") and not may_start(d)


def test_not_an_id_token():
    a = auth()[0]
    assert a.decide("", True) == ("Invalid", "", "format")
    assert a.decide("X" * 21, False)[0] == "Invalid"
    assert a.decide(None, True)[0] == "Invalid"


# ---- R1 local list -------------------------------------------------------------------------
def test_list_every_status_online_preauthorize():
    a, cfg, clock, al, cache = auth(LocalPreAuthorize=True)
    for s in STATUSES:
        listed(a, al, "T" + s, s, parent="G")
        d = a.decide("T" + s, True)
        assert d == (s, "G", "list"), d
        assert may_start(d) == (s == "Accepted")
        assert may_stop(d) == (s in ("Accepted", "ConcurrentTx"))


def test_list_every_status_offline():
    a, cfg, clock, al, cache = auth(LocalAuthorizeOffline=True, AllowOfflineTxForUnknownId=True)
    for s in STATUSES:
        listed(a, al, "T" + s, s)
        assert a.decide("T" + s, False) == (s, "", "list")


def test_list_valid_online_without_preauthorize_asks_cs():
    a, cfg, clock, al, cache = auth(LocalPreAuthorize=False)
    listed(a, al, "A")
    listed(a, al, "C", "ConcurrentTx")
    assert a.decide("A", True) is None
    assert a.decide("C", True) is None


def test_list_not_valid_rejected_even_without_preauthorize():
    a, cfg, clock, al, cache = auth(LocalPreAuthorize=False)
    for s in NOT_VALID:
        listed(a, al, "T" + s, s)
        assert a.decide("T" + s, True) == (s, "", "list")


def test_list_not_valid_offline_never_starts_even_with_allow_unknown():
    for lao in (True, False):
        a, cfg, clock, al, cache = auth(LocalAuthorizeOffline=lao, AllowOfflineTxForUnknownId=True)
        for s in NOT_VALID:
            listed(a, al, "T" + s, s)
            d = a.decide("T" + s, False)
            assert d[0] == s and not may_start(d)


def test_list_valid_offline_without_local_authorize_offline_falls_to_unknown_rule():
    a, cfg, clock, al, cache = auth(LocalAuthorizeOffline=False, AllowOfflineTxForUnknownId=False)
    listed(a, al, "A")
    assert a.decide("A", False) == ("Invalid", "", "offline")
    cfg.set("AllowOfflineTxForUnknownId", True)
    assert a.decide("A", False) == ("Accepted", "", "offline")


def test_list_expired_by_time_rejected():
    a, cfg, clock, al, cache = auth()
    listed(a, al, "A", expiry=clock.now() + 10)
    assert a.decide("A", False)[0] == "Accepted"
    clock.advance_ms(10000)
    assert a.decide("A", False)[0] == "Expired"
    assert a.decide("A", True)[0] == "Expired"


def test_list_disabled_is_ignored():
    a, cfg, clock, al, cache = auth()
    listed(a, al, "B", "Blocked")
    cfg.set("LocalAuthListEnabled", False)
    assert a.decide("B", True) is None                       # ask the CS
    assert a.decide("B", False) == ("Accepted", "", "offline")


def test_list_has_priority_over_cache():
    # 3.5.3; a cache not linked to the list, so both hold the tag
    a, cfg, clock, al, _ = auth()
    cache = AuthCache(Storage(tmpdir("auth")), cfg, clock)
    a = Authorizer(cfg, al, cache, clock)
    cache.update("A", info("Accepted"))
    listed(a, al, "A", "Blocked")
    assert cache.lookup("A")["status"] == "Accepted"
    assert a.decide("A", False) == ("Blocked", "", "list")
    assert a.decide("A", True) == ("Blocked", "", "list")


def test_list_update_removes_tag_from_linked_cache():
    a, cfg, clock, al, cache = auth()
    cache.update("A", info("Accepted"))
    listed(a, al, "A", "Blocked")
    assert cache.lookup("A") is None


# ---- R2 cache ----------------------------------------------------------------------------
def test_cache_online_preauthorize_starts_at_once():
    a, cfg, clock, al, cache = auth(LocalPreAuthorize=True)
    cache.update("A", info(parent="G"))
    assert a.decide("A", True) == ("Accepted", "G", "cache")


def test_cache_online_without_preauthorize_asks_cs():
    a, cfg, clock, al, cache = auth(LocalPreAuthorize=False)
    cache.update("A", info())
    assert a.decide("A", True) is None


def test_cache_not_valid_online_asks_cs_again():
    a = auth(LocalPreAuthorize=True)
    a, cfg, clock, al, cache = a
    for s in NOT_VALID:
        cache.update("T" + s, info(s))
        assert a.decide("T" + s, True) is None              # 3.5.1 re-check online


def test_cache_offline_every_status():
    a, cfg, clock, al, cache = auth(LocalAuthorizeOffline=True, AllowOfflineTxForUnknownId=True)
    for s in STATUSES:
        cache.update("T" + s, info(s))
        d = a.decide("T" + s, False)
        assert d == (s, "", "cache"), d
        assert may_start(d) == (s == "Accepted")


def test_cache_offline_without_local_authorize_offline():
    a, cfg, clock, al, cache = auth(LocalAuthorizeOffline=False, AllowOfflineTxForUnknownId=False)
    cache.update("A", info())
    cache.update("B", info("Blocked"))
    assert a.decide("A", False) == ("Invalid", "", "offline")   # cache skipped
    assert a.decide("B", False) == ("Blocked", "", "cache")     # known-bad still refused
    cfg.set("AllowOfflineTxForUnknownId", True)
    assert a.decide("A", False) == ("Accepted", "", "offline")
    assert a.decide("B", False)[0] == "Blocked"


def test_cache_disabled_is_ignored():
    a, cfg, clock, al, cache = auth(AllowOfflineTxForUnknownId=False)
    cache.update("A", info())
    cfg.set("AuthorisationCacheEnabled", False)
    assert a.decide("A", True) is None
    assert a.decide("A", False) == ("Invalid", "", "offline")


def test_cache_7_days_then_unknown():
    a, cfg, clock, al, cache = auth(AllowOfflineTxForUnknownId=False)
    cache.update("A", info())
    clock.advance_ms(7 * DAY * 1000 - 1000)
    assert a.decide("A", False) == ("Accepted", "", "cache")
    assert a.decide("A", True) == ("Accepted", "", "cache")
    clock.advance_ms(1000)
    assert a.decide("A", False) == ("Invalid", "", "offline")
    assert a.decide("A", True) is None


def test_cache_expired_by_expiry_date_rejected_offline_even_with_allow_unknown():
    # 3.5.4: "valid but apparently expired due to passage of time MUST be rejected"
    a, cfg, clock, al, cache = auth(AllowOfflineTxForUnknownId=True)
    cache.update("A", info(expiry=clock.now() + DAY))
    clock.advance_ms(DAY * 1000)
    d = a.decide("A", False)
    assert d == ("Expired", "", "cache") and not may_start(d)


# ---- Central System answers and timeouts --------------------------------------------------
def test_cs_answer_decides_and_fills_cache():
    a, cfg, clock, al, cache = auth(LocalPreAuthorize=True)
    assert a.decide("A", True) is None
    assert a.on_cs_answer("A", info(parent="G")) == ("Accepted", "G", "cs")
    assert a.decide("A", True) == ("Accepted", "G", "cache")
    for s in NOT_VALID + ("ConcurrentTx",):
        d = a.on_cs_answer("T" + s, info(s))
        assert d == (s, "", "cs") and not may_start(d)
        assert cache.lookup("T" + s)["status"] == s


def test_cs_answer_with_cache_disabled_not_cached():
    a, cfg, clock, al, cache = auth(AuthorisationCacheEnabled=False)
    assert a.on_cs_answer("A", info()) == ("Accepted", "", "cs")
    cfg.set("AuthorisationCacheEnabled", True)
    assert cache.lookup("A") is None


def test_cs_answer_for_listed_tag_not_cached_and_conflict_noted():
    a, cfg, clock, al, cache = auth(LocalPreAuthorize=False)
    listed(a, al, "A", "Accepted")
    assert a.decide("A", True) is None
    assert a.on_cs_answer("A", info("Blocked")) == ("Blocked", "", "cs")
    assert a.conflicts == 1 and a.conflict_tag == "A"
    assert cache.lookup("A") is None
    a.on_cs_answer("A", info("Accepted"))
    assert a.conflicts == 1


def test_cs_answer_already_expired_is_expired():
    a, cfg, clock, al, cache = auth()
    d = a.on_cs_answer("A", info(expiry=clock.now() - 1))
    assert d[0] == "Expired" and not may_start(d)


def test_no_answer_uses_offline_rules():
    a, cfg, clock, al, cache = auth(AllowOfflineTxForUnknownId=True)
    assert a.on_cs_answer("NEW", None) == ("Accepted", "", "offline")
    assert a.on_timeout("NEW") == ("Accepted", "", "offline")
    assert a.on_cs_answer("NEW", {"status": "Garbage"}) == ("Accepted", "", "offline")
    cfg.set("AllowOfflineTxForUnknownId", False)
    assert a.on_timeout("NEW") == ("Invalid", "", "offline")
    cache.update("K", info(parent="G"))
    assert a.on_timeout("K") == ("Accepted", "G", "cache")
    cache.update("B", info("Blocked"))
    cfg.set("AllowOfflineTxForUnknownId", True)
    assert a.on_timeout("B") == ("Blocked", "", "cache")


# ---- RemoteStartTransaction -----------------------------------------------------------------
def test_remote_start_without_authorization():
    a, cfg, clock, al, cache = auth(AuthorizeRemoteTxRequests=False)
    assert a.remote_start_decision("NEW", True) == ("Accepted", "", "remote")
    assert a.remote_start_decision("NEW", False) == ("Accepted", "", "remote")
    cache.update("K", info("Blocked", parent="G"))
    # the CS checks it in StartTransaction; parent kept for group stops
    assert a.remote_start_decision("K", True) == ("Accepted", "G", "remote")
    assert a.remote_start_decision("", True)[0] == "Invalid"


def test_remote_start_with_authorization_is_like_a_card():
    a, cfg, clock, al, cache = auth(AuthorizeRemoteTxRequests=True, AllowOfflineTxForUnknownId=False)
    assert a.remote_start_decision("NEW", True) is None
    assert a.remote_start_decision("NEW", False) == ("Invalid", "", "offline")
    listed(a, al, "B", "Blocked")
    assert a.remote_start_decision("B", True) == ("Blocked", "", "list")
    listed(a, al, "A", "Accepted")
    assert a.remote_start_decision("A", True) == ("Accepted", "", "list")


# ---- groups ------------------------------------------------------------------------------
def test_same_group():
    a = auth()[0]
    assert a.same_group("acct", "ACCT")
    assert not a.same_group("", "")
    assert not a.same_group("A", "B")


def test_local_lookup_for_parent():
    a, cfg, clock, al, cache = auth()
    assert a.local("A") is None
    cache.update("A", info(parent="G"))
    assert a.local("A") == ("Accepted", "G", "cache")
    listed(a, al, "L", "Blocked", parent="H")
    assert a.local("L") == ("Blocked", "H", "list")
