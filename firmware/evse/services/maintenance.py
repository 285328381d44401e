# Maintenance (OCPP 1.6 5.9 / 5.14 / 5.19, manual 3.x): Reset, GetDiagnostics
# and UpdateFirmware. The diagnostics and firmware services are loaded on
# first use (docs/memory.md, lazy services): a stored slot pointer or a
# pending firmware job loads the updater at boot; until the diagnostics
# service loads, this counts the uptime it would report. The board's facts
# (firmware versions, serial number, MAC address) go to the read-only keys.
#
# Maintenance(board, config, client, sessions, log, error_log)
#   reboot_request      "", "Soft", "Hard", "Firmware": the entry point restarts the station
#   reset(kind, local)  Reset.req, or a local reboot (website, sensor scenario)
#   step(now) / next_deadline_ms(now)
TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only

from evse import VERSION
from evse.services import session as S
from evse.services.session import TX, AUTHORIZED
from evse.ticks import ticks_diff

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_FW_FILES = const(("app-active", "fw-job"))     # firmware.POINTER / JOB, spelled here so that looking does not load it


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("FirmwareVersionIOCU", "FirmwareVersionMCU", "OCPPProtocolUsed", "SerialNumber",
                      "MACAddress", "ResetRetries", "NumberOfConnectors"))


