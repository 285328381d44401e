# Status reporting (OCPP 1.6 4.9 / 7.7, manual 8.2): what each connector
# and the station are (iocu/status.py derives it from the mirror, the
# session and the reservations), the fields of StatusNotification (the
# safety core's error, the meter, MCU-side conditions, the readers), every
# change sent once, the status LEDs kept in step (services/indicators.py),
# the pulses (warnings, sensor scenarios) and the report of every connector
# after the first BootNotification Accepted; status() for the simulator and
# the website.
#
# StatusReport(clock, port, sessions, meters, conditions, cards, avail,
#              indicators, client, model)
#   derive(i) / station() / name(cid) / fields(cid)   the status now
#   step()            a StatusNotification for every change, LEDs
#   listeners         fn(cid, name, code, info, vendor) per change
TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only

from evse import VERSION
from evse.clock import iso8601
from evse.iocu import errors
from evse.iocu import lock as L
from evse.iocu import pilot as P
from evse.iocu import status as cstatus
from evse.services import session as S
from evse.services.session import IDLE, TX, AUTHORIZED, FINISHING


class StatusReport:
    OPERATIONS = ()     # evse.ocpp.operations: TriggerMessage StatusNotification
    TRIGGERS = ("StatusNotification",)

    def __init__(self, clock, port, sessions, meters, conditions, cards, avail, indicators,
                 client, model) -> None:
        self.clock = clock
        self.port = port
        self.mirrors = port.conn
        self.sessions = sessions
        self.meters = meters
        self.conditions = conditions
        self.cards = cards
        self.avail = avail.avail        # operative per connector (services/availability.py)
        self.indicators = indicators
        self.client = client
        self.model = model
        self.tx = None                  # type: Any  # services/transactions.py, wired by the station
        # status() sections, wired by the station: the network service, the
        # RS485 master/slave link and the Modbus meters' RtuMaster, or None
        self.network = None             # type: Any
        self.link = None                # type: Any
        self.rtu = None                 # type: Any
        n = self.n = len(sessions)
        self.codes = [-1] * (n + 1)     # last reported status code per connector (0 = station)
        self.errs = [""] * (n + 1)
        self.infos = [""] * (n + 1)     # info of the last report (NoError news)
        self._led_name = [""] * n       # what the LED shows (status name, authorized)
        self._led_auth = [False] * n
        self.listeners = []             # type: list

    # ---- the status now ---------------------------------------------------------------
    def derive(self, i: int) -> int:
        c = self.mirrors[i]
        s = self.sessions[i]
        reserved = s.state == IDLE and self.cards.reserved(i + 1)
        code = cstatus.of(c, reserved=reserved, finishing=s.state == FINISHING,
                          preparing=s.state == AUTHORIZED or s.plug_wait or s.state == TX)
        # OCPP 1.6 4.9: the EV left a transaction that goes on
        # (StopTransactionOnEVSideDisconnect false) -> SuspendedEV; a stopped
        # one whose cable is still in the socket is not available to a new
        # user yet -> Finishing
        if s.state == TX and code == cstatus.PREPARING:
            code = cstatus.SUSPENDED_EV
        elif s.state == AUTHORIZED and (code == cstatus.SUSPENDED_EV or code == cstatus.SUSPENDED_EVSE):
            code = cstatus.PREPARING    # the cable is being locked: no transaction yet
        elif s.state == FINISHING and code == cstatus.AVAILABLE:
            code = cstatus.FINISHING
        if self.conditions.blocks(i + 1) and code != cstatus.UNAVAILABLE:
            code = cstatus.FAULTED
        return code

    def station(self) -> int:
        if self.port.error or self.conditions.blocks(0):
            return cstatus.FAULTED
        if not self.avail[0]:
            return cstatus.UNAVAILABLE
        return cstatus.AVAILABLE

    def code(self, cid: int) -> int:
        return self.station() if cid == 0 else self.derive(cid - 1)

    def name(self, cid: int) -> str:
        return cstatus.NAMES[self.code(cid)]

    def fields(self, cid: int):
        """(errorCode, vendorErrorCode, info) of the connector's StatusNotification."""
        if cid == 0:
            err = self.port.error
            if err:
                return errors.ocpp(err)
            top = self.conditions.top(0)
            if top is not None:
                return top
            if self.cards.reader_failure():
                return "ReaderFailure", "", "RFID"
            return "NoError", "", ""
        c = self.mirrors[cid - 1]
        if c.error:
            return errors.ocpp(c.error)
        m = self.meters[cid - 1]
        if not m.ok():
            # the meter says why (e.g. "Modbus 2: timeout", "MeterType 7: no register map");
            # a Modbus meter whose first poll is still under way says nothing: no failure yet
            why = m.info() if hasattr(m, "info") else "meter"
            if why:
                return "PowerMeterFailure", "", why
        top = self.conditions.top(cid)
        if top is not None:
            return top
        s = self.sessions[cid - 1]
        if not s.ev_connected and (s.state == TX or (s.state == FINISHING
                                                     and s.stop_reason == S.R_EV_DISCONNECTED)):
            return "NoError", "", "EV side disconnected"     # OCPP 1.6 4.9
        return "NoError", "", ""

    # ---- StatusNotification -----------------------------------------------------------
    def step(self) -> None:
        for cid in range(self.n + 1):
            code = self.code(cid)
            ocpp_code, vendor, info = self.fields(cid)
            key = "" if ocpp_code == "NoError" else ocpp_code + "/" + vendor
            # a new NoError info with the same status is news too (OCPP 1.6
            # 4.9: SuspendedEV, info "EV side disconnected")
            if (code != self.codes[cid] or key != self.errs[cid]
                    or (info and not key and info != self.infos[cid])):
                self.infos[cid] = info
                if not key and self.errs[cid]:
                    # NoError with info naming what cleared (manual 8.2)
                    info = ("cleared " + self.errs[cid].rstrip("/"))[:50]
                self.codes[cid] = code
                self.errs[cid] = key
                name = cstatus.NAMES[code]
                self.send(cid, name, ocpp_code, info, vendor)
                for fn in self.listeners:
                    fn(cid, name, ocpp_code, info, vendor)
            if cid:
                self._update_led(cid - 1, cstatus.NAMES[code])

    def _update_led(self, i: int, name: str) -> None:
        s = self.sessions[i]
        auth = s.state == AUTHORIZED
        r = self.cards.reservations
        if (auth and name == "Preparing" and s.reservation_id is not None
                and r is not None and r.get(s.reservation_id) is not None):
            name = "Reserved"      # the reserving card was presented: Reserved_Authorized
        if name != self._led_name[i] or auth != self._led_auth[i]:
            self._led_name[i] = name
            self._led_auth[i] = auth
            self.indicators.set_status(i, name, auth)

    def send(self, cid: int, name: str, code: str, info: str, vendor: str,
             coalesce: bool = True) -> None:
        p = {"connectorId": cid, "status": name, "errorCode": code,
             "timestamp": iso8601(self.clock.now())}
        if info:
            p["info"] = info[:50]
        if vendor:
            p["vendorErrorCode"] = vendor[:255]
        # a state report may replace an unsent older one; an event may not
        self.client.send("StatusNotification", p, connector=cid if coalesce else -1)

    def send_now(self, cid: int) -> None:
        """The connector's StatusNotification as it is now."""
        ocpp_code, vendor, info = self.fields(cid)
        self.send(cid, self.name(cid), ocpp_code, info, vendor)

    def report_all(self) -> None:
        """First BootNotification Accepted: report every connector."""
        for cid in range(self.n + 1):
            self.send_now(cid)

    def send_triggered(self, what: str, cid) -> None:
        """TriggerMessage StatusNotification: one connector, or all."""
        for c in ((cid,) if cid is not None else range(self.n + 1)):
            self.send_now(c)

    def resend(self, cid: int, code: str) -> None:
        """A condition that persists is reported again (a repeat of the
        grid warning, manual VoltageLimitMaxSequentialStatusNotification),
        if it is still what the connector's StatusNotification carries."""
        ocpp_code, vendor, info = self.fields(cid)
        if ocpp_code == code:
            self.send(cid, self.name(cid), ocpp_code, info, vendor, False)

    def warning_event(self, cid: int, code: str, vendor: str, info: str) -> None:
        """A pulse warning: one StatusNotification with the current status."""
        self.send(cid, self.name(cid), code, info, vendor, False)

    def sensor_status(self, cid: int, name: str, triggered: bool) -> None:
        """Sensor scenario action StatusNotification (manual 5.6)."""
        if triggered:
            self.send(cid, self.name(cid), "OtherError", name, "SENSOR_TRIGGERED", False)
        else:
            self.send(cid, self.name(cid), "NoError", name + " recovered", "", False)

    # ---- for people: the simulator, the website, a diagnostics file ---------------------------
    def _lock_seen(self, c) -> str:
        """The lock as its feedback switch reports it (not as commanded):
        none (no actuator), failed (the driver gave up its attempts),
        locked, unlocked, unknown (not read yet)."""
        lk = c.lock
        if not lk.fitted:
            return "none"
        if lk.state == L.FAILED:
            return "failed"
        f = lk.feedback()
        return "locked" if f == 1 else ("unlocked" if f == 0 else "unknown")

    def status(self) -> dict:
        conns = []
        now = self.clock.now()
        for i, c in enumerate(self.mirrors):
            s = self.sessions[i]
            m = self.meters[i]
            ocpp_code, vendor, info = self.fields(i + 1)
            tx = s.state == TX
            conns.append({
                "id": i + 1, "status": cstatus.NAMES[self.derive(i)], "error_code": ocpp_code,
                "vendor_error": vendor, "info": info, "pilot": P.NAMES[c.pilot] if c.pilot < len(P.NAMES) else "?",
                "duty": c.duty_permille / 10, "offered_a": c.offered_da / 10,
                "contactor": bool(c.contactor_closed), "locked": bool(c.locked),
                "lock": self._lock_seen(c),
                "transaction_id": self.tx.transaction_id(s),
                "id_tag": s.id_tag if s.state in (TX, AUTHORIZED) else None,
                "energy_wh": int(m.energy_wh()),
                "current_a": [round(m.current_a(p), 1) for p in range(3)],
                "voltage_v": [round(m.voltage_v(p), 1) for p in range(3)],
                "power_w": int(m.power_w()),
                # the running transaction: seconds since its start, Wh since
                "session_s": now - s.start_time if tx else None,
                "session_wh": int(m.energy_wh()) - s.meter_start if tx else None,
                "led": self.indicators.led_state(i),
                "session": S.STATE_NAMES[s.state],
            })
        oc = self.client
        ocpp_code, vendor, info = self.fields(0)
        out = {
            "time": iso8601(now), "model": self.model,
            "station": {"status": cstatus.NAMES[self.station()], "error_code": ocpp_code,
                        "vendor_error": vendor, "info": info},
            "ocpp": {"connected": oc.connected, "registered": oc.registered, "queued": oc.queued(),
                     "boot": oc.boot_status, "log": oc.log[-12:], "connecting": oc.connecting,
                     "journal": oc.journal.stats()},
            "connectors": conns,
            "network": self.network.info(),
        }
        if self.link is not None:
            out["rs485"] = self.link.info()
        mb = self.rtu
        if mb is not None:              # Modbus meters: bus counters and each meter's state
            bus = mb.stats()
            bus["meters"] = [m.stats() for m in self.meters]
            out["modbus"] = bus
        return out

    def diag_info(self) -> dict:
        """The station's state in a diagnostics file (services/diagnostics.py)."""
        oc = self.client
        return {"model": self.model, "firmware": VERSION, "connectors": [
            {"id": i + 1, "status": cstatus.NAMES[self.derive(i)],
             "error": errors.name(c.error) if c.error else ""} for i, c in enumerate(self.mirrors)],
            "ocpp": {"connected": oc.connected, "registered": oc.registered,
                     "queued": oc.queued(), "log": oc.log[-10:],
                     "journal": oc.journal.stats()}}
