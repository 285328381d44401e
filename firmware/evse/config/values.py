# Text formats of configuration values (OCPP ChangeConfiguration / GetConfiguration
# strings): numbers, listed values, measurand CSL items, the sensor action lists,
# plus the checksum of the stored file. Pure functions, shared by the store and
# its tests; identical results on CPython and MicroPython.
from evse.config.keys import PHASES, SENSOR_ACTIONS


class _Bad:
    pass


BAD = _Bad()   # parse failure marker (None is never a valid value either)


# ---- text <-> value ---------------------------------------------------------------

def printable(s: str, json_ws: bool = False) -> bool:
    """Printable ASCII (CiString); json_ws also allows tab/CR/LF (List values:
    the manual prints the action lists over several lines)."""
    for c in s:
        if c < " " or c > "~":
            if not (json_ws and c in "\t\r\n"):
                return False
    return True


def digits(s: str) -> bool:
    for c in s:
        if c < "0" or c > "9":
            return False
    return True


def ipv4(s: str) -> bool:
    """A dotted-quad IPv4 address: four decimal parts 0..255, no leading
    zeros (an "010" would read as octal elsewhere)."""
    parts = s.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p or len(p) > 3 or not digits(p) or (len(p) > 1 and p[0] == "0") or int(p) > 255:
            return False
    return True


def parse_int(s: str):
    s = s.strip()
    if not s or len(s) > 12:
        return None
    body = s[1:] if s[0] in "+-" else s
    if not body or not digits(body):
        return None
    return int(s)


def parse_float(s: str):
    s = s.strip()
    if not s or len(s) > 20:
        return None
    body = s[1:] if s[0] in "+-" else s
    dot = body.find(".")
    whole = body if dot < 0 else body[:dot]
    frac = "" if dot < 0 else body[dot + 1:]
    if not (whole or frac) or not digits(whole) or not digits(frac):
        return None
    # three decimals are kept: values print the same on every runtime
    return round(float(s), 3) + 0.0


def fmt_float(v: float) -> str:
    s = "%.3f" % v
    s = s.rstrip("0")
    if s.endswith("."):
        s += "0"
    if s == "-0.0":
        s = "0.0"
    return s


def match(enum, s: str):
    """Listed value equal to s, else equal ignoring case, else None."""
    for x in enum:
        if x == s:
            return x
    ls = s.lower()
    for x in enum:
        if x.lower() == ls:
            return x
    return None


def csl_item(enum, item: str):
    """A measurand item, optionally with a ".<phase>" suffix, in canonical spelling."""
    m = match(enum, item)
    if m is not None:
        return m
    dot = item.rfind(".")
    if dot > 0:
        m = match(enum, item[:dot])
        ph = match(PHASES, item[dot + 1:])
        if m is not None and ph is not None:
            return m + "." + ph
    return None


def _tokens(s: str):
    """Tokens of the sensor action list text: "[", "]", ",", ints, ("s", text)."""
    out: list = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c in " \t\r\n":
            i += 1
        elif c in "[],":
            out.append(c)
            i += 1
        elif c == '"':
            j = s.find('"', i + 1)
            if j < 0:
                return None
            t = s[i + 1:j]
            if "\\" in t:
                return None
            out.append(("s", t))
            i = j + 1
        elif c == "-" or "0" <= c <= "9":
            j = i + 1
            while j < n and "0" <= s[j] <= "9":
                j += 1
            if j - i > 6 or s[i:j] == "-":
                return None
            out.append(int(s[i:j]))
            i = j
        else:
            return None
    return out


def action_index(name: str) -> int:
    ln = name.lower()
    for i in range(len(SENSOR_ACTIONS)):
        if SENSOR_ACTIONS[i].lower() == ln:
            return i
    return -1


def actions_text(prios) -> str:
    """Canonical text of a sensor action list from its 8 priorities (action order)."""
    parts = []
    for i in range(len(SENSOR_ACTIONS)):
        parts.append('[%d, "%s"]' % (prios[i], SENSOR_ACTIONS[i]))
    return "[" + ", ".join(parts) + "]"


def parse_actions(s: str):
    """'[[prio, "Action"], ...]' with the 8 fixed actions each once, prio 0..8 ->
    canonical text, or None."""
    t = _tokens(s)
    n = len(SENSOR_ACTIONS)
    if t is None or len(t) != 2 + n * 5 + (n - 1) or t[0] != "[" or t[-1] != "]":
        return None
    prios = [-1] * n
    k = 1
    for i in range(n):
        if i:
            if t[k] != ",":
                return None
            k += 1
        if t[k] != "[" or t[k + 2] != "," or t[k + 4] != "]":
            return None
        p = t[k + 1]
        a = t[k + 3]
        if type(p) is not int or not 0 <= p <= n or type(a) is not tuple:
            return None
        j = action_index(a[1])
        if j < 0 or prios[j] >= 0:
            return None
        prios[j] = p
        k += 5
    return actions_text(prios)


def parse_actions_list(text: str) -> list:
    """Canonical action text -> [[prio, action], ...] (fresh list)."""
    t = _tokens(text) or []
    out = []
    for i in range(len(t)):
        if type(t[i]) is int:
            out.append([t[i], t[i + 2][1]])
    return out


def adler32(data) -> int:
    a = 1
    b = 0
    for x in data:
        a = (a + x) % 65521
        b = (b + a) % 65521
    return (b << 16) | a
