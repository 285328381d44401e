# The board HAL: `machine`-based implementation of the interface documented in
# evse/hal/__init__.py, parameterised by a pin map (boards/<name>/pins.py), so
# STM32 and ESP32 boards share this one module. Only boards' main.py imports it.
#
# Control pilot sampling (boards/README.md "Control pilot sampling"): the CP
# sense divider maps -12..+12 V to 0..Vref. The pilot state comes from the
# HIGH level of the 1 kHz PWM, the diode test (manual 8.5 ERR_DIODE_FAILURE)
# from its LOW level, and at 10 % duty the high phase lasts only 100 us (at
# 96 %, 80 A, the low phase only 40 us). So while PWM runs the sampler is a
# peak hold over ONE FULL PWM PERIOD: ADC reads paced every cp_step_us with
# time.ticks_us until a period has elapsed, keeping the highest (high level)
# and lowest (low level) reading. The reads' phases then cover the whole
# period with gaps of max(cp_step_us, one read + loop), wherever the period
# started, so any phase longer than that gap holds a reading. Samples on an
# edge are between the two levels and never win the max/min. With a steady
# output (no PWM: 0 or 1000 permille) a few back-to-back reads suffice.
# Isolated glitches are not filtered here: the pilot debounce (evse.iocu.pilot,
# 3 ticks over >= 20 ms) absorbs a wrong window. No allocation: small ints
# only (ticks_us wraps at 2**30; the mV scaling is kept below 2**30 too).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

import time
try:
    from micropython import schedule as _schedule
except ImportError:  # CPython (the tests' fake machine): run the callback at once
    def _schedule(fn, arg):  # type: ignore[misc]
        fn(arg)

import machine  # type: ignore[import-not-found]

from evse.clock import RunningClock
from evse.ticks import ticks_wrap

_EPOCH_2000 = 946684800
_STEADY_READS = const(4)     # reads of a steady (non-PWM) pilot
_CP_STEP_US = const(20)      # default pacing of the PWM-period window
_CP_FREQ = const(1000)       # control pilot PWM, IEC 61851-1
_SMALL = const(0x3FFFFFFF)   # largest small int on a 32-bit port


def _epoch_offset() -> int:
    # most MicroPython ports count from 2000-01-01; the Unix port from 1970
    return _EPOCH_2000 if time.gmtime(0)[0] == 2000 else 0


class BoardClock(RunningClock):
    def __init__(self) -> None:
        self._off = _epoch_offset()
        self._t = -1            # now(): the RTC's second it last read, and its answer
        self._s = 0

    def ticks_ms(self) -> int:
        return ticks_wrap(time.ticks_ms())

    def now(self) -> int:
        # UTC seconds since 1970 are a long int on a 32-bit port: one object
        # per second, however often the MCU step asks (the RTC's own seconds,
        # since 2000 on the bare-metal ports, are a small int)
        t = time.time()
        if t != self._t:
            self._t = t
            self._s = int(t) + self._off
        return self._s

    def set_utc(self, epoch_s: int) -> None:
        self._t = -1
        t = time.gmtime(epoch_s - self._off)
        machine.RTC().datetime((t[0], t[1], t[2], t[6] + 1, t[3], t[4], t[5], 0))


def _adc(pin):
    # ESP32: the default attenuation (0 dB) reads only 0..~1 V; the sense
    # dividers are scaled for 0..3.3 V, so select 11 dB there. Ports without
    # attenuation (STM32) have no ATTN_11DB.
    at = getattr(machine.ADC, "ATTN_11DB", None)
    if at is not None:
        return machine.ADC(machine.Pin(pin), atten=at)
    return machine.ADC(machine.Pin(pin))


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _small(x: int) -> int:
    """x as a small int. Frozen, an int above 8191 in a constant tuple (a
    pins.py calibration) is a long int in flash: every reading scaled with it
    would allocate; a result of arithmetic is a small int again when it fits."""
    return x + 0


