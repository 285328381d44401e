# The attempts of one transfer request (OCPP 1.6 GetDiagnostics /
# UpdateFirmware `retries`, `retryInterval`), kept across reboots
# (to_dict/from_dict), and what the services' transfer loops share: the FTP
# credentials of the configuration and a coroutine sleep.
from evse.aio import asyncio

DEFAULT_RETRIES = 2         # when the request has no `retries`
DEFAULT_INTERVAL_S = 60     # when the request has no `retryInterval`


try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("FTPUserName", "FTPPassword"))


def config_credentials(config):
    """(FTPUserName, FTPPassword) of the configuration (manual 4.4): the FTP
    credentials used when the URL has none."""
    out = []
    for k in ("FTPUserName", "FTPPassword"):
        try:
            v = config.get(k) if config is not None else ""
        except KeyError:
            v = ""
        out.append(v if type(v) is str else "")
    return out[0], out[1]


async def sleep_s(s) -> None:
    """asyncio.sleep wrapped in a coroutine (MicroPython's is a generator)."""
    await asyncio.sleep(s)


class Job:
    """The attempts of one request: the first at `at` (UTC seconds), then up to
    `retries` more, `interval` s apart (OCPP 1.6 errata 3.50: retries counts the
    tries after the first)."""

    def __init__(self, location: str, at: int, retries=None, interval=None) -> None:
        if type(retries) is not int:
            retries = DEFAULT_RETRIES
        if type(interval) is not int:
            interval = DEFAULT_INTERVAL_S
        self.location = location
        self.next_at = at
        self.left = 1 + max(0, retries)
        self.interval = max(0, interval)
        self.tries = 0

    def due(self, now: int) -> bool:
        return self.left > 0 and now >= self.next_at

    def wait_s(self, now: int) -> int:
        return max(0, self.next_at - now) if self.left > 0 else -1

    def begin(self) -> None:
        self.tries += 1
        self.left -= 1

    def retry(self, now: int) -> bool:
        """After a failed try: schedule the next one; False when none is left."""
        if self.left <= 0:
            return False
        self.next_at = now + self.interval
        return True

    def to_dict(self) -> dict:
        return {"location": self.location, "next_at": self.next_at, "left": self.left,
                "interval": self.interval, "tries": self.tries}

    @staticmethod
    def from_dict(d: dict):
        j = Job(d["location"], int(d["next_at"]), 0, int(d["interval"]))
        j.left = max(1, int(d["left"]))     # a try cut short by a reboot is tried again
        j.tries = int(d["tries"])
        return j

