# The OCPP operations are registered by the services that own them
# (docs/architecture.md, MicroOcpp's model): each service class declares the
# CALL actions it answers (OPERATIONS) and the messages TriggerMessage may
# ask it for (TRIGGERS); the composition root registers each service once.
# Every Central System -> charge point CALL of OCPP 1.6 has exactly one
# owner, and a real CALL through the client reaches it.
import json

from evse.ocpp.operations import Operations, method_name
from session_rig import Rig

# OCPP 1.6 chapter 5: the operations initiated by the Central System, and
# the service that answers each (the table in docs/architecture.md)
OWNERS = (
    ("CancelReservation", "CardRouter"), ("ChangeAvailability", "Availability"),
    ("ChangeConfiguration", "Config"), ("ClearCache", "AuthCache"),
    ("ClearChargingProfile", "Energy"), ("DataTransfer", "Operations"),
    ("GetCompositeSchedule", "Energy"), ("GetConfiguration", "Config"),
    ("GetDiagnostics", "Maintenance"), ("GetLocalListVersion", "LocalList"),
    ("RemoteStartTransaction", "Transactions"), ("RemoteStopTransaction", "Transactions"),
    ("ReserveNow", "CardRouter"), ("Reset", "Maintenance"), ("SendLocalList", "LocalList"),
    ("SetChargingProfile", "Energy"), ("TriggerMessage", "Operations"),
    ("UnlockConnector", "Availability"), ("UpdateFirmware", "Maintenance"),
)
# TriggerMessage's requestedMessage values (OCPP 1.6 7.45) and their senders
TRIGGER_OWNERS = (
    ("BootNotification", "Operations"), ("Heartbeat", "Operations"),
    ("StatusNotification", "StatusReport"), ("MeterValues", "Metering"),
    ("DiagnosticsStatusNotification", "Maintenance"), ("FirmwareStatusNotification", "Maintenance"),
)


def call(r, action: str, payload: dict, run_after: bool = True) -> list:
    """A CALL from the Central System through the client: the frames it answered."""
    oc = r.st.ocpp
    oc.outbox = []
    oc.on_text(json.dumps([2, "cs1", action, payload]))
    replies = [json.loads(t) for t in oc.outbox]
    oc.outbox = []
    while run_after and oc.after:       # what the async shell runs once the reply is out
        oc.after.pop(0)()
    return replies


def result(r, action: str, payload: dict) -> dict:
    replies = call(r, action, payload)
    assert len(replies) == 1 and replies[0][:2] == [3, "cs1"], replies
    return replies[0][2]


def queued(r, action: str) -> list:
    """Messages the client has queued for the Central System."""
    return [it[1] for it in r.st.ocpp.queue if it[0] == action]


def test_method_names_follow_the_action():
    assert method_name("SetChargingProfile") == "ocpp_set_charging_profile"
    assert method_name("Reset") == "ocpp_reset"
    assert method_name("GetLocalListVersion") == "ocpp_get_local_list_version"


def test_every_operation_of_the_central_system_has_exactly_one_owner():
    r = Rig("dscu")
    ops = r.st.ocpp.operations
    for action, owner in OWNERS:
        declared = [type(o).__name__ for o in ops.owners if action in o.OPERATIONS]
        assert declared == [owner], (action, declared)
        assert type(ops.owner(action)).__name__ == owner
        assert callable(ops.handler(action)), action
    every = [a for o in ops.owners for a in o.OPERATIONS]
    assert sorted(every) == sorted(a for a, _ in OWNERS), every
    for what, owner in TRIGGER_OWNERS:
        declared = [type(o).__name__ for o in ops.owners if what in getattr(o, "TRIGGERS", ())]
        assert declared == [owner], (what, declared)
    for o in ops.owners:
        assert type(o).__name__ != "Station", "the Station registers no operation"


def test_a_second_owner_of_an_action_is_refused():
    r = Rig("sscu")
    ops = r.st.ocpp.operations

    class Rival:
        OPERATIONS = ("Reset",)

    class RivalSender:
        OPERATIONS = ()
        TRIGGERS = ("MeterValues",)
    for rival in (Rival(), RivalSender()):
        try:
            ops.register(rival)
        except ValueError as e:
            assert "already registered" in str(e)
        else:
            raise AssertionError("a second owner was accepted")
    assert type(ops.owner("Reset")).__name__ == "Maintenance"


