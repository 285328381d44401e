# Status LEDs and buzzer (evse.services.indicators) with recording fake IO and
# the real configuration store on an in-memory storage. Time is owned by the test.
# Runs on CPython and on the MicroPython Unix port.
from evse.config.store import Config
from evse.services.indicators import Indicators, COLORS, color_rgb
from test_config import MemStorage

RED = 0xFF0000
GREEN = 0x00FF00
BLUE = 0x0000FF
YELLOW = 0xFFFF00
MAGENTA = 0xFF00FF
CYAN = 0x00FFFF


class FakeConnectorIO:
    def __init__(self):
        self.calls = []          # (rgb, intensity)

    def led_set(self, rgb, intensity):
        self.calls.append((rgb, intensity))

    def last(self):
        return self.calls[-1] if self.calls else None


class FakeStationIO:
    def __init__(self):
        self.buzzer = []         # booleans in call order
        self.on = False

    def buzzer_set(self, on):
        self.buzzer.append(bool(on))
        self.on = bool(on)


def make(model="dscu", n=None):
    cfg = Config(MemStorage(), model)
    n = n if n is not None else (2 if model == "dscu" else 1)
    ios = [FakeConnectorIO() for _ in range(n)]
    sio = FakeStationIO()
    return cfg, ios, sio, Indicators(cfg, ios, sio)


def run(ind, start, end, step=1):
    t = start
    while t <= end:
        ind.tick(t)
        t += step


def test_color_table():
    assert color_rgb("GREEN") == GREEN and color_rgb("CYAN") == CYAN and color_rgb("NOPE") == 0
    names = [n for n, _ in COLORS]
    from evse.config.keys import LED_COLORS
    for c in LED_COLORS:                     # every configurable colour has an RGB value
        base = c[:-len("_BLINKING")] if c.endswith("_BLINKING") else c
        assert base in names


def test_default_colors_per_status():
    cfg, ios, sio, ind = make()
    expect = (("Available", GREEN), ("Preparing", YELLOW), ("Charging", BLUE),
              ("SuspendedEV", YELLOW), ("SuspendedEVSE", YELLOW), ("Finishing", YELLOW),
              ("Reserved", MAGENTA), ("Unavailable", RED), ("Faulted", RED))
    for status, rgb in expect:
        ind.set_status(0, status)
        assert ios[0].last() == (rgb, 5), status
        st = ind.led_state(0)
        assert st["blinking"] is False and st["intensity"] == 5
    assert ind.led_state(0)["color"] == "RED"
    assert ind.next_deadline_ms(0) == -1          # nothing blinks: idle


def test_no_output_before_first_status():
    cfg, ios, sio, ind = make()
    ind.tick(0)
    assert ios[0].calls == [] and ind.led_state(0) == {"color": "OFF", "blinking": False, "intensity": 0}


def test_configured_colors_and_suspended_key():
    cfg, ios, sio, ind = make()
    ind.set_status(1, "Charging")
    assert cfg.change("LEDcolor_Charging", "cyan") == "Accepted"
    assert ios[1].last() == (CYAN, 5)             # applied at once through the listener
    assert cfg.change("LEDcolor_Suspended", "MAGENTA") == "Accepted"
    ind.set_status(1, "SuspendedEVSE")
    assert ios[1].last() == (MAGENTA, 5) and ind.led_state(1)["color"] == "MAGENTA"


def test_faulted_is_always_red():
    cfg, ios, sio, ind = make()
    for k in ("LEDcolor_Unavailable", "LEDcolor_Available"):
        cfg.change(k, "BLUE_BLINKING")
    ind.set_status(0, "Faulted", True)
    assert ios[0].last() == (RED, 5)
    assert ind.led_state(0) == {"color": "RED", "blinking": False, "intensity": 5}


def test_authorized_states():
    cfg, ios, sio, ind = make()
    ind.set_status(0, "Authorized")
    assert ind.led_state(0) == {"color": "GREEN", "blinking": True, "intensity": 5}
    ind.set_status(0, "Preparing", True)          # the station's way: card accepted
    assert ind.led_state(0)["color"] == "GREEN" and ind.led_state(0)["blinking"]
    ind.set_status(0, "Available", True)
    assert ind.led_state(0)["blinking"]
    ind.set_status(0, "Reserved", True)
    assert ind.led_state(0) == {"color": "MAGENTA", "blinking": True, "intensity": 5}
    ind.set_status(0, "Reserved")
    assert ind.led_state(0) == {"color": "MAGENTA", "blinking": False, "intensity": 5}
    ind.set_status(0, "Charging", True)           # flag ignored once charging
    assert ind.led_state(0)["color"] == "BLUE"


