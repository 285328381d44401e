# An energy register (Wh) kept in storage, like the non-volatile register of
# a real meter: the simulated meter and the S0 pulse meter hold their own
# reading, so a restart (power cycle) continues from it. Saved (atomically)
# at most every SAVE_EVERY_MS while it changes; while energy flows a step is
# asked for at least every SAVE_DEADLINE_MS so the saves happen even when
# nothing else moves virtual time.
from evse.ticks import ticks_diff

SAVE_EVERY_MS = 10000
SAVE_DEADLINE_MS = 60000


class StoredRegister:
    """Base class: call _reg_init() in __init__; self.wh is the reading."""

    def _reg_init(self, storage, name: str, now: int) -> None:
        self.storage = storage
        self.name = name
        self.wh = 0.0
        if storage is not None:
            raw = storage.read(name)
            try:
                self.wh = float(raw.decode()) if raw else 0.0
            except (ValueError, UnicodeError):
                self.wh = 0.0     # a corrupt register restarts at 0, never crashes
        self._saved = now
        self._saved_wh = self.wh

    def _reg_maybe_save(self, now: int) -> None:
        if (self.storage is not None and self.wh != self._saved_wh
                and ticks_diff(now, self._saved) >= SAVE_EVERY_MS):
            self.save(now)

    def save(self, now: int) -> None:
        if self.storage is not None:
            self.storage.write(self.name, ("%.3f" % self.wh).encode())
            self._saved = now
            self._saved_wh = self.wh

    def _reg_deadline_ms(self, now: int, flowing: bool) -> int:
        if flowing and self.storage is not None:
            return max(0, SAVE_DEADLINE_MS - ticks_diff(now, self._saved))
        return -1
