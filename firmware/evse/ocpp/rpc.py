# OCPP-J RPC framing (OCPP-J 1.6 section 4): synchronous, no I/O.
#
#   parse(text) -> Msg        classify one received text message; never raises
#   call / result / error     build frames (compact JSON text)
#   IdGen                     unique message ids: "<8 hex random>-<counter>"
#   Pending                   the one outstanding CALL of this side (4.1.1)
#   Later                     a handler's CALLRESULT payload that comes later
#
# Msg.kind is CALL (2), CALLRESULT (3), CALLERROR (4) or INVALID (0):
#   CALL        id, action, payload (dict; null payload is read as {})
#   CALLRESULT  id, payload (dict). Its shape is checked after matching the
#               id to the pending CALL's action: schema.check_result().
#   CALLERROR   id, code, desc, details (lenient: missing desc/details -> "", {})
#   INVALID     code, desc; reply = the CALLERROR text to send back, or None
#               when nothing may be sent; mtype = the message type number
#               when one was readable; id = the message id when readable (a
#               malformed CALLRESULT/CALLERROR with a readable id still tells
#               which CALL got an answer).
#
# Decisions where OCPP-J 1.6 and its errata say nothing:
# - Unparsable frames (not JSON, not a non-empty array, no readable string
#   id) of a CALL, or of unknown shape, are answered with a CALLERROR whose
#   id is "-1" (the rule OCPP-J 2.0.1 later wrote down): the Central System
#   learns something is wrong, and an unknown id is ignored by its matcher.
# - Frames with a readable id echo it, even if longer than 36 characters.
# - A message type number that is an integer other than 2/3/4 is ignored
#   ("SHALL ignore the message payload", 4.1.3): INVALID, reply None.
# - Malformed CALLRESULT/CALLERROR are never answered (no error loops).
# - Wrapper structure errors are FormationViolation; a CALL with fewer than
#   4 elements is ProtocolError ("incomplete"), as are missing required
#   payload fields (see schema.py for the payload codes).
# - Unknown action: NotImplemented; an OCPP 1.6 action this station does not
#   handle (not in `supported`): NotSupported.
# - Surrogate escapes (RFC 8259 7): a pair ("\ud834\udd1e") is the one
#   character it encodes (U+1D11E) on both runtimes (MicroPython's json.loads
#   leaves two surrogates; parse joins them). An unpaired one ("\ud800") is
#   no Unicode text (RFC 8259 8.2; I-JSON, RFC 7493 2.1, forbids it): the
#   frame is rejected, not repaired - a repaired idTag or key would be a
#   different value than the Central System sent (two bad tags could even
#   become the same one). A CALL gets FormationViolation (with id "-1" when
#   the id itself is the bad string); a CALLRESULT/CALLERROR is malformed
#   (not answered, its CALL failed). Nothing received is ever echoed back
#   with a surrogate: outgoing text is strict UTF-8 (ws.utf8).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

import json

from evse.ocpp.wsframe import clean_text, has_surrogates

try:
    from random import getrandbits as _getrandbits
except ImportError:  # pragma: no cover
    _getrandbits = None  # type: ignore[assignment]

from evse.callerror import CallError, Later  # noqa: F401  (the services' answers; rpc.CallError)
from evse.ticks import ticks_add, ticks_diff

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only

INVALID = const(0)
CALL = const(2)
CALLRESULT = const(3)
CALLERROR = const(4)

_MAX_ID_LEN = const(36)
_UNKNOWN_ID = const("-1")

# CALLERROR codes (OCPP-J 1.6 table 7, published spellings)
NOT_IMPLEMENTED = "NotImplemented"
NOT_SUPPORTED = "NotSupported"
_INTERNAL_ERROR = const("InternalError")
PROTOCOL_ERROR = "ProtocolError"
_SECURITY_ERROR = const("SecurityError")
FORMATION_VIOLATION = "FormationViolation"
PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
_GENERIC_ERROR = const("GenericError")


class Msg:
    __slots__ = ("kind", "mtype", "id", "action", "payload", "code", "desc", "details", "reply")

    def __init__(self, kind: int, mtype, msg_id, action=None, payload=None,
                 code=None, desc="", details=None, reply=None) -> None:
        self.kind = kind
        self.mtype = mtype
        self.id = msg_id
        self.action = action
        self.payload = payload
        self.code = code
        self.desc = desc
        self.details = details
        self.reply = reply

    def __repr__(self) -> str:
        return "Msg(%d, %r, %r, %r)" % (self.kind, self.id, self.action or self.code, self.desc)


def _bad(mtype, msg_id, code: str, desc: str, answer: bool) -> Msg:
    rid = msg_id if type(msg_id) is str else _UNKNOWN_ID
    reply = error(rid, code, desc) if answer else None
    return Msg(INVALID, mtype, msg_id if type(msg_id) is str else None,
               code=code, desc=desc, reply=reply)


