# HTML helpers of the local management website: escaping (MicroPython has no
# `html` module), the page frame and small form pieces. Every value that
# reaches a page goes through esc(), whatever its origin: configuration
# values, idTags, error texts and Central System data are all untrusted.

# readable from 375 px up: wide tables scroll inside themselves, forms wrap
_CSS = ("body{font:14px sans-serif;margin:.6em;max-width:64em}"
        "table{border-collapse:collapse;display:block;overflow-x:auto;max-width:100%}"
        "td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}"
        "th{background:#eee}nav a,nav button{margin:0 .8em .3em 0;display:inline-block}"
        ".msg{padding:4px;background:#ffc}.err{background:#fcc}.ok{background:#cfc}.ro{color:#777}"
        "input[type=text],input[type=number],select{width:14em;max-width:100%}form.i{display:inline}"
        ".conn{border:1px solid #bbb;padding:0 .5em .5em;margin:.5em 0}.bad{border:3px solid #c00}"
        ".bad h3{color:#c00}.kv th{width:9em}.log{font:12px monospace;word-break:break-all}"
        "small{color:#555}.hide{display:none}p.d{margin:.2em 0;max-width:36em;font-size:90%}")

NAV = (("/", "Status"), ("/config", "Configuration"), ("/locallist", "Local list"),
       ("/actions", "Actions"), ("/log", "Log"))


def esc(v) -> str:
    """Text -> HTML text or attribute value (quoted with ")."""
    s = v if type(v) is str else ("" if v is None else str(v))
    for ch in "&<>\"'":
        if ch in s:
            break
    else:
        return s
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def head(title: str, csrf: str = "", refresh: int = 0) -> str:
    """Start of a page; csrf: the session's token (shows the navigation and
    the logout button), "" for the login page."""
    out = ["<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width\">"]
    if refresh:
        out.append("<meta http-equiv=\"refresh\" content=\"%d\">" % refresh)
    out.append("<title>" + esc(title) + " - EVSE</title><style>" + _CSS + "</style></head><body>")
    if csrf:
        out.append("<nav>")
        for href, label in NAV:
            out.append("<a href=\"" + href + "\">" + label + "</a>")
        out.append("<form class=\"i\" method=\"post\" action=\"/logout\">" + hidden("csrf", csrf)
                   + "<button>Log out</button></form></nav>")
    out.append("<h1>" + esc(title) + "</h1>")
    return "".join(out)


TAIL = "</body></html>"


def message(text: str, error: bool = False) -> str:
    if not text:
        return ""
    return "<p class=\"msg%s\">%s</p>" % (" err" if error else "", esc(text))


def hidden(name: str, value) -> str:
    return "<input type=\"hidden\" name=\"%s\" value=\"%s\">" % (esc(name), esc(value))


def form(action: str, csrf: str, fields: str, button: str) -> str:
    """A POST form with the CSRF token; fields: HTML already escaped."""
    return ("<form class=\"i\" method=\"post\" action=\"%s\">%s%s<button>%s</button></form>"
            % (esc(action), hidden("csrf", csrf), fields, esc(button)))


def row(cells) -> str:
    """A table row of text cells (escaped here)."""
    return "<tr>" + "".join(["<td>" + esc(c) + "</td>" for c in cells]) + "</tr>"


def header_row(cells) -> str:
    return "<tr>" + "".join(["<th>" + esc(c) + "</th>" for c in cells]) + "</tr>"
