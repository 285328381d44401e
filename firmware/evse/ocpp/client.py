# The OCPP 1.6J client: the MCU's link to the Central System.
#
# Synchronous core (testable without a network):
#   pump(now)       decides the next CALL to send (one outstanding at a time):
#                   BootNotification until Accepted, then volatile messages
#                   (StatusNotification, Authorize, DataTransfer, notifications)
#                   before the persistent transaction journal (OCPP 1.6 3.7 allows
#                   non-transaction messages to overtake queued ones), then a
#                   Heartbeat after HeartBeatInterval of silence.
#   on_text(text)   one incoming frame: a CALL goes to the service that
#                   registered its action (evse.ocpp.operations),
#                   CALLRESULT/CALLERROR to the pending CALL.
#   outbox          frames to write, drained by the async shell.
# Async shell: connect with bounded exponential backoff (OfflineMode never
# connects), a reader task, a pump task (real clock) or settle_io() (virtual
# clock: the simulator waits, in real time, for the Central System's answer
# to an outstanding CALL before jumping virtual time).
import gc
import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only

from evse.aio import asyncio

from evse.clock import iso8601, wait_event_ms
from evse.ocpp import rpc
from evse.ocpp.journal import Journal, START, STOP, METER
# imported with the client (at boot, before the journal is loaded), not at the
# first connection attempt: on the Unix port the module is compiled then,
# which needs heap a long offline queue may have fragmented by that time
from evse.ocpp.ws import WSClient, Backoff
from evse.ocpp.wshandshake import build_url
from evse.ticks import ticks_add, ticks_diff

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# kinds of pending CALLs
_K_BOOT = const(0)
_K_VOLATILE = const(1)
_K_TX = const(2)
_K_HEARTBEAT = const(3)

_BOOT_RETRY_DEFAULT_S = const(60)


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("BESPath", "BESPortnumber", "BESURL", "ChargePointVendor", "Model",
                      "HeartBeatInterval", "MessageResponseTimeOut", "TransactionMessageAttempts",
                      "TransactionMessageRetryInterval", "WebSocketPingInterval", "NodeId", "OfflineMode",
                      "UseWebsocketSecure", "AuthorizationKey", "SecurityProfile", "RootCertificate",
                      "ClientCertificate", "ClientKey", "OCPPProtocolsSupported"))


class CallOut:
    __slots__ = ("msg_id", "action", "payload", "kind", "cb", "seq", "deadline", "waited")

    def __init__(self, msg_id, action, payload, kind, cb, seq, deadline) -> None:
        self.msg_id = msg_id
        self.action = action
        self.payload = payload
        self.kind = kind
        self.cb = cb
        self.seq = seq
        self.deadline = deadline
        self.waited = False


