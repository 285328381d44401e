# MCU-side conditions reported in StatusNotification beside the IOCU's error
# codes (manual 8.2): grid OverVoltage/UnderVoltage, HighTemperature while
# derating, OverCurrentFailure from the meter, warnings such as a bouncing
# sensor input. Each connector (0 = the Charge Point itself, OCPP 3.8) holds
# its active conditions by name; the one of highest priority fills errorCode,
# vendorErrorCode and info of the next StatusNotification. A condition that
# blocks makes the connector Faulted (OCPP 1.6 4.9: an error that stops
# charging); a warning leaves the status as it is (errorCode with the current
# status, as manual 8.2 describes warnings).
#
# Services set and clear conditions; Station._update_status reports every
# change (a new top condition, or NoError "cleared X" once none is left).
# Plain dicts of small tuples: conditions change at most once per check
# interval, never in the safety tick.

# priorities: a blocking failure outranks a warning
PRIO_WARNING = 1
PRIO_FAILURE = 2


class Conditions:
    def __init__(self, n: int) -> None:
        # per connector 0..n: name -> (prio, errorCode, vendorErrorCode, info, blocks)
        self._by_cid = [{} for _ in range(n + 1)]    # type: list

    def set(self, cid: int, name: str, code: str, vendor: str = "", info: str = "",
            prio: int = PRIO_WARNING, blocks: bool = False) -> bool:
        """Raise (or update) a condition; True when something changed."""
        d = self._by_cid[cid]
        new = (prio, code, vendor, info, blocks)
        if d.get(name) == new:
            return False
        d[name] = new
        return True

    def clear(self, cid: int, name: str) -> bool:
        d = self._by_cid[cid]
        if name in d:
            del d[name]
            return True
        return False

    def active(self, cid: int, name: str) -> bool:
        return name in self._by_cid[cid]

    def names(self, cid: int) -> list:
        return sorted(self._by_cid[cid])

    def top(self, cid: int):
        """(errorCode, vendorErrorCode, info) of the condition to report, or
        None. Ties go to the name that sorts first, so reports are stable."""
        best = None
        best_key = None
        for name, c in self._by_cid[cid].items():
            key = (-c[0], name)
            if best_key is None or key < best_key:
                best_key = key
                best = c
        return None if best is None else (best[1], best[2], best[3])

    def blocks(self, cid: int) -> bool:
        """A blocking condition on this connector or on the whole station."""
        for d in (self._by_cid[cid], self._by_cid[0]):
            for c in d.values():
                if c[4]:
                    return True
        return False
