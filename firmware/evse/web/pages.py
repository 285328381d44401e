# The pages of the local management website other than the configuration
# (cfgview.py): login, status, local authorization list, actions. Each is a
# generator of HTML pieces that the server streams, so a long page never sits
# in RAM whole. Every value is escaped (markup.esc).
from evse.web.markup import esc, head, TAIL, message, hidden, form, row, header_row

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


def status(st: dict, info: dict, csrf: str):
    """st: Station.status(); info: {"version", "station_status", "station_error"}."""
    yield head("Status", csrf, refresh=10)
    oc = st.get("ocpp", {})
    yield "<table>"
    for k, v in (("Time (UTC)", st.get("time")), ("Model", st.get("model")),
                 ("Firmware", info.get("version")), ("Station", info.get("station_status")),
                 ("Station error", info.get("station_error")),
                 ("Network", network_text(st.get("network", {}))),
                 ("Central System", "connected" if oc.get("connected") else "not connected"),
                 ("Registered", oc.get("boot") or ("yes" if oc.get("registered") else "no")),
                 ("Queued messages", oc.get("queued"))):
        yield "<tr><th>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>"
    yield "</table><h2>Connectors</h2><table>"
    yield header_row(("Connector", "Status", "Error code", "Vendor error", "Pilot",
                      "Offered (A)", "Energy (Wh)", "Transaction", "Id tag"))
    for c in st.get("connectors", ()):
        tx = c.get("transaction_id")
        yield row((c.get("id"), c.get("status"), c.get("error_code"), c.get("vendor_error") or "-",
                   c.get("pilot"), _num(c.get("offered_a"), "%.1f"), _num(c.get("energy_wh"), "%d"),
                   "-" if tx is None else tx, c.get("id_tag") or "-"))
    yield "</table>"
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
