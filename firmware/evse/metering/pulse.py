# S0 pulse meter (MeterType 3): the meter closes its S0 output once per
# 1/MeterPulseCount kWh; the board counts those pulses on a HAL input
# (an edge interrupt increments a counter: s0_pulses(), see evse/hal). The
# controller holds the register: energy = stored reading + pulses seen x
# Wh per pulse, in integer mWh (the fraction of a mWh a pulse leaves is
# carried exactly: 1000000 / MeterPulseCount mWh per pulse), saved to
# storage like a meter's non-volatile register (evse.hal.register).
#
# Power cut: the pulses counted after the last save are lost from the
# register and the S0 line cannot tell how many there were. So while pulses
# come the register is saved by the rule of evse.hal.register (before every
# report, and whenever it moved SAVE_WH since the last save or changed
# SAVE_MAX_MS ago; a step is asked for before SAVE_WH can pass at the
# installation's maximum power, also on the virtual clock) with the mark
# "open"; a clean stop or an idle line saves it without. A register found
# "open" at boot lost less than SAVE_WH (or SAVE_MAX_MS of the maximum
# power, if that is less) plus one pulse: gap_wh says how much at most, and
# the station reports it (manual 8.2 StatusNotification info;
# docs/metering.md), never silently.
#
# Nothing but energy is measured (manual 4.4 MainsVoltage: with an S0 meter
# "the charging current is not measured but calculated"): power comes from
# the pulse rate, the current per active phase from power / (MainsVoltage x
# phases), and the voltage is the configured MainsVoltage (has() says it is
# not measured, so it is not sent as a meter value). Power after the last
# pulse is bounded by one pulse over the time since (it decays) and is 0
# once no pulse came for IDLE_MS. A silent S0 line cannot be told from an
# idle one, so this meter never reports PowerMeterFailure by itself.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.hal.register import StoredRegister, SAVE_WH, SAVE_MAX_MS
from evse.ticks import ticks_diff

S0_MASK = const(0x3FFFFFFF)  # the HAL counter wraps at 2**30
IDLE_MS = const(300000)
WINDOW_MS = const(10000)   # the pulse rate is averaged over at least this long...
WINDOW_PULSES = const(50)  # ...or this many pulses (2 % resolution)


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("MainsVoltage",))


def gap_bound_wh(max_w: int, ppk: int) -> int:
    """The most energy a power cut can take from an "open" register: less
    than SAVE_WH (or SAVE_MAX_MS at max_w W, when that is less), one pulse
    still in the meter's output, and the step the last pulses were seen in
    (10 ms on a board: below 1 Wh up to 360 kW, the + 1)."""
    b = max_w * SAVE_MAX_MS // 3600000
    if b > SAVE_WH:
        b = SAVE_WH
    return b + 1000 // ppk + 1


