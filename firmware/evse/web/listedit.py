# Local authorization list edits from the local management website (manual
# 3.15: entries can be added locally, without a Central System). An edit is
# exactly what a Central System could send: a SendLocalList Differential
# update with version + 1, through the same LocalList.send_local_list, so
# the same validation, limits and persistence apply. The Central System sees
# the new version in GetLocalListVersion and may send a Full list to resync.
from evse.clock import iso8601, parse_iso8601
from evse.web.pages import LIST_STATUSES


def _tag(v) -> str:
    v = (v or "").strip()
    if not 0 < len(v) <= 20:
        raise ValueError("an id tag is 1 to 20 characters")
    return v


def entry(form: dict) -> dict:
    """Form fields (op, tag, status, expiry, parent) -> one SendLocalList
    authorizationData entry; ValueError with a reason when a field is wrong."""
    tag = _tag(form.get("tag"))
    if form.get("op") == "remove":
        return {"idTag": tag}           # Differential without idTagInfo: delete
    status = form.get("status", "Accepted")
    if status not in LIST_STATUSES:
        raise ValueError("status must be one of " + ", ".join(LIST_STATUSES))
    info = {"status": status}
    exp = (form.get("expiry") or "").strip()
    if exp:
        try:
            info["expiryDate"] = iso8601(parse_iso8601(exp))
        except ValueError:
            raise ValueError("expiry must be a UTC time like 2030-01-01T00:00:00Z")
    parent = (form.get("parent") or "").strip()
    if parent:
        info["parentIdTag"] = _tag(parent)
    return {"idTag": tag, "idTagInfo": info}


def edit(station, form: dict) -> tuple:
    """Apply one add/remove -> (message, ok)."""
    op = form.get("op")
    if op not in ("add", "remove"):
        return "unknown operation", False
    try:
        e = entry(form)
    except ValueError as ex:
        return str(ex), False
    al = station.authlist
    tag = e["idTag"]
    if op == "remove" and not al.contains(tag):
        return "%s is not in the list" % tag, False
    version = al.version() + 1
    r = station.send_local_list(version, "Differential", [e])
    if r == "NotSupported":
        return "%s %s: NotSupported (LocalAuthListEnabled is false)" % (op, tag), False
    if r != "Accepted":
        return "%s %s: %s (list full, or not stored)" % (op, tag, r), False
    return "%s %s: Accepted, list version %d" % ("added" if op == "add" else "removed", tag,
                                                 al.version()), True
