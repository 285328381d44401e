#!/usr/bin/env python3
"""Development and test Central System for OCPP 1.6-J (CPython only).

Built on the `ocpp` library (ocpp.v16.ChargePoint: every CALL from the charge
point and every reply to our CALLs is checked against the OCPP 1.6 JSON
schemas) and `websockets`.

Two uses:

1. `make sim`'s bundled Central System:

       python tools/csms.py --port 9000 [--accept-tags A,B] [--boot-status Pending]
                             [--delay-ms N [--delay-jitter-ms J --seed S]] [--silent ACTION,...|all]

   prints every frame it receives and sends, answers BootNotification
   Accepted, Authorize Accepted (any tag, or only --accept-tags), numbers
   transactions 1, 2, ...; lines typed on stdin as
   `<cp_id> <Action> <json payload>` are sent as CALLs to that charge point.

2. Integration tests, in-process:

       cs = CentralSystem()
       port = await cs.start()                     # ws://127.0.0.1:<port>/<cp_id>
       await cs.wait_for(lambda rs: any(r.action == "BootNotification" for r in rs))
       conf = await cs.call("CP1", "ChangeConfiguration", key="HeartbeatInterval", value="60")
       reply = await cs.send_raw("CP1", '[2,"x","Reset",{}]')   # raw text or None
       assert cs.violations == []
       await cs.stop()

What the charge point sent is in `cs.records` (Record: cp_id, kind, action,
payload, time, unique_id, answer), in arrival order. Anything that breaks
OCPP-J (schema failure, unparseable frame, bad unique id, unknown action,
missing "ocpp1.6" subprotocol, invalid reply to our CALL) lands in
`cs.violations` (Violation: cp_id, kind, action, code, detail, raw); tests
assert it empty. Note: ocpp 2.1.0 answers a schema failure with the code
"FormatViolation" (an OCPP 2.0 name; 1.6 spells it "FormationViolation"),
"ProtocolError" for a missing required field and "TypeConstraintViolation"
for a wrong type: the answer is recorded as-is (Record.answer), this is the
Central System's side.
"""

import argparse
import asyncio
import base64
import copy
import functools
import inspect
import json
import logging
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import unquote

from ocpp.exceptions import InternalError, OCPPError
from ocpp.messages import Call, MessageType, unpack, validate_payload
from ocpp.routing import on
from ocpp.v16 import ChargePoint as _OcppChargePoint
from ocpp.v16 import call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response
from websockets.typing import Subprotocol

import ocpp.messages as _ocpp_messages  # noqa: E402

# the same schema validation, on the event loop instead of a thread pool: a
# thread hop (and the GIL handed over) three times a message made this
# Central System, not the station, the bottleneck of a connected virtual day
# (1.6 ms a MeterValues round trip)
_ocpp_messages.ASYNC_VALIDATION = False

OCPP_VERSION = "1.6"
SUBPROTOCOL = "ocpp1.6"

# OCPP 1.6 section 4: operations initiated by the charge point.
CP_TO_CS = (
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
    "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
    "StatusNotification", "StopTransaction",
)
# OCPP 1.6 section 5: operations initiated by the Central System (19 actions;
# DataTransfer goes both ways).
CS_TO_CP = (
    "CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache",
    "ClearChargingProfile", "DataTransfer", "GetCompositeSchedule", "GetConfiguration",
    "GetDiagnostics", "GetLocalListVersion", "RemoteStartTransaction",
    "RemoteStopTransaction", "ReserveNow", "Reset", "SendLocalList", "SetChargingProfile",
    "TriggerMessage", "UnlockConnector", "UpdateFirmware",
)
TX_ACTIONS = ("StartTransaction", "StopTransaction", "MeterValues")

LOG = logging.getLogger("csms")


@dataclass
class Record:
    """One message from a charge point.

    kind: "call"   a CALL from the charge point (action, payload = its request;
                   answer = ("result", payload) / ("error", code) once answered,
                   None while unanswered or never, e.g. in silent mode)
          "result" the charge point's CALLRESULT to one of our CALLs
          "error"  its CALLERROR (payload = {"errorCode", "errorDescription",
                   "errorDetails"})
    """
    cp_id: str
    kind: str
    action: Optional[str]
    payload: Any
    time: float
    unique_id: str
    answer: Optional[Tuple[str, Any]] = None


