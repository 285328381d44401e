# Who may charge: the one authorization decision of the firmware (OCPP 1.6
# section 3.5 Local Authorization & Offline Behavior, 4.1 Authorize, 5.11
# RemoteStartTransaction; manual 4.4 keys AllowOfflineTxForUnknownId,
# AuthorisationCacheEnabled, AuthorizeRemoteTxRequests, LocalAuthListEnabled,
# LocalAuthorizeOffline, LocalPreAuthorize).
#
# A decision is a tuple (status, parent_id_tag, source):
#   status  an OCPP AuthorizationStatus; a transaction may start only on
#           "Accepted" (may_start). "Accepted"/"ConcurrentTx" are a *valid*
#           identifier (3.5.2), which is enough to stop a session of the same
#           group (may_stop, 3.10).
#   source  "list" | "cache" | "cs" (Central System answer) | "offline" (the
#           unknown-id rule) | "remote" (RemoteStart without authorization)
#           | "format" (not an IdToken at all)
# or None: "ask the Central System now (Authorize.req)"; its answer goes to
# on_cs_answer(tag, idTagInfo), or on_cs_answer(tag, None) when none came in
# time or the link dropped, which applies the offline rules (manual
# AllowOfflineTxForUnknownId: "offline, or no authorization response is
# received in time").
#
# Rules (in order):
#  R1 Local list (LocalAuthListEnabled; 3.5.2, 3.5.3: the list has priority
#     over the cache for the same identifier):
#     - NOT-valid entry (Blocked/Expired/Invalid, or Accepted past its
#       expiryDate): rejected with that status, online or offline, whatever
#       LocalPreAuthorize says. The list is the Central System's own
#       synchronised statement (manual: it "overrules the authorization via the
#       Central System"); 3.5.4 MUST reject offline.
#     - valid entry, online: LocalPreAuthorize -> decided now from the list;
#       otherwise ask the CS (manual LocalPreAuthorize false: "always
#       authenticate via Central System").
#     - valid entry, offline: LocalAuthorizeOffline -> decided from the list;
#       otherwise the entry is not used to accept and R3 applies.
#  R2 Cache (AuthorisationCacheEnabled; a disabled cache is not consulted at
#     all, manual: "the tag is always authenticated by the Central System"):
#     - online: valid entry + LocalPreAuthorize -> decided now; otherwise ask
#       the CS (3.5.1: a NOT-valid entry SHOULD be re-checked online).
#     - offline: NOT-valid entry -> rejected (3.5.4: known-bad or apparently
#       expired identifiers MUST be rejected, so they never fall through to
#       the unknown-id rule); valid + LocalAuthorizeOffline -> decided;
#       valid without LocalAuthorizeOffline -> R3 (manual: "skip the cache").
#  R3 Unknown (or local knowledge not usable): online -> ask the CS (4.1);
#     offline -> Accepted if AllowOfflineTxForUnknownId else Invalid (3.5.4).
#     Deviation from the manual: it lets AllowOfflineTxForUnknownId accept
#     tags that are "not valid or expired" locally too; OCPP 3.5.4 forbids it.
#
# ConcurrentTx: a valid identifier (3.5.2) that is "already involved in another
# transaction" (7.2): it may stop its own group's session but never starts a
# new one, whether it comes from the list, the cache or the CS.
from evse.services.authlist import (ACCEPTED, INVALID, VALID, norm, parse_info,
                                    valid_tag)


try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("AllowOfflineTxForUnknownId", "AuthorizeRemoteTxRequests", "LocalAuthorizeOffline",
                      "LocalPreAuthorize"))


def may_start(decision) -> bool:
    return decision is not None and decision[0] == ACCEPTED


def may_stop(decision) -> bool:
    return decision is not None and decision[0] in VALID


