# Status LEDs and buzzer (manual 4.4: LEDcolor_*, BlinkingInterval,
# LEDIntensityDefault/Low/High, LedActive, IdleLedActive, BuzzerActive,
# BuzzerInterval, BuzzerPeriod; 5.6 SetLEDIntensityLow/High scenario actions).
#
# Indicators(config, connector_ios, station_io, model=None)
#   connector_ios[i].led_set(rgb, intensity)   rgb 0xRRGGBB, 0 = off; intensity 1..5
#   station_io.buzzer_set(on)                  optional (duck-typed)
#
# set_status(i, status, authorized=False)  OCPP ChargePointStatus of connector index
#       i (0 = connector 1) or the pseudo-state "Authorized" (card accepted, waiting
#       for the EV). authorized=True on Available/Preparing also shows
#       LEDcolor_Authorized, on Reserved LEDcolor_Reserved_Authorized (the
#       reserving card was presented).
# set_intensity_mode("low" | "high" | "default")  LEDIntensityLow/High/Default
# beep("accept" | "reject" | "error", now_ms=None)
# tick(now_ms), next_deadline_ms(now_ms) (alias next_deadline): -1 when idle.
# led_state(i) -> {"color", "blinking", "intensity"} for the simulator status.
#
# Colour per status: Available, Preparing, Charging, Reserved, Unavailable use
# their LEDcolor_ key; SuspendedEV/SuspendedEVSE use LEDcolor_Suspended;
# Finishing (session over, cable still in) uses LEDcolor_Preparing, its mirror
# image, as the manual has no Finishing colour; Faulted is always steady RED.
# "<COLOUR>_BLINKING" blinks with period BlinkingInterval (on half, off half);
# all blinking LEDs share one phase, which starts "on" when the first one starts.
# LedActive=false: every LED off. IdleLedActive=false: off while Available.
#
# Buzzer (DSCU only, BuzzerActive): a beep lasts BuzzerPeriod ms and beeps are
# BuzzerInterval ms apart. accept = 1 beep, reject = 3, error = 5; a new pattern
# replaces the one sounding. BuzzerPeriod 0 means silent.
#
# tick() and the config listener do the work without allocating: per-connector
# state lives in preallocated lists, colours are looked up in one table.
from evse.ticks import ticks_add, ticks_diff

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# Colour names of the LEDcolor_* keys -> 0xRRGGBB (the one colour table)
COLORS = (
    ("RED", 0xFF0000),
    ("GREEN", 0x00FF00),
    ("BLUE", 0x0000FF),
    ("YELLOW", 0xFFFF00),
    ("MAGENTA", 0xFF00FF),
    ("CYAN", 0x00FFFF),
)
_BLINK_SUFFIX = const("_BLINKING")

# status name -> LEDcolor_ key (None: fixed RED)
STATUS_KEYS = (
    ("Available", "LEDcolor_Available"),
    ("Preparing", "LEDcolor_Preparing"),
    ("Charging", "LEDcolor_Charging"),
    ("SuspendedEV", "LEDcolor_Suspended"),
    ("SuspendedEVSE", "LEDcolor_Suspended"),
    ("Finishing", "LEDcolor_Preparing"),
    ("Reserved", "LEDcolor_Reserved"),
    ("Unavailable", "LEDcolor_Unavailable"),
    ("Faulted", None),
    ("Authorized", "LEDcolor_Authorized"),
)
_AVAILABLE = const(0)
_PREPARING = const(1)
_RESERVED = const(6)
_FAULTED = const(8)
_AUTHORIZED = const(9)
_NONE = const(-1)

_BEEPS = const((("accept", 1), ("reject", 3), ("error", 5)))

_MODE_DEFAULT = const(0)
_MODE_LOW = const(1)
_MODE_HIGH = const(2)
_MODES = const(("default", "low", "high"))
_MODE_KEYS = const(("LEDIntensityDefault", "LEDIntensityLow", "LEDIntensityHigh"))


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("BlinkingInterval", "BuzzerActive", "BuzzerInterval", "BuzzerPeriod", "IdleLedActive",
                      "LEDIntensityDefault", "LEDIntensityHigh", "LEDIntensityLow", "LEDcolor_Authorized",
                      "LEDcolor_Available", "LEDcolor_Charging", "LEDcolor_Preparing", "LEDcolor_Reserved",
                      "LEDcolor_Reserved_Authorized", "LEDcolor_Suspended", "LEDcolor_Unavailable",
                      "LedActive"))


