# A charging profile (OCPP 1.6 5.16 ChargingProfile, 7.8-7.13, errata v4.0):
# the compact form the station keeps (Profile: periods in int arrays, limits in
# tenths of the unit), parse() from a SetChargingProfile payload (structure
# only: a ProfileError carries the OCPP-J error code for errata 3.38/3.39) and
# check(), the consistency rules every stored profile obeys. The business
# rules (stack levels, transactions, counts) are evse.services.smartcharging's.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from array import array

from evse.clock import iso8601, parse_iso8601

CP_MAX = const(0)
TX_DEFAULT = const(1)
TX = const(2)
PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
KINDS = ("Absolute", "Recurring", "Relative")
RECURRENCY = ("Daily", "Weekly")
UNITS = ("A", "W")

ABSOLUTE = const(0)
RECURRING = const(1)
RELATIVE = const(2)
_BIG = const(100000000)   # |limit| bound: tenths fit the int32 arrays

# OCPP-J CALLERROR codes for profile_error()
E_PROPERTY = "PropertyConstraintViolation"
E_TYPE = "TypeConstraintViolation"
E_OCCURENCE = "OccurenceConstraintViolation"   # sic, OCPP-J spelling


class ProfileError(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class Profile:
    """One installed charging profile, compact."""
    __slots__ = ("cid", "pid", "stack", "purpose", "kind", "recur", "txid", "vfrom",
                 "vto", "start", "dur", "watts", "starts", "limits", "phases",
                 "minrate", "installed")

    def __init__(self) -> None:
        self.cid = 0
        self.pid = 0
        self.stack = 0
        self.purpose = 0
        self.kind = 0
        self.recur = -1          # -1 none, 0 Daily, 1 Weekly
        self.txid: int | None = None
        self.vfrom: int | None = None   # epoch s
        self.vto: int | None = None
        self.start: int | None = None   # startSchedule, epoch s
        self.dur: int | None = None     # duration s
        self.watts = False
        self.starts = array("i")  # startPeriod s, ascending, starts[0] == 0
        self.limits = array("i")  # tenths of the unit
        self.phases = b""        # numberPhases per period, 0 = absent
        self.minrate: int | None = None  # tenths (informative)
        self.installed = 0       # when received (anchor of Absolute without start)

    def to_dict(self) -> dict:
        per = []
        for i in range(len(self.starts)):
            e = {"startPeriod": self.starts[i], "limit": self.limits[i] / 10}
            if self.phases[i]:
                e["numberPhases"] = self.phases[i]
            per.append(e)
        s: dict = {"chargingRateUnit": UNITS[1 if self.watts else 0], "chargingSchedulePeriod": per}
        if self.dur is not None:
            s["duration"] = self.dur
        if self.start is not None:
            s["startSchedule"] = iso8601(self.start)
        if self.minrate is not None:
            s["minChargingRate"] = self.minrate / 10
        d: dict = {"chargingProfileId": self.pid, "stackLevel": self.stack,
             "chargingProfilePurpose": PURPOSES[self.purpose],
             "chargingProfileKind": KINDS[self.kind], "chargingSchedule": s}
        if self.recur >= 0:
            d["recurrencyKind"] = RECURRENCY[self.recur]
        if self.txid is not None:
            d["transactionId"] = self.txid
        if self.vfrom is not None:
            d["validFrom"] = iso8601(self.vfrom)
        if self.vto is not None:
            d["validTo"] = iso8601(self.vto)
        return d


# ---- parsing (structure only; business rules are in SmartCharging) ----------
def _int(d: dict, k: str, required: bool):
    v = d.get(k)
    if v is None:
        if required:
            raise ProfileError(E_OCCURENCE, k + " missing")
        return None
    if type(v) is not int:
        raise ProfileError(E_TYPE, k + " not an integer")
    return v


def _num(d: dict, k: str, required: bool):
    v = d.get(k)
    if v is None:
        if required:
            raise ProfileError(E_OCCURENCE, k + " missing")
        return None
    if type(v) is not int and type(v) is not float:
        raise ProfileError(E_TYPE, k + " not a number")
    if not -_BIG < v < _BIG:   # also NaN/inf; keeps tenths inside a 32-bit array
        raise ProfileError(E_PROPERTY, k + " out of range")
    return int(round(v * 10))


def _enum(d: dict, k: str, values: tuple, required: bool) -> int:
    v = d.get(k)
    if v is None:
        if required:
            raise ProfileError(E_OCCURENCE, k + " missing")
        return -1
    if type(v) is not str:
        raise ProfileError(E_TYPE, k + " not a string")
    for i in range(len(values)):
        if values[i] == v:
            return i
    raise ProfileError(E_PROPERTY, k + " " + v)


def _time(d: dict, k: str):
    v = d.get(k)
    if v is None:
        return None
    if type(v) is not str:
        raise ProfileError(E_TYPE, k + " not a dateTime")
    try:
        return parse_iso8601(v)
    except ValueError:
        raise ProfileError(E_TYPE, k + " not a dateTime")


def parse(connector_id, d, n_connectors: int, installed: int) -> Profile:
    """SetChargingProfile.req fields -> Profile; ProfileError when malformed."""
    if type(connector_id) is not int or connector_id < 0 or connector_id > n_connectors:
        raise ProfileError(E_PROPERTY, "connectorId")
    if type(d) is not dict:
        raise ProfileError(E_TYPE, "csChargingProfiles not an object")
    p = Profile()
    p.cid = connector_id
    p.installed = installed
    p.pid = _int(d, "chargingProfileId", True)
    p.stack = _int(d, "stackLevel", True)
    if p.stack < 0:
        raise ProfileError(E_PROPERTY, "stackLevel < 0")
    p.purpose = _enum(d, "chargingProfilePurpose", PURPOSES, True)
    p.kind = _enum(d, "chargingProfileKind", KINDS, True)
    p.recur = _enum(d, "recurrencyKind", RECURRENCY, False)
    if p.kind != RECURRING:
        p.recur = -1   # errata 3.56: only meaningful for Recurring; ignored
    p.txid = _int(d, "transactionId", False)
    p.vfrom = _time(d, "validFrom")
    p.vto = _time(d, "validTo")
    s = d.get("chargingSchedule")
    if s is None:
        raise ProfileError(E_OCCURENCE, "chargingSchedule missing")
    if type(s) is not dict:
        raise ProfileError(E_TYPE, "chargingSchedule not an object")
    p.dur = _int(s, "duration", False)
    p.start = _time(s, "startSchedule")
    p.watts = _enum(s, "chargingRateUnit", UNITS, True) == 1
    p.minrate = _num(s, "minChargingRate", False)
    per = s.get("chargingSchedulePeriod")
    if per is None:
        raise ProfileError(E_OCCURENCE, "chargingSchedulePeriod missing")
    if type(per) is not list:
        raise ProfileError(E_TYPE, "chargingSchedulePeriod not a list")
    if not per:
        raise ProfileError(E_OCCURENCE, "chargingSchedulePeriod empty")
    rows = []
    for e in per:
        if type(e) is not dict:
            raise ProfileError(E_TYPE, "chargingSchedulePeriod item not an object")
        sp = _int(e, "startPeriod", True)
        if not -_BIG < sp < _BIG:
            raise ProfileError(E_PROPERTY, "startPeriod out of range")
        ph = _int(e, "numberPhases", False)
        # 0 = absent; a value outside 1..3 is kept as 255 and Rejected by check()
        rows.append((sp, _num(e, "limit", True), 0 if ph is None else (ph if 1 <= ph <= 3 else 255)))
    rows.sort(key=lambda r: r[0])
    p.starts = array("i", [r[0] for r in rows])
    p.limits = array("i", [r[1] for r in rows])
    # numberPhases kept as a byte; out-of-range values are caught by _rule()
    p.phases = bytes([r[2] for r in rows])
    return p



def check(p: Profile) -> str:
    """Consistency rules every stored profile obeys ("" when fine)."""
    if p.starts[0] != 0:
        return "first startPeriod is not 0"
    for i in range(1, len(p.starts)):
        if p.starts[i] == p.starts[i - 1]:
            return "two periods with the same startPeriod"
    for i in range(len(p.limits)):
        if p.limits[i] < 0:
            return "negative limit"
        if p.phases[i] > 3:
            return "numberPhases not 1..3"
    if p.dur is not None and p.dur <= 0:
        return "duration <= 0"
    if p.kind == RECURRING and (p.recur < 0 or p.start is None):
        return "Recurring needs recurrencyKind and startSchedule"
    if p.vfrom is not None and p.vto is not None and p.vto <= p.vfrom:
        return "validTo not after validFrom"
    return ""

