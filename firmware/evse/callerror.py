# What an OCPP operation answers besides its .conf payload (the services
# that own the operations raise or return these; evse.ocpp.operations hands
# them CALLs and the client puts the answers on the wire). In the base
# layer: the services answer without importing the OCPP layer.
#   CallError(code, description)  the CALL is answered with a CALLERROR
#   Later()                       the answer comes later (resolve(payload))
#   connector_id(cid, n)          a CALL's connectorId 0..n, or a CallError
TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only


class CallError(Exception):
    """Raised by a handler to answer its CALL with a CALLERROR (OCPP-J 4.2.3
    error codes: PropertyConstraintViolation, NotSupported, ...)."""

    def __init__(self, code: str, description: str = "", details=None) -> None:
        super().__init__(code, description)
        self.code = code
        self.description = description
        self.details = details if details is not None else {}


class Later:
    """A handler's answer that is known only later (UnlockConnector: after
    the unlock attempt, OCPP 1.6 5.18). The handler returns it instead of
    the payload; the client binds the reply and resolve(payload) sends it
    (resolve before bind keeps the payload until bind)."""

    def __init__(self) -> None:
        self._fn = None     # type: Any
        self._payload = None    # type: Any

    def bind(self, fn) -> None:
        if self._payload is not None:
            fn(self._payload)
        else:
            self._fn = fn

    def resolve(self, payload: dict) -> None:
        fn = self._fn
        if fn is None:
            self._payload = payload
        else:
            self._fn = None
            fn(payload)


def connector_id(cid, n: int) -> int:
    """A CALL's connectorId, 0..n, or a PropertyConstraintViolation."""
    if type(cid) is not int or cid < 0 or cid > n:
        raise CallError("PropertyConstraintViolation", "connectorId %r out of range" % (cid,))
    return cid