def test_unknown_status_rejected():
    cfg, ios, sio, ind = make()
    try:
        ind.set_status(0, "Sleeping")
    except ValueError:
        return
    raise AssertionError("unknown status accepted")


def test_blinking_follows_blinking_interval():
    cfg, ios, sio, ind = make()
    assert cfg.change("BlinkingInterval", "400") == "Accepted"
    ind.set_status(0, "Authorized")                # GREEN_BLINKING
    assert ios[0].last() == (GREEN, 5)             # starts lit, at once
    assert ind.next_deadline_ms(1000) == 0         # phase starts at the next tick
    ind.tick(1000)
    assert ind.next_deadline_ms(1000) == 200
    assert ind.next_deadline(1150) == 50
    ind.tick(1199)
    assert ios[0].last() == (GREEN, 5)
    ind.tick(1200)
    assert ios[0].last() == (0, 5)
    ind.tick(1400)
    assert ios[0].last() == (GREEN, 5)
    n = len(ios[0].calls)
    run(ind, 1401, 3400)                           # 1 ms ticks: one write per toggle
    assert len(ios[0].calls) == n + 10
    ind.set_status(0, "Charging")
    assert ios[0].last() == (BLUE, 5) and ind.next_deadline_ms(3500) == -1


def test_blinkers_share_one_phase():
    cfg, ios, sio, ind = make()
    ind.set_status(0, "Authorized")
    ind.tick(0)
    ind.tick(250)                                  # connector 1 now dark
    cfg.change("LEDcolor_Charging", "BLUE_BLINKING")
    ind.set_status(1, "Charging")                  # joins the running phase (dark)
    assert ios[1].last() == (0, 5)
    ind.tick(500)
    assert ios[0].last() == (GREEN, 5) and ios[1].last() == (BLUE, 5)


def test_late_tick_resyncs():
    cfg, ios, sio, ind = make()
    ind.set_status(0, "Authorized")
    ind.tick(0)
    ind.tick(10000)                                # a jump of many periods
    assert ind.next_deadline_ms(10000) == 250


def test_tick_wraps_with_ticks():
    cfg, ios, sio, ind = make()
    ind.set_status(0, "Authorized")
    t = (1 << 30) - 100
    ind.tick(t)
    assert ind.next_deadline_ms(t) == 250
    ind.tick(150)                                  # 250 ms later, after the wrap
    assert ios[0].last() == (0, 5)


def test_intensity_modes():
    cfg, ios, sio, ind = make()
    cfg.change("LEDIntensityLow", "1")
    cfg.change("LEDIntensityHigh", "4")
    cfg.change("LEDIntensityDefault", "3")
    ind.set_status(0, "Available")
    assert ios[0].last() == (GREEN, 3)
    ind.set_intensity_mode("low")
    assert ios[0].last() == (GREEN, 1) and ind.led_state(0)["intensity"] == 1
    ind.set_intensity_mode("HIGH")
    assert ios[0].last() == (GREEN, 4) and ind.intensity_mode() == "high"
    cfg.change("LEDIntensityHigh", "5")            # configured value followed live
    assert ios[0].last() == (GREEN, 5)
    ind.set_intensity_mode("default")
    assert ios[0].last() == (GREEN, 3)
    try:
        ind.set_intensity_mode("dim")
    except ValueError:
        pass
    else:
        raise AssertionError("bad mode accepted")


def test_led_active_false_turns_everything_off():
    cfg, ios, sio, ind = make()
    ind.set_status(0, "Faulted")
    ind.set_status(1, "Authorized")
    assert cfg.change("LedActive", "false") == "Accepted"
    assert ios[0].last()[0] == 0 and ios[1].last()[0] == 0
    assert ind.led_state(0)["color"] == "OFF" and ind.next_deadline_ms(0) == -1
    ind.set_status(0, "Charging")
    assert ios[0].last()[0] == 0
    cfg.change("LedActive", "true")
    assert ios[0].last() == (BLUE, 5)


