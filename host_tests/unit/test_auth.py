# Local Authorization List and Authorization Cache (evse.services.authlist):
# OCPP 1.6 3.5.1, 3.5.2, 3.5.3, 5.4, 5.10, 5.15, 7.1, 7.47; errata 3.23, 3.52.
# Also holds the small fakes the other auth/reservation/card tests import.
import json

from support import raises, tmpdir

from evse.clock import iso8601
from evsesim.hal.simclock import VirtualClock
from evse.hal.fsstore import Storage
from evse.services.authlist import AuthCache, LocalList

DAY = 86400

DEFAULTS = {
    "AllowOfflineTxForUnknownId": True,
    "AuthorisationCacheEnabled": True,
    "AuthorizeRemoteTxRequests": False,
    "LocalAuthListEnabled": True,
    "LocalAuthListMaxLength": 255,
    "LocalAuthorizeOffline": True,
    "LocalPreAuthorize": True,
    "SendLocalListMaxLength": 64,
    "ReserveConnectorZeroSupported": False,
    "RFIDReader1Enabled": True,
    "RFIDReader2Enabled": False,
    "StartTransactionDelay": 0,
    "TaglessCharging": False,
    "TaglessIdTag1": "TAGLESS1",
    "TaglessIdTag2": "TAGLESS2",
    "ConnectionTimeOut": 30,
    "PlugPresentTimeout": 90,
    "StopTransactionOnEVSideDisconnect": True,
    "UnlockConnectorOnEVSideDisconnect": True,
    "StopTransactionOnInvalidId": True,
    "MaxEnergyOnInvalidId": 0,
}


class FakeConfig:
    """dict-backed stand-in for evse.config.store.Config (get only)."""

    def __init__(self, **over) -> None:
        self.values = dict(DEFAULTS)
        for k in over:
            self.values[k] = over[k]

    def get(self, name):
        return self.values[name]          # KeyError on a misspelt key

    def set(self, name, value) -> None:
        assert name in self.values, name
        self.values[name] = value


