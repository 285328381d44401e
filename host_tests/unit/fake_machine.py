# A plain state-recording fake of the parts of MicroPython's `machine` module
# that evse.hal.machine_hal uses, for testing the board HAL without hardware
# (CPython and the Unix port). Install it before machine_hal is imported:
#
#   import sys, fake_machine
#   sys.modules["machine"] = fake_machine
#   from evse.hal import machine_hal
#
# Signatures follow MicroPython's (machine.pyi). State is module-wide and keyed
# by pin id, like the hardware (two Pin objects on one id are one pin):
#   levels[id]      last level written to / set on a pin (inputs: set_level())
#   modes[id], pulls[id], irqs[id] = (handler, trigger)
#   pwms[id]        the PWM object on a pin (duty_u16(), freq())
#   adcs[id]        the ADC object on a pin; its samples come from set_adc()
#   uarts[id]       the UART object (tx bytes, rx queue, kwargs)
#   rtc[0]          last RTC().datetime(tuple); resets[0] machine.reset() calls
#   timers[id]      the Timer object on an id (fire() runs its callback)
#   log             ("pin", id, v) / ("pwm", id, duty) / ("uart", id, bytes) /
#                   ("flush", id) in order
#   us[0]           a virtual microsecond clock (FakeTime.ticks_us reads it):
#                   every ADC read advances it by read_us[0], every
#                   ticks_us() call by call_us[0], as time passes on a board
# clear() forgets everything (call it at the start of each test);
# use_port("esp32" | "stm32") picks the ADC/UART flavour (ESP32: ADC has
# attenuation constants; both have UART.flush; "old" = UART without flush)
# and the ADC read time (STM32 5 us, ESP32 25 us; set read_us[0] to change).
# Wave(pwm, high, low) is an ADC source: the control pilot square wave that
# follows a PWM object's duty and frequency, read at the virtual clock.
levels: dict = {}
modes: dict = {}
pulls: dict = {}
irqs: dict = {}
pwms: dict = {}
adcs: dict = {}
uarts: dict = {}
_adc_src: dict = {}
rtc = [None]
resets = [0]
log: list = []
us = [0]
read_us = [5]
call_us = [1]
READ_US = {"stm32": 5, "esp32": 25}
_TICKS_MASK = (1 << 30) - 1       # ticks wrap at 2**30 on the ports
_TICKS_HALF = 1 << 29


class Reset(Exception):
    """machine.reset() does not return; the fake raises this instead."""


def clear():
    for d in (levels, modes, pulls, irqs, pwms, adcs, uarts, _adc_src, timers):
        d.clear()
    del log[:]
    rtc[0] = None
    resets[0] = 0
    us[0] = 0
    call_us[0] = 1
    use_port("stm32")


def _id(p):
    return p.id if isinstance(p, Pin) else p


def set_level(pin_id, v):
    """Drive an input pin from outside (switch, helper contact...)."""
    levels[pin_id] = 1 if v else 0


def set_adc(pin_id, src):
    """ADC source: an int (constant), a Wave (read at the virtual clock), a
    list/tuple (scripted samples, read cyclically) or a callable returning
    the next sample."""
    _adc_src[pin_id] = [src, 0]


class Wave:
    """The CP sense input while the EVSE drives `pwm`: `high` (u16) during
    the high phase, `low` during the rest, at the PWM's frequency and
    duty_u16 (0 = steady low, 65535 = steady high), read at us[0] shifted by
    phase_us. edge_us > 0 ramps linearly over each edge (readings between
    the levels, as on a real edge). override(v, n): the next n reads return
    v (a glitch, or a window blinded by an interrupt)."""

    def __init__(self, pwm, high, low, phase_us=0, edge_us=0):
        self.pwm = pwm
        self.high = high
        self.low = low
        self.phase_us = phase_us
        self.edge_us = edge_us
        self._ov = 0
        self._ov_n = 0

    def override(self, v, n=1):
        self._ov = v
        self._ov_n = n

    def at(self, t):
        if self._ov_n:
            self._ov_n -= 1
            return self._ov
        d = self.pwm._duty
        if d == 0:
            return self.low
        if d == 65535:
            return self.high
        period = 1000000 // self.pwm._freq
        hi_us = period * d // 65535
        p = (t + self.phase_us) % period
        e = self.edge_us
        hi, lo = self.high, self.low
        if p < hi_us:
            if p < e:                          # rising edge
                return lo + (hi - lo) * p // e
            return hi
        if p - hi_us < e:                      # falling edge
            return hi - (hi - lo) * (p - hi_us) // e
        return lo


def fire(pin_id):
    """Call the pin's interrupt handler (an edge arrived)."""
    h = irqs[pin_id][0]
    h(Pin(pin_id))


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=-1, alt=-1):
        self.id = _id(id)
        if mode != -1:
            modes[self.id] = mode
        if pull != -1:
            pulls[self.id] = pull
        if value is not None:
            self.value(value)
        elif self.id not in levels:
            # an idle input floats to its pull
            levels[self.id] = 1 if pull == Pin.PULL_UP else 0

    def value(self, *x):
        if not x:
            return levels.get(self.id, 0)
        v = 1 if x[0] else 0
        levels[self.id] = v
        log.append(("pin", self.id, v))
        return None

    def __call__(self, *x):
        return self.value(*x)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3, *, priority=1, wake=None, hard=False):
        irqs[self.id] = (handler, trigger)
        return None


