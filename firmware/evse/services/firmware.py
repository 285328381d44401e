# Remote firmware update (OCPP 1.6 5.19 UpdateFirmware, 4.5 FirmwareStatusNotification;
# manual 3.20) of the application bundle, with A/B slots and rollback.
#
# The bundle format and its streaming verifier are evse.services.fwbundle's;
# the boot loader that runs a slot is evse.apploader.
#
# Storage (flat names):
#   fw-job              pending request (location, retry schedule), survives reboots
#   fw-bundle.jsonl     completed download (fw-bundle.jsonl.part while it runs)
#   app-a.jsonl, app-b.jsonl   the two slots
#   app-active          JSON pointer, written atomically:
#       {"slot": "a"|"b"|"" (""=built-in firmware), "version", "prev", "prev_version",
#        "state": "trial"|"ok", "boots": n, "report": "" | "InstallationFailed"}
#
# Sequence: request() -> (retrieveDate) Downloading -> Downloaded | DownloadFailed
# (after 1 + retries tries) -> wait until busy() is false -> Installing ->
# InstallationFailed (bundle invalid) | new slot + pointer "trial", reboot().
# After the reboot boot_attempt() counts the boot; confirm_boot() (once the new
# firmware reached the Central System) marks it "ok" and sends Installed (errata
# 3.47: reboot first, then Installed). A trial slot not confirmed within max_boots
# boots is rolled back to the previous one, which sends InstallationFailed when
# it confirms its own boot. The boot loader (evse.apploader) runs boot_attempt()
# before the application is imported, extracts the slot and puts it first on
# sys.path; a slot that fails there (slot_failed()) is rolled back the same way.
# A bundle is a whole application: it replaces the package, it does not overlay
# single modules. The pointer's "error" says why a slot was given up.
from evse.aio import asyncio

import json

from evse import VERSION
from evse.clock import parse_iso8601
from evse.services import transfer, transferjob
from evse.services.fwbundle import BundleParser

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_IDLE_RECHECK_S = const(60)

JOB = "fw-job"
DOWNLOAD = "fw-bundle.jsonl"
POINTER = "app-active"

# internal states
_IDLE = const(0)
_WAIT = const(1)         # job scheduled (before retrieveDate or between tries)
_DOWNLOADED = const(2)   # verified or not, waiting for the station to be idle
_REBOOT = const(3)       # installed, reboot requested


def slot_name(slot: str) -> str:
    return "app-" + slot + ".jsonl"


