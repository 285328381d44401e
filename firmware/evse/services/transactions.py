# Transactions (MCU side, OCPP 1.6 chapter 4.10 / 5.14): what a session's
# start and stop become on the wire and on flash. The sessions' sink
# (services/session.py: sink.tx_started(s), sink.tx_stopped(s, reason)).
#
# - references: a local reference per transaction (txref file, never reused:
#   the journal knows a transaction by it before the Central System gave its
#   transactionId), ref = counter * 4 + connectorId
# - StartTransaction / StopTransaction payloads (meterStart / meterStop,
#   reservationId, transactionData Begin .. End) pushed through the journal
# - answered(): a confirmed transaction message (transactionId, idTagInfo)
# - the alive mark (alive file): the wall time now and then while a
#   transaction runs, and PowerLoss recovery at boot: a StopTransaction
#   PowerLoss for every transaction a power cut interrupted
# - RemoteStartTransaction and RemoteStopTransaction (OCPP 5.11, 5.12)
TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only

from evse.clock import iso8601
from evse.iocu import errors
from evse.iocu.events import EV_ERROR_SET
from evse.services.session import TX, R_OTHER, R_POWER_LOSS, R_REMOTE

TXREF_FILE = "txref"
ALIVE_FILE = "alive"
ALIVE_EVERY_S = 300


