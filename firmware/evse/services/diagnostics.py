# Diagnostics upload (OCPP 1.6 5.9 GetDiagnostics, 4.4 DiagnosticsStatusNotification;
# manual 3.9): a text file with firmware versions, uptime, the configuration
# (secrets left out), an error history and recent log lines, uploaded by FTP or
# HTTP(S) POST to the location the Central System names (a directory).
#
#   Log(clock, size)                 bounded in-RAM ring of timestamped lines
#   Diagnostics(storage, clock, net, config, notify, log=, errors=, info=)
#     request(location, retries, retry_interval, start_time, stop_time) -> fileName | None
#         builds the file at once (collect) and schedules the upload
#     poll(now) / next_deadline_s(now)   virtual-time friendly driver (like FirmwareUpdater)
#     run(sleep_s)                      real-time driver: the OCPP layer may create_task it
#     status() -> "Uploading" while a request is pending, else "Idle" (TriggerMessage)
# Notifications: "Uploading" when the first try starts, then "Uploaded", or
# "UploadFailed" once 1 + retries tries have failed.
from evse.aio import asyncio

import json

from evse import VERSION
from evse.clock import iso8601, parse_iso8601
from evse.services import transfer, transferjob
# the log ring and the secret keys live apart: a station (and its website)
# needs them without loading this service
from evse.services.log import Log, SECRET_KEYS, is_secret  # noqa: F401
from evse.ticks import ticks_diff

def _epoch(v):
    if type(v) is int:
        return v
    if type(v) is str:
        try:
            return parse_iso8601(v)
        except ValueError:
            return None
    return None


def _safe_name(s: str) -> str:
    out = []
    for c in s:
        out.append(c if ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in "_.-") else "_")
    return "".join(out)


