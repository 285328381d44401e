# Connector status derivation (OCPP 1.6 ChargePointStatus, manual 8.3).
from evse.iocu import pilot as P
from evse.iocu import status as S
from evse.iocu import errors as E
from evse.iocu.status import derive
from iocu_rig import Rig


def test_names():
    assert S.NAMES[S.AVAILABLE] == "Available"
    assert S.NAMES[S.SUSPENDED_EVSE] == "SuspendedEVSE"
    assert S.NAMES[S.FAULTED] == "Faulted"
    assert len(S.NAMES) == 9


def test_rules():
    A, B, C, D = P.A, P.B, P.C, P.D
    assert derive(A, False, False, 0, 0) == S.AVAILABLE
    assert derive(A, False, False, 0, 0, reserved=True) == S.RESERVED
    assert derive(B, False, False, 0, 0, reserved=True) == S.RESERVED   # OCPP 4.9
    assert derive(B, False, False, 0, 0) == S.PREPARING
    assert derive(A, False, False, 0, 0, preparing=True) == S.PREPARING
    assert derive(A, False, True, 0, 0) == S.PREPARING
    assert derive(B, False, True, 160, 0) == S.SUSPENDED_EV
    assert derive(B, False, True, 0, 0) == S.SUSPENDED_EVSE
    assert derive(C, False, True, 0, 0) == S.SUSPENDED_EVSE
    assert derive(C, True, True, 160, 0) == S.CHARGING
    assert derive(D, True, True, 160, 0, ventilation_ok=True) == S.CHARGING
    assert derive(D, False, True, 160, 0) == S.SUSPENDED_EVSE
    assert derive(B, False, False, 0, 0, finishing=True) == S.FINISHING
    assert derive(A, False, False, 0, 0, finishing=True) == S.AVAILABLE
    assert derive(C, True, True, 160, 0, operative=False) == S.UNAVAILABLE
    assert derive(C, False, True, 160, E.ERR_DIODE_FAILURE) == S.FAULTED
    assert derive(A, False, False, 0, E.ERR_HEARTBEAT, operative=False) == S.FAULTED


def test_of_connector_through_a_session():
    r = Rig()
    seen = []

    def note():
        st = S.of(r.c)
        if not seen or seen[-1] != st:
            seen.append(st)

    note()
    r.plug_ev("B")
    r.run(100)
    note()
    r.c.authorize(True)
    r.run(1500)
    note()
    r.io.set_ev("C")
    r.run(100)
    note()
    r.c.set_limit_da(0)
    r.run(30)
    note()
    r.c.set_limit_da(800)
    r.run(100)   # PWM restarts: a new diode test before the contactor closes
    note()
    r.io.set_ev("B")
    r.run(100)
    note()
    r.c.authorize(False)
    r.run(500)
    assert S.of(r.c, finishing=True) == S.FINISHING
    r.io.set_ev("A")
    r.run(100)
    note()
    assert [S.NAMES[s] for s in seen] == [
        "Available", "Preparing", "SuspendedEV", "Charging", "SuspendedEVSE", "Charging",
        "SuspendedEV", "Available"]


def test_faulted_connector_never_charging():
    r = Rig()
    r.charge()
    r.io.set_fault("diode_missing", True)
    r.run(50)
    assert S.of(r.c) == S.FAULTED and not r.c.contactor_closed
