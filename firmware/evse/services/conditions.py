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
# interval, never in the safety tick. What the MCU step asks every time
# (blocks(), top()) is kept up to date by set()/clear(), so asking allocates
# nothing (docs/memory.md).

# priorities: a blocking failure outranks a warning
PRIO_WARNING = 1
PRIO_FAILURE = 2


class Conditions:
    def __init__(self, n: int) -> None:
        # per connector 0..n: name -> (prio, errorCode, vendorErrorCode, info, blocks)
        self._by_cid = [{} for _ in range(n + 1)]    # type: list
        self._nblock = [0] * (n + 1)     # blocking conditions per connector
        self._top = [None] * (n + 1)     # type: list  # top() per connector, False: to compute

    def set(self, cid: int, name: str, code: str, vendor: str = "", info: str = "",
            prio: int = PRIO_WARNING, blocks: bool = False) -> bool:
        """Raise (or update) a condition; True when something changed."""
        d = self._by_cid[cid]
        new = (prio, code, vendor, info, blocks)
        old = d.get(name)
        if old == new:
            return False
        if old is not None and old[4]:
            self._nblock[cid] -= 1
        if blocks:
            self._nblock[cid] += 1
        d[name] = new
        self._top[cid] = False
        return True

    def clear(self, cid: int, name: str) -> bool:
        d = self._by_cid[cid]
        if name in d:
            if d[name][4]:
                self._nblock[cid] -= 1
            del d[name]
            self._top[cid] = False
            return True
        return False

    def active(self, cid: int, name: str) -> bool:
        return name in self._by_cid[cid]

    def names(self, cid: int) -> list:
        return sorted(self._by_cid[cid])

    def top(self, cid: int):
        """(errorCode, vendorErrorCode, info) of the condition to report, or
        None. Ties go to the name that sorts first, so reports are stable."""
        t = self._top[cid]
        if t is False:
            t = self._top[cid] = self._find_top(cid)
        return t

    def _find_top(self, cid: int):
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
        return self._nblock[cid] > 0 or self._nblock[0] > 0
