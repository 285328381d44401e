# An energy register kept in storage, like the non-volatile register of a
# real meter: the simulated meter and the S0 pulse meter hold their own
# reading, so a restart (power cycle) continues from it.
#
# The reading is an integer number of mWh (self.mwh): boards have single-
# precision floats, in which 16777216.0 + 1.0 == 16777216.0, so a float
# register would stop counting Wh past 16.8 MWh. energy_wh() is whole Wh.
#
# When it is saved (atomically, storage.write):
#   - before any reading is reported (persist(): StartTransaction meterStart,
#     MeterValues, StopTransaction meterStop), so that after a power cut the
#     register is never below a value the Central System already has;
#   - at most every SAVE_EVERY_MS while it changes otherwise; while energy
#     flows a step is asked for at least every SAVE_DEADLINE_MS so the saves
#     happen even when nothing else moves virtual time (a board steps every
#     10 ms, so there the window is SAVE_EVERY_MS);
#   - at a clean stop (save(now, final=True)).
# Energy counted after the last save and before a power cut is lost from
# the register (at most SAVE_EVERY_MS of flow); docs/metering.md.
#
# File format: "<Wh>.<mWh 3 digits>" optionally followed by " <extra>" (a
# subclass's token, _reg_extra() / self._reg_tail); a bare float from older
# firmware ("1234.5") reads as well.
from evse.ticks import ticks_diff

SAVE_EVERY_MS = 10000
SAVE_DEADLINE_MS = 60000


def parse_mwh(text: str) -> int:
    """'1234.567' -> 1234567 (mWh), exactly (no float); ValueError if bad."""
    t = text.strip()
    neg = t.startswith("-")
    if neg:
        raise ValueError("negative register")
    if "." in t:
        whole, frac = t.split(".", 1)
    else:
        whole, frac = t, ""
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise ValueError("not a register value")
    frac = (frac + "000")[:3]
    return int(whole) * 1000 + int(frac)


def format_mwh(mwh: int) -> str:
    return "%d.%03d" % (mwh // 1000, mwh % 1000)


class StoredRegister:
    """Base class: call _reg_init() in __init__; self.mwh is the reading."""

    def _reg_init(self, storage, name: str, now: int) -> None:
        self.storage = storage
        self.name = name
        self.mwh = 0
        self._reg_tail = ""          # what followed the reading in the file
        self.saves = 0               # writes to storage (flash wear, diagnostics)
        if storage is not None:
            raw = storage.read(name)
            try:
                text = raw.decode() if raw else ""
                parts = text.split()
                if parts:
                    self.mwh = parse_mwh(parts[0])
                    self._reg_tail = " ".join(parts[1:])
            except (ValueError, UnicodeError):
                self.mwh = 0      # a corrupt register restarts at 0, never crashes
        self._saved = now
        self._saved_mwh = self.mwh

    def energy_wh(self) -> int:
        return self.mwh // 1000

    def _reg_maybe_save(self, now: int) -> None:
        if (self.storage is not None and self.mwh != self._saved_mwh
                and ticks_diff(now, self._saved) >= SAVE_EVERY_MS):
            self.save(now)

    def _reg_extra(self, final: bool) -> str:
        return ""

    def save(self, now: int, final: bool = False) -> None:
        if self.storage is not None:
            text = format_mwh(self.mwh)
            extra = self._reg_extra(final)
            if extra:
                text += " " + extra
            self.storage.write(self.name, text.encode())
            self.saves += 1
            self._saved = now
            self._saved_mwh = self.mwh

    def persist(self, now: int) -> None:
        """A reading is about to be reported: the register on storage must
        not be below it (saved only when it changed since the last save)."""
        if self.storage is not None and self.mwh != self._saved_mwh:
            self.save(now)

    def _reg_deadline_ms(self, now: int, flowing: bool) -> int:
        if flowing and self.storage is not None:
            return max(0, SAVE_DEADLINE_MS - ticks_diff(now, self._saved))
        return -1
