# The operations a Central System calls (manual chapter 3, OCPP 1.6 chapter
# 5), each registered by the service that does the work (MicroOcpp's model:
# a service registers its own operations; no facade knows them all).
#
# A service class declares
#   OPERATIONS   the CALL actions it answers (a constant tuple: flash on a
#                board), each by a method named after the action:
#                SetChargingProfile -> ocpp_set_charging_profile(payload), which
#                returns the .conf payload, an rpc.Later (answered later), or
#                raises rpc.CallError. Payloads arrive validated against
#                evse.ocpp.schema; work that must follow the reply (Reset,
#                the triggered message) is queued on the client's `after`.
#   TRIGGERS     the messages TriggerMessage may ask it for (5.17), sent by
#                send_triggered(what, connectorId or None).
# and the composition root registers it once: operations.register(service).
# An action no registered service declares is answered NotImplemented.
#
# This registry owns the two operations that are about the link itself:
# DataTransfer (vendors registered by vendorId) and TriggerMessage (handed
# to the service whose TRIGGERS name the message).
from evse.ocpp import rpc


try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("SupportedFeatureProfiles", "SupportedFeatureProfilesMaxLength"))


def method_name(action: str) -> str:
    """SetChargingProfile -> ocpp_set_charging_profile (derived per CALL: no
    table of bound methods on the heap, no table of names in flash)."""
    out = ["ocpp_"]  # type: list
    for ch in action:
        if "A" <= ch <= "Z":
            if len(out) > 1:
                out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out)


class Operations:
    OPERATIONS = ("DataTransfer", "TriggerMessage")
    TRIGGERS = ("BootNotification", "Heartbeat")

    def __init__(self, client, n: int) -> None:
        self.client = client
        self.n = n
        self.owners = [self]    # type: list  # registered services, in order
        self.vendors = {}       # type: dict  # vendorId -> fn(messageId, data) -> (status, data)

    def register(self, owner) -> None:
        """A service's OPERATIONS and TRIGGERS: an action belongs to one
        service only (ValueError when another declared it first)."""
        for o in self.owners:
            for a in owner.OPERATIONS:
                if a in o.OPERATIONS:
                    raise ValueError("%s: already registered by %s" % (a, type(o).__name__))
            for a in getattr(owner, "TRIGGERS", ()):
                if a in getattr(o, "TRIGGERS", ()):
                    raise ValueError("trigger %s: already registered by %s" % (a, type(o).__name__))
        self.owners.append(owner)

    def owner(self, action: str):
        """The service that registered a CALL's action, or None."""
        for o in self.owners:
            if action in o.OPERATIONS:
                return o
        return None

    def handler(self, action: str):
        """The handler of a CALL's action, or None (NotImplemented)."""
        o = self.owner(action)
        return None if o is None else getattr(o, method_name(action), None)

    def _trigger_owner(self, what: str):
        for o in self.owners:
            if what in getattr(o, "TRIGGERS", ()):
                return o
        return None

    # ---- DataTransfer (5.6) -----------------------------------------------------------
    def ocpp_data_transfer(self, p: dict) -> dict:
        fn = self.vendors.get(p["vendorId"])
        if fn is None:
            return {"status": "UnknownVendorId"}
        status, data = fn(p.get("messageId"), p.get("data"))
        out = {"status": status}
        if data is not None:
            out["data"] = data
        return out

    # ---- TriggerMessage (5.17) -----------------------------------------------------------
    def ocpp_trigger_message(self, p: dict) -> dict:
        what = p["requestedMessage"]
        cid = p.get("connectorId")
        owner = self._trigger_owner(what)
        if owner is None:
            return {"status": "NotImplemented"}
        if cid is not None and not 0 <= cid <= self.n:
            # 5.17: a connectorId that does not matter to the message is
            # ignored; one that matters and does not exist: nothing to send
            if what in ("StatusNotification", "MeterValues"):
                return {"status": "Rejected"}
            cid = None
        oc = self.client
        if what == "BootNotification" and oc.boot_status == "Accepted":
            # errata 3.35: once accepted, RECOMMENDED to reject (a Pending or
            # Rejected answer now would leave transactions in limbo)
            return {"status": "Rejected"}
        oc.after.append(lambda: oc.run_triggered(lambda: self._send(owner, what, cid)))
        return {"status": "Accepted"}

    def _send(self, owner, what: str, cid) -> None:
        owner.send_triggered(what, cid)
        oc = self.client
        if oc.boot_status == "Pending":
            oc.trigger(what)

    def send_triggered(self, what: str, cid) -> None:
        """The link's own messages: BootNotification, Heartbeat."""
        oc = self.client
        if what == "BootNotification":
            oc.trigger("BootNotification")
        else:
            oc.send("Heartbeat", {}, oc.time_from)