class Transactions:
    OPERATIONS = ("RemoteStartTransaction", "RemoteStopTransaction")   # evse.ocpp.operations

    def __init__(self, storage, clock, sessions, meters, journal, client, log, error_log) -> None:
        self.storage = storage
        self.clock = clock
        self.sessions = sessions
        self.meters = meters
        self.journal = journal
        self.client = client
        self.log = log
        self.error_log = error_log
        # the services a transaction touches, wired once by the composition
        # root (evse.station): metering, conditions, authorizer, cards (the
        # reservations), energy (smart charging, the offer), availability
        self.metering = None            # type: Any
        self.conditions = None          # type: Any
        self.authorizer = None          # type: Any
        self.cards = None               # type: Any
        self.energy = None              # type: Any
        self.avail = None               # type: Any
        self._start_seqs = {}           # type: dict  # journal seq of a StartTransaction -> (index, ref)
        raw = storage.read(TXREF_FILE)
        try:
            self._next_ref = int(raw.decode()) if raw else 0
        except (ValueError, UnicodeError):
            # never reuse a ref: start above anything the journal knows
            self._next_ref = 1000000
        self._alive_saved = 0
        self._alive_due = 0             # _alive_saved + ALIVE_EVERY_S (compared, no arithmetic per step)
        self._ev3 = [0, 0, 0]

    # ---- the sessions' sink ------------------------------------------------------------
    def tx_started(self, s) -> None:
        cid = s.index + 1
        self._next_ref += 1
        ref = self._next_ref * 4 + cid
        self.storage.write(TXREF_FILE, str(self._next_ref).encode())
        s.tx_ref = ref
        self.conditions.clear(cid, "s0gap")
        # 5.13: the reservation ends when its transaction starts (not when
        # the card is presented: a ConnectionTimeOut gives it back)
        rid = self.cards.consume_reservation(cid, s.id_tag, s.parent_id_tag)
        s.reservation_id = rid
        self.cards.sync_reservations()
        self.persist_meter(s.index)
        payload = {"connectorId": cid, "idTag": s.id_tag, "meterStart": int(s.meter_start),
                   "timestamp": iso8601(s.start_time)}
        if rid is not None:
            payload["reservationId"] = rid
        seq = self.client.push_tx("StartTransaction", payload, ref)
        self._start_seqs[seq] = (s.index, ref)
        if s.remote_profile is not None:
            self.energy.smart.set_profile(cid, s.remote_profile, lambda c: True)
            s.remote_profile = None
        self.metering.tx_started(s.index)
        self._alive_saved = 0         # note the time at the next step
        self._alive_due = 0
        self.log.add("tx start c%d tag %s ref %d" % (cid, s.id_tag, ref))
        self.energy.limits[s.index] = -1

    def tx_stopped(self, s, reason: str) -> None:
        cid = s.index + 1
        meter_stop = int(self.meters[s.index].energy_wh())
        self.persist_meter(s.index)
        now = self.clock.now()
        # transactionData: Begin, the StopTxnSampledData/StopTxnAlignedData
        # readings kept during the transaction (OCPP 1.6 9.1.25/9.1.27), End
        data = [{"timestamp": iso8601(s.start_time), "sampledValue": [
                    {"value": "%d" % int(s.meter_start), "context": "Transaction.Begin",
                     "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]
        data += self.metering.tx_data(s.index)
        data.append({"timestamp": iso8601(now), "sampledValue": [
                        {"value": "%d" % meter_stop, "context": "Transaction.End",
                         "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]})
        payload = {"meterStop": meter_stop, "timestamp": iso8601(now), "reason": reason,
                   "transactionData": data}
        tag = s.stop_tag or s.id_tag     # the identifier that stopped it (OCPP 6.49)
        if tag:
            payload["idTag"] = tag
        self.client.push_tx("StopTransaction", payload, s.tx_ref)
        self.metering.tx_stopped(s.index)
        self.energy.tx_ended(cid)
        self.log.add("tx stop c%d %s %d Wh" % (cid, reason, meter_stop - s.meter_start))
        self.avail.due = True           # applied at the next step, once the session left TX

    def answered(self, action: str, seq: int, request: dict, conf: dict) -> None:
        """A transaction message was confirmed by the Central System."""
        info = conf.get("idTagInfo")
        tag = request.get("idTag")
        if type(info) is dict and tag:
            self.authorizer.on_cs_answer(tag, info)
        if action == "StartTransaction":
            x = self._start_seqs.pop(seq, None)
            if x is None:
                return
            s = self.sessions[x[0]]
            # an answer that comes after its session ended (offline backlog)
            # must not touch the connector's next session
            if s.state == TX and s.tx_ref == x[1]:
                s.transaction_id = conf.get("transactionId")
                if type(info) is dict and info.get("status") != "Accepted":
                    s.start_rejected(info.get("status"))

    # ---- meter values of a transaction --------------------------------------------------
    def persist_meter(self, i: int) -> None:
        # a reading is about to be reported: the meter's stored register
        # must not be below it after a power cut (docs/metering.md)
        self.meters[i].persist(self.clock.ticks_ms())

    def tx_meter_values(self, i: int, values: list) -> None:
        s = self.sessions[i]
        self.persist_meter(i)
        self.client.push_tx("MeterValues", {"connectorId": i + 1, "meterValue": values}, s.tx_ref)

    def send_meter_values(self, i: int, values: list) -> None:
        if self.client.online():
            self.persist_meter(i)
            self.client.send("MeterValues", {"connectorId": i + 1, "meterValue": values})

    # ---- what runs --------------------------------------------------------------------
    def transaction_id(self, s):
        if s.state != TX or not s.tx_ref:
            return None
        t = self.journal.tx_id(s.tx_ref)
        return t if t is not None else s.transaction_id

    def any_transaction(self) -> bool:
        for s in self.sessions:
            if s.state == TX:
                return True
        return False

    # ---- the operations (evse.ocpp.operations) -------------------------------------------
    def ocpp_remote_start_transaction(self, p: dict) -> dict:
        cid = p.get("connectorId")
        if self.client.boot_status == "Pending":
            return {"status": "Rejected"}
        if cid is not None and not 1 <= cid <= len(self.sessions):
            # 6.33: connectorId SHALL be > 0; the JSON schema allows any
            # integer, so 0, a negative or an unknown connector is a valid
            # request the station cannot start: Rejected (OCTT TC_027)
            return {"status": "Rejected"}
        profile = p.get("chargingProfile")
        tag = p["idTag"]
        if profile is not None:
            # a TxProfile applies while smart charging is enabled; another
            # purpose is Rejected; disabled, the profile is ignored
            if not self.energy.smart_on():
                profile = None
            elif profile.get("chargingProfilePurpose") != "TxProfile":
                return {"status": "Rejected"}
        if cid is not None and not self.avail.operative(cid):
            return {"status": "Rejected"}
        res = self.cards.remote_start(cid, tag, profile)
        self.log.add("remote start %s c%s: %s" % (tag, cid, res.get("result")))
        return {"status": "Accepted" if res.get("result") in ("accepted", "pending") else "Rejected"}

    def ocpp_remote_stop_transaction(self, p: dict) -> dict:
        if self.client.boot_status == "Pending":
            return {"status": "Rejected"}
        return {"status": self.remote_stop(p["transactionId"])}

    def remote_stop(self, txid: int) -> str:
        for s in self.sessions:
            if s.state == TX and self.transaction_id(s) == txid:
                s.stop(R_REMOTE)
                return "Accepted"
        return "Rejected"

    def iocu_events(self, inbox, warnings) -> None:
        """The safety core's events of this step: to the warnings; a lost
        heartbeat (manual 8.5 ERR_HEARTBEAT: "any running charge session will
        be stopped"; the safety core has already cut the energy) stops the
        transactions, reason Other (OCPP has no closer one)."""
        ev = self._ev3
        while inbox.pop_into(ev):
            warnings.iocu_event(ev[0], ev[1], ev[2])
            if ev[1] == EV_ERROR_SET and ev[2] == errors.ERR_HEARTBEAT:
                for s in self.sessions:
                    if s.state == TX:
                        s.stop(R_OTHER)

    # ---- power loss ---------------------------------------------------------------------
    def recover(self) -> None:
        """Transactions a power cut interrupted: StopTransaction PowerLoss
        (OCPP 5.14 / 4.10), with the meter reading the meter has now."""
        n = len(self.meters)
        for ref in self.journal.open_refs():
            if type(ref) is not int:
                continue
            cid = ref % 4
            meter = self.meters[cid - 1].energy_wh() if 1 <= cid <= n else 0
            # the clock at boot may be unset (no RTC, BootNotification not yet
            # answered): never stamp the stop before the last moment known alive
            ts = max(self.clock.now(), self._last_alive())
            payload = {"meterStop": int(meter), "timestamp": iso8601(ts),
                       "reason": R_POWER_LOSS}
            self.journal.push("StopTransaction", payload, ref)
            self.log.add("tx ref %d interrupted: StopTransaction PowerLoss" % ref)
        for i, m in enumerate(self.meters):
            gap = getattr(m, "gap_wh", 0)
            if gap > 0:
                # an S0 register saved while pulses came, then a power cut:
                # the pulses after that save are lost, never silently
                # (docs/metering.md); reported until the next transaction
                why = "power cut: <=%d Wh not counted" % gap
                self.error_log.add("c%d S0 meter %s" % (i + 1, why))
                self.conditions.set(i + 1, "s0gap", "OtherError", "S0EnergyGap", why)

    def _last_alive(self) -> int:
        raw = self.storage.read(ALIVE_FILE)
        try:
            return int(raw.decode()) if raw else 0
        except (ValueError, UnicodeError):
            return 0

    def step(self) -> None:
        """While a transaction runs, note the wall time now and then (a
        PowerLoss StopTransaction after a cut is stamped with it)."""
        now = self.clock.now()
        if now >= self._alive_due and self.any_transaction():
            self._alive_saved = now
            self._alive_due = now + ALIVE_EVERY_S
            self.storage.write(ALIVE_FILE, str(now).encode())