class Maintenance:
    OPERATIONS = ("Reset", "GetDiagnostics", "UpdateFirmware")   # evse.ocpp.operations
    TRIGGERS = ("DiagnosticsStatusNotification", "FirmwareStatusNotification")

    def __init__(self, board, config, client, sessions, log, error_log) -> None:
        self.board = board
        self.storage = board.storage
        self.clock = board.clock
        self.config = config
        self.client = client
        self.sessions = sessions
        self.log = log
        self.error_log = error_log
        # wired by the station: transactions (a firmware install waits for
        # them) and status reporting (ResetFailure, the diagnostics file)
        self.tx = None                  # type: Any
        self.status = None              # type: Any
        self.reboot_request = ""
        self._diag = None               # type: Any
        self._fw = None                 # type: Any
        self._up_ms = 0                 # uptime for a diagnostics file, until that service loads
        self._up_t = self.clock.ticks_ms()

    def boot(self) -> None:
        """The board's facts to the read-only keys; the firmware updater
        when stored state needs it (the boot loader's counted boot, or
        count it here), else only the built-in version (FirmwareVersionMCU)."""
        cfg = self.config
        if self._stored(_FW_FILES[0]) or self._stored(_FW_FILES[1]):
            self.firmware.start()
        else:
            try:
                cfg.set_internal("FirmwareVersionMCU", VERSION)
            except (KeyError, ValueError):
                pass
        si = cfg.set_internal
        for key, value in (("FirmwareVersionIOCU", VERSION), ("OCPPProtocolUsed", "ocpp1.6")):
            try:
                si(key, value)
            except ValueError:
                pass
        try:
            if not cfg.get("FirmwareVersionMCU"):
                si("FirmwareVersionMCU", VERSION)
        except ValueError:
            pass
        # the board's own identity (HAL), for the read-only keys and BootNotification
        for key, name in (("SerialNumber", "serial_number"), ("MACAddress", "mac_address")):
            fn = getattr(self.board, name, None)
            try:
                v = fn() if fn is not None and not cfg.get(key) else ""
                if v:
                    si(key, v)
            except (ValueError, OSError):
                pass

    def _stored(self, name: str) -> bool:
        try:
            return self.storage.read(name) is not None
        except OSError:
            return True                 # the service reports the read failure

    # ---- the services, loaded on first use -------------------------------------------
    @property
    def diagnostics(self):
        d = self._diag
        if d is None:
            from evse.services.diagnostics import Diagnostics
            d = self._diag = Diagnostics(self.storage, self.clock, self.board.net, self.config,
                                         self.client.send, log=self.log, errors=self.error_log,
                                         info=self.status.diag_info, up_ms=self._up_ms,
                                         since=self._up_t)
        return d

    @property
    def firmware(self):
        f = self._fw
        if f is None:
            from evse.services.firmware import FirmwareUpdater
            f = self._fw = FirmwareUpdater(self.storage, self.clock, self.board.net, self.config,
                                           self.client.send, self._fw_reboot,
                                           busy=self.tx.any_transaction, log=self.log)
        return f

    def _fw_reboot(self) -> None:
        # a new firmware is installed: restart once the queued messages
        # (FirmwareStatusNotification Installing) are out
        self.reboot_request = "Firmware"

    def on_registered(self) -> None:
        """First BootNotification Accepted: a firmware on trial is confirmed."""
        if self._fw is not None:       # nothing on trial, nothing to report without one
            self._fw.confirm_boot()

    def send_triggered(self, what: str, cid) -> None:
        """TriggerMessage Diagnostics- / FirmwareStatusNotification."""
        svc = self._diag if what == "DiagnosticsStatusNotification" else self._fw
        self.client.send(what, {"status": svc.status() if svc is not None else "Idle"})

    # ---- the operations (evse.ocpp.operations) -------------------------------------------
    def ocpp_reset(self, p: dict) -> dict:
        kind = p["type"]
        status = self.reset_accepted(kind)
        if status == "Accepted":
            self.client.after.append(lambda: self.reset(kind))
        return {"status": status}

    def ocpp_get_diagnostics(self, p: dict) -> dict:
        name = self.diagnostics.request(p["location"], p.get("retries"), p.get("retryInterval"),
                                        p.get("startTime"), p.get("stopTime"))
        return {"fileName": name} if name else {}

    def ocpp_update_firmware(self, p: dict) -> dict:
        self.firmware.request(p["location"], p["retrieveDate"], p.get("retries"), p.get("retryInterval"))
        return {}

    # ---- Reset -----------------------------------------------------------------------
    def reset_accepted(self, kind: str) -> str:
        """Accepted, or Rejected with a StatusNotification ResetFailure on
        connector 0 (manual 8.2) when the reset cannot be carried out now."""
        why = self._fw.reset_blocker() if self._fw is not None else None
        if why is None:
            return "Accepted"
        self.log.add("reset %s refused: %s" % (kind, why))
        self.status.warning_event(0, "ResetFailure", "", why)
        return "Rejected"

    def reset(self, kind: str, local: bool = False) -> bool:
        """Reset.req from the Central System (reasons HardReset/SoftReset), or
        a local reboot (website, sensor scenario HardReset): reason Reboot. A
        local one is refused (False, ResetFailure) as reset_accepted says."""
        if local and self.reset_accepted(kind) != "Accepted":
            return False
        if local:
            reason = S.R_REBOOT
        else:
            reason = S.R_HARD_RESET if kind == "Hard" else S.R_SOFT_RESET
        for s in self.sessions:
            if s.state == TX:
                s.stop(reason)
            elif s.state == AUTHORIZED:
                s.cancel_authorization()
        self.log.add("reset " + kind)
        self.reboot_request = kind
        return True

    # ---- the MCU step ------------------------------------------------------------------
    def step(self, now: int, wall: int) -> None:
        if self._diag is not None:
            self._diag.poll(wall)
        else:
            self._up_ms += max(0, ticks_diff(now, self._up_t))
            self._up_t = now
        if self._fw is not None:
            self._fw.poll(wall)

    def next_deadline_s(self, wall: int):
        """Seconds until a transfer attempt is due, or None."""
        svc = self._diag
        best = svc.next_deadline_s(wall) if svc is not None else None
        if best is not None and best < 0:
            best = None
        svc = self._fw
        d = svc.next_deadline_s(wall) if svc is not None else None
        if d is not None and d >= 0 and (best is None or d < best):
            best = d
        return best
