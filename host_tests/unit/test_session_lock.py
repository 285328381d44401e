# The cable lock seen from the Central System, on a real Station with a fake
# Central System (session_rig): the transaction starts only once the lock
# confirms the cable locked, a lock failure before that gives Faulted /
# ConnectorLockFailure and no transaction (OCTT TC_024), UnlockConnector
# answers from the lock's feedback (OCPP 1.6 5.18 / 7.46), and the
# simulator's status shows that feedback.
from session_rig import FakeCS, Rig

from evse.services.session import AUTHORIZED, IDLE, TX


class LockWatchCS(FakeCS):
    """Notes whether the simulated lock pin held the plug when each
    StartTransaction.req arrived."""

    def __init__(self, rig_ref: list) -> None:
        FakeCS.__init__(self)
        self.rig_ref = rig_ref
        self.pin_at_start = []

    def answer(self, action: str, payload: dict):
        if action == "StartTransaction":
            self.pin_at_start.append(self.rig_ref[0].cio(1).locked_mechanically())
        return FakeCS.answer(self, action, payload)


def lock_status(r, c=1) -> str:
    return r.st.status()["connectors"][c - 1]["lock"]


def test_start_transaction_only_once_the_cable_is_locked():
    ref = []
    cs = LockWatchCS(ref)
    r = Rig()
    ref.append(r)
    r.online(cs)
    r.arrive()
    assert lock_status(r) == "unlocked"
    r.st.rfid(1, "A")
    r.run(0)
    # authorized, the lock is moving: no transaction yet, still Preparing
    assert r.session().state == AUTHORIZED and r.calls("StartTransaction") == []
    assert r.status() == "Preparing" and not r.conn().locked and r.conn().offered_da == 0
    r.run(1)
    assert r.session().state == TX and r.conn().locked and lock_status(r) == "locked"
    assert len(r.calls("StartTransaction")) == 1 and cs.pin_at_start == [True]


def test_lock_failure_before_start_gives_faulted_and_no_transaction():
    # OCTT TC_024: the lock cannot engage -> Faulted, ConnectorLockFailure
    cs = FakeCS()
    r = Rig()
    r.online(cs)
    r.arrive()
    r.cio(1).set_fault("lock_stuck", True)
    r.st.rfid(1, "A")
    r.run(10)
    assert r.calls("StartTransaction") == [] and r.txs() == []
    assert r.session().state == IDLE
    faulted = [p for p in r.calls("StatusNotification")
               if p["connectorId"] == 1 and p["status"] == "Faulted"]
    assert faulted and faulted[0]["errorCode"] == "ConnectorLockFailure"
    assert faulted[0]["vendorErrorCode"] == "ERR_SERVO_LOCK_FAILED"
    c = r.conn()
    assert not c.contactor_closed and c.offered_da == 0 and r.cio(1).relay_switches == 0
    assert r.st.status()["connectors"][0]["error_code"] == "ConnectorLockFailure"
    # the EV charges nothing even when it asks
    r.ev(1, "C")
    r.run(30)
    assert r.calls("StartTransaction") == [] and not r.conn().contactor_closed


def test_without_actuator_the_transaction_starts_at_once():
    r = Rig(FlexConnectorWithActuator=False)
    r.arrive()
    r.st.rfid(1, "A")
    r.run(0)
    assert r.session().state == TX and len(r.starts()) == 1
    assert lock_status(r) == "none"


def test_unlock_stuck_lock_fails_then_unlocks_once_released():
    cs = FakeCS()
    r = Rig()
    r.online(cs)
    r.arrive()
    r.card("A")
    r.ev(1, "C")
    assert r.status() == "Charging" and lock_status(r) == "locked"
    r.cio(1).set_fault("lock_stuck", True)
    got = []
    assert r.st.availability.unlock(1, got.append) == ""
    r.run(1)
    assert got == []                       # still trying
    r.run(5)
    assert got == ["UnlockFailed"]
    assert [p["reason"] for p in r.calls("StopTransaction")] == ["UnlockCommand"]
    assert r.cio(1).locked_mechanically() and lock_status(r) == "failed"
    assert r.unplug() is False             # the pin still holds the plug
    # the lock frees up: a new UnlockConnector tries again at once
    r.cio(1).set_fault("lock_stuck", False)
    got2 = []
    assert r.st.availability.unlock(1, got2.append) == ""
    r.run(3)
    assert got2 == ["Unlocked"] and lock_status(r) == "unlocked"
    assert not r.cio(1).locked_mechanically()
    r.ev(1, "A")
    assert r.unplug() is True


def test_unlock_answers_from_feedback_not_from_the_command():
    # the switch reads locked although the motor ran: UnlockFailed
    r = Rig()
    r.arrive()
    r.card("A")
    r.cio(1).set_fault("lock_forced_closed", True)
    got = []
    r.st.availability.unlock(1, got.append)
    r.run(6)
    assert got == ["UnlockFailed"] and lock_status(r) == "failed"


def test_unlock_without_actuator_not_supported():
    r = Rig(FlexConnectorWithActuator=False)
    assert r.st.availability.unlock(1) == "NotSupported"
    r = Rig(Connector1FlexCable=False)
    assert r.st.availability.unlock(1) == "NotSupported"