@dataclass
class Violation:
    """Something a charge point did that OCPP-J 1.6 does not allow.

    kind: "schema" (request failed its schema), "reply-schema" (reply to our
    CALL failed its schema), "frame" (not an OCPP-J frame, bad unique id),
    "unknown-action", "subprotocol", "csms" (our own answer failed its schema:
    a bug here, not in the charge point).
    """
    cp_id: str
    kind: str
    action: Optional[str]
    code: Optional[str]
    detail: str
    raw: str = ""
    time: float = field(default_factory=time.time)


class CallErrorReply(Exception):
    """The charge point answered our CALL with a CALLERROR."""

    def __init__(self, code: str, description: str, details: Any) -> None:
        super().__init__("%s: %s %s" % (code, description, details))
        self.code = code
        self.description = description
        self.details = details


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Session(_OcppChargePoint):
    """One websocket connection of one charge point."""

    def __init__(self, cs: "CentralSystem", cp_id: str, ws: ServerConnection) -> None:
        super().__init__(cp_id, ws, response_timeout=cs.response_timeout, logger=LOG)
        self.cs = cs
        self.ws = ws
        self._capture: Optional[asyncio.Future] = None
        self._inbound: Dict[str, Record] = {}
        # the library validates a CALL, runs its handler, validates our
        # answer: an OCPPError out of it is the CP's (request failed its
        # schema) until the handler has run, ours after (see _handle_call)
        self._handler_ran = False
        for handlers in self.route_map.values():
            if "_on_action" in handlers:
                handlers["_on_action"] = self._tracked(handlers["_on_action"])

    def _tracked(self, handler):
        @functools.wraps(handler)
        def run(**kw):
            self._handler_ran = True
            return handler(**kw)
        # the library inspects the handler's signature on every CALL: once
        run.__signature__ = inspect.signature(handler)  # type: ignore[attr-defined]
        return run

    # ---- frames in / out ---------------------------------------------------

    async def route_message(self, raw_msg):
        cs = self.cs
        cs._frame(self.id, "in", raw_msg)
        try:
            parsed = json.loads(raw_msg)
        except (ValueError, TypeError):
            parsed = None
        is_call = isinstance(parsed, list) and len(parsed) > 0 and parsed[0] == MessageType.Call
        if self._capture is not None and not self._capture.done() and not is_call:
            self._capture.set_result(raw_msg)   # send_raw() waits for this reply
            return
        try:
            msg = unpack(raw_msg)
        except OCPPError as e:
            cs._violation(self.id, "frame", None, e.code, str(e.details or e.description), raw_msg)
            return
        uid = msg.unique_id
        if not isinstance(uid, str) or len(uid) > 36:
            cs._violation(self.id, "frame", getattr(msg, "action", None), None,
                          "unique id must be a string of at most 36 characters", raw_msg)
        if msg.message_type_id == MessageType.Call:
            rec = Record(self.id, "call", msg.action, msg.payload, time.time(), uid)
            cs._record(rec)
            if cs.silent or msg.action in cs.ignore_actions:
                return
            self._inbound[str(uid)] = rec
        elif msg.message_type_id == MessageType.CallResult:
            cs._record(Record(self.id, "result", None, msg.payload, time.time(), uid))
        else:
            cs._record(Record(self.id, "error", None, {
                "errorCode": msg.error_code, "errorDescription": msg.error_description,
                "errorDetails": msg.error_details}, time.time(), uid))
        await super().route_message(raw_msg)

    async def _handle_call(self, msg):
        cs = self.cs
        if msg.action not in self.route_map:
            cs._violation(self.id, "unknown-action", msg.action, None,
                          "not a charge point to Central System action of OCPP 1.6", "")
            return await super()._handle_call(msg)
        # one schema check of the request, the library's (it answers a
        # failure with its CALLERROR), not a second one of our own
        self._handler_ran = False
        try:
            return await super()._handle_call(msg)
        except OCPPError as e:
            if self._handler_ran:
                cs._violation(self.id, "csms", msg.action, e.code, str(e), "")
            else:
                cs._violation(self.id, "schema", msg.action, e.code,
                              str(e.details.get("cause", e.description))
                              if isinstance(e.details, dict) else str(e.description),
                              json.dumps(msg.payload))
            raise

    async def _send(self, message):
        self.cs._frame(self.id, "out", message)
        try:
            m = json.loads(message)
            if m[0] in (MessageType.CallResult, MessageType.CallError):
                rec = self._inbound.pop(str(m[1]), None)
                if rec is not None:
                    rec.answer = ("result", m[2]) if m[0] == MessageType.CallResult else ("error", m[2])
                    self.cs._changed()
        except (ValueError, IndexError, TypeError, KeyError):
            pass
        await self._connection.send(message)

    # ---- CALLs to the charge point ------------------------------------------

    async def send_call(self, action: str, payload: dict, validate: bool, timeout: float) -> dict:
        uid = str(self._unique_id_generator())
        text = json.dumps([MessageType.Call, uid, action, payload], separators=(",", ":"))
        if validate:
            # validate a copy: the library rewrites floats of some actions
            await validate_payload(Call(uid, action, copy.deepcopy(payload)), OCPP_VERSION)
        async with self._call_lock:
            await self._send(text)
            response = await self._get_specific_response(uid, timeout)
        for rec in reversed(self.cs.records):
            if rec.unique_id == uid and rec.kind in ("result", "error"):
                rec.action = action  # replies carry no action: name it
                break
        if response.message_type_id == MessageType.CallError:
            raise CallErrorReply(response.error_code, response.error_description,
                                 response.error_details)
        check = copy.deepcopy(response)
        check.action = action
        try:
            await validate_payload(check, OCPP_VERSION)
        except OCPPError as e:
            self.cs._violation(self.id, "reply-schema", action, e.code,
                               str(e.details.get("cause", e.description))
                               if isinstance(e.details, dict) else str(e.description),
                               json.dumps(response.payload))
        return response.payload

    async def send_raw(self, text: str, timeout: float, expect_reply: bool) -> Optional[str]:
        async with self._call_lock:
            fut = asyncio.get_running_loop().create_future()
            self._capture = fut
            try:
                await self._send(text)
                if not expect_reply:
                    return None
                try:
                    return await asyncio.wait_for(fut, timeout)
                except asyncio.TimeoutError:
                    return None
            finally:
                self._capture = None

    # ---- handlers: CP -> CS ----------------------------------------------

    async def _delay(self, action: str) -> None:
        d = self.cs.answer_delay(action)
        if d > 0:
            await asyncio.sleep(d)

    def _tx_fault(self) -> None:
        cs = self.cs
        if cs.fail_transaction_messages > 0:
            cs.fail_transaction_messages -= 1
            raise InternalError(description="test Central System: injected failure")

    @on(Action.boot_notification)
    async def _on_boot(self, **kw):
        await self._delay("BootNotification")
        cs = self.cs
        return call_result.BootNotification(current_time=_iso(cs.clock()),
                                            interval=cs.heartbeat_interval,
                                            status=cs.boot_status)

    @on(Action.heartbeat)
    async def _on_heartbeat(self, **kw):
        await self._delay("Heartbeat")
        return call_result.Heartbeat(current_time=_iso(self.cs.clock()))

    @on(Action.authorize)
    async def _on_authorize(self, id_tag, **kw):
        await self._delay("Authorize")
        return call_result.Authorize(id_tag_info=self.cs.id_tag_info(id_tag, "Authorize"))

    @on(Action.start_transaction)
    async def _on_start(self, connector_id, id_tag, meter_start, timestamp, **kw):
        await self._delay("StartTransaction")
        self._tx_fault()
        cs = self.cs
        txid = cs.next_transaction_id
        cs.next_transaction_id += 1
        cs.transactions[txid] = {
            "cp_id": self.id, "connectorId": connector_id, "idTag": id_tag,
            "meterStart": meter_start, "timestamp": timestamp,
            "reservationId": kw.get("reservation_id"), "meterStop": None, "stopped": None,
            "reason": None}
        return call_result.StartTransaction(
            transaction_id=txid, id_tag_info=cs.id_tag_info(id_tag, "StartTransaction"))

    @on(Action.stop_transaction)
    async def _on_stop(self, meter_stop, timestamp, transaction_id, **kw):
        await self._delay("StopTransaction")
        self._tx_fault()
        cs = self.cs
        tx = cs.transactions.get(transaction_id)
        if tx is not None:
            tx["meterStop"] = meter_stop
            tx["stopped"] = timestamp
            tx["reason"] = kw.get("reason")
        id_tag = kw.get("id_tag")
        info = cs.id_tag_info(id_tag, "StopTransaction") if id_tag else None
        return call_result.StopTransaction(id_tag_info=info)

    @on(Action.meter_values)
    async def _on_meter_values(self, **kw):
        await self._delay("MeterValues")
        self._tx_fault()
        return call_result.MeterValues()

    @on(Action.status_notification)
    async def _on_status(self, connector_id, error_code, status, **kw):
        await self._delay("StatusNotification")
        self.cs.status[(self.id, connector_id)] = (status, error_code)
        return call_result.StatusNotification()

    @on(Action.data_transfer)
    async def _on_data_transfer(self, vendor_id, **kw):
        await self._delay("DataTransfer")
        return call_result.DataTransfer(status=self.cs.data_transfer_status)

    @on(Action.diagnostics_status_notification)
    async def _on_diag_status(self, status, **kw):
        await self._delay("DiagnosticsStatusNotification")
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def _on_fw_status(self, status, **kw):
        await self._delay("FirmwareStatusNotification")
        return call_result.FirmwareStatusNotification()