def parse(text: str, supported=None, validate: bool = True) -> Msg:
    """Classify one received message (see module comment). supported: the
    actions this station handles (a set/dict/tuple), None = every action in
    schema.CALLS. validate: check CALL payloads against schema.CALLS."""
    try:
        m = json.loads(text)
    except Exception:  # ValueError; RecursionError/MemoryError on deep nesting
        return _bad(None, None, FORMATION_VIOLATION, "not JSON", True)
    if type(m) is not list or not m:
        return _bad(None, None, FORMATION_VIOLATION, "not a JSON array", True)
    mtype = m[0]
    n = len(m)
    msg_id = m[1] if n > 1 else None
    # only an escape can put a surrogate into a string (the WebSocket layer
    # refuses encoded ones): frames without "\u" skip the walk
    lone = "\\u" in text and _join_surrogates(m)
    if lone:
        if type(msg_id) is str and has_surrogates(msg_id):
            msg_id = None
        answer = mtype == CALL or type(mtype) is not int
        return _bad(mtype if type(mtype) is int else None, msg_id, FORMATION_VIOLATION,
                    "string with an unpaired surrogate (not Unicode text)", answer)
    if type(mtype) is not int:
        return _bad(None, msg_id, FORMATION_VIOLATION, "bad message type", True)
    if mtype == CALL:
        if type(msg_id) is not str:
            return _bad(mtype, None, FORMATION_VIOLATION, "bad message id", True)
        if n < 4:
            return _bad(mtype, msg_id, PROTOCOL_ERROR, "incomplete CALL", True)
        if n > 4:
            return _bad(mtype, msg_id, FORMATION_VIOLATION, "CALL has %d elements" % n, True)
        action = m[2]
        payload = m[3]
        if type(action) is not str:
            return _bad(mtype, msg_id, FORMATION_VIOLATION, "action is not a string", True)
        if payload is None:
            payload = {}
        if type(payload) is not dict:
            return _bad(mtype, msg_id, FORMATION_VIOLATION, "payload is not an object", True)
        from evse.ocpp import schema
        if supported is None:
            handled = action in schema.CALLS
        else:
            handled = action in supported
        if not handled:
            if schema.known(action):
                return _bad(mtype, msg_id, NOT_SUPPORTED, action + " not supported", True)
            return _bad(mtype, msg_id, NOT_IMPLEMENTED, "unknown action " + action, True)
        if validate and action in schema.CALLS:
            err = schema.check_call(action, payload)
            if err is not None:
                return _bad(mtype, msg_id, err[0], err[1], True)
        return Msg(CALL, mtype, msg_id, action, payload)
    if mtype == CALLRESULT or mtype == CALLERROR:
        if type(msg_id) is not str:
            return _bad(mtype, None, FORMATION_VIOLATION, "bad message id", False)
        if mtype == CALLRESULT:
            payload = m[2] if n > 2 else None
            if n != 3 or not (payload is None or type(payload) is dict):
                return _bad(mtype, msg_id, FORMATION_VIOLATION, "malformed CALLRESULT", False)
            return Msg(CALLRESULT, mtype, msg_id, payload={} if payload is None else payload)
        code = m[2] if n > 2 else None
        if type(code) is not str:
            return _bad(mtype, msg_id, FORMATION_VIOLATION, "malformed CALLERROR", False)
        desc = m[3] if n > 3 and type(m[3]) is str else ""
        details = m[4] if n > 4 and type(m[4]) is dict else {}
        return Msg(CALLERROR, mtype, msg_id, code=code, desc=desc, details=details)
    return _bad(mtype, msg_id, FORMATION_VIOLATION, "unknown message type %d" % mtype, False)


def _fix(s: str):
    """s, surrogate pairs joined; None when s has an unpaired surrogate."""
    if not has_surrogates(s):
        return s
    t, bad = clean_text(s)
    return None if bad else t


def _join_surrogates(m) -> bool:
    """Join the surrogate pairs of every string in the parsed frame m, in
    place (iteratively: nesting depth is the sender's choice). True when a
    string holds an unpaired surrogate."""
    stack = [m]
    while stack:
        c = stack.pop()
        if type(c) is list:
            for i in range(len(c)):
                v = c[i]
                if type(v) is str:
                    f = _fix(v)
                    if f is None:
                        return True
                    if f is not v:
                        c[i] = f
                elif type(v) is list or type(v) is dict:
                    stack.append(v)
        else:
            for k in list(c.keys()):
                v = c[k]
                if type(v) is str:
                    f = _fix(v)
                    if f is None:
                        return True
                    if f is not v:
                        c[k] = v = f
                elif type(v) is list or type(v) is dict:
                    stack.append(v)
                fk = _fix(k)
                if fk is None:
                    return True
                if fk is not k:
                    del c[k]
                    c[fk] = v
    return False


