# Connector status (OCPP 1.6 ChargePointStatus, manual 8.3) as a pure
# function of the connector's state, so the MCU layer and the tests agree.
#
# Rules, first match wins:
#   1. a blocking error (connector or station)           -> Faulted
#   2. not operative (ChangeAvailability Inoperative,
#      Connector<n>Enabled False)                         -> Unavailable
#   3. finishing (the MCU stopped the transaction and the
#      EV is still connected)                             -> Finishing
#      (once the pilot reads A the EV has left            -> rule 5)
#   4. a session is authorized (transaction running or starting):
#        contactor closed                                 -> Charging
#        pilot A (waiting for the EV)                     -> Preparing
#        pilot D without ventilation_ok, or nothing
#        offered (energy management limit < 6 A, lock /
#        CCID test still running)                         -> SuspendedEVSE
#        pilot B with a current offered (EV not ready
#        or full)                                         -> SuspendedEV
#        pilot C/D with a current offered but the
#        contactor open (the tick in between)             -> SuspendedEVSE
#   5. no session:
#        reserved (whatever the pilot: OCPP 4.9)         -> Reserved
#        EV connected (pilot B/C/D) or a tag presented
#        (`preparing` flag from the MCU)                  -> Preparing
#        otherwise                                        -> Available
# The pilot is the debounced state code of pilot.py (A=1 .. INVALID=7);
# UNKNOWN (0), E, F and INVALID count as "not connected" here (they raise
# errors anyway, so rule 1 usually applies).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.iocu import pilot as P

AVAILABLE = const(0)
PREPARING = const(1)
CHARGING = const(2)
SUSPENDED_EV = const(3)
SUSPENDED_EVSE = const(4)
FINISHING = const(5)
RESERVED = const(6)
UNAVAILABLE = const(7)
FAULTED = const(8)
NAMES = ("Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE",
         "Finishing", "Reserved", "Unavailable", "Faulted")


def derive(pilot: int, contactor: bool, authorized: bool, offered_da: int,
           error: int, operative: bool = True, reserved: bool = False,
           finishing: bool = False, preparing: bool = False,
           ventilation_ok: bool = False) -> int:
    if error:
        return FAULTED
    if not operative:
        return UNAVAILABLE
    connected = P.B <= pilot <= P.D
    if finishing and connected:
        return FINISHING
    if authorized:
        if contactor:
            return CHARGING
        if not connected:
            return PREPARING
        if offered_da < 60 or (pilot == P.D and not ventilation_ok):
            return SUSPENDED_EVSE
        if pilot == P.B:
            return SUSPENDED_EV
        return SUSPENDED_EVSE
    if reserved:
        # OCPP 1.6 4.9: a reserved connector stays Reserved when an EV plugs
        # in; only the reserving idTag (a session: rule 4) makes it Preparing
        return RESERVED
    if connected or preparing:
        return PREPARING
    return AVAILABLE


def of(conn, reserved: bool = False, finishing: bool = False, preparing: bool = False) -> int:
    """derive() for a Connector object (flags the IOCU does not know come
    from the MCU layer)."""
    return derive(conn.pilot, conn.contactor_closed, conn.authorized, conn.offered_da,
                  conn.error, conn.operative, reserved, finishing, preparing,
                  conn.ventilation_ok)