class BrokenStorage:
    """Storage whose writes fail (flash full / worn)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.fail = True

    def read(self, name):
        return self.inner.read(name)

    def write(self, name, data):
        if self.fail:
            raise OSError(28)
        self.inner.write(name, data)

    def remove(self, name):
        self.inner.remove(name)


def info(status="Accepted", parent=None, expiry=None):
    d = {"status": status}
    if parent is not None:
        d["parentIdTag"] = parent
    if expiry is not None:
        d["expiryDate"] = iso8601(expiry)
    return d


def entry(tag, status="Accepted", parent=None, expiry=None):
    return {"idTag": tag, "idTagInfo": info(status, parent, expiry)}


def make(**over):
    """(storage dir, config, clock, list, cache)"""
    d = tmpdir("auth")
    cfg = FakeConfig(**over)
    clock = VirtualClock()
    st = Storage(d)
    al = LocalList(st, cfg, clock)
    cache = AuthCache(st, cfg, clock, al)
    return d, cfg, clock, al, cache


# ---- Local Authorization List ------------------------------------------------------
def test_empty_list_is_version_0():
    _, _, _, al, _ = make()
    assert al.version() == 0
    assert al.lookup("A") is None
    assert al.error == ""


def test_send_local_list_not_supported_when_disabled():
    _, cfg, _, al, _ = make(LocalAuthListEnabled=False)
    assert al.send_local_list(1, "Full", [entry("A")]) == "NotSupported"
    assert al.version() == 0


def test_full_update_then_lookup_and_persist():
    d, cfg, clock, al, _ = make()
    assert al.send_local_list(3, "Full", [entry("A", parent="P"), entry("B", "Blocked")]) == "Accepted"
    assert al.version() == 3
    assert al.lookup("A") == {"status": "Accepted", "parentIdTag": "P"}
    assert al.lookup("B") == {"status": "Blocked"}
    al2 = LocalList(Storage(d), cfg, clock)            # a reboot
    assert al2.version() == 3 and len(al2) == 2
    assert al2.lookup("B")["status"] == "Blocked"


def test_full_replaces_the_list():
    _, _, _, al, _ = make()
    al.send_local_list(1, "Full", [entry("A"), entry("B")])
    assert al.send_local_list(2, "Full", [entry("C")]) == "Accepted"
    assert al.lookup("A") is None and al.lookup("C") is not None and len(al) == 1


def test_full_may_lower_the_version():
    _, _, _, al, _ = make()
    al.send_local_list(9, "Full", [entry("A")])
    assert al.send_local_list(2, "Full", [entry("A")]) == "Accepted"
    assert al.version() == 2


def test_differential_add_update_delete():
    _, _, _, al, _ = make()
    al.send_local_list(1, "Full", [entry("A"), entry("B")])
    st = al.send_local_list(2, "Differential", [
        entry("C", "Accepted"),                 # add
        entry("A", "Blocked"),                  # update
        {"idTag": "B"},                         # no idTagInfo: delete (7.1)
        {"idTag": "NOT-THERE"},                 # delete of an unknown tag: no-op
    ])
    assert st == "Accepted"
    assert al.version() == 2
    assert al.lookup("A")["status"] == "Blocked"
    assert al.lookup("B") is None
    assert al.lookup("C")["status"] == "Accepted"


def test_differential_version_mismatch():
    _, _, _, al, _ = make()
    al.send_local_list(5, "Full", [entry("A")])
    assert al.send_local_list(5, "Differential", [entry("B")]) == "VersionMismatch"
    assert al.send_local_list(4, "Differential", [entry("B")]) == "VersionMismatch"
    assert al.lookup("B") is None and al.version() == 5
    assert al.send_local_list(6, "Differential", [entry("B")]) == "Accepted"


def test_differential_empty_list_changes_only_version():
    _, _, _, al, _ = make()
    al.send_local_list(1, "Full", [entry("A")])
    assert al.send_local_list(2, "Differential", None) == "Accepted"
    assert al.version() == 2 and len(al) == 1


def test_too_many_entries_in_one_request_failed():
    _, cfg, _, al, _ = make(SendLocalListMaxLength=3)
    many = [entry("T%d" % i) for i in range(4)]
    assert al.send_local_list(1, "Full", many) == "Failed"
    assert al.send_local_list(1, "Full", many[:3]) == "Accepted"
    assert al.send_local_list(2, "Differential", many) == "Failed"
    assert al.version() == 1


def test_list_beyond_max_length_failed():
    _, cfg, _, al, _ = make(LocalAuthListMaxLength=3)
    assert al.send_local_list(1, "Full", [entry("T%d" % i) for i in range(4)]) == "Failed"
    assert al.send_local_list(1, "Full", [entry("T%d" % i) for i in range(3)]) == "Accepted"
    # a Differential that would grow past the maximum fails as a whole
    assert al.send_local_list(2, "Differential", [entry("X")]) == "Failed"
    assert al.lookup("X") is None and al.version() == 1
    # replacing one is fine: the total stays 3
    assert al.send_local_list(2, "Differential", [{"idTag": "T0"}, entry("X")]) == "Accepted"
    assert len(al) == 3


def test_malformed_requests_failed_and_list_untouched():
    _, _, _, al, _ = make()
    al.send_local_list(1, "Full", [entry("A")])
    bad = [
        (2, "Full", [{"idTag": "B"}]),                               # Full needs idTagInfo
        (2, "Full", [entry("B"), entry("b")]),                       # duplicates (case-insensitive)
        (2, "Full", [entry("B", "Great")]),                          # unknown status
        (2, "Full", [{"idTag": "B", "idTagInfo": {"status": "Accepted", "expiryDate": "soon"}}]),
        (2, "Full", [{"idTag": "X" * 21, "idTagInfo": info()}]),     # not an IdToken
        (2, "Full", [{"idTag": "B", "idTagInfo": info(parent="P" * 21)}]),
        (2, "Full", "nope"),
        (2, "Sideways", [entry("B")]),
        ("2", "Full", [entry("B")]),
        (True, "Full", [entry("B")]),                                # bool is not an int
        (0, "Full", [entry("B")]),                                   # errata 3.52
        (-1, "Differential", [entry("B")]),
    ]
    for v, t, e in bad:
        assert al.send_local_list(v, t, e) == "Failed", (v, t, e)
    assert al.version() == 1 and len(al) == 1 and al.lookup("B") is None


def test_full_empty_list_clears_and_reports_version_0():
    _, _, _, al, _ = make()
    al.send_local_list(4, "Full", [entry("A")])
    assert al.send_local_list(0, "Full", []) == "Accepted"
    assert al.version() == 0 and len(al) == 0
    al.send_local_list(4, "Full", [entry("A")])
    assert al.send_local_list(7, "Full", []) == "Accepted"
    assert al.version() == 0              # 5.10: 0 = the list is empty


def test_differential_emptying_the_list_reports_version_0():
    _, _, _, al, _ = make()
    al.send_local_list(4, "Full", [entry("A")])
    assert al.send_local_list(5, "Differential", [{"idTag": "A"}]) == "Accepted"
    assert al.version() == 0


def test_list_expiry_date_honoured():
    _, _, clock, al, _ = make()
    t = clock.now()
    al.send_local_list(1, "Full", [entry("A", expiry=t + 60), entry("B", "Blocked", expiry=t + 60)])
    assert al.lookup("A")["status"] == "Accepted"
    assert al.lookup("A")["expiryDate"] == iso8601(t + 60)
    clock.advance_ms(60000)
    assert al.lookup("A")["status"] == "Expired"
    assert al.lookup("B")["status"] == "Blocked"  # NOT-valid stays what it is


def test_list_lookup_is_case_insensitive():
    _, _, _, al, _ = make()
    al.send_local_list(1, "Full", [entry("04a1b2c3")])
    assert al.lookup("04A1B2C3")["status"] == "Accepted"
    assert al.contains("04A1b2c3")
    assert al.lookup("") is None and al.lookup(None) is None


def test_list_every_status_stored():
    _, _, _, al, _ = make()
    sts = ("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx")
    al.send_local_list(1, "Full", [entry("T" + s, s) for s in sts])
    for s in sts:
        assert al.lookup("T" + s)["status"] == s


def test_corrupt_list_file_loads_empty_with_error():
    d = tmpdir("auth")
    st = Storage(d)
    cfg = FakeConfig()
    clock = VirtualClock()
    for raw in (b"{not json", b"[1, 2]", b'{"version": 3, "tags": []}',
                b'{"version": "x", "tags": {}}',
                b'{"version": 3, "tags": {"A": ["Accepted", 0]}}', b"\xff\xfe"):
        st.write("authlist.json", raw)
        al = LocalList(st, cfg, clock)
        assert al.version() == 0 and len(al) == 0, raw
        assert al.error, raw
        # and it still works: a Full list repairs it
        assert al.send_local_list(1, "Full", [entry("A")]) == "Accepted"
        assert al.error == ""
        assert LocalList(st, cfg, clock).version() == 1


def test_list_write_failure_is_failed_and_keeps_old_list():
    d = tmpdir("auth")
    cfg = FakeConfig()
    clock = VirtualClock()
    good = Storage(d)
    LocalList(good, cfg, clock).send_local_list(1, "Full", [entry("A")])
    bs = BrokenStorage(good)
    al = LocalList(bs, cfg, clock)
    assert al.send_local_list(2, "Full", [entry("B")]) == "Failed"
    assert al.version() == 1 and al.lookup("A") is not None and al.lookup("B") is None
    assert LocalList(good, cfg, clock).lookup("A") is not None


def test_list_file_is_plain_json():
    d, cfg, clock, al, _ = make()
    al.send_local_list(2, "Full", [entry("A", "Blocked", parent="P")])
    raw = json.loads(Storage(d).read("authlist.json"))
    assert raw["version"] == 2
    assert raw["tags"]["A"] == ["Blocked", 0, "P"]


# ---- Authorization Cache ---------------------------------------------------------------
def test_cache_stores_and_persists():
    d, cfg, clock, al, cache = make()
    assert cache.update("abc", info(parent="P"))
    assert cache.lookup("ABC") == {"status": "Accepted", "parentIdTag": "P"}
    c2 = AuthCache(Storage(d), cfg, clock)
    assert c2.lookup("abc")["parentIdTag"] == "P"


def test_cache_keeps_accepted_for_7_days():
    _, _, clock, _, cache = make()
    cache.update("A", info())
    clock.advance_ms((7 * DAY - 1) * 1000)
    assert cache.lookup("A")["status"] == "Accepted"
    clock.advance_ms(1000)
    assert cache.lookup("A") is None       # forgotten: unknown again
    assert len(cache) == 0


def test_cache_update_restarts_the_7_days():
    _, _, clock, _, cache = make()
    cache.update("A", info())
    clock.advance_ms(6 * DAY * 1000)
    cache.update("A", info())
    clock.advance_ms(6 * DAY * 1000)
    assert cache.lookup("A")["status"] == "Accepted"


def test_cache_expiry_date_before_7_days_reads_expired():
    _, _, clock, _, cache = make()
    t = clock.now()
    cache.update("A", info(expiry=t + DAY))
    assert cache.lookup("A")["status"] == "Accepted"
    clock.advance_ms(DAY * 1000)
    assert cache.lookup("A")["status"] == "Expired"   # 3.5.1 changed to expired
    clock.advance_ms(6 * DAY * 1000)
    assert cache.lookup("A") is None


def test_cache_expiry_date_after_7_days_capped():
    _, _, clock, _, cache = make()
    cache.update("A", info(expiry=clock.now() + 30 * DAY))
    clock.advance_ms(7 * DAY * 1000)
    assert cache.lookup("A") is None


def test_cache_stores_not_valid_statuses():
    _, _, _, _, cache = make()
    for s in ("Blocked", "Expired", "Invalid", "ConcurrentTx"):
        assert cache.update("T" + s, info(s))
        assert cache.lookup("T" + s)["status"] == s


def test_cache_disabled_stores_nothing():
    _, cfg, _, _, cache = make(AuthorisationCacheEnabled=False)
    assert not cache.update("A", info())
    assert cache.lookup("A") is None


def test_empty_parent_is_no_parent():
    _, _, _, _, cache = make()
    assert cache.update("A", {"status": "Accepted", "parentIdTag": "", "expiryDate": None})
    assert cache.lookup("A") == {"status": "Accepted"}


def test_cache_rejects_malformed_info():
    _, _, _, _, cache = make()
    assert not cache.update("A", {"status": "Nice"})
    assert not cache.update("A", None)
    assert not cache.update("", info())
    assert len(cache) == 0


def test_listed_tags_never_cached():
    _, cfg, _, al, cache = make()
    al.send_local_list(1, "Full", [entry("L")])
    assert not cache.update("l", info())
    assert cache.lookup("L") is None
    # with the list disabled the cache may hold them
    cfg.set("LocalAuthListEnabled", False)
    assert cache.update("L", info())


def test_list_update_drops_cached_tags():
    _, _, _, al, cache = make()
    cache.update("A", info())
    cache.update("B", info())
    al.send_local_list(1, "Full", [entry("a", "Blocked")])
    assert cache.lookup("A") is None and cache.lookup("B") is not None


def test_clear_cache():
    d, cfg, clock, _, cache = make()
    cache.update("A", info())
    assert cache.clear() == "Accepted"
    assert cache.lookup("A") is None
    assert AuthCache(Storage(d), cfg, clock).lookup("A") is None


def test_clear_cache_while_disabled_still_clears():
    _, cfg, _, _, cache = make()
    cache.update("A", info())
    cfg.set("AuthorisationCacheEnabled", False)
    assert cache.clear() == "Accepted"
    cfg.set("AuthorisationCacheEnabled", True)
    assert cache.lookup("A") is None


def test_clear_cache_rejected_when_flash_fails():
    d = tmpdir("auth")
    bs = BrokenStorage(Storage(d))
    cache = AuthCache(bs, FakeConfig(), VirtualClock())
    assert cache.clear() == "Rejected"


def test_cache_eviction_not_valid_first_then_oldest():
    d = tmpdir("auth")
    clock = VirtualClock()
    cache = AuthCache(Storage(d), FakeConfig(), clock, None, 3)
    cache.update("OLD", info())
    clock.advance_ms(1000)
    cache.update("BAD", info("Blocked"))
    clock.advance_ms(1000)
    cache.update("NEW", info())
    cache.update("X1", info())                 # full: the NOT-valid one goes
    assert cache.lookup("BAD") is None
    assert cache.lookup("OLD") is not None
    cache.update("X2", info())                 # then the oldest valid one
    assert cache.lookup("OLD") is None
    assert cache.lookup("NEW") is not None and cache.lookup("X2") is not None
    assert len(cache) == 3
    cache.update("NEW", info("Blocked"))       # an update needs no room
    assert len(cache) == 3


def test_cache_eviction_uses_update_order_not_wall_clock():
    d = tmpdir("auth")
    clock = VirtualClock()
    clock.follow_csms = True                   # a board's clock
    cache = AuthCache(Storage(d), FakeConfig(), clock, None, 2)
    cache.update("A", info())
    clock.set_utc(clock.now() - 3600)          # a board's RTC set back by the CS
    cache.update("B", info())
    cache.update("C", info())
    assert cache.lookup("A") is None and cache.lookup("B") is not None


def test_corrupt_cache_file_loads_empty_with_error():
    d = tmpdir("auth")
    st = Storage(d)
    st.write("authcache.json", b'{"seq": 1, "tags": {"A": ["Accepted"')
    cache = AuthCache(st, FakeConfig(), VirtualClock())
    assert len(cache) == 0 and cache.error
    assert cache.update("A", info())
    assert cache.error == ""


def test_cache_bad_entries_dropped_good_kept():
    d = tmpdir("auth")
    st = Storage(d)
    clock = VirtualClock()
    keep = clock.now() + DAY
    st.write("authcache.json", json.dumps(
        {"seq": 2, "tags": {"A": ["Accepted", 0, "", keep, 1], "B": ["Weird", 0, "", keep, 2]}}).encode())
    cache = AuthCache(st, FakeConfig(), clock)
    assert cache.lookup("A")["status"] == "Accepted"
    assert cache.lookup("B") is None and cache.error


def test_cache_write_failure_noted_not_raised():
    d = tmpdir("auth")
    bs = BrokenStorage(Storage(d))
    cache = AuthCache(bs, FakeConfig(), VirtualClock())
    assert cache.update("A", info())            # kept in RAM
    assert cache.error and cache.lookup("A") is not None
    bs.fail = False
    cache.update("B", info())
    assert cache.error == ""


def test_support_raises_helper_still_works():
    # keeps the import used on both runtimes
    assert isinstance(raises(KeyError, FakeConfig().get, "NoSuchKey"), KeyError)