def _select_subprotocol(connection, offered):
    # OCPP-J 3.1.2: without "ocpp1.6" complete the handshake with no
    # subprotocol, then close (websockets alone would answer HTTP 400).
    return Subprotocol(SUBPROTOCOL) if SUBPROTOCOL in offered else None


class CentralSystem:
    """An OCPP 1.6-J Central System for development and tests.

    Answers are configured through plain attributes, changeable at any time:
      boot_status           "Accepted" | "Pending" | "Rejected"
      heartbeat_interval    BootNotification.conf interval, s
      auth_default          idTagInfo.status for tags not in auth_tags
      auth_tags             {idTag: status} for Authorize (and Start/Stop)
      start_tags            {idTag: status} overriding auth_* in StartTransaction.conf
      data_transfer_status  DataTransfer.conf status
      next_transaction_id   the next StartTransaction gets this id
      silent                record CALLs from charge points but never answer
      ignore_actions        set of actions recorded but never answered
      fail_transaction_messages  answer the next N Start/Stop/MeterValues with
                            CALLERROR fail_code... (InternalError), decrementing
      delays                {action: seconds} before answering
      delay_ms              every CALL is answered this much later (ms; after delays)
      delay_jitter_ms       plus 0..delay_jitter_ms, drawn from random.Random(seed)
      seed                  the seed of that draw (reseed(seed) restarts it)
      clock                 () -> epoch seconds for currentTime (time.time)
      reject_connections    refuse new websocket handshakes (HTTP 503)
      passwords             {cp_id: password}: require HTTP Basic auth
                            (Security profile 1/2); None = no auth
    """

    def __init__(self, *, boot_status: str = "Accepted", heartbeat_interval: int = 300,
                 auth_default: str = "Accepted", auth_tags: Optional[Dict[str, str]] = None,
                 start_tags: Optional[Dict[str, str]] = None,
                 response_timeout: float = 10.0, ping_interval: Optional[float] = None,
                 on_event: Optional[Callable[[str], None]] = None) -> None:
        self.boot_status = boot_status
        self.heartbeat_interval = heartbeat_interval
        self.auth_default = auth_default
        self.auth_tags: Dict[str, str] = dict(auth_tags or {})
        self.start_tags: Dict[str, str] = dict(start_tags or {})
        self.data_transfer_status = "Accepted"
        self.next_transaction_id = 1
        self.silent = False
        self.ignore_actions: set = set()
        self.fail_transaction_messages = 0
        self.delays: Dict[str, float] = {}
        self.delay_ms = 0
        self.delay_jitter_ms = 0
        self.seed = 1
        self._rng = random.Random(self.seed)
        self.clock: Callable[[], float] = time.time
        self.reject_connections = False
        self.passwords: Optional[Dict[str, str]] = None
        self.response_timeout = response_timeout
        self.ping_interval = ping_interval
        self.on_event = on_event           # gets one printable line per event
        # observations
        self.records: List[Record] = []
        self.violations: List[Violation] = []
        self.frames: List[Tuple[str, str, str, float]] = []   # (cp_id, "in"/"out", text, time)
        self.connections: List[Tuple[str, str, float]] = []   # (cp_id, "connect"/"disconnect", time)
        self.transactions: Dict[int, Dict[str, Any]] = {}
        self.status: Dict[Tuple[str, int], Tuple[str, str]] = {}
        self.sessions: Dict[str, _Session] = {}
        self._server: Optional[Server] = None
        self._event = asyncio.Event()
        self.port: Optional[int] = None

    # ---- lifecycle ---------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0, ssl_context=None) -> int:
        server = await serve(
            self._on_connect, host, port, subprotocols=[Subprotocol(SUBPROTOCOL)],
            select_subprotocol=_select_subprotocol, ssl=ssl_context, compression=None, ping_interval=self.ping_interval,
            process_request=self._process_request)
        self._server = server
        port = server.sockets[0].getsockname()[1]
        self.port = port
        return port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "CentralSystem":
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def disconnect(self, cp_id: str, code: int = 1001) -> None:
        """Close the charge point's websocket (link loss as seen by the CP)."""
        s = self.sessions.get(cp_id)
        if s is not None:
            await s.ws.close(code)

    def connected(self, cp_id: str) -> bool:
        return cp_id in self.sessions

    def url(self, cp_id: str = "", scheme: str = "ws") -> str:
        return "%s://127.0.0.1:%d/%s" % (scheme, self.port or 0, cp_id)

    # ---- answers -----------------------------------------------------------

    def id_tag_info(self, id_tag: Optional[str], purpose: str) -> dict:
        """idTagInfo for Authorize / StartTransaction / StopTransaction."""
        status = None
        if purpose == "StartTransaction" and id_tag in self.start_tags:
            status = self.start_tags[id_tag]
        if status is None:
            status = self.auth_tags.get(id_tag or "", self.auth_default)
        return {"status": status}

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def answer_delay(self, action: str) -> float:
        """Seconds before the answer to a CALL of action: delays[action]
        plus delay_ms plus a seeded jitter (one draw per CALL while a
        jitter is set, so the same seed gives the same delays)."""
        d = self.delays.get(action, 0) + self.delay_ms / 1000
        if self.delay_jitter_ms > 0:
            d += self._rng.randint(0, self.delay_jitter_ms) / 1000
        return d

    def set_silent(self, spec: str) -> None:
        """"all": never answer any CALL; "A,B": never answer those actions
        (they are still recorded); "": answer everything."""
        spec = spec.strip()
        if spec == "all":
            self.silent = True
            self.ignore_actions = set()
            return
        self.silent = False
        acts = set(a for a in spec.split(",") if a)
        unknown = sorted(acts - set(CP_TO_CS))
        if unknown:
            raise ValueError("--silent: not a charge point action: %s" % ",".join(unknown))
        self.ignore_actions = acts

    # ---- CALLs to charge points -------------------------------------------

    async def call(self, cp_id: str, action: str, payload: Optional[dict] = None, *,
                   validate: bool = True, timeout: Optional[float] = None, **fields) -> dict:
        """Send a CALL (payload keys are the OCPP JSON names, camelCase) and
        return the CALLRESULT payload. Raises CallErrorReply on a CALLERROR,
        asyncio.TimeoutError without answer, KeyError if cp_id is not
        connected, OCPPError if our own request fails its schema (pass
        validate=False to send it anyway). A reply that fails its schema is
        returned and recorded as a violation."""
        body = dict(payload or {})
        body.update(fields)
        s = self.sessions[cp_id]
        return await s.send_call(action, body, validate,
                                 self.response_timeout if timeout is None else timeout)

    async def send_raw(self, cp_id: str, text: str, timeout: float = 5.0,
                       expect_reply: bool = True) -> Optional[str]:
        """Send any text frame; return the next non-CALL frame the charge
        point sends (its CALLRESULT/CALLERROR or garbage), None if none came
        within timeout. The CP's own CALLs meanwhile are handled normally."""
        return await self.sessions[cp_id].send_raw(text, timeout, expect_reply)

    # ---- observation ---------------------------------------------------------

    def records_of(self, cp_id: Optional[str] = None) -> List[Record]:
        return [r for r in self.records if cp_id is None or r.cp_id == cp_id]

    def calls(self, action: Optional[str] = None, cp_id: Optional[str] = None) -> List[Record]:
        """CALLs received from charge points, optionally one action only."""
        return [r for r in self.records if r.kind == "call"
                and (action is None or r.action == action)
                and (cp_id is None or r.cp_id == cp_id)]

    async def wait_for(self, predicate: Callable[[List[Record]], Any], timeout: float = 10.0,
                       cp_id: Optional[str] = None) -> Any:
        """Wait until predicate(records) is truthy (re-checked on every new
        record, answer, violation or connection change); return its value.
        asyncio.TimeoutError with the last records when it does not happen."""
        async def _wait():
            while True:
                v = predicate(self.records_of(cp_id))
                if v:
                    return v
                await self._event.wait()
        try:
            return await asyncio.wait_for(_wait(), timeout)
        except asyncio.TimeoutError:
            tail = ["%s %s %s %s" % (r.cp_id, r.kind, r.action, json.dumps(r.payload)[:200])
                    for r in self.records_of(cp_id)[-8:]]
            raise asyncio.TimeoutError("condition not met within %ss; last records:\n  %s"
                                       % (timeout, "\n  ".join(tail))) from None

    async def wait_connected(self, cp_id: str, timeout: float = 10.0) -> None:
        async def _wait():
            while cp_id not in self.sessions:
                await self._event.wait()
        await asyncio.wait_for(_wait(), timeout)

    # ---- internals -------------------------------------------------------

    def _changed(self) -> None:
        ev = self._event
        self._event = asyncio.Event()
        ev.set()

    def _emit(self, line: str) -> None:
        if self.on_event is not None:
            self.on_event(line)

    def _record(self, rec: Record) -> None:
        self.records.append(rec)
        self._changed()

    def _frame(self, cp_id: str, direction: str, text) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.frames.append((cp_id, direction, text, time.time()))
        if self.on_event is not None:       # no formatting per frame unless printed
            self._emit("%s %s %s %s" % (time.strftime("%H:%M:%S"), cp_id,
                                        "->" if direction == "in" else "<-", text))

    def _violation(self, cp_id: str, kind: str, action, code, detail: str, raw: str = "") -> None:
        v = Violation(cp_id, kind, action, code, detail, raw)
        self.violations.append(v)
        self._emit("%s %s VIOLATION %s %s %s: %s" % (time.strftime("%H:%M:%S"), cp_id, kind,
                                                     action, code, detail))
        self._changed()

    def _process_request(self, connection: ServerConnection, request):
        if self.reject_connections:
            return Response(503, "Service Unavailable", Headers(), b"")
        if self.passwords is not None:
            cp_id = unquote(request.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])
            want = self.passwords.get(cp_id)
            got = request.headers.get("Authorization", "")
            ok = False
            if want is not None and got.startswith("Basic "):
                try:
                    user, _, pw = base64.b64decode(got[6:]).decode("latin-1").partition(":")
                    ok = user == cp_id and pw == want
                except ValueError:
                    ok = False
            if not ok:
                return Response(401, "Unauthorized",
                                Headers([("WWW-Authenticate", 'Basic realm="ocpp"')]), b"")
        return None

    async def _on_connect(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?", 1)[0] if ws.request else "/"
        cp_id = unquote(path.rstrip("/").rsplit("/", 1)[-1])
        if ws.subprotocol != SUBPROTOCOL:
            # OCPP-J 3.1.2: answer without the header, then close
            offered = ws.request.headers.get("Sec-WebSocket-Protocol") if ws.request else None
            self._violation(cp_id, "subprotocol", None, None,
                            "client offered %r, not %r" % (offered, SUBPROTOCOL))
            await ws.close(1002, "ocpp1.6 subprotocol required")
            return
        session = _Session(self, cp_id, ws)
        old = self.sessions.get(cp_id)
        self.sessions[cp_id] = session
        self.connections.append((cp_id, "connect", time.time()))
        self._emit("%s %s connected (%s)" % (time.strftime("%H:%M:%S"), cp_id, path))
        self._changed()
        if old is not None:
            await old.ws.close(1000, "replaced by a new connection")
        try:
            await session.start()
        except ConnectionClosed:
            pass
        finally:
            if self.sessions.get(cp_id) is session:
                del self.sessions[cp_id]
            self.connections.append((cp_id, "disconnect", time.time()))
            self._emit("%s %s disconnected" % (time.strftime("%H:%M:%S"), cp_id))
            self._changed()


# ---- command line -----------------------------------------------------------

async def _stdin_commands(cs: CentralSystem) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return  # EOF: keep serving
        line = line.strip()
        if not line:
            continue
        parts = line.split(" ", 2)
        if len(parts) < 2:
            print("usage: <cp_id> <Action> [json payload]", flush=True)
            continue
        try:
            payload = json.loads(parts[2]) if len(parts) > 2 else {}
            res = await cs.call(parts[0], parts[1], payload)
            print("%s %s result %s" % (parts[0], parts[1], json.dumps(res)), flush=True)
        except Exception as e:  # a dev console: report, keep going
            print("%s %s failed: %r" % (parts[0], parts[1], e), flush=True)


async def _main(args) -> None:
    cs = CentralSystem(boot_status=args.boot_status, heartbeat_interval=args.heartbeat,
                       response_timeout=args.timeout,
                       ping_interval=args.ping_interval or None,
                       on_event=None if args.quiet else (lambda s: print(s, flush=True)))
    if args.accept_tags is not None:
        cs.auth_default = "Invalid"
        cs.auth_tags = {t: "Accepted" for t in args.accept_tags.split(",") if t}
    cs.next_transaction_id = args.first_transaction_id
    cs.delay_ms = args.delay_ms
    cs.delay_jitter_ms = args.delay_jitter_ms
    cs.reseed(args.seed)
    cs.set_silent(args.silent)
    ssl_context = None
    if args.tls_cert:
        import ssl
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
    port = await cs.start(args.host, args.port, ssl_context)
    print("CSMS listening on %s://%s:%d/<cp_id>" % ("wss" if ssl_context else "ws", args.host, port),
          flush=True)
    tasks = []
    if not args.no_stdin:
        tasks.append(asyncio.ensure_future(_stdin_commands(cs)))
    try:
        await asyncio.Event().wait()
    finally:
        for t in tasks:
            t.cancel()
        await cs.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="development OCPP 1.6-J Central System")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--boot-status", default="Accepted", choices=["Accepted", "Pending", "Rejected"])
    p.add_argument("--heartbeat", type=int, default=300, help="BootNotification interval, s")
    p.add_argument("--accept-tags", default=None,
                   help="comma-separated idTags to accept (others Invalid); default: accept all")
    p.add_argument("--first-transaction-id", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0, help="wait for CP replies, s")
    p.add_argument("--ping-interval", type=float, default=0, help="websocket pings, s (0: off)")
    p.add_argument("--delay-ms", type=int, default=0,
                   help="answer every CALL this many ms late (a slow Central System)")
    p.add_argument("--delay-jitter-ms", type=int, default=0,
                   help="plus 0..N ms per CALL, drawn from --seed")
    p.add_argument("--seed", type=int, default=1, help="seed of the random draws (jitter)")
    p.add_argument("--silent", default="", metavar="ACTION,...|all",
                   help="never answer these CALLs (all: none at all); they are still printed")
    p.add_argument("--tls-cert", default=None)
    p.add_argument("--tls-key", default=None)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--no-stdin", action="store_true", help="no console commands")
    args = p.parse_args(argv)
    try:
        CentralSystem().set_silent(args.silent)
    except ValueError as e:
        p.error(str(e))
    if args.delay_ms < 0 or args.delay_jitter_ms < 0:
        p.error("--delay-ms and --delay-jitter-ms must be >= 0")
    logging.basicConfig(level=logging.WARNING if not args.quiet else logging.ERROR)
    try:
        asyncio.run(_main(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