class PulseMeter(StoredRegister):
    type_name = "S0 pulse meter"

    def __init__(self, src, clock, config, storage=None, index: int = 0) -> None:
        self.src = src
        self.clock = clock
        self.config = config
        self.ppk = config.get("MeterPulseCount")
        self.wh_per_pulse = 1000.0 / self.ppk
        self._rem = 0                 # mWh x ppk below one mWh (exact carry)
        now = clock.ticks_ms()
        self._reg_init(storage, "s0meter%d" % (index + 1), now)
        self.gap_wh = 0
        if self._reg_tail == "open":
            # saved while pulses came, then no clean stop: a power cut
            self.gap_wh = gap_bound_wh(self._max_w(), self.ppk)
        self._open = self._reg_tail == "open"   # what the file on storage says
        self._flowing = False         # pulses came within IDLE_MS
        self._n = src.s0_pulses() & S0_MASK
        self.pulses = 0               # pulses counted since boot
        self._t_pulse = now
        self._t_look = now
        self._pulse_seen = False
        self._interval = 0.0          # ms between the last pulses
        self._t_win = now             # start of the averaging window (a pulse)
        self._n_win = 0               # pulses seen since then
        self._p = 0.0
        if self._open:
            self.save(now)            # the gap is reported once (the station), not again

    # ---- readings ---------------------------------------------------------------------------
    def ok(self) -> bool:
        return True

    def info(self) -> str:
        return ""

    def _max_w(self) -> int:
        # the most the installation can draw: what bounds the unsaved energy
        g = self.config.get
        return g("MaxCurrentConnection") * self._phases() * g("OverVoltageLimit")

    def _phases(self) -> int:
        g = self.config.get
        return 3 if (g("L2Active") or g("L3Active")) else 1

    def power_w(self) -> float:
        return self._p

    def current_da(self, phase: int) -> int:
        """Deci-amps, rounded (the overcurrent check compares ints)."""
        return int(self.current_a(phase) * 10 + 0.5)

    def current_a(self, phase: int) -> float:
        n = self._phases()
        if phase >= n:
            return 0.0
        return self._p / (self.config.get("MainsVoltage") * n)

    def voltage_v(self, phase: int) -> float:
        return float(self.config.get("MainsVoltage")) if phase < self._phases() else 0.0

    def has(self, measurand: str, phase: int = 0) -> bool:
        return measurand != "Voltage" and measurand != "Frequency"

    # ---- counting --------------------------------------------------------------------------------
    def update(self, now: int) -> None:
        n = self.src.s0_pulses() & S0_MASK
        dp = (n - self._n) & S0_MASK
        if dp:
            self._n = n
            self.pulses += dp
            x = dp * 1000000 + self._rem
            self.mwh += x // self.ppk
            self._rem = x % self.ppk
            # the time per pulse since the last one seen; for the first
            # ones, since the last look (several at once: virtual time
            # jumped, they came evenly in between as far as we know)
            if not self._pulse_seen:
                # the first ones: since the last look (several at once:
                # virtual time jumped, they came evenly in between)
                dt = ticks_diff(now, self._t_look)
                if dt > 0 and dp > 1:
                    self._interval = dt / dp
                    self._p = self.wh_per_pulse * 3600000.0 / self._interval
                self._t_win = now
                self._n_win = 0
            else:
                # averaged over at least WINDOW_MS or WINDOW_PULSES, so the
                # moments the pulses are looked at (10 ms ticks on a board,
                # deadline jumps in the simulator) do not make the power jitter
                self._n_win += dp
                win = ticks_diff(now, self._t_win)
                if win > 0 and (win >= WINDOW_MS or self._n_win >= WINDOW_PULSES or self._p == 0.0):
                    self._interval = win / self._n_win
                    self._p = self.wh_per_pulse * 3600000.0 / self._interval
                    self._t_win = now
                    self._n_win = 0
            self._pulse_seen = True
            self._t_pulse = now
            self._flowing = True
            if not self._open and self.storage is not None:
                self.save(now)        # pulses come: mark the register "open" at once
        elif self._pulse_seen:
            since = ticks_diff(now, self._t_pulse)
            if since >= IDLE_MS:
                self._p = 0.0
                self._flowing = False
                if self._open:
                    self.save(now)    # the line is idle: nothing left to lose
            elif since > self._interval:
                bound = self.wh_per_pulse * 3600000.0 / since
                if bound < self._p:
                    self._p = bound
        self._t_look = now
        if self.storage is not None and self._reg_due(now):
            self.save(now)

    def next_deadline_ms(self, now: int) -> int:
        # pulses are counted whenever the station steps; only the save of
        # the register while energy flows needs a step of its own: before
        # SAVE_WH can have come at the installation's maximum power (the
        # bound gap_wh relies on; the pulse rate may rise at any moment),
        # at SAVE_MAX_MS, and the idle save that clears the "open" mark
        if self.storage is None or not self._flowing:
            return -1
        d = self._reg_deadline_ms(now, self._max_w())
        idle = IDLE_MS - ticks_diff(now, self._t_pulse)
        if 0 <= idle < d:
            d = idle
        return d if d > 0 else 0

    def _reg_extra(self, final: bool) -> str:
        self._open = not final and self._flowing
        return "open" if self._open else ""

    # ---- simulator controls ---------------------------------------------------------------------
    def set_fault(self, name: str, active: bool) -> None:
        raise ValueError("%s: an S0 pulse meter has no failure the controller could see" % name)

    def set_grid(self, volts: list) -> None:
        fn = getattr(self.src, "set_grid", None)
        if fn is None:
            raise ValueError("grid: not a simulated meter")
        fn(volts)