def color_rgb(name: str) -> int:
    """Base colour name (no _BLINKING) -> 0xRRGGBB; 0 if unknown."""
    for n, rgb in COLORS:
        if n == name:
            return rgb
    return 0


class Indicators:
    def __init__(self, config, connector_ios, station_io, model=None) -> None:
        self._cfg = config
        self._ios = connector_ios
        self._io = station_io
        m = model if model is not None else getattr(config, "model", "dscu")
        self._dscu = m == "dscu"
        self._has_buzzer = self._dscu and station_io is not None and hasattr(station_io, "buzzer_set")
        n = len(connector_ios)
        self._n = n
        self._status = [_NONE] * n       # index into STATUS_KEYS
        self._auth = [False] * n
        self._name = ["OFF"] * n         # base colour name shown ("OFF" when dark)
        self._rgb = [0] * n              # colour when lit
        self._blinks = [False] * n
        self._out = [-1] * n             # last rgb written (-1: never)
        self._out_int = [-1] * n
        self._mode = _MODE_DEFAULT
        self._intensity = 5
        self._blinkers = 0
        self._blink_on = True
        self._blink_due = 0
        self._blink_sched = False        # phase needs a start time at the next tick
        self._half = 250
        self._buzz_left = 0              # beeps still to sound (including the current one)
        self._buzz_on = False
        self._buzz_due = 0
        self._buzz_sched = False
        self._load_config()
        config.subscribe(self._on_config, _CONFIG_KEYS)

    # ---- configuration ---------------------------------------------------------------
    def _load_config(self) -> None:
        g = self._cfg.get
        self._half = g("BlinkingInterval") // 2
        self._led_active = g("LedActive")
        self._idle_active = g("IdleLedActive")
        self._intensity = g(_MODE_KEYS[self._mode])
        self._buzz_enabled = self._has_buzzer and g("BuzzerActive")
        self._buzz_period = g("BuzzerPeriod")
        self._buzz_interval = g("BuzzerInterval")

    def _on_config(self, name: str) -> None:
        self._load_config()
        for i in range(self._n):
            self._apply(i)
        if not self._buzz_enabled and self._buzz_left:
            self._buzz_stop()

    # ---- LEDs ----------------------------------------------------------------------------
    def set_status(self, index: int, status: str, authorized: bool = False) -> None:
        code = _NONE
        for j in range(len(STATUS_KEYS)):
            if STATUS_KEYS[j][0] == status:
                code = j
                break
        if code == _NONE:
            raise ValueError("unknown status " + status)
        self._status[index] = code
        self._auth[index] = bool(authorized)
        self._apply(index)

    def set_intensity_mode(self, mode: str) -> None:
        m = mode.lower()
        if m not in _MODES:
            raise ValueError("intensity mode must be default, low or high")
        self._mode = _MODES.index(m)
        self._intensity = self._cfg.get(_MODE_KEYS[self._mode])
        for i in range(self._n):
            self._apply(i)

    def intensity_mode(self) -> str:
        return _MODES[self._mode]

    def _color_key(self, i: int):
        code = self._status[i]
        if self._auth[i]:
            if code == _AVAILABLE or code == _PREPARING:
                code = _AUTHORIZED
            elif code == _RESERVED:
                return "LEDcolor_Reserved_Authorized"
        return STATUS_KEYS[code][1]

    def _apply(self, i: int) -> None:
        code = self._status[i]
        lit = code != _NONE and self._led_active and (
            self._idle_active or code != _AVAILABLE or self._auth[i])
        blinks = False
        name = "OFF"
        rgb = 0
        if lit:
            key = self._color_key(i)
            if key is None:
                name = "RED"
            else:
                name = self._cfg.get(key)
                if name.endswith(_BLINK_SUFFIX):
                    name = name[:-len(_BLINK_SUFFIX)]
                    blinks = True
            rgb = color_rgb(name)
        if blinks != self._blinks[i]:
            self._blinkers += 1 if blinks else -1
            if blinks and self._blinkers == 1:   # first blinker starts the phase, lit
                self._blink_on = True
                self._blink_sched = True
        self._name[i] = name
        self._rgb[i] = rgb
        self._blinks[i] = blinks
        self._output(i)

    def _output(self, i: int) -> None:
        rgb = self._rgb[i]
        if self._blinks[i] and not self._blink_on:
            rgb = 0
        if rgb != self._out[i] or self._intensity != self._out_int[i]:
            self._out[i] = rgb
            self._out_int[i] = self._intensity
            self._ios[i].led_set(rgb, self._intensity)

    def led_state(self, index: int) -> dict:
        if self._name[index] == "OFF":
            return {"color": "OFF", "blinking": False, "intensity": 0}
        return {"color": self._name[index], "blinking": self._blinks[index], "intensity": self._intensity}

    # ---- buzzer -------------------------------------------------------------------------
    def card_result(self, res: dict) -> None:
        """The buzzer's answer to a card (evse.services.cards results)."""
        r = res.get("result")
        if r == "accepted" or r == "stopped" or r == "unlocked":
            self.beep("accept")
        elif r == "rejected":
            self.beep("reject")

    def beep(self, kind: str, now_ms=None) -> None:
        count = 0
        for k, c in _BEEPS:
            if k == kind:
                count = c
        if not count:
            raise ValueError("unknown beep " + kind)
        if not self._buzz_enabled or self._buzz_period <= 0:
            return
        self._buzz_left = count
        if not self._buzz_on:
            self._buzz_on = True
            self._io.buzzer_set(True)
        if now_ms is None:
            self._buzz_sched = True
        else:
            self._buzz_sched = False
            self._buzz_due = ticks_add(now_ms, self._buzz_period)

    def buzzing(self) -> bool:
        return self._buzz_left > 0

    def _buzz_stop(self) -> None:
        self._buzz_left = 0
        self._buzz_sched = False
        if self._buzz_on:
            self._buzz_on = False
            self._io.buzzer_set(False)

    # ---- time ------------------------------------------------------------------------------
    def tick(self, now_ms: int) -> None:
        if self._blinkers:
            if self._blink_sched:
                self._blink_sched = False
                self._blink_due = ticks_add(now_ms, self._half)
            elif ticks_diff(now_ms, self._blink_due) >= 0:
                self._blink_on = not self._blink_on
                due = ticks_add(self._blink_due, self._half)
                if ticks_diff(now_ms, due) >= 0:   # ticked late (or a time jump): resync
                    due = ticks_add(now_ms, self._half)
                self._blink_due = due
                for i in range(self._n):
                    if self._blinks[i]:
                        self._output(i)
        if self._buzz_left:
            if self._buzz_sched:
                self._buzz_sched = False
                self._buzz_due = ticks_add(now_ms, self._buzz_period)
            while self._buzz_left and ticks_diff(now_ms, self._buzz_due) >= 0:
                if self._buzz_on:
                    self._buzz_on = False
                    self._io.buzzer_set(False)
                    self._buzz_left -= 1
                    self._buzz_due = ticks_add(self._buzz_due, self._buzz_interval)
                else:
                    self._buzz_on = True
                    self._io.buzzer_set(True)
                    self._buzz_due = ticks_add(self._buzz_due, self._buzz_period)

    def next_deadline_ms(self, now_ms: int) -> int:
        """ms until tick() has work (0 = now), -1 when nothing is timed."""
        best = -1
        if self._blinkers:
            best = 0 if self._blink_sched else max(0, ticks_diff(self._blink_due, now_ms))
        if self._buzz_left:
            d = 0 if self._buzz_sched else max(0, ticks_diff(self._buzz_due, now_ms))
            if best < 0 or d < best:
                best = d
        return best

    next_deadline = next_deadline_ms