class Authorizer:
    def __init__(self, config, authlist, cache, clock) -> None:
        self.config = config
        self.authlist = authlist
        self.cache = cache
        self.clock = clock
        # 3.5.2: a CS answer contradicting an enabled list entry; the station
        # may report StatusNotification(connectorId 0, LocalListConflict).
        self.conflict_tag = ""
        self.conflicts = 0

    # ---- local knowledge -------------------------------------------------------
    def _list(self, tag: str):
        if self.authlist is not None and self.config.get("LocalAuthListEnabled"):
            return self.authlist.lookup(tag)
        return None

    def _cache(self, tag: str):
        if self.cache is not None and self.config.get("AuthorisationCacheEnabled"):
            return self.cache.lookup(tag)
        return None

    def local(self, tag: str):
        """(status, parent, source) from the enabled list, else the enabled
        cache, else None. No rule applied: for parent/group look-ups (3.10,
        ReserveNow 5.13) and diagnostics."""
        info = self._list(tag)
        src = "list"
        if info is None:
            info = self._cache(tag)
            src = "cache"
        if info is None:
            return None
        return (info["status"], info.get("parentIdTag", ""), src)

    # ---- the decision ----------------------------------------------------------------
    def decide(self, tag: str, online: bool):
        """(status, parent_id_tag, source), or None = send Authorize.req now."""
        if not valid_tag(tag):
            return (INVALID, "", "format")
        g = self.config.get
        info = self._list(tag)
        if info is not None:                                   # R1
            st = info["status"]
            d = (st, info.get("parentIdTag", ""), "list")
            if st not in VALID:
                return d
            if online:
                return d if g("LocalPreAuthorize") else None
            if g("LocalAuthorizeOffline"):
                return d
            return self._unknown(online)
        info = self._cache(tag)
        if info is not None:                                   # R2
            st = info["status"]
            d = (st, info.get("parentIdTag", ""), "cache")
            if online:
                return d if st in VALID and g("LocalPreAuthorize") else None
            if st not in VALID or g("LocalAuthorizeOffline"):
                return d
        return self._unknown(online)                           # R3

    def _unknown(self, online: bool):
        if online:
            return None
        # 3.5.4 Unknown Offline Authorization
        if self.config.get("AllowOfflineTxForUnknownId"):
            return (ACCEPTED, "", "offline")
        return (INVALID, "", "offline")

    def on_cs_answer(self, tag: str, id_tag_info):
        """Authorize.conf (or StartTransaction.conf / StopTransaction.conf)
        idTagInfo for `tag`; None when no timely answer came. Updates the
        cache (4.1, 4.8: only when enabled, never for listed tags) and
        returns the decision (source "cs"), or the offline decision when
        there is no usable answer."""
        p = parse_info(id_tag_info) if id_tag_info is not None else None
        if p is None or not valid_tag(tag):
            return self.decide(tag, False)
        if self.cache is not None:
            self.cache.update(tag, id_tag_info)
        lst = self._list(tag)
        if lst is not None and (lst["status"] in VALID) != (p[0] in VALID):
            self.conflict_tag = tag
            self.conflicts += 1
        # the live answer decides this request; an expiryDate already past
        # makes an Accepted answer Expired (7.27: no validity after it)
        st = p[0]
        if p[1] and self.clock.now() >= p[1] and st in VALID:
            st = "Expired"
        return (st, p[2], "cs")

    def on_timeout(self, tag: str):
        """No Authorize.conf in time: the offline rules apply."""
        return self.decide(tag, False)

    def remote_start_decision(self, tag: str, online: bool):
        """RemoteStartTransaction.req (5.11, AuthorizeRemoteTxRequests):
        false -> start at once (the CS checks the idTag in StartTransaction;
        the parent is taken from local knowledge so group stops work);
        true  -> exactly like a presented card (decide)."""
        if self.config.get("AuthorizeRemoteTxRequests"):
            return self.decide(tag, online)
        if not valid_tag(tag):
            return (INVALID, "", "format")
        loc = self.local(tag)
        return (ACCEPTED, loc[1] if loc is not None else "", "remote")

    def same_group(self, a_parent: str, b_parent: str) -> bool:
        """3.10: two idTags are in one group if their ParentIds match
        (ParentId compared as IdToken: case-insensitive)."""
        return bool(a_parent) and bool(b_parent) and norm(a_parent) == norm(b_parent)
