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


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("LogLevel",))


def is_secret(key: str) -> bool:
    return key in SECRET_KEYS or "PASSWORD" in key.upper()


# levels, most severe first; a line is printed on the console when its level
# is at most the console's (LogLevel key, the simulator's --log-level)
ERROR = const(0)
WARN = const(1)
INFO = const(2)
DEBUG = const(3)
LEVELS = ("error", "warn", "info", "debug")
_TAGS = const(("ERROR", "WARN", "INFO", "DEBUG"))
_console = [-1]         # the console's level; -1: nothing printed


def level_of(name: str) -> int:
    """'warn' -> WARN; 'off' (or anything else) -> -1."""
    for i in range(len(LEVELS)):
        if LEVELS[i] == name:
            return i
    return -1


def set_console(level: int) -> None:
    _console[0] = level


def console() -> int:
    return _console[0]


def follow(config, fixed=None) -> None:
    """The console's level: `fixed` (the board's, the simulator's
    --log-level) or LogLevel, followed when it changes."""
    set_console(level_of(fixed or config.get_str("LogLevel")))
    if not fixed:
        def changed(name: str) -> None:
            set_console(level_of(config.get_str("LogLevel")))
        config.subscribe(changed, _CONFIG_KEYS)


class Log:
    """The last `size` lines with their UTC time and level; preallocated,
    oldest dropped. A line at or above the console's level is also printed,
    as lines() gives it ("2026-01-01T00:00:00Z WARN text"), so the console,
    the website's Log page and a diagnostics upload show the same lines.
    Debug lines go to the console only: they would push the useful lines
    out of the ring."""

    def __init__(self, clock, size: int = 64, level: int = INFO) -> None:
        self.clock = clock
        self.size = size
        self.level = level      # of a line added without one
        self._t = [0] * size
        self._s = [""] * size
        self._l = bytearray(size)
        self._n = 0             # lines ever added

    def add(self, line: str, level: int = -1) -> None:
        if level < 0:
            level = self.level
        if len(line) > _WIDTH:
            line = line[:_WIDTH]
        t = self.clock.now()
        if level <= _console[0]:
            print(iso8601(t) + " " + _TAGS[level] + " " + line)
        if level > INFO:
            return
        i = self._n % self.size
        self._t[i] = t
        self._s[i] = line
        self._l[i] = level
        self._n += 1

    def error(self, line: str) -> None:
        self.add(line, ERROR)

    def warn(self, line: str) -> None:
        self.add(line, WARN)

    def info(self, line: str) -> None:
        self.add(line, INFO)

    def debug(self, line: str) -> None:
        if DEBUG <= _console[0]:        # nothing built or kept otherwise
            self.add(line, DEBUG)

    def __len__(self) -> int:
        return min(self._n, self.size)

    def lines(self, start=None, stop=None) -> list:
        """'YYYY-MM-DDTHH:MM:SSZ LEVEL text' lines, oldest first, with start <= t <= stop
        (UTC seconds; None = open end)."""
        out = []
        n = len(self)
        first = self._n - n
        for k in range(first, self._n):
            i = k % self.size
            t = self._t[i]
            if (start is None or t >= start) and (stop is None or t <= stop):
                out.append(iso8601(t) + " " + _TAGS[self._l[i]] + " " + self._s[i])
        return out
