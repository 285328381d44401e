# The station's bounded in-RAM logs (recent events, error history): a ring of
# timestamped lines, and the configuration keys they never show. Kept apart
# from evse.services.diagnostics (which writes them into a diagnostics file)
# so that a station loads that service and the transfer code only when a
# GetDiagnostics arrives (docs/memory.md, lazy services).
from evse.clock import iso8601

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_WIDTH = const(160)      # longest log line kept

# configuration keys never written to a diagnostics file nor shown by the
# website (besides any *Password*)
SECRET_KEYS = ("AuthorizationKey", "ClientKey", "PINCode", "SMSFactoryResetString",
               "SMSResetString", "TaglessIdTag1", "TaglessIdTag2")


def is_secret(key: str) -> bool:
    return key in SECRET_KEYS or "PASSWORD" in key.upper()


class Log:
    """The last `size` lines with their UTC time; preallocated, oldest dropped."""

    def __init__(self, clock, size: int = 64) -> None:
        self.clock = clock
        self.size = size
        self._t = [0] * size
        self._s = [""] * size
        self._n = 0             # lines ever added

    def add(self, line: str) -> None:
        i = self._n % self.size
        self._t[i] = self.clock.now()
        self._s[i] = line if len(line) <= _WIDTH else line[:_WIDTH]
        self._n += 1

    def __len__(self) -> int:
        return min(self._n, self.size)

    def lines(self, start=None, stop=None) -> list:
        """'YYYY-MM-DDTHH:MM:SSZ text' lines, oldest first, with start <= t <= stop
        (UTC seconds; None = open end)."""
        out = []
        n = len(self)
        first = self._n - n
        for k in range(first, self._n):
            i = k % self.size
            t = self._t[i]
            if (start is None or t >= start) and (stop is None or t <= stop):
                out.append(iso8601(t) + " " + self._s[i])
        return out