class Diagnostics:
    """storage: Storage; clock: now()/ticks_ms(); net: HAL Net; config:
    evse.config.store.Config; notify(action, payload) queues an OCPP request.
    log / errors: Log rings (recent events, error history); info(): optional
    dict of extra facts (station status, ...) written into the file."""

    def __init__(self, storage, clock, net, config, notify, log=None, errors=None, info=None,
                 cadata=None, timeout_s: int = transfer.DEFAULT_TIMEOUT_S, up_ms: int = 0,
                 since=None) -> None:
        # up_ms / since: the uptime counted so far and its ticks_ms() mark, for
        # a service loaded after boot (the station counts until then)
        self.storage = storage
        self.clock = clock
        self.net = net
        self.config = config
        self.notify = notify
        self.log = log
        self.errors = errors
        self.info = info
        self.cadata = cadata
        self.timeout_s = timeout_s
        self.task: "asyncio.Task | None" = None   # the running upload try
        self.file_name = ""
        self.last_error = ""
        self._job: "transferjob.Job | None" = None
        self._up_ms = up_ms
        self._last_t = clock.ticks_ms() if since is None else since

    # ---- the file ----------------------------------------------------------------------------
    def uptime_s(self) -> int:
        t = self.clock.ticks_ms()
        self._up_ms += max(0, ticks_diff(t, self._last_t))
        self._last_t = t
        return self._up_ms // 1000

    def collect(self, start_time=None, stop_time=None):
        """Write the diagnostics file into storage; -> its name, None on failure.
        Earlier diagnostics files are removed (one at a time on flash)."""
        start = _epoch(start_time)
        stop = _epoch(stop_time)
        now = self.clock.now()
        stamp = iso8601(now).replace("-", "").replace(":", "")
        node = self._cfg_str("NodeId")
        name = "diag-" + (_safe_name(node)[:40] + "-" if node else "") + stamp + ".txt"
        for n in self.storage.names():
            if n.startswith("diag-") and n != name:
                self.storage.remove(n)
        head = ["# micro-evse diagnostics",
                "file: " + name,
                "created: " + iso8601(now),
                "period: %s .. %s" % (iso8601(start) if start is not None else "-",
                                      iso8601(stop) if stop is not None else "-"),
                "firmware_mcu: " + self._cfg_str("FirmwareVersionMCU"),
                "firmware_iocu: " + self._cfg_str("FirmwareVersionIOCU"),
                "firmware_builtin: " + VERSION,
                "uptime_s: %d" % self.uptime_s()]
        if self.info is not None:
            try:
                extra = self.info()
                for k in sorted(extra):
                    head.append("%s: %s" % (k, json.dumps(extra[k])))
            except Exception as e:  # a broken source must not block the upload
                head.append("info_error: %s" % (e,))
        head.append("")
        head.append("[configuration]")
        try:
            self.storage.write(name, ("\n".join(head) + "\n").encode())
            self.storage.append(name, self._config_text())
            for title, ring in (("errors", self.errors), ("log", self.log)):
                lines = ring.lines(start, stop) if ring is not None else []
                self.storage.append(name, ("\n[%s]\n" % title + "".join(ln + "\n" for ln in lines)).encode())
        except OSError as e:
            self.last_error = "collect: %s" % (e,)
            self.storage.remove(name)
            return None
        return name

    def _cfg_str(self, key: str) -> str:
        try:
            v = self.config.get(key)
        except (KeyError, AttributeError):
            return ""
        return v if type(v) is str else ("" if v is None else str(v))

    def _config_text(self) -> bytes:
        gc = getattr(self.config, "get_configuration", None)
        if gc is None:
            return b""
        items, _ = gc()      # no rng_bytes: reading does not rotate the local password
        out = []
        for it in items:
            k = it["key"]
            if not is_secret(k):
                out.append("%s = %s\n" % (k, it.get("value")))
        return "".join(out).encode()

    # ---- the request -------------------------------------------------------------------------
    def request(self, location: str, retries=None, retry_interval=None, start_time=None, stop_time=None):
        """GetDiagnostics.req -> the fileName for GetDiagnostics.conf (None: no
        file, the .conf carries none and nothing is uploaded). Replaces a
        request still in progress."""
        try:
            transfer.parse_url(location)
        except ValueError as e:
            self.last_error = "location: %s" % (e,)
            self._note("GetDiagnostics location refused: %s" % e)
            return None
        name = self.collect(start_time, stop_time)
        if name is None:
            return None
        self._cancel()
        self.file_name = name
        self._job = transferjob.Job(location, self.clock.now(), retries, retry_interval)
        return name

    def status(self) -> str:
        return "Uploading" if self._job is not None else "Idle"

    def next_deadline_s(self, now: int) -> int:
        if self._job is None or self.task is not None:
            return -1
        return self._job.wait_s(now)

    def poll(self, now: int) -> None:
        self.uptime_s()
        if self._job is not None and self.task is None and self._job.due(now):
            self.task = asyncio.create_task(self._attempt(self._job))

    async def run(self, sleep_s=None) -> None:
        """Real-time driver: poll until the request is done."""
        while True:
            self.poll(self.clock.now())
            t = self.task
            if t is not None:
                try:
                    await t
                except asyncio.CancelledError:
                    pass
                continue
            d = self.next_deadline_s(self.clock.now())
            if d < 0:
                return
            if d > 0:
                await (sleep_s or transferjob.sleep_s)(min(d, 60))

    async def _attempt(self, job: "transferjob.Job") -> None:
        if job.tries == 0:
            self._send("Uploading")
        job.begin()
        ok = False
        try:
            data = self.storage.read(self.file_name)
            if data is None:
                raise transfer.TransferError("diagnostics file missing")
            user, pw = transferjob.config_credentials(self.config)
            await transfer.upload(self.net, job.location, self.file_name, data, user, pw,
                                  self.cadata, self.timeout_s)
            ok = True
        except Exception as e:  # any failure of this try: retry or UploadFailed
            self.last_error = "upload: %s" % (e,)
            self._note("diagnostics " + self.last_error)
        if job is not self._job:
            return
        self.task = None
        if ok:
            self._job = None
            self._send("Uploaded")
        elif not job.retry(self.clock.now()):
            self._job = None
            self._send("UploadFailed")

    def _cancel(self) -> None:
        t = self.task
        self.task = None
        self._job = None
        if t is not None:
            t.cancel()

    def _send(self, status: str) -> None:
        self.notify("DiagnosticsStatusNotification", {"status": status})

    def _note(self, msg: str) -> None:
        if self.log is not None:
            self.log.add(msg)