def test_an_action_nobody_registered_is_not_implemented():
    r = Rig("sscu")
    oc = r.st.ocpp
    oc.operations = Operations(oc, 1)  # a registry without the services
    replies = call(r, "Reset", {"type": "Soft"})
    assert len(replies) == 1 and replies[0][0] == 4 and replies[0][2] == "NotImplemented", replies
    assert r.st.maint.reboot_request == ""
    assert result(r, "DataTransfer", {"vendorId": "X"}) == {"status": "UnknownVendorId"}


def test_each_owner_answers_a_real_call_through_the_client():
    r = Rig("dscu", LocalAuthListEnabled=True)
    st = r.st
    oc = st.ocpp
    oc.boot_status = "Accepted"
    # the configuration
    assert result(r, "ChangeConfiguration", {"key": "HeartBeatInterval", "value": "120"}) == {"status": "Accepted"}
    got = result(r, "GetConfiguration", {"key": ["HeartBeatInterval", "NoSuchKey"]})
    assert [(k["key"], k["value"]) for k in got["configurationKey"]] == [("HeartBeatInterval", "120")]
    assert got["unknownKey"] == ["NoSuchKey"]
    # the local list and the cache
    assert result(r, "SendLocalList", {"listVersion": 4, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "LIST1", "idTagInfo": {"status": "Accepted"}}]}) == {"status": "Accepted"}
    assert result(r, "GetLocalListVersion", {}) == {"listVersion": 4}
    assert result(r, "ClearCache", {}) == {"status": "Accepted"}
    # availability: a connector out of range is the protocol's error
    assert result(r, "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}) == {"status": "Accepted"}
    assert st.availability.avail[2] is False
    bad = call(r, "ChangeAvailability", {"connectorId": 3, "type": "Inoperative"})
    assert bad[0][0] == 4 and bad[0][2] == "PropertyConstraintViolation", bad
    assert result(r, "UnlockConnector", {"connectorId": 9}) == {"status": "NotSupported"}
    # transactions, reservations, smart charging
    assert result(r, "RemoteStartTransaction", {"idTag": "RS1", "connectorId": 2}) == {"status": "Rejected"}  # Inoperative
    assert result(r, "RemoteStopTransaction", {"transactionId": 77}) == {"status": "Rejected"}
    assert result(r, "ReserveNow", {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "RES1",
                                    "reservationId": 5}) == {"status": "Accepted"}
    assert result(r, "CancelReservation", {"reservationId": 5}) == {"status": "Accepted"}
    assert result(r, "CancelReservation", {"reservationId": 5}) == {"status": "Rejected"}
    assert result(r, "ClearChargingProfile", {"id": 99}) == {"status": "Unknown"}
    assert result(r, "GetCompositeSchedule", {"connectorId": 3, "duration": 60}) == {"status": "Rejected"}
    # the triggered messages come from their owners
    oc.queue.clear()
    assert result(r, "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}) == {
        "status": "Accepted"}
    assert [p["connectorId"] for p in queued(r, "StatusNotification")] == [1]
    assert result(r, "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 2}) == {"status": "Accepted"}
    assert [p["connectorId"] for p in queued(r, "MeterValues")] == [2]
    assert result(r, "TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"}) == {"status": "Accepted"}
    assert queued(r, "DiagnosticsStatusNotification") == [{"status": "Idle"}]
    assert result(r, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == {"status": "Accepted"}
    assert queued(r, "Heartbeat") == [{}]
    # a vendor registered with the registry answers DataTransfer
    oc.operations.vendors["acme"] = lambda mid, data: ("Accepted", (data or "").upper())
    assert result(r, "DataTransfer", {"vendorId": "acme", "data": "ping"}) == {"status": "Accepted", "data": "PING"}
    # Reset last: the station asks its entry point to restart
    assert result(r, "Reset", {"type": "Soft"}) == {"status": "Accepted"}
    assert st.maint.reboot_request == "Soft"
