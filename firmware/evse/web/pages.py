# The pages of the local management website other than the configuration
# (cfgview.py): login, status, local authorization list, actions. Each is a
# generator of HTML pieces that the server streams, so a long page never sits
# in RAM whole. Every value is escaped (markup.esc).
from evse.web.markup import esc, head, TAIL, message, hidden, form, header_row

LIST_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx")


def login(msg: str = "", error: bool = False, pre: str = ""):
    yield head("Local management login")
    yield message(msg, error)
    yield ("<form method=\"post\" action=\"/login\">"
           "<input type=\"hidden\" name=\"pre\" value=\"%s\">" % pre +
           "<p><label>User <input type=\"text\" name=\"user\" value=\"admin\" autocomplete=\"username\"></label></p>"
           "<p><label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\"></label></p>"
           "<p><button>Log in</button></p></form>"
           "<p>The password is the configuration key LocalManagementPassword; the Central System "
           "sets a new one each time it reads the configuration.</p>")
    yield TAIL


def _num(v, fmt: str) -> str:
    return "" if v is None else fmt % v


def network_text(n: dict) -> str:
    """The network state of Station.status() in one line: "wlan up
    192.168.1.57 (primary), RSSI -61 dBm, since ..." / "lan connecting"."""
    if not n:
        return "-"
    if not n.get("interface"):
        return n.get("note") or n.get("state") or "-"
    t = n["interface"] + " " + ("up " + (n.get("ip") or "") if n.get("up") else n.get("state", ""))
    t += " (%s)" % n.get("role")
    if n.get("rssi") is not None:
        t += ", RSSI %d dBm" % n["rssi"]
    return t + ", since " + str(n.get("since"))


def explain(code: str, vendor: str):
    """(meaning, what to check) of an error from the one error table
    (evse.errhelp, also behind docs/troubleshooting.md), None if none."""
    if (not code or code == "NoError") and not vendor:
        return None
    from evse import errhelp    # loaded only when an error is shown
    t = errhelp.IOCU.get(vendor or "")
    if t is not None:
        return t[0], t[1]
    o = errhelp.OCPP.get(code)
    if o is not None:
        return o[0], o[1]
    return ("%s %s" % (code, vendor or ""), "docs/troubleshooting.md")


def _hms(s) -> str:
    s = int(s)
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


def _phases(vals, fmt: str, unit: str) -> str:
    if not vals:
        return "-"
    return " / ".join([fmt % v for v in vals]) + " " + unit


def _kv(rows, cid: str = "") -> str:
    out = ["<table class=\"kv\">"]
    for k, v, key in rows:
        out.append("<tr><th>" + esc(k) + "</th><td" + (" id=\"%s%s\"" % (cid, key) if key else "")
                   + ">" + esc(v) + "</td></tr>")
    out.append("</table>")
    return "".join(out)


def _error_box(code: str, vendor: str, info: str) -> str:
    ex = explain(code, vendor)
    if ex is None:
        return ""
    return ("<div class=\"msg err\"><b>" + esc(vendor or code) + "</b>"
            + (" (" + esc(info) + ")" if info else "") + ": " + esc(ex[0])
            + "<br><b>What to check:</b> " + esc(ex[1]) + "</div>")


def live(st: dict, info: dict):
    """The part of the status page the page's script fetches again every
    few seconds (GET /live): station, then one block per connector."""
    oc = st.get("ocpp", {})
    sta = st.get("station", {})
    yield _kv((("Time (UTC)", st.get("time"), "time"), ("Model", st.get("model"), ""),
               ("Firmware", info.get("version"), ""),
               ("Station", info.get("station_status"), "station"),
               ("Network", network_text(st.get("network", {})), ""),
               ("Central System", "connected" if oc.get("connected") else "not connected", "cs"),
               ("Registered", oc.get("boot") or ("yes" if oc.get("registered") else "no"), ""),
               ("Queued messages", oc.get("queued"), "")), "s-")
    yield _error_box(sta.get("error_code"), sta.get("vendor_error"), sta.get("info"))
    yield "<h2>Connectors</h2>"
    for c in st.get("connectors", ()):
        k = c.get("id")
        code = c.get("error_code") or "NoError"
        bad = c.get("status") == "Faulted" or code != "NoError"
        tx = c.get("transaction_id")
        if c.get("session_s") is not None:
            sess = "%s, %d Wh" % (_hms(c["session_s"]), c.get("session_wh") or 0)
            if tx is not None:
                sess += ", transaction %s" % tx
            if c.get("id_tag"):
                sess += ", " + c["id_tag"]
        else:
            sess = "-"
        yield ("<section class=\"conn%s\" id=\"c%d\"><h3>Connector %d: <span id=\"c%d-status\">%s</span></h3>"
               % (" bad" if bad else "", k, k, k, esc(c.get("status"))))
        yield _error_box(code, c.get("vendor_error"), c.get("info"))
        yield _kv((("Pilot", "%s (%s %% duty)" % (c.get("pilot"), _num(c.get("duty"), "%.1f")), "pilot"),
                   ("Offered", _num(c.get("offered_a"), "%.1f") + " A", "offered"),
                   ("Current L1/L2/L3", _phases(c.get("current_a"), "%.1f", "A"), "current"),
                   ("Voltage L1/L2/L3", _phases(c.get("voltage_v"), "%.0f", "V"), "voltage"),
                   ("Power", _num(c.get("power_w"), "%d") + " W", "power"),
                   ("Session", sess, "session"),
                   ("Meter", _num(c.get("energy_wh"), "%d") + " Wh", "energy"),
                   ("Error code", code + (" / " + c["vendor_error"] if c.get("vendor_error") else ""), "error")),
                  "c%d-" % k)
        yield "</section>"