def _fit(num: int, den: int):
    """(n, d, shift) with raw * n // d >> shift == raw * num // den (exact
    when the reduced fraction allows) and raw * n < 2**30 for any u16 raw,
    so scaling a reading never makes a long int on a 32-bit port."""
    g = _gcd(num, den) or 1
    n, d = num // g, den // g
    if n * 65535 <= _SMALL:
        return n, d, 0
    sh = 14                        # fixed point: n / 2**sh ~= num / den (<= 3 mV off)
    while sh > 0 and ((num << sh) + den // 2) // den * 65535 > _SMALL:
        sh -= 1
    return ((num << sh) + den // 2) // den, 1, sh


class BoardConnectorIO:
    """pins: dict with cp_pwm, cp_adc, pp_adc, lock_a, lock_b, lock_sw,
    plug_sw (3-stage, optional), relay, relay_sense, led_r, led_g, led_b and
    calibration cp_k=(num, den, offset_mv), pp_pullup_ohm, vref_mv; optional
    cp_step_us (pacing of the pilot's PWM-period window, default 20)."""

    def __init__(self, pins: dict) -> None:
        P = machine.Pin
        self._pwm = machine.PWM(P(pins["cp_pwm"]), freq=_CP_FREQ, duty_u16=65535)
        self._cp = _adc(pins["cp_adc"])
        self._pp = _adc(pins["pp_adc"]) if pins.get("pp_adc") is not None else None
        self._la = P(pins["lock_a"], P.OUT, value=0)
        self._lb = P(pins["lock_b"], P.OUT, value=0)
        self._lsw = P(pins["lock_sw"], P.IN, P.PULL_UP)
        ps = pins.get("plug_sw")
        self._psw = P(ps, P.IN, P.PULL_UP) if ps is not None else None
        self._relay = P(pins["relay"], P.OUT, value=0)
        rs = pins.get("relay_sense")
        self._rsense = P(rs, P.IN, P.PULL_UP) if rs is not None else None
        self._leds = [machine.PWM(P(pins[k]), freq=1000, duty_u16=0) for k in ("led_r", "led_g", "led_b")]
        k = pins.get("cp_k", (12000 * 2, 65535, -12000))
        self._kn, self._kd, self._ks = _fit(k[0], k[1])
        self._ko = _small(k[2])
        self._pwm_on = False       # 0 < duty < 100 %: sample a whole period
        self._win_us = 1000000 // _CP_FREQ
        self._step_us = pins.get("cp_step_us", _CP_STEP_US)
        # the last window, for bring-up on a board (boards/README.md):
        # ADC reads, its length, the longest gap between two reads (us)
        self.cp_reads = 0
        self.cp_window_us = 0
        self.cp_gap_us = 0
        self._pp_pull = pins.get("pp_pullup_ohm", 1000)
        self._vref = pins.get("vref_mv", 3300)
        self._hi = 0
        self._lo = 0

    def cp_set_duty(self, permille: int) -> None:
        if permille >= 1000:
            self._pwm.duty_u16(65535)
            self._pwm_on = False
        elif permille <= 0:
            self._pwm.duty_u16(0)
            self._pwm_on = False
        else:
            self._pwm.duty_u16(permille * 65535 // 1000)
            self._pwm_on = True

    def _mv(self, raw: int) -> int:
        return (raw * self._kn // self._kd >> self._ks) + self._ko

    def _sample(self) -> None:
        # Called once per connector per safety tick. Every call below is a
        # method call or a module function (no bound method objects), every
        # value a small int: nothing is allocated.
        cp = self._cp
        hi = 0
        lo = 65535
        if not self._pwm_on:
            for _ in range(_STEADY_READS):
                v = cp.read_u16()
                if v > hi:
                    hi = v
                if v < lo:
                    lo = v
            self.cp_reads = _STEADY_READS
            self.cp_window_us = 0
            self.cp_gap_us = 0
        else:
            us = time.ticks_us
            diff = time.ticks_diff
            add = time.ticks_add
            win = self._win_us
            step = self._step_us
            t0 = us()
            now = t0
            prev = t0
            due = t0
            gap = 0
            n = 0
            while True:
                g = diff(now, prev)
                if g > gap:
                    gap = g
                prev = now
                v = cp.read_u16()
                if v > hi:
                    hi = v
                if v < lo:
                    lo = v
                n += 1
                due = add(due, step)
                now = us()
                # the next read would be a full period after the first: done
                if diff(due, t0) >= win or diff(now, t0) >= win:
                    break
                while diff(due, now) > 0:
                    now = us()
            self.cp_reads = n
            self.cp_window_us = diff(now, t0)
            self.cp_gap_us = gap
        self._hi = self._mv(hi)
        self._lo = self._mv(lo)

    def cp_high_mv(self) -> int:
        self._sample()
        return self._hi

    def cp_low_mv(self) -> int:
        return self._lo

    def pp_ohms(self) -> int:
        if self._pp is None:
            return -1
        raw = self._pp.read_u16()
        if raw >= 65000:
            return -1                      # open: no plug
        # divider: pull-up to vref, PP resistor to ground
        return self._pp_pull * raw // max(1, 65535 - raw)

    def lock_drive(self, direction: int) -> None:
        self._la.value(1 if direction > 0 else 0)
        self._lb.value(1 if direction < 0 else 0)

    def lock_sense(self) -> int:
        v = self._lsw.value()
        if self._psw is not None:
            v |= self._psw.value() << 1
        return v

    def relay_set(self, on: bool) -> None:
        self._relay.value(1 if on else 0)

    def relay_sense(self) -> int:
        return self._rsense.value() if self._rsense is not None else 0

    def led_set(self, rgb: int, intensity: int) -> None:
        scale = intensity * 13107  # 1..5 -> 20..100 % of 65535
        self._leds[0].duty_u16(((rgb >> 16) & 0xFF) * scale // 255)
        self._leds[1].duty_u16(((rgb >> 8) & 0xFF) * scale // 255)
        self._leds[2].duty_u16((rgb & 0xFF) * scale // 255)


class BoardStationIO:
    def __init__(self, pins: dict) -> None:
        P = machine.Pin
        self._ccid_t = P(pins["ccid_test"], P.OUT, value=0) if "ccid_test" in pins else None
        self._ccid_f = P(pins["ccid_fault"], P.IN, P.PULL_UP) if "ccid_fault" in pins else None
        self._ext = [P(pins[k], P.IN, P.PULL_UP) if k in pins else None for k in ("ext1", "ext2")]
        self._sup = [_adc(pins[k]) if k in pins else None for k in ("vmain_adc", "v3v3_adc", "vbuff_adc")]
        self._sup_k = [(_small(a), _small(b)) for a, b in
                       pins.get("supply_k", ((15000, 65535), (5000, 65535), (15000, 65535)))]
        self._temp = _adc(pins["temp_adc"]) if "temp_adc" in pins else None
        self._buzzer = P(pins["buzzer"], P.OUT, value=0) if "buzzer" in pins else None

    def ccid_test_set(self, on: bool) -> None:
        if self._ccid_t is not None:
            self._ccid_t.value(1 if on else 0)

    def ccid_fault(self) -> int:
        return self._ccid_f.value() if self._ccid_f is not None else 0

    def ext_input(self, n: int) -> int:
        p = self._ext[n - 1]
        return p.value() if p is not None else 1

    def supply_mv(self, n: int) -> int:
        a = self._sup[n]
        if a is None:
            return -1          # rail not measured on this board (evse.iocu.station)
        k = self._sup_k[n]
        return a.read_u16() * k[0] // k[1]

    def temperature_dc(self) -> int:
        if self._temp is None:
            return 250
        # linear sensor (e.g. MCP9700: 500 mV at 0 degC, 10 mV/degC, 3.3 V ref)
        mv = self._temp.read_u16() * 3300 // 65535
        return (mv - 500)

    def buzzer_set(self, on: bool) -> None:
        if self._buzzer is not None:
            self._buzzer.value(1 if on else 0)


class BoardRS485:
    """The RS485 port (evse/hal/__init__.py) on a machine.UART with a
    transceiver direction pin. pins: dict uart (id), tx, rx (optional pin
    names), de (driver enable pin, high = transmit; RE tied to it; leave it
    out when the transceiver switches direction by itself), baud (19200),
    bits / parity (None, 0 even, 1 odd) / stop: 8N1 unless given (the EKM
    meters of MeterType 10 speak 7E1: bits 7, parity 0, docs/metering.md).
    Non-blocking (timeout 0)."""

    def __init__(self, pins: dict) -> None:
        kw = {"baudrate": pins.get("baud", 19200), "bits": pins.get("bits", 8),
              "parity": pins.get("parity"), "stop": pins.get("stop", 1),
              "timeout": 0, "rxbuf": 512}
        if pins.get("tx") is not None:
            kw["tx"] = pins["tx"]
            kw["rx"] = pins["rx"]
        self._uart = machine.UART(pins["uart"], **kw)
        self._baud = kw["baudrate"]
        de = pins.get("de")
        self._de = machine.Pin(de, machine.Pin.OUT, value=0) if de is not None else None

    def write(self, buf) -> int:
        de = self._de
        if de is not None:
            de.value(1)
        n = self._uart.write(buf) or 0
        if de is not None:
            # release the bus only after the last stop bit has left
            if hasattr(self._uart, "flush"):
                self._uart.flush()
            else:
                time.sleep_ms(1 + len(buf) * 10000 // self._baud)  # type: ignore[attr-defined]
            de.value(0)
        return n

    def readinto(self, buf) -> int:
        return self._uart.readinto(buf) or 0

    def any(self) -> int:
        return self._uart.any()


class BoardS0:
    """S0 input of a pulse meter (MeterType 3): the interrupt handler only
    counts falling edges (the meter's open collector closing); s0_pulses()
    reads the count, wrapping at 2**30 like ticks."""

    def __init__(self, pin) -> None:
        P = machine.Pin
        self.count = 0
        self._pin = P(pin, P.IN, P.PULL_UP)
        self._pin.irq(handler=self._edge, trigger=P.IRQ_FALLING)

    def _edge(self, pin) -> None:
        self.count = (self.count + 1) & 0x3FFFFFFF

    def s0_pulses(self) -> int:
        return self.count


class Board:
    def __init__(self, pinmap, state_root: str = "/flash/state") -> None:
        from evse.hal.fsstore import Storage
        from evse.hal.net import Net
        self._pinmap = pinmap
        self._s0: dict = {}
        self.clock = BoardClock()
        self.storage = Storage(state_root)
        self.connectors = [BoardConnectorIO(p) for p in pinmap.CONNECTORS]
        self.io = BoardStationIO(pinmap.STATION)
        rs = getattr(pinmap, "RS485", None)   # RFID master/slave link, Modbus meters
        self.rs485 = BoardRS485(rs) if rs is not None else None
        self.net = Net()
        # local management website (evse.web): all interfaces, port 80, unless
        # pins.py sets WEB = (host, port), or WEB = () to turn it off
        self.web_addr = getattr(pinmap, "WEB", ("0.0.0.0", 80))
        # the safety tick's time source (evse.hal.ticker): a periodic
        # machine.Timer through micropython.schedule; pins.py TICK_TIMER is
        # the timer id (STM32 -1, the soft timer; ESP32 0, timer group 0)
        from evse.hal.ticker import TimerTicker
        self.ticker = TimerTicker(machine.Timer(getattr(pinmap, "TICK_TIMER", -1)),
                                  _schedule, time.ticks_ms)  # type: ignore[attr-defined]

    def s0_input(self, i: int, pulses_per_kwh: int):
        """Connector i's S0 input (pin map key "s0"), or None."""
        pin = self._pinmap.CONNECTORS[i].get("s0")
        if pin is None:
            return None
        # one counter per pin: a meter rebuilt (MeterType changed) must not
        # re-register the interrupt and lose the count to a second object
        s0 = self._s0.get(i)
        if s0 is None:
            s0 = self._s0[i] = BoardS0(pin)
        return s0

    def random_bytes(self, n: int) -> bytes:
        import os
        return os.urandom(n)

    def meter_type_name(self) -> str:
        """BootNotification meterType when the meter names none: a board's
        meters are its own (evse.metering), nothing to add."""
        return ""

    def serial_number(self) -> str:
        """machine.unique_id() in hex (the MCU's factory id), "" without it."""
        f = getattr(machine, "unique_id", None)
        if f is None:
            return ""
        try:
            return "".join("%02X" % b for b in f())
        except Exception:
            return ""

    def mac_address(self) -> str:
        """The MAC of the board's network interface (ESP32 WLAN, STM32 LAN),
        "" when there is none or the network module is missing."""
        try:
            import network
        except ImportError:
            return ""
        for name in ("LAN", "WLAN"):
            cls = getattr(network, name, None)
            if cls is None:
                continue
            try:
                mac = (cls() if name == "LAN" else cls(network.STA_IF)).config("mac")
                return ":".join("%02X" % b for b in mac)
            except Exception:
                continue
        return ""

    def reset(self) -> None:
        """Restart the processor (OCPP Reset, firmware update)."""
        machine.reset()
