# An energy register kept in storage, like the non-volatile register of a
# real meter: the simulated meter and the S0 pulse meter hold their own
# reading, so a restart (power cycle) continues from it.
#
# The reading is an integer number of mWh (self.mwh): boards have single-
# precision floats, in which 16777216.0 + 1.0 == 16777216.0, so a float
# register would stop counting Wh past 16.8 MWh. energy_wh() is whole Wh.
#
# When it is saved (atomically, storage.write), by energy, not by time:
#   - before any reading is reported (persist(): StartTransaction meterStart,
#     MeterValues, StopTransaction meterStop at the session end), so that
#     after a power cut the register is never below a value the Central
#     System already has;
#   - otherwise when it moved by SAVE_WH or more since the last save, or
#     when it changed and the last save is SAVE_MAX_MS old (slow charging);
#     while energy flows a step is asked for before either can be passed
#     (at the installation's maximum power for the S0 meter), also on the
#     virtual clock;
#   - at a clean stop (save(now, final=True)).
# Energy counted after the last save and before a power cut is lost from
# the register: less than SAVE_WH (plus one S0 pulse); docs/metering.md.
#
# Flash wear (why not every 10 s): a save is one small file rewrite. At
# 22 kW (32 A x 3 x 230 V) the energy rule saves every 250 Wh = 41 s, 88
# saves per charging hour, 2112 per day charging round the clock (the old
# 10 s rule: 8640 per day at any power; 7.4 kW: 30 per hour). Add the
# reports: one save per MeterValues (default MeterValueSampleInterval
# 180 s: 20 per hour), each also an append to the journal. Internal flash
# endures 10 000 erase cycles per sector (STM32F4 datasheet; 100 000 for
# good serial NOR/ESP32 flash). On littlefs (copy-on-write, wear levelled:
# a small file lives inline in a metadata block that takes about 100
# commits of ~150 B per 16 KiB erase, and blocks are relocated over the
# 112 KiB = 7 sectors) 2112 + 480 saves a day cost about 26 erases a day,
# under 4 per sector: 10 000 cycles last about 7 years at 22 kW 24 h a
# day, about 40 years at 4 charging hours a day (100 000 cycles: 10x).
# On FAT (no wear levelling: every rewrite erases the sector holding the
# FAT and the directory) the same writes would wear that sector out in
# days at 22 kW 24 h a day, and in weeks at 4 h a day: a board's state
# root must be on littlefs (boards/README.md).
#
# File format: "<Wh>.<mWh 3 digits>" optionally followed by " <extra>" (a
# subclass's token, _reg_extra() / self._reg_tail); a bare float from older
# firmware ("1234.5") reads as well.
from evse.ticks import ticks_diff

SAVE_WH = 250                 # save when the register moved this much...
SAVE_MAX_MS = 900000          # ...or changed and the last save is this old (15 min)


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

    def _reg_due(self, now: int) -> bool:
        """The register changed enough (SAVE_WH) or long enough ago
        (SAVE_MAX_MS) since the last save to be saved now."""
        d = self.mwh - self._saved_mwh
        return d != 0 and (d >= SAVE_WH * 1000 or ticks_diff(now, self._saved) >= SAVE_MAX_MS)

    def _reg_maybe_save(self, now: int) -> None:
        if self.storage is not None and self._reg_due(now):
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

    def _reg_deadline_ms(self, now: int, power_w: int) -> int:
        """ms until a step must look at the register so that a save is not
        passed: before SAVE_WH more at power_w (the power now, or the most
        the installation can draw), and at SAVE_MAX_MS; -1 when nothing
        flows (power_w <= 0)."""
        if power_w <= 0 or self.storage is None:
            return -1
        left = SAVE_WH * 1000 - (self.mwh - self._saved_mwh)      # mWh
        d = left * 3600 // power_w if left > 0 else 0            # mWh x 3600 / W = ms
        t = SAVE_MAX_MS - ticks_diff(now, self._saved)
        if t < d:
            d = t
        return d if d > 0 else 0
