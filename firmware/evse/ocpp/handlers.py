# Central System -> charge point operations (manual chapter 3, OCPP 1.6
# chapter 5): one small handler per action, dispatched by name (handler()).
# Payloads arrive already validated against evse.ocpp.schema; a handler
# returns the .conf payload, or raises rpc.CallError. Work that must follow
# the reply (Reset, TriggerMessage, uploads) is queued on client.after.
from evse.ocpp import rpc

TRIGGERS = ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
            "Heartbeat", "MeterValues", "StatusNotification")


# The handler of action "SetChargingProfile" is the method set_charging_profile:
# the name is derived per CALL (no table of bound methods on the heap, no
# table of names in flash)
def _method(action: str) -> str:
    out = []  # type: list
    for ch in action:
        if "A" <= ch <= "Z":
            if out:
                out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out)


class Handlers:
    """The operations, each handed to the service that owns it (no Station
    here): availability and UnlockConnector (services/availability.py),
    transactions (RemoteStop), cards (RemoteStart, reservations), energy
    (smart charging), maintenance (Reset, diagnostics, firmware), status
    reporting and metering (TriggerMessage), the local list and cache."""

    def __init__(self, client, config, rng, n, avail, cards, tx, energy, maint, status, metering,
                 authlist, cache, log) -> None:
        self.client = client
        self.config = config
        self.rng = rng              # random_bytes(n) of the board
        self.n = n
        self.avail = avail
        self.cards = cards
        self.tx = tx
        self.energy = energy
        self.maint = maint
        self.status = status
        self.metering = metering
        self.authlist = authlist
        self.cache = cache
        self.log = log
        self.vendors = {}   # type: dict  # vendorId -> fn(messageId, data) -> (status, data)

    def handler(self, action: str):
        """The handler of a CALL's action, or None (NotImplemented)."""
        from evse.ocpp import schema
        if action not in schema.CALLS:
            return None
        return getattr(self, _method(action), None)

    def _connector(self, cid) -> int:
        n = self.n
        if type(cid) is not int or cid < 0 or cid > n:
            raise rpc.CallError("PropertyConstraintViolation", "connectorId %r out of range" % (cid,))
        return cid

    # ---- Core ------------------------------------------------------------------
    def change_availability(self, p: dict) -> dict:
        cid = self._connector(p["connectorId"])
        return {"status": self.avail.change(cid, p["type"] == "Operative")}

    def change_configuration(self, p: dict) -> dict:
        return {"status": self.config.change(p["key"], p["value"])}

    def get_configuration(self, p: dict) -> dict:
        keys = p.get("key")
        # manual 3.20 / LocalManagementPassword: reading the configuration
        # rotates the local management password; the reply carries the new one.
        # OCPP 1.6 9: without keys every supported key is listed, including the
        # OCPP names of keys the manual spells differently (config ALIASES)
        items, unknown = self.config.get_configuration(keys if keys else None,
                                                          rng_bytes=self.rng,
                                                          ocpp=True)
        out = {"configurationKey": items}
        if unknown:
            out["unknownKey"] = unknown
        return out

    def clear_cache(self, p: dict) -> dict:
        return {"status": self.cache.clear()}

    def data_transfer(self, p: dict) -> dict:
        fn = self.vendors.get(p["vendorId"])
        if fn is None:
            return {"status": "UnknownVendorId"}
        status, data = fn(p.get("messageId"), p.get("data"))
        out = {"status": status}
        if data is not None:
            out["data"] = data
        return out

    def remote_start_transaction(self, p: dict) -> dict:
        cid = p.get("connectorId")
        if self.client.boot_status == "Pending":
            return {"status": "Rejected"}
        if cid is not None and not 1 <= cid <= self.n:
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

    def remote_stop_transaction(self, p: dict) -> dict:
        if self.client.boot_status == "Pending":
            return {"status": "Rejected"}
        return {"status": self.tx.remote_stop(p["transactionId"])}

    def reset(self, p: dict) -> dict:
        kind = p["type"]
        status = self.maint.reset_accepted(kind)
        if status == "Accepted":
            self.client.after.append(lambda: self.maint.reset(kind))
        return {"status": status}

    def unlock_connector(self, p: dict):  # -> dict | rpc.Later
        cid = p["connectorId"]
        if not 1 <= cid <= self.n:
            return {"status": "NotSupported"}   # errata 3.87: unknown connectorId
        # 5.18: the answer says whether the connector was unlocked, so it
        # waits for the lock's feedback when the lock has to move first
        later = rpc.Later()
        status = self.avail.unlock(cid, lambda r: later.resolve({"status": r}))
        return {"status": status} if status else later

    # ---- Firmware management ------------------------------------------------------
    def get_diagnostics(self, p: dict) -> dict:
        name = self.maint.diagnostics.request(p["location"], p.get("retries"), p.get("retryInterval"),
                                              p.get("startTime"), p.get("stopTime"))
        return {"fileName": name} if name else {}

    def update_firmware(self, p: dict) -> dict:
        self.maint.firmware.request(p["location"], p["retrieveDate"], p.get("retries"), p.get("retryInterval"))
        return {}

    # ---- Local auth list management ---------------------------------------------
    def get_local_list_version(self, p: dict) -> dict:
        return {"listVersion": self.authlist.version()}

    def send_local_list(self, p: dict) -> dict:
        return {"status": self.authlist.send_local_list(p["listVersion"], p["updateType"],
                                                        p.get("localAuthorizationList") or [])}

    # ---- Reservation ------------------------------------------------------------------
    def reserve_now(self, p: dict) -> dict:
        cid = self._connector(p["connectorId"])
        return {"status": self.cards.reserve_now(cid, p["expiryDate"], p["idTag"], p.get("parentIdTag"),
                                                 p["reservationId"])}

    def cancel_reservation(self, p: dict) -> dict:
        return {"status": self.cards.cancel_reservation(p["reservationId"])}

    # ---- Smart charging ---------------------------------------------------------------
    def set_charging_profile(self, p: dict) -> dict:
        cid = self._connector(p["connectorId"])
        profile = p["csChargingProfiles"]
        err = self.energy.smart.profile_error(cid, profile)
        if err is not None:
            raise rpc.CallError(err[0], err[1])
        return {"status": self.energy.set_charging_profile(cid, profile)}

    def clear_charging_profile(self, p: dict) -> dict:
        cid = p.get("connectorId")
        if cid is not None:
            self._connector(cid)
        return {"status": self.energy.clear_charging_profile(p.get("id"), cid,
                                                             p.get("chargingProfilePurpose"),
                                                             p.get("stackLevel"))}

    def get_composite_schedule(self, p: dict) -> dict:
        cid = p["connectorId"]
        if not 0 <= cid <= self.n:
            return {"status": "Rejected"}       # 5.7: e.g. the connectorId is unknown
        try:
            res = self.energy.composite_schedule(cid, p["duration"], p.get("chargingRateUnit"))
        except ValueError as e:
            raise rpc.CallError("PropertyConstraintViolation", str(e))
        if res is None:
            return {"status": "Rejected"}
        out = {"status": "Accepted", "connectorId": cid}
        out.update(res)
        return out

    # ---- Remote trigger ----------------------------------------------------------------
    def trigger_message(self, p: dict) -> dict:
        what = p["requestedMessage"]
        cid = p.get("connectorId")
        if what not in TRIGGERS:
            return {"status": "NotImplemented"}
        if cid is not None and not 0 <= cid <= self.n:
            # 5.17: a connectorId that does not matter to the message is
            # ignored; one that matters and does not exist: nothing to send
            if what in ("StatusNotification", "MeterValues"):
                return {"status": "Rejected"}
            cid = None
        if what == "BootNotification" and self.client.boot_status == "Accepted":
            # errata 3.35: once accepted, RECOMMENDED to reject (a Pending or
            # Rejected answer now would leave transactions in limbo)
            return {"status": "Rejected"}
        self.client.after.append(lambda: self.client.run_triggered(lambda: self.trigger(what, cid)))
        return {"status": "Accepted"}

    def trigger(self, what: str, cid) -> None:
        """The triggered message, from the service that sends it."""
        oc = self.client
        if what == "BootNotification":
            oc.trigger("BootNotification")
        elif what == "Heartbeat":
            oc.send("Heartbeat", {}, oc.time_from)
        elif what == "StatusNotification":
            self.status.trigger(cid)
        elif what == "MeterValues":
            self.metering.trigger(cid)
        else:
            self.maint.trigger(what)
        if oc.boot_status == "Pending":
            oc.trigger(what)