def test_idle_led_active_false_dark_while_available():
    cfg, ios, sio, ind = make()
    cfg.change("IdleLedActive", "false")
    ind.set_status(0, "Available")
    assert ios[0].last() == (0, 5) and ind.led_state(0)["color"] == "OFF"
    ind.set_status(0, "Available", True)           # a card was accepted: shown
    assert ind.led_state(0)["color"] == "GREEN"
    ind.set_status(0, "Preparing")
    assert ios[0].last() == (YELLOW, 5)


def test_no_redundant_led_writes():
    cfg, ios, sio, ind = make()
    ind.set_status(0, "Available")
    ind.set_status(0, "Available")
    cfg.change("HeartBeatInterval", "60")          # unrelated config change
    run(ind, 0, 2000, 10)
    assert ios[0].calls == [(GREEN, 5)]


def test_buzzer_accept_one_beep():
    cfg, ios, sio, ind = make("dscu")
    ind.beep("accept", 0)
    assert sio.buzzer == [True] and ind.next_deadline_ms(0) == 250
    run(ind, 1, 2000)
    assert sio.buzzer == [True, False] and not ind.buzzing()
    assert ind.next_deadline_ms(2000) == -1


def test_buzzer_reject_pattern_timing():
    cfg, ios, sio, ind = make("dscu")
    cfg.change("BuzzerPeriod", "100")
    cfg.change("BuzzerInterval", "50")
    ind.beep("reject")                             # starts at the next tick
    assert sio.on and ind.next_deadline_ms(0) == 0
    edges = []
    for t in range(0, 1000):
        before = len(sio.buzzer)
        ind.tick(t)
        if len(sio.buzzer) != before:
            edges.append((t, sio.buzzer[-1]))
    assert edges == [(100, False), (150, True), (250, False), (300, True), (400, False)]


def test_buzzer_error_and_replacement():
    cfg, ios, sio, ind = make("dscu")
    ind.beep("error", 0)
    run(ind, 1, 5000)
    assert sio.buzzer.count(True) == 5 and sio.buzzer[-1] is False
    sio.buzzer = []
    ind.beep("reject", 0)
    run(ind, 1, 300)                               # first beep over, in the pause
    ind.beep("accept", 300)                        # replaces the pattern: one more beep
    run(ind, 301, 3000)
    assert sio.buzzer == [True, False, True, False]
    sio.buzzer = []
    ind.beep("reject", 0)
    ind.beep("accept", 100)                        # while sounding: stays on, one beep from now
    run(ind, 101, 3000)
    assert sio.buzzer == [True, False]
    try:
        ind.beep("melody")
    except ValueError:
        pass
    else:
        raise AssertionError("unknown beep accepted")


def test_buzzer_off_when_inactive_or_sscu():
    cfg, ios, sio, ind = make("dscu")
    cfg.change("BuzzerActive", "false")
    ind.beep("accept", 0)
    assert sio.buzzer == [] and ind.next_deadline_ms(0) == -1
    cfg.change("BuzzerActive", "true")
    cfg.change("BuzzerPeriod", "0")                # zero-length beep: silent
    ind.beep("accept", 0)
    assert sio.buzzer == []
    cfg, ios, sio, ind = make("sscu")
    ind.beep("reject", 0)
    run(ind, 0, 2000)
    assert sio.buzzer == []
    # an IO without a buzzer is fine too
    Indicators(Config(MemStorage(), "dscu"), [FakeConnectorIO()], object()).beep("accept", 0)


def test_buzzer_stops_when_deactivated_mid_pattern():
    cfg, ios, sio, ind = make("dscu")
    ind.beep("error", 0)
    cfg.change("BuzzerActive", "false")
    assert sio.buzzer == [True, False] and not ind.buzzing()


def test_tick_does_not_allocate():
    try:
        import gc
        alloc = gc.mem_alloc
    except (ImportError, AttributeError):
        return                                      # CPython: nothing to measure
    cfg, ios, sio, ind = make("dscu")
    ind.set_status(0, "Authorized")
    ind.set_status(1, "Charging")
    ind.beep("error", 0)
    ios[0].calls = None                             # stop recording (recording allocates)
    ios[0].led_set = _noop2
    sio.buzzer_set = _noop1
    ind.tick(0)
    gc.collect()
    gc.disable()
    try:
        a = alloc()
        t = 1
        while t < 20000:
            ind.tick(t)
            ind.next_deadline_ms(t)
            t += 7
        b = alloc()
    finally:
        gc.enable()
    assert b - a == 0, b - a


def _noop1(a):
    pass


def _noop2(a, b):
    pass