def validate_call(action: str, payload):
    """None or (code, description) for a CALL payload (schema.check_call)."""
    from evse.ocpp import schema
    return schema.check_call(action, payload)


def validate_result(action: str, payload):
    """None or (code, description) for the CALLRESULT payload of our CALL
    `action` (schema.check_result). Nothing is sent back for a bad one: the
    CALL counts as failed."""
    from evse.ocpp import schema
    return schema.check_result(action, payload)


# ---------------------------------------------------------------- builders

# json.dumps options this runtime takes: 2 = compact, non-ASCII as is
# (CPython; MicroPython always writes it as is and rejects ensure_ascii),
# 1 = compact (older MicroPython lacks separators=), 0 = neither. Non-ASCII
# as is: CPython would write a lone surrogate as the escape "\ud800", which
# is ASCII but no Unicode text either; written as is, ws.utf8 replaces it
# on the way out, as on MicroPython.
def _probe_mode() -> int:
    try:
        json.dumps([], separators=(",", ":"), ensure_ascii=False)  # type: ignore[call-overload]
        return 2
    except TypeError:
        pass
    try:
        json.dumps([], separators=(",", ":"))
        return 1
    except TypeError:
        return 0


_DUMPS_MODE = _probe_mode()


def dumps(obj) -> str:
    if _DUMPS_MODE == 2:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)  # type: ignore[call-overload]
    if _DUMPS_MODE == 1:
        return json.dumps(obj, separators=(",", ":"))
    return json.dumps(obj)


class IdGen:
    """Message ids unique per charge point identity across reconnects
    (OCPP-J errata 3.1/3.7): a per-boot random prefix and a counter, e.g.
    "9f03a2c1-17". prefix: a str, or random bytes (hex-encoded, e.g.
    board.random_bytes(4)); None: 32 bits from rand(bits) (default
    random.getrandbits). Ids stay far below 36 characters."""

    def __init__(self, prefix=None, start: int = 0, rand=None) -> None:
        if prefix is None:
            r = rand or _getrandbits
            prefix = "%04x%04x" % (r(16), r(16))
        elif type(prefix) is not str:
            prefix = "".join("%02x" % b for b in prefix)
        if len(prefix) > 16:
            raise ValueError("id prefix too long")
        self.prefix = prefix
        self.n = start

    def __call__(self) -> str:
        self.n += 1
        return "%s-%d" % (self.prefix, self.n)

    def next(self) -> str:
        return self()


_default_ids = []  # type: list


def _next_id() -> str:
    if not _default_ids:
        _default_ids.append(IdGen())
    return _default_ids[0]()


def call(action: str, payload: dict, msg_id=None, ids=None) -> tuple:
    """-> (message id, CALL text). msg_id given: reuse it (a retried message
    may keep its id, errata 3.1); else ids() or the default IdGen."""
    if msg_id is None:
        msg_id = ids() if ids is not None else _next_id()
    if len(msg_id) > _MAX_ID_LEN:
        raise ValueError("message id longer than 36")
    return msg_id, dumps([CALL, msg_id, action, payload])


def result(msg_id: str, payload: dict) -> str:
    return dumps([CALLRESULT, msg_id, payload])


def error(msg_id: str, code: str, desc: str = "", details=None) -> str:
    return dumps([CALLERROR, msg_id, code, desc, details if details is not None else {}])


# ---------------------------------------------------------------- pending

class Pending:
    """The CALL this side is waiting on (OCPP-J 4.1.1: one at a time).
    on_unknown(msg_id) is told about answers that match nothing."""

    def __init__(self, on_unknown=None) -> None:
        self._on_unknown = on_unknown
        self.id = None  # type: str | None
        self.action = None  # type: str | None
        self.deadline = 0

    @property
    def busy(self) -> bool:
        return self.id is not None

    def start(self, msg_id: str, action: str, now_ms: int, timeout_ms: int) -> None:
        if self.id is not None:
            raise RuntimeError("a CALL is outstanding")
        self.id = msg_id
        self.action = action
        self.deadline = ticks_add(now_ms, timeout_ms)

    def match(self, msg) -> "str | None":
        """msg: a Msg (CALLRESULT / CALLERROR / INVALID with id) or an id.
        -> the action of the answered CALL (and forget it), or None."""
        mid = msg if type(msg) is str else msg.id
        if mid is not None and mid == self.id:
            action = self.action
            self.clear()
            return action
        if self._on_unknown is not None:
            self._on_unknown(mid)
        return None

    def expired(self, now_ms: int) -> "str | None":
        """-> the action of a CALL whose timeout has passed (and forget it)."""
        if self.id is not None and ticks_diff(now_ms, self.deadline) >= 0:
            action = self.action
            self.clear()
            return action
        return None

    def next_deadline(self) -> "int | None":
        return self.deadline if self.id is not None else None

    def clear(self) -> None:
        self.id = None
        self.action = None