class PWM:
    def __init__(self, dest, *, freq=None, duty_u16=None, duty_ns=None, invert=False):
        self.id = _id(dest)
        self._freq = freq
        self._duty = 0
        self.invert = invert
        pwms[self.id] = self
        if duty_u16 is not None:
            self.duty_u16(duty_u16)

    def freq(self, *value):
        if not value:
            return self._freq
        self._freq = value[0]
        return None

    def duty_u16(self, *value):
        if not value:
            return self._duty
        v = value[0]
        if not isinstance(v, int) or not (0 <= v <= 65535):
            raise ValueError("duty_u16 must be 0..65535")
        self._duty = v
        log.append(("pwm", self.id, v))
        return None

    def deinit(self):
        self._freq = None


class ADC:
    def __init__(self, id, *, sample_ns=None, atten=None):
        self.id = _id(id)
        self.atten = atten
        self.reads = 0
        adcs[self.id] = self

    def read_u16(self):
        # sampled as the conversion starts; the read then takes read_us
        self.reads += 1
        t = us[0]
        us[0] = t + read_us[0]
        s = _adc_src.get(self.id)
        if s is None:
            return 0
        src = s[0]
        if isinstance(src, int):
            v = src
        elif isinstance(src, Wave):
            v = src.at(t)
        elif isinstance(src, (list, tuple)):
            v = src[s[1] % len(src)]
            s[1] += 1
        else:
            v = src()
        return v


class ADCEsp32(ADC):
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3


class _UARTBase:
    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1, **kw):
        self.id = id
        self.baudrate = baudrate
        self.bits = bits
        self.parity = parity
        self.stop = stop
        self.kw = kw
        self.tx = bytearray()
        self.rx = bytearray()
        uarts[id] = self

    def write(self, buf):
        b = bytes(buf)
        self.tx.extend(b)
        log.append(("uart", self.id, b))
        return len(b)

    def readinto(self, buf, nbytes=-1):
        n = len(buf) if nbytes < 0 else min(nbytes, len(buf))
        n = min(n, len(self.rx))
        if n == 0:
            return None          # like machine.UART: None on timeout
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def any(self):
        return len(self.rx)


class UARTFlush(_UARTBase):
    def flush(self):
        log.append(("flush", self.id))


class RTC:
    def __init__(self, id=0, *, datetime=None):
        if datetime is not None:
            rtc[0] = tuple(datetime)

    def datetime(self, *dt):
        if not dt:
            return rtc[0]
        rtc[0] = tuple(dt[0])
        return None

    def init(self, datetime=None):
        rtc[0] = tuple(datetime) if datetime is not None else None


class Timer:
    """machine.Timer: init() records the period and the callback; fire()
    calls the callback as the timer's interrupt would (timers[id] is the
    last Timer made on an id)."""
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        self.id = id
        self.mode = None
        self.period = None
        self.callback = None
        timers[id] = self
        if kw:
            self.init(**kw)

    def init(self, *, mode=PERIODIC, period=-1, callback=None, freq=-1, hard=False):
        self.mode = mode
        self.period = period
        self.callback = callback

    def deinit(self):
        self.callback = None

    def fire(self):
        if self.callback is not None:
            self.callback(self)


timers: dict = {}


def reset():
    resets[0] += 1
    raise Reset()


# the flavour of the port (swapped by use_port)
UART = UARTFlush


def use_port(name):
    global ADC, UART
    ADC = ADCEsp32 if name == "esp32" else _ADC
    UART = _UARTBase if name == "old" else UARTFlush
    read_us[0] = READ_US["esp32" if name == "esp32" else "stm32"]


_ADC = ADC


class FakeTime:
    """Stand-in for `time` as machine_hal uses it (assign it to
    machine_hal.time): epoch_year 2000 (most ports) or 1970 (Unix port),
    settable time()/ticks_ms(), sleep_ms recorded; ticks_us() is the
    module's virtual clock us[0] (each call advances it by call_us[0]),
    ticks_add/ticks_diff wrap at 2**30 like the ports'."""

    def __init__(self, epoch_year=2000, t=0, ticks=0):
        import time as _t
        self._real = _t
        self._off = 946684800 if epoch_year == 2000 else 0
        self.t = t
        self.ticks = ticks
        self.slept = []
        self.ticks_us = ticks_us
        self.ticks_add = ticks_add
        self.ticks_diff = ticks_diff

    def gmtime(self, secs=None):
        if secs is None:
            secs = self.t
        return tuple(self._real.gmtime(secs + self._off))[:8]

    def time(self):
        return self.t

    def ticks_ms(self):
        return self.ticks

    def sleep_ms(self, ms):
        self.slept.append(ms)


# the ticks functions of the fake `time`: module functions, set as FakeTime
# instance attributes, so `us = time.ticks_us` binds no method (as on a board,
# where time is a module) and the allocation tests see only the HAL's own
def ticks_us():
    t = us[0]
    us[0] = t + call_us[0]
    return t & _TICKS_MASK


def ticks_add(a, b):
    return (a + b) & _TICKS_MASK


def ticks_diff(a, b):
    return ((a - b + _TICKS_HALF) & _TICKS_MASK) - _TICKS_HALF