class FirmwareUpdater:
    """storage: evse.hal.fsstore.Storage; clock: now() UTC s; net: HAL Net;
    config: evse.config.store.Config (FTPUserName/FTPPassword, FirmwareVersionMCU
    via set_internal); notify(action, payload): queue an OCPP request;
    reboot(): restart the controller (after queued messages are out);
    busy(): True while installation must wait (a charging session runs)."""

    def __init__(self, storage, clock, net, config, notify, reboot, busy=None,
                 builtin_version: str = VERSION, max_boots: int = 3,
                 max_bytes: int = transfer.DEFAULT_MAX_BYTES, cadata=None,
                 timeout_s: int = transfer.DEFAULT_TIMEOUT_S, log=None) -> None:
        self.storage = storage
        self.clock = clock
        self.net = net
        self.config = config
        self.notify = notify
        self.reboot = reboot
        self.busy = busy
        self.builtin_version = builtin_version
        self.max_boots = max_boots
        self.max_bytes = max_bytes
        self.cadata = cadata
        self.timeout_s = timeout_s
        self.log = log
        self.task: "asyncio.Task | None" = None   # the running download try
        self.last_error = ""
        self._job: "transferjob.Job | None" = None
        self._parser: "BundleParser | None" = None
        self._state = _IDLE
        self._status = "Idle"
        self._load_job()

    # ---- boot side ---------------------------------------------------------------------------
    def boot_attempt(self):
        """Call once per boot, before the application starts: counts a boot of a
        slot on trial, rolls back after max_boots unconfirmed boots, and sets
        FirmwareVersionMCU to what runs. -> storage name of the slot to run, or
        None for the built-in (frozen) firmware."""
        ptr = self._pointer()
        if ptr is None:
            self._set_version(self.builtin_version)
            return None
        slot = ptr.get("slot") or ""
        present = not slot or slot_name(slot) in self.storage.names()
        if ptr.get("state") == "trial":
            if ptr.get("boots", 0) >= self.max_boots or not present:
                self._note("firmware %s not confirmed: rolling back" % ptr.get("version"))
                ptr = {"slot": ptr.get("prev") or "", "version": ptr.get("prev_version") or self.builtin_version,
                       "prev": "", "prev_version": "", "state": "ok", "boots": 0,
                       "report": "InstallationFailed"}
                slot = ptr["slot"]
                present = not slot or slot_name(slot) in self.storage.names()
            else:
                ptr["boots"] = ptr.get("boots", 0) + 1
                self._status = "Installing"
            self._write_pointer(ptr)
        if not present:  # a confirmed slot vanished: run the built-in firmware
            self._set_version(self.builtin_version)
            return None
        self._set_version(ptr.get("version") or self.builtin_version)
        return slot_name(slot) if slot else None

    def start(self) -> None:
        """Station start-up: when the boot loader (evse.apploader.boot) ran
        in this process it counted the boot already (booted()); without one
        (tests, tools) count it here (boot_attempt()). The loader is looked
        up, not imported: a station without it does not load it."""
        import sys
        loader = sys.modules.get("evse.apploader")
        if loader is not None and loader.booted() is not None:  # type: ignore[attr-defined]
            self.booted()
        else:
            self.boot_attempt()

    def booted(self) -> None:
        """The boot loader (evse.apploader) ran boot_attempt() in this boot
        already: take over what runs without counting again."""
        ptr = self._pointer()
        if ptr is not None and ptr.get("state") == "trial":
            self._status = "Installing"
        self._set_version(self.active_version())

    def slot_failed(self, reason: str = ""):
        """The slot the pointer selects cannot run (bundle invalid, not a whole
        application, an exception at import or start-up): the boot loader goes
        back to the previous slot, or the built-in firmware. A slot on trial
        is reported InstallationFailed once the previous firmware confirms its
        boot. -> storage name of the slot to run now, None for the built-in."""
        ptr = self._pointer()
        if ptr is None or not ptr.get("slot"):
            return None
        self._note("firmware %s fails: %s" % (ptr.get("version"), reason))
        prev = ptr.get("prev") or ""
        report = "InstallationFailed" if ptr.get("state") == "trial" else ptr.get("report") or ""
        ptr = {"slot": prev, "version": (ptr.get("prev_version") if prev else "") or self.builtin_version,
               "prev": "", "prev_version": "", "state": "ok", "boots": 0, "report": report,
               "error": reason[:200]}
        self._write_pointer(ptr)
        self._status = "Idle"
        self._set_version(ptr["version"])
        return slot_name(prev) if prev else None

    def confirm_boot(self) -> None:
        """The running firmware works (call after BootNotification was Accepted):
        ends a trial (FirmwareStatusNotification Installed) and sends a pending
        InstallationFailed of a rollback."""
        ptr = self._pointer()
        if ptr is None:
            return
        changed = False
        if ptr.get("state") == "trial":
            ptr["state"] = "ok"
            ptr["boots"] = 0
            changed = True
            self._write_pointer(ptr)
            self._status = "Idle"
            self._set_version(ptr.get("version") or self.builtin_version)
            self._send("Installed")
        if ptr.get("report"):
            report = ptr["report"]
            ptr["report"] = ""
            changed = True
            self._write_pointer(ptr)
            self._send(report)
        if not changed:
            self._set_version(ptr.get("version") or self.builtin_version)

    def reset_blocker(self):
        """Why a reset cannot be carried out now, or None (manual 8.2
        ResetFailure: "a remote reset request will be rejected during the time
        the new software version is starting up and has evaluated correct
        functioning of itself"): while a new firmware is on trial (not yet
        confirmed) or being installed."""
        if self._status != "Installing":
            return None
        ptr = self._pointer()
        if ptr is not None and ptr.get("state") == "trial":
            return "new firmware starting up"
        return "firmware installing"

    def active_version(self) -> str:
        ptr = self._pointer()
        return (ptr.get("version") if ptr else "") or self.builtin_version

    def active_slot(self):
        """Storage name of the slot the pointer selects, None for built-in."""
        ptr = self._pointer()
        slot = ptr.get("slot") if ptr else ""
        return slot_name(slot) if slot else None

    # ---- request side ------------------------------------------------------------------------
    def request(self, location: str, retrieve_date=None, retries=None, retry_interval=None) -> None:
        """UpdateFirmware.req: retrieve_date as ISO 8601 text or UTC seconds
        (None: now). Replaces a request still in progress."""
        now = self.clock.now()
        at = now
        try:
            if type(retrieve_date) is str:
                at = parse_iso8601(retrieve_date)
            elif type(retrieve_date) is int:
                at = retrieve_date
        except ValueError:
            pass
        try:
            transfer.parse_url(location)
        except ValueError as e:
            self._note("UpdateFirmware location refused: %s" % e)
            retries = 0      # one try that fails at once: DownloadFailed
        self._cancel()
        self._job = transferjob.Job(location, at, retries, retry_interval)
        self._state = _WAIT
        self._status = "Idle"
        self._save_job()

    def status(self) -> str:
        """FirmwareStatus for TriggerMessage: Downloading, Downloaded or
        Installing while an update runs, else Idle."""
        return self._status

    def next_deadline_s(self, now: int) -> int:
        """Seconds until poll() has something to do; -1: nothing scheduled."""
        if self._state == _WAIT and self.task is None and self._job is not None:
            return self._job.wait_s(now)
        if self._state == _DOWNLOADED:
            return _IDLE_RECHECK_S if self._is_busy() else 0
        return -1

    def poll(self, now: int) -> None:
        """Start what is due: a download try (as an asyncio task), an install."""
        if self._state == _WAIT and self.task is None and self._job is not None:
            if self._job.due(now):
                self.task = asyncio.create_task(self._attempt(self._job))
        elif self._state == _DOWNLOADED and not self._is_busy():
            self._install()

    async def run(self, sleep_s=None) -> None:
        """Real-time driver: poll until nothing is pending. sleep_s(seconds) is
        the firmware's sleep (asyncio.sleep if None)."""
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

    # ---- internals -----------------------------------------------------------------------------
    async def _attempt(self, job: "transferjob.Job") -> None:
        if job.tries == 0:
            self._send("Downloading")
        job.begin()
        self._save_job()
        parser = BundleParser()
        ok = False
        try:
            user, pw = transferjob.config_credentials(self.config)
            await transfer.download(self.net, job.location, self.storage, DOWNLOAD, user, pw,
                                    self.cadata, self.timeout_s, self.max_bytes, parser.feed)
            parser.finish()
            ok = True
        except Exception as e:  # any failure of this try: retry or DownloadFailed
            self.last_error = "download: %s" % (e,)
            self._note("firmware " + self.last_error)
        if job is not self._job:      # replaced by a newer request meanwhile
            return
        self.task = None
        if ok:
            self._parser = parser
            self._state = _DOWNLOADED
            self._send("Downloaded")
            self.poll(self.clock.now())
        elif job.retry(self.clock.now()):
            self._save_job()
        else:
            self._finish()
            self._send("DownloadFailed")

    def _install(self) -> None:
        self._send("Installing")
        p = self._parser
        self._parser = None
        if p is None or not p.ok:
            self.last_error = "bundle invalid: %s" % (p.error if p else "missing")
            self._note("firmware " + self.last_error)
            self.storage.remove(DOWNLOAD)
            self._finish()
            self._send("InstallationFailed")
            return
        ptr = self._pointer() or {}
        if ptr.get("state") == "trial":   # never confirmed: keep the last good one
            good, good_v = ptr.get("prev") or "", ptr.get("prev_version") or ""
        else:
            good, good_v = ptr.get("slot") or "", ptr.get("version") or ""
        new = "b" if good == "a" else "a"  # never the fallback's slot
        try:
            self.storage.rename(DOWNLOAD, slot_name(new))
            self._write_pointer({"slot": new, "version": p.version, "prev": good,
                                 "prev_version": good_v or self.builtin_version,
                                 "state": "trial", "boots": 0, "report": ""})
        except OSError as e:
            self.last_error = "install: %s" % (e,)
            self._note("firmware " + self.last_error)
            self._finish()
            self._send("InstallationFailed")
            return
        self._note("firmware %s installed in slot %s, rebooting" % (p.version, new))
        self._finish()
        self._state = _REBOOT
        self._status = "Installing"
        self.reboot()

    def _finish(self) -> None:
        self._job = None
        self._state = _IDLE
        self._status = "Idle"
        self.storage.remove(JOB)

    def _cancel(self) -> None:
        t = self.task
        self.task = None
        self._job = None
        self._parser = None
        if t is not None:
            t.cancel()
        self.storage.remove(DOWNLOAD)

    def _is_busy(self) -> bool:
        return bool(self.busy()) if self.busy is not None else False

    def _send(self, status: str) -> None:
        if status in ("Downloading", "Downloaded", "Installing"):
            self._status = status
        self.notify("FirmwareStatusNotification", {"status": status})

    def _note(self, msg: str) -> None:
        if self.log is not None:
            self.log.add(msg)

    def _set_version(self, v: str) -> None:
        si = getattr(self.config, "set_internal", None)
        if si is not None:
            try:
                si("FirmwareVersionMCU", v)
            except (KeyError, ValueError):
                pass

    def _pointer(self):
        raw = self.storage.read(POINTER)
        if not raw:
            return None
        try:
            p = json.loads(raw)
        except ValueError:
            return None
        return p if type(p) is dict else None

    def _write_pointer(self, ptr: dict) -> None:
        self.storage.write(POINTER, json.dumps(ptr).encode())

    def _save_job(self) -> None:
        if self._job is not None:
            self.storage.write(JOB, json.dumps(self._job.to_dict()).encode())

    def _load_job(self) -> None:
        raw = self.storage.read(JOB)
        if not raw:
            return
        try:
            self._job = transferjob.Job.from_dict(json.loads(raw))
            self._state = _WAIT
        except (ValueError, KeyError, TypeError):
            self.storage.remove(JOB)