def status(st: dict, info: dict, csrf: str):
    """st: Station.status(); info: {"version", "station_status", "station_error"}."""
    yield head("Status", csrf)
    yield "<div id=\"live\">"
    yield from live(st, info)
    yield "</div><script src=\"/app.js\"></script>"
    yield TAIL


def logs(errors: list, events: list, csrf: str):
    """The error history and the recent events, newest first (the same
    rings a GetDiagnostics upload carries)."""
    yield head("Log", csrf)
    for title, lines in (("Errors", errors), ("Recent events", events)):
        yield "<h2>%s (%d)</h2>" % (title, len(lines))
        if not lines:
            yield "<p>none</p>"
            continue
        yield "<ol class=\"log\" reversed>"
        for i in range(len(lines) - 1, -1, -1):
            yield "<li>" + esc(lines[i]) + "</li>"
        yield "</ol>"
    yield TAIL


def locallist(entries: list, version: int, enabled: bool, csrf: str, msg: str = "",
              error: bool = False):
    """entries: [(idTag, idTagInfo)] as LocalList.entries() gives them."""
    yield head("Local authorization list", csrf)
    yield message(msg, error)
    if not enabled:
        yield message("LocalAuthListEnabled is false: the list is not used and cannot be changed.", True)
    yield "<p>List version %d, %d entries. A change here is a Differential update with version + 1.</p>" % (
        version, len(entries))
    yield "<table>" + header_row(("Id tag", "Status", "Expiry (UTC)", "Parent id tag", ""))
    for tag, info in entries:
        yield ("<tr><td>" + esc(tag) + "</td><td>" + esc(info.get("status")) + "</td><td>"
               + esc(info.get("expiryDate", "-")) + "</td><td>" + esc(info.get("parentIdTag", "-"))
               + "</td><td>" + form("/locallist", csrf, hidden("op", "remove") + hidden("tag", tag),
                                   "Remove") + "</td></tr>")
    yield "</table><h2>Add or replace an entry</h2>"
    opts = "".join(["<option>" + s + "</option>" for s in LIST_STATUSES])
    yield form("/locallist", csrf, hidden("op", "add")
               + "<label>Id tag <input type=\"text\" name=\"tag\" maxlength=\"20\"></label> "
               + "<label>Status <select name=\"status\">" + opts + "</select></label> "
               + "<label>Expiry <input type=\"text\" name=\"expiry\" placeholder=\"2030-01-01T00:00:00Z\"></label> "
               + "<label>Parent <input type=\"text\" name=\"parent\" maxlength=\"20\"></label> ", "Add")
    yield TAIL


def actions(avail: list, scheduled: list, csrf: str, msg: str = "", error: bool = False):
    """avail[k]: connector k operative (0 = the whole station); scheduled[k]:
    a change waiting for a transaction to end (None: none)."""
    yield head("Actions", csrf)
    yield message(msg, error)
    yield "<h2>Reset</h2><p>Running transactions are stopped first.</p>"
    yield form("/actions", csrf, hidden("op", "reset") + hidden("kind", "Soft"), "Soft reset") + " "
    yield form("/actions", csrf, hidden("op", "reset") + hidden("kind", "Hard"), "Hard reset")
    yield "<h2>Availability</h2><table>" + header_row(("Connector", "Availability", "Scheduled", ""))
    for k in range(len(avail)):
        sch = scheduled[k] if k < len(scheduled) else None
        yield ("<tr><td>" + ("0 (station)" if k == 0 else str(k)) + "</td><td>"
               + ("Operative" if avail[k] else "Inoperative") + "</td><td>"
               + ("-" if sch is None else ("Operative" if sch else "Inoperative")) + "</td><td>"
               + form("/actions", csrf, hidden("op", "availability") + hidden("connector", k)
                      + hidden("operative", "1"), "Operative") + " "
               + form("/actions", csrf, hidden("op", "availability") + hidden("connector", k)
                      + hidden("operative", "0"), "Inoperative") + "</td></tr>")
    yield "</table>"
    yield TAIL


def error_page(status: int, text: str):
    yield head("Error %d" % status)
    yield message(text, True)
    yield "<p><a href=\"/\">Back</a></p>" + TAIL