class OcppClient:
    # the simulator's hooks (evsesim: the event log, the link faults): class
    # defaults, so that a board's client (which never sets them) carries no
    # slots for them (38 attributes took an instance dictionary of 47)
    tap = None                      # type: Any  # tap(direction, frame): the simulator's event log
    wrap_ws = None                  # type: Any  # wrap_ws(ws) -> ws-like, per connection: the simulator's link faults

    def __init__(self, config, board, journal=None, ids=None) -> None:
        # what the client tells the services, wired once by the composition
        # root (evse.station): answered(action, seq, request, conf) for a
        # confirmed transaction message, registered() after the first
        # BootNotification Accepted; meter_type for BootNotification; the
        # network service (evse.services.network) or None
        self.answered = None        # type: Any
        self.registered_fns = ()    # type: Any
        self.meter_type = ""
        self.max_frame = 16384      # largest OCPP-J message either way; WebSocket frames are 2 KiB (ocpp.ws)
        self.network = None         # type: Any
        self.config = config
        self.board = board
        self.clock = board.clock
        self.journal = journal if journal is not None else Journal(board.storage)
        self._sync_journal_config()
        self.ids = ids if ids is not None else rpc.IdGen(board.random_bytes(4))
        self.outbox = []            # type: list  # frames (str) to write
        self.after = []             # type: list  # callables run after the outbox is flushed
        self.queue = []             # type: list  # volatile CALLs: [action, payload, cb, connector or -1]
        self.pending = None         # type: CallOut | None  # the outstanding CALL
        self.connected = False
        self.connecting = False
        self.closing = 0            # close handshakes in progress (the shell's own)
        self.backoff_due = None     # type: int | None  # ticks: the reconnect delay ends
        self.registered = False     # BootNotification Accepted since boot
        self.boot_status = ""       # "", "Pending", "Rejected", "Accepted"
        self.boot_due = 0
        self.boot_wait = False
        self.triggered = []         # type: list  # queue items a TriggerMessage asked for while Pending
        self._capture = None        # type: Any  # list collecting queued items (run_triggered)
        self.last_sent = self.clock.ticks_ms()
        self.operations = None      # type: Any  # evse.ocpp.operations.Operations (the services' CALLs)
        self.log = []               # type: list  # recent protocol notes (the last 12)
        self.stats = {"sent": 0, "received": 0, "errors_sent": 0, "timeouts": 0}
        self.ws = None              # type: Any  # the WSClient while connected
        self._wsc = None            # type: Any  # the WSClient, reused (ws_client)
        self.running = False
        self._tasks = []            # type: list
        self._wake = None           # type: Any  # the pump loop's
        self._io = None             # type: Any  # settle_io's: something of the link's moved
        self._net = None            # type: Any  # set when the network link comes up
        self.last_error = ""
        config.subscribe(self._on_config, ("TransactionMessageAttempts", "TransactionMessageRetryInterval",
                                           "AuthorizationKey", "SecurityProfile"))

    # ---- configuration ------------------------------------------------------
    def _sync_journal_config(self) -> None:
        g = self.config.get
        self.journal.attempts = max(1, g("TransactionMessageAttempts"))
        self.journal.retry_interval_s = g("TransactionMessageRetryInterval")

    def _on_config(self, key: str) -> None:
        if key in ("TransactionMessageAttempts", "TransactionMessageRetryInterval"):
            self._sync_journal_config()
        elif key in ("AuthorizationKey", "SecurityProfile"):
            # security whitepaper A01/A05: answer, then reconnect with the new
            # credentials / profile
            self.after.append(self._reconnect)

    async def _reconnect(self) -> None:
        ws = self.ws
        if ws is not None and not ws.closed:
            self.last_error = "credentials changed: reconnecting"
            await self._close(ws)

    def net_changed(self, net) -> None:
        """evse.services.network's on_change."""
        self.network_changed(net.up, net.replaced)

    def network_changed(self, up: bool, replaced: bool = False) -> None:
        """evse.services.network: the station's link went down, came up or
        moved to another interface. A WebSocket over a dead or replaced link
        is dropped now (it would otherwise hang until its ping times out);
        once up, the next connection attempt comes at once, not after the
        backoff."""
        if (not up or replaced) and self.ws is not None:
            self.after.append(self._drop)
        if up and self._net is not None:
            self._net.set()
        self.kick()

    async def _drop(self) -> None:
        ws = self.ws
        if ws is not None and not ws.closed:
            self.last_error = "network link changed: reconnecting"
            await self._close(ws)

    def _net_down(self) -> bool:
        """The station's network link is down (a board that is still
        connecting or has lost its link): no connection attempt then. A
        station without managed interfaces never waits."""
        net = self.network
        return net is not None and net.managed and not net.up

    async def _close(self, ws) -> None:
        """Close handshake (bounded by the WebSocket layer); settle_io waits
        for it, so virtual time never runs past a reconnect in progress."""
        self.closing += 1
        try:
            await ws.close()
        except Exception:
            pass
        finally:
            self.closing -= 1
        self.kick()

    def note(self, text: str) -> None:
        # the last 12, what the status shows: on a flaky link 50 notes were
        # some 4 KB of strings on a board's heap
        self.log.append(text)
        if len(self.log) > 12:
            self.log.pop(0)

    # ---- API for the services --------------------------------------------------
    def queued(self) -> int:
        return len(self.journal) + len(self.queue) + (1 if self.pending else 0)

    def send(self, action: str, payload: dict, cb=None, connector: int = -1) -> None:
        """Queue a non-transaction CALL. cb(result_payload or None) on answer,
        CALLERROR, timeout or loss of the connection."""
        item = None
        if action == "StatusNotification" and connector >= 0:
            # keep only the newest unsent status per connector
            for it in self.queue:
                if it[0] == action and it[3] == connector:
                    it[1] = payload
                    item = it
                    break
        if item is None:
            item = [action, payload, cb, connector]
            self.queue.append(item)
        if self._capture is not None:
            self._capture.append(item)
        self.kick()

    def run_triggered(self, fn) -> None:
        """Run fn(), which queues what a TriggerMessage asked for. While the
        boot is Pending exactly those messages may go out (4.2, 5.17)."""
        self._capture = []
        try:
            fn()
        finally:
            items = self._capture
            self._capture = None
        if self.boot_status == "Pending":
            self.triggered.extend(items)
            self.kick()

    def push_tx(self, action: str, payload: dict, ref) -> int:
        seq = self.journal.push(action, payload, ref)
        self.kick()
        return seq

    def authorize(self, tag: str, cb) -> None:
        """Authorize.req for a card (evse.services.cards): cb(idTagInfo),
        or cb(None) offline or unanswered."""
        if not self.online():
            cb(None)
            return

        def answer(conf):
            cb(conf.get("idTagInfo") if conf is not None else None)
        self.send("Authorize", {"idTag": tag}, answer)

    def data_transfer(self, vendor_id: str, message_id=None, data=None, cb=None) -> bool:
        """A vendor-specific DataTransfer.req to the Central System (OCPP 4.3).
        cb(conf or None). False (nothing sent) while not registered: vendor
        data is not transaction-related, so it is not queued offline."""
        if not self.online():
            if cb is not None:
                cb(None)
            return False
        p = {"vendorId": vendor_id}
        if message_id is not None:
            p["messageId"] = message_id
        if data is not None:
            p["data"] = data
        self.send("DataTransfer", p, cb)
        return True

    def basic_auth(self):
        # OCPP security profiles 1/2: HTTP Basic with the charge point id and
        # the AuthorizationKey, whenever one is configured.
        key = self.config.get("AuthorizationKey")
        return (self.config.get("NodeId"), key) if key else None

    def cadata(self):
        if not self.config.get("UseWebsocketSecure") and self.config.get("SecurityProfile") < 2:
            return None
        name = self.config.get("RootCertificate")
        return self.board.storage.read(name) if name else None

    def online(self) -> bool:
        return self.connected and self.registered

    def kick(self) -> None:
        if self._wake is not None:
            self._wake.set()
            self._io.set()

    # ---- the synchronous core --------------------------------------------------
    def pump(self, now: int) -> None:
        if not self.connected:
            return
        p = self.pending
        if p is not None:
            if ticks_diff(now, p.deadline) >= 0:
                self.stats["timeouts"] += 1
                self.note("timeout %s %s" % (p.action, p.msg_id))
                self.pending = None
                self._failed(p, None, now)
            else:
                return
        if self.boot_status != "Accepted":
            while self.boot_status == "Pending" and self.triggered:
                t = self.triggered.pop(0)
                for i, item in enumerate(self.queue):
                    if item is t:       # the very message the trigger queued
                        del self.queue[i]
                        self._call(item[0], item[1], _K_VOLATILE, item[2], None, now)
                        return
            if not self.boot_wait or ticks_diff(now, self.boot_due) >= 0:
                self._call("BootNotification", self.boot_payload(), _K_BOOT, None, None, now)
            return
        if self.queue:
            action, payload, cb, _c = self.queue.pop(0)
            self._call(action, payload, _K_VOLATILE, cb, None, now)
            return
        if self.journal.ready(now):
            head = self.journal.peek()
            if head is not None:
                seq, action, payload = head
                self._call(action, payload, _K_TX, None, seq, now)
                return
        hb = self.config.get("HeartBeatInterval")
        if hb > 0 and ticks_diff(now, self.last_sent) >= hb * 1000:
            self._call("Heartbeat", {}, _K_HEARTBEAT, None, None, now)

    def next_deadline_ms(self, now: int) -> int:
        """ms until pump() has something to do (for virtual-time jumps)."""
        if not self.connected:
            due = self.backoff_due
            return -1 if due is None else max(0, ticks_diff(due, now))
        if self.pending is not None:
            return max(0, ticks_diff(self.pending.deadline, now))
        if self.boot_status != "Accepted":
            if self.boot_status == "Pending" and self.triggered:
                return 0
            return max(0, ticks_diff(self.boot_due, now)) if self.boot_wait else 0
        if self.queue:
            return 0
        best = -1
        w = self.journal.wait_ms(now)
        if w is not None:
            best = w
        hb = self.config.get("HeartBeatInterval")
        if hb > 0:
            d = max(0, hb * 1000 - ticks_diff(now, self.last_sent))
            best = d if best < 0 else min(best, d)
        return best

    def _call(self, action: str, payload: dict, kind: int, cb, seq, now: int) -> None:
        msg_id = self.ids.next()
        timeout = self.config.get("MessageResponseTimeOut") * 1000
        self.pending = CallOut(msg_id, action, payload, kind, cb, seq, ticks_add(now, timeout))
        self.outbox.append(rpc.call(action, payload, msg_id)[1])
        self.last_sent = now
        self.stats["sent"] += 1

    def on_text(self, text: str) -> None:
        now = self.clock.ticks_ms()
        self.stats["received"] += 1
        msg = rpc.parse(text, validate=False)
        kind = msg.kind
        if kind == rpc.CALL:
            self._incoming_call(msg.id, msg.action, msg.payload)
        elif kind == rpc.CALLRESULT:
            p = self.pending
            if p is None or p.msg_id != msg.id:
                self.note("ignored CALLRESULT for unknown id %r" % (msg.id,))
                return
            self.pending = None
            err = rpc.validate_result(p.action, msg.payload)
            if err is not None:
                self.note("invalid %s.conf: %s" % (p.action, err[1]))
                self._failed(p, None, now)
                return
            self._answered(p, msg.payload, now)
        elif kind == rpc.CALLERROR:
            p = self.pending
            if p is None or p.msg_id != msg.id:
                self.note("ignored CALLERROR for unknown id %r" % (msg.id,))
                return
            self.pending = None
            self.note("CALLERROR %s %s: %s" % (p.action, msg.code, msg.desc))
            self._failed(p, msg.code, now)
        else:  # rpc.INVALID
            self.note("bad frame: %s %s" % (msg.code, msg.desc))
            p = self.pending
            if p is not None and msg.id is not None and msg.id == p.msg_id and msg.mtype in (3, 4):
                # a malformed answer to our CALL: the CALL failed
                self.pending = None
                self._failed(p, None, now)
            if msg.reply is not None:
                self.outbox.append(msg.reply)
                self.stats["errors_sent"] += 1

    def _incoming_call(self, msg_id: str, action: str, payload) -> None:
        if self.boot_status == "Rejected":
            return  # OCPP 1.6 4.2: while Rejected, do not respond
        err = rpc.validate_call(action, payload)
        if err is not None:
            self.outbox.append(rpc.error(msg_id, err[0], err[1]))
            self.stats["errors_sent"] += 1
            return
        ops = self.operations
        fn = ops.handler(action) if ops is not None else None
        if fn is None:
            self.outbox.append(rpc.error(msg_id, "NotImplemented", "action %s is not supported" % action))
            self.stats["errors_sent"] += 1
            return
        try:
            res = fn(payload)
        except rpc.CallError as e:
            self.outbox.append(rpc.error(msg_id, e.code, e.description))
            self.stats["errors_sent"] += 1
            return
        except Exception as e:  # a handler bug must not take the link down
            self.note("handler %s failed: %r" % (action, e))
            self.outbox.append(rpc.error(msg_id, "InternalError", "handler failed"))
            self.stats["errors_sent"] += 1
            return
        if isinstance(res, rpc.Later):
            ws = self.ws
            res.bind(lambda conf: self._late_result(ws, msg_id, conf))
            return
        self.outbox.append(rpc.result(msg_id, res))

    def _late_result(self, ws, msg_id: str, conf: dict) -> None:
        # a deferred handler answer (rpc.Later), on the connection it was asked on
        if self.connected and self.ws is ws:
            self.outbox.append(rpc.result(msg_id, conf))
            self.kick()

    def _answered(self, p: CallOut, payload, now: int) -> None:
        if p.kind == _K_BOOT:
            self._boot_answer(payload, now)
        elif p.kind == _K_HEARTBEAT:
            self._set_time(payload.get("currentTime"))
        elif p.kind == _K_TX:
            self.journal.ack(p.seq, payload)
            if self.answered is not None:
                self.answered(p.action, p.seq, p.payload, payload)
        if p.cb is not None:
            p.cb(payload)

    def _failed(self, p: CallOut, code, now: int) -> None:
        """CALLERROR (code) or timeout/invalid answer (code None)."""
        if p.kind == _K_BOOT:
            self.boot_wait = True
            self.boot_due = ticks_add(now, _BOOT_RETRY_DEFAULT_S * 1000)
        elif p.kind == _K_TX:
            if self.journal.fail(p.seq, now):
                self.note("dropped %s seq %d after %d attempts" % (p.action, p.seq, self.journal.attempts))
        if p.cb is not None:
            p.cb(None)

    def _lost(self) -> None:
        """The connection dropped: a transaction message in flight is sent
        again later (not a failure to process); volatile callbacks get None."""
        p = self.pending
        self.pending = None
        if p is not None:
            if p.kind == _K_VOLATILE:
                if p.action == "StatusNotification":
                    self.queue.insert(0, [p.action, p.payload, p.cb, p.payload.get("connectorId", -1)])
                elif p.cb is not None:
                    p.cb(None)
        # Authorize and other volatile requests cannot wait for the link
        keep = []
        for item in self.queue:
            if item[0] in ("StatusNotification", "DiagnosticsStatusNotification",
                           "FirmwareStatusNotification"):
                keep.append(item)
            elif item[2] is not None:
                item[2](None)
        self.queue = keep

    def _boot_answer(self, payload, now: int) -> None:
        status = payload.get("status")
        interval = payload.get("interval", 0)
        self._set_time(payload.get("currentTime"))
        self.boot_status = status
        if status == "Accepted":
            first = not self.registered
            self.registered = True
            self.boot_wait = False
            if type(interval) is int and interval > 0:
                self.config.change("HeartBeatInterval", str(min(interval, 65234)))
            self.last_sent = now
            if first:
                for fn in self.registered_fns:
                    fn()
        else:
            self.boot_wait = True
            wait = interval if type(interval) is int and interval > 0 else _BOOT_RETRY_DEFAULT_S
            self.boot_due = ticks_add(now, wait * 1000)

    def time_from(self, conf) -> None:
        """Callback for a Heartbeat.conf sent through the volatile queue."""
        if conf is not None:
            self._set_time(conf.get("currentTime"))

    def _set_time(self, ts) -> None:
        if type(ts) is not str:
            return
        try:
            from evse.clock import parse_iso8601
            self.clock.set_utc(parse_iso8601(ts))
        except ValueError:
            self.note("bad currentTime %r" % (ts,))

    def boot_payload(self) -> dict:
        g = self.config.get
        p = {"chargePointVendor": g("ChargePointVendor")[:20], "chargePointModel": g("Model")[:20]}
        for key, field, n in (("SerialNumber", "chargePointSerialNumber", 25),
                              ("SerialNumber", "chargeBoxSerialNumber", 25),
                              ("FirmwareVersionMCU", "firmwareVersion", 50),
                              ("ModemICCID", "iccid", 20), ("ModemIMSI", "imsi", 20)):
            v = g(key)
            if v:
                p[field] = v[:n]
        mt = self.meter_type
        if mt:
            p["meterType"] = mt[:25]
        return p

    def trigger(self, action: str) -> None:
        """TriggerMessage for BootNotification: send one now (other messages
        a trigger queues go out while Pending through run_triggered)."""
        if action == "BootNotification":
            self.boot_wait = False
            self.boot_status = "" if self.boot_status != "Accepted" else "Accepted"
            if self.boot_status == "Accepted":
                # a triggered BootNotification while accepted: send it now
                self.boot_status = "Triggered"
        self.kick()

    # ---- the async shell ----------------------------------------------------------
    async def start(self) -> None:
        self.running = True
        self._wake = asyncio.Event()
        self._io = asyncio.Event()
        self._net = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._connection_loop()))

    async def stop(self) -> None:
        # The connection loop closes the link itself (close handshake, bounded)
        # once it sees running False. Closing it from here as well raced with
        # that loop cancelling its reader: MicroPython's asyncio drops a
        # socket's whole poll entry when a task waiting on it is cancelled,
        # so our close frame's drain() never woke up and shutdown hung.
        self.running = False
        self.kick()
        tasks = self._tasks
        self._tasks = []
        for t in tasks:
            try:
                await asyncio.wait_for(t, 8)
            except (Exception, asyncio.CancelledError):
                pass
        ws = self.ws
        if ws is not None and not ws.closed:
            try:
                await ws.close()
            except Exception:
                pass

    def url(self) -> str:
        g = self.config.get
        return build_url(g("BESURL"), g("BESPortnumber"), g("BESPath"), g("NodeId"),
                         bool(g("UseWebsocketSecure")) or g("SecurityProfile") >= 2)

    async def _connection_loop(self) -> None:
        # No exception may end this task: a station that stopped trying would
        # never deliver what it queued (seen after hours offline and a power
        # cut: a MemoryError near the heap limit killed it for good). Whatever
        # fails in one attempt - connecting, the running link, the heap - is
        # noted in last_error / the log, the heap is collected, and the next
        # attempt comes after the backoff.
        backoff = Backoff(1, 300, self._jitter)
        while self.running:
            try:
                if self.config.get("OfflineMode"):
                    await self._sleep_ms(1000)
                    continue
                if self._net_down():
                    self.last_error = "network link down"
                    await self.clock.wait_ms(1000, self._net, self)    # or the link comes up
                    continue
                await self._attempt(backoff)
            except Exception as e:
                self.connecting = False
                self.kick()
                self._fault("link", e)
                if self.running:
                    await self._retry_wait(backoff)

    def ws_client(self):
        """The one WSClient of this client, built on first use and reused by
        every connection attempt: its frame buffers (2 x 2 KiB, ws.FRAME_SIZE)
        are allocated once per station lifetime, not once per attempt (a
        fragmented heap after a long outage may have no block left). The
        largest message, station.max_frame, needs no buffer of its own size
        kept: it takes effect at the next attempt."""
        w = self._wsc
        if w is None:
            w = self._wsc = WSClient(max_size=self.max_frame)
        elif w.max_size != self.max_frame:
            w.set_max_size(self.max_frame)
        return w

    async def _attempt(self, backoff) -> None:
        """One connection attempt, and the link's life if it connects."""
        self.connecting = True
        try:
            ws = self.ws_client()
            auth = self.basic_auth()
            await ws.connect(self.url(), basic_auth=auth, cadata=self.cadata(),
                             net=self.board.net)
        except Exception as e:
            self.connecting = False
            self.kick()
            self._fault("connect", e)
            await self._retry_wait(backoff)
            return
        self.connecting = False
        if self.wrap_ws is not None:
            ws = self.wrap_ws(ws)
        self.ws = ws
        self.connected = True
        if self._net is not None:
            self._net.clear()       # an earlier "link up" is used up by this connection
        self.kick()
        tasks = []  # type: list
        try:
            self.note("connected " + self.url())
            backoff.reset()
            if self.boot_status == "Rejected":
                self.boot_wait = True
            tasks.append(asyncio.create_task(self._reader(ws)))
            tasks.append(asyncio.create_task(ws.keepalive(self.config.get("WebSocketPingInterval"),
                                                          self.clock.ticks_ms, self._sleep_ms)))
            await self._pump_loop(ws)
        finally:
            self.connected = False
            self.ws = None
            for t in tasks:
                try:
                    t.cancel()
                except Exception:
                    pass
            self._lost()
            if tasks:
                # let the cancelled reader leave recv() before the close
                # handshake, which would otherwise wait for it to see the
                # answer (and time out)
                await asyncio.sleep(0)
            await self._close(ws)
        self.note("disconnected: %s" % (self.last_error,))
        if self.running:
            await self._retry_wait(backoff)

    def _fault(self, where: str, e) -> None:
        """Note a failure of the link task; never raises (even without heap
        for the text)."""
        try:
            gc.collect()
        except Exception:
            pass
        try:
            self.last_error = "%s: %r" % (where, e)
        except Exception:
            self.last_error = where + ": out of memory"
        try:
            self.note(self.last_error)
        except Exception:
            pass

    async def _retry_wait(self, backoff) -> None:
        try:
            await self._backoff(backoff.next_ms())
        except Exception:
            # not even the wait could be set up: yield a while, then retry
            self.backoff_due = None
            try:
                await asyncio.sleep(0.1)
            except Exception:
                pass

    async def _reader(self, ws) -> None:
        try:
            while True:
                text = await ws.recv()
                if self.tap is not None:
                    self.tap("in", text)
                self.on_text(text)
                await self.flush()
                self.kick()          # an answer frees the link for the next CALL
        except Exception as e:
            self.last_error = "recv: %r" % (e,)
        self.kick()

    async def _pump_loop(self, ws) -> None:
        while self.running and not ws.closed:
            # also on the virtual clock: the station boots and talks at the
            # current virtual instant without waiting for an `advance`
            self.pump(self.clock.ticks_ms())
            await self.flush()
            self._wake.clear()
            if ws.closed:
                break
            # real time to the next deadline (the clock knows what that is)
            d = self.clock.real_ms(self.next_deadline_ms(self.clock.ticks_ms()))
            if d < 0 or d > 1000:
                d = 1000
            await self._wait(max(d, 5))

    async def _wait(self, ms: int, ev=None) -> bool:
        """Wait for the event (the pump loop's by default) at most ms of real
        time; True when it was set."""
        return await wait_event_ms(ev or self._wake, ms)

    async def flush(self) -> None:
        ws = self.ws
        while self.outbox:
            text = self.outbox.pop(0)
            if ws is None or ws.closed:
                self.outbox = []
                break
            try:
                await ws.send_text(text)
                if self.tap is not None:
                    self.tap("out", text)
            except Exception as e:
                self.last_error = "send: %r" % (e,)
                self.outbox = []
                await self._close(ws)
                break
        while self.after:
            fn = self.after.pop(0)
            try:
                r = fn()
                if r is not None and hasattr(r, "send"):
                    await r
            except Exception as e:
                self.note("after-reply action failed: %r" % (e,))

    async def settle_io(self) -> None:
        """Virtual clock: give the network its chance at this virtual instant.
        Waits (real time, bounded) for a connection attempt in progress and for
        the answer to an outstanding CALL, so virtual time does not run past
        an answer that is on its way."""
        for _ in range(3):
            await asyncio.sleep(0)
        spins = 0
        io = self._io
        while spins < 400:
            if io is not None:
                io.clear()
            if self.connected:
                self.pump(self.clock.ticks_ms())
            await self.flush()
            if not self._idle():
                # woken at once by an answer or a change of the connection
                # (kick); each 5 ms without news counts towards the bound
                if io is None:
                    await asyncio.sleep(0.005)      # not started (tests)
                    spins += 1
                elif not await self._wait(5, io):
                    spins += 1
                continue
            # a connection task that has just been woken gets its turn: it
            # may start connecting or closing at this very instant
            for _ in range(3):
                await asyncio.sleep(0)
            if self._idle():
                break
        if self.pending is not None:
            self.pending.waited = True
        for _ in range(2):
            await asyncio.sleep(0)

    def _idle(self) -> bool:
        """Virtual clock: nothing of the link's is in flight at this instant
        (no connection attempt, close handshake, reconnect delay that has run
        out, queued reply or unanswered CALL not yet waited for)."""
        if self.connecting or self.closing or self.outbox or self.after:
            return False
        due = self.backoff_due
        if due is not None and ticks_diff(self.clock.ticks_ms(), due) >= 0:
            return False
        p = self.pending
        return p is None or p.waited

    async def _backoff(self, ms: int) -> None:
        """The reconnect delay, in firmware time, cut short when the network
        link comes up. On a virtual clock it is a deadline (next_deadline_ms)
        its driver jumps to; settle_io waits until this task has moved on
        once it has run out."""
        self.backoff_due = ticks_add(self.clock.ticks_ms(), ms)
        try:
            ev = self._net
            if await self.clock.wait_ms(ms, ev, self):
                ev.clear()          # the network link came up: try now
        finally:
            self.backoff_due = None
            self.kick()

    async def _sleep_ms(self, ms: int) -> None:
        """Sleep in firmware time, as the clock waits (real time on a running
        clock; on a virtual one until it has been moved on by ms)."""
        await self.clock.wait_ms(ms, None, self)

    def _jitter(self, n: int) -> int:
        b = self.board.random_bytes(2)
        return (b[0] << 8 | b[1]) % (n + 1) if n > 0 else 0
