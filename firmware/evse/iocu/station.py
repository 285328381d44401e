# The IOCU as a whole: the station-level supervision around the connectors,
# and the one tick the station layer calls.
#
#   Iocu(station_io, connectors, events)
#   tick(now_ms)  drains the command link (the frames of evse.iocu.port:
#                 commands, configuration, heartbeat, report), checks the supply rails, the MCU
#                 heartbeat and the external inputs, hands the station's
#                 blocking error to every connector, then ticks each connector.
#
# Supply rails (StationIO.supply_mv(n); a negative reading = not measured):
#   rail          too low    too high   power failure
#   0 VCC main    < 11.0 V   > 13.5 V   < 10.0 V (IOCU_EVENT_POWER_FAILURE)
#   1 3V3IO       < 3.00 V   > 3.60 V
#   2 VBUFF       < 10.5 V   > 13.5 V
# debounced (3 samples, 100 ms), back to normal only SUPPLY_HYST_MV inside the
# limits. ERR_VOLTAGE_TOO_LOW / _HIGH / IOCU_EVENT_POWER_FAILURE block every
# connector while present (self-clearing).
#
# MCU heartbeat: once heartbeat() has been called (or a CMD_HEARTBEAT frame
# arrived), a gap longer than heartbeat_timeout_ms raises ERR_HEARTBEAT: every
# connector stops energy until heartbeats resume. Every MCU step sends a
# CMD_HEARTBEAT frame (IocuPort.heartbeat); the simulator's "heartbeat" fault
# stops sending it, and a link that loses or corrupts every frame ends the
# same way (the safe state of manual 8.5).
#
# External inputs 1 and 2 (StationIO.ext_input(n)): debounced over
# INPUT_DEBOUNCE_MS; ext_level[n] is the debounced level (EV_INPUT events on
# change), meaningful once ext_known[n] is 1 (the first debounced reading,
# INPUT_DEBOUNCE_MS after boot: until then the level is not known, and a
# sensor must not be taken as triggered from the initial 0). More than BOUNCE_MAX changes within BOUNCE_WINDOW_MS freezes the
# input for BOUNCE_FREEZE_MS (60 s, manual ERR_EXT_SENSn_BOUNCED: a warning
# that clears itself when checking resumes).
#
# Station events carry connector 0.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ticks import ticks_diff
from evse.iocu import errors as E_
from evse.iocu import link as L
from evse.iocu.debounce import Debounce
from evse.iocu.events import (EV_ERROR_SET, EV_ERROR_CLEARED, EV_WARNING, EV_INPUT,
                              EV_RAIL, EV_REPORT, EV_BLOCK)

_SUPPLY_HYST_MV = const(200)
_INPUT_DEBOUNCE_MS = const(50)
_BOUNCE_MAX = const(10)
_BOUNCE_WINDOW_MS = const(10000)
BOUNCE_FREEZE_MS = const(60000)

_R_OK = const(0)
_R_LOW = const(1)
_R_HIGH = const(2)
_R_FAIL = const(3)

# (low, high) mV per rail; rail 0 also has the power-failure level.
# Frozen, an int above 8191 in a constant tuple is a long int in flash
# (mpy-tool keeps a small int only within +-8191, whatever the port): compared
# it costs nothing, in arithmetic each result allocates. So the tick compares
# readings with these limits and never computes with them (docs/memory.md).
_LIMITS = ((11000, 13500), (3000, 3600), (10500, 13500))
_POWER_FAIL_MV = const(10000)

_TEST_RGB = (0, 0xFF0000, 0x00FF00, 0x0000FF)


class Iocu:
    def __init__(self, io, connectors, events, link_depth: int = 16) -> None:
        self.io = io
        self.connectors = connectors
        self.events = events
        self.link = L.CommandLink(link_depth)
        self._over_seen = 0            # link.overflows already warned about
        n = len(connectors)
        # configuration frames wait here for their CMD_CFG_APPLY
        self._cfg_max = [L.INVALID] * (n + 1)
        self._cfg_min = [L.INVALID] * (n + 1)
        self._cfg_temp = [0] * (n + 1)
        self._rail_w = bytearray(3)    # last reported rail states (EV_RAIL)
        self.mirrored = False          # EV_RAIL events (CMD_REPORT turns them on)
        self._frame = bytearray(L.FRAME)
        self._act = bytearray(E_.N_CODES)
        self.error = 0                 # blocking station error (highest priority)
        self._rail = [Debounce(3, 100, _R_OK), Debounce(3, 100, _R_OK), Debounce(3, 100, _R_OK)]
        self._in = [Debounce(3, _INPUT_DEBOUNCE_MS, -1) for _ in range(3)]  # [1], [2] used
        self.ext_level = bytearray(3)  # [1], [2]: debounced, reported levels
        self.ext_known = bytearray(3)  # [n] = 1 once input n has a debounced level
        self._ring = [[0] * (_BOUNCE_MAX + 1), [0] * (_BOUNCE_MAX + 1), [0] * (_BOUNCE_MAX + 1)]
        self._ri = bytearray(3)
        self._rn = bytearray(3)
        self._frozen = bytearray(3)
        self._t_frozen = [0, 0, 0]
        self._hb_t = 0
        self._hb_armed = False
        self._dirty = True
        self.configure()

    def configure(self, heartbeat_timeout_ms: int = 5000, supply_monitor: bool = True,
                  inputs: bool = True, test_mode: bool = False) -> None:
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.supply_monitor = bool(supply_monitor)
        self.inputs = bool(inputs)
        self.test_mode = bool(test_mode)
        self._dirty = True

    # ---------------------------------------------------------- MCU side
    def heartbeat(self, now: int) -> None:
        self._hb_t = now
        self._hb_armed = True

    def post(self, socket: int, cmd: int, arg: int = 0) -> bool:
        """Queue a command for the next tick; False (and the warning
        ERR_RX_BUFFER_OVERFLOW) when the queue is full."""
        if self.link.post(socket, cmd, arg):
            self._dirty = True
            return True
        self._over_seen = self.link.overflows
        self.events.push(0, EV_WARNING, E_.ERR_RX_BUFFER_OVERFLOW)
        return False

    def post_frame(self, frame) -> bool:
        if self.link.post_frame(frame):
            self._dirty = True
            return True
        self._over_seen = self.link.overflows
        self.events.push(0, EV_WARNING, E_.ERR_RX_BUFFER_OVERFLOW)
        return False

    def active(self, code: int) -> bool:
        return self._act[code] == 1

    # ---------------------------------------------------------- internals
    def _set(self, code: int, on: bool) -> None:
        if on:
            if not self._act[code]:
                self._act[code] = 1
                self.events.push(0, EV_ERROR_SET, code)
        elif self._act[code]:
            self._act[code] = 0
            self.events.push(0, EV_ERROR_CLEARED, code)

    def _warn(self, code: int) -> None:
        self.events.push(0, EV_WARNING, code)

    def _dispatch(self, now: int) -> None:
        f = self._frame
        while self.link.take(f):
            if L.crc8(f, 0, 4) != f[4]:
                self._warn(E_.ERR_REQ_CRC_WRONG)
                continue
            sock = f[0]
            cmd = f[1]
            arg = (f[2] << 8) | f[3]
            if cmd == L.CMD_HEARTBEAT:
                self.heartbeat(now)
                continue
            if cmd == L.CMD_REPORT:
                # arg bit 0: mirror events on (EV_CABLE .. EV_RAIL);
                # bit 1: the whole state as events now
                on = (arg & 1) == 1
                self.mirrored = on
                for c in self.connectors:
                    c.mirrored = on
                if arg & 2:
                    self._report()
                continue
            if cmd == L.CMD_TEST_LED or cmd == L.CMD_TEST_BUZZER:
                if not self.test_mode:
                    self._warn(E_.ERR_TEST_CMD_NOT_ALLOWED)
                elif cmd == L.CMD_TEST_BUZZER:
                    self.io.buzzer_set(1 if arg else 0)
                elif 1 <= sock <= len(self.connectors) and arg < 4:
                    self.connectors[sock - 1].io.led_set(_TEST_RGB[arg], 5)
                else:
                    self._warn(E_.ERR_SOCKETID_NOT_ALLOWED)
                continue
            if not (1 <= sock <= len(self.connectors)):
                self._warn(E_.ERR_SOCKETID_NOT_ALLOWED)
                continue
            c = self.connectors[sock - 1]
            if cmd == L.CMD_AUTHORIZE:
                c.authorize(arg != 0)
            elif cmd == L.CMD_SET_LIMIT:
                c.set_limit_da(arg)
            elif cmd == L.CMD_UNLOCK:
                c.request_unlock()
            elif cmd == L.CMD_SET_OPERATIVE:
                c.set_operative(arg != 0)
            elif cmd == L.CMD_CLEAR_ERROR:
                c.clear_error()
            elif cmd == L.CMD_SET_ERROR and E_.valid(arg):
                c.set_external_error(arg)
            elif cmd == L.CMD_KEEP_LOCK:
                c.keep_lock(arg != 0)
            elif cmd == L.CMD_CFG_MAX:
                self._cfg_max[sock] = arg
            elif cmd == L.CMD_CFG_MIN:
                self._cfg_min[sock] = arg
            elif cmd == L.CMD_CFG_TEMP:
                self._cfg_temp[sock] = arg
            elif cmd == L.CMD_CFG_APPLY:
                self._apply_config(c, sock, arg)
            else:
                self._warn(E_.ERR_UNKNOWN_REQ)

    def _apply_config(self, c, sock: int, f: int) -> None:
        """CMD_CFG_APPLY: the values of the CMD_CFG_* frames before it, the
        flags in f. An invalid value reaches Connector.configure() as -1:
        ERR_UNEXPECTED_HW_SETUP, as for any impossible setup."""
        mx = self._cfg_max[sock]
        mn = self._cfg_min[sock]
        # Connector.configure's positional order
        c.configure(-1 if mx == L.INVALID else mx / 10, f & L.CFG_FLEX != 0, f & L.CFG_ACTUATOR != 0,
                    f & L.CFG_THREE_STAGE != 0, f & L.CFG_INVERSED != 0, f & L.CFG_SAFETY_RELAY != 0,
                    f & L.CFG_HELPER_NO != 0, f & L.CFG_UNLOCK_ON_EV != 0, f & L.CFG_CCID != 0,
                    f & L.CFG_VENTILATION != 0, -1 if mn == L.INVALID else mn / 10,
                    self._cfg_temp[sock])

    def _report(self) -> None:
        """CMD_REPORT: the station's state, then each connector's, as events."""
        ev = self.events
        ev.push(0, EV_REPORT, 0)
        ev.push(0, EV_BLOCK, self.error)
        for code in range(1, E_.N_CODES):
            if self._act[code]:
                ev.push(0, EV_ERROR_SET, code)
        for n in range(3):
            ev.push(0, EV_RAIL, n * 4 + self._rail_w[n])
        for n in (1, 2):
            if self.ext_known[n]:
                ev.push(0, EV_INPUT, n * 2 + self.ext_level[n])
        for c in self.connectors:
            c.report()

    def _supply(self, now: int) -> None:
        low = high = fail = False
        for n in range(3):
            v = self.io.supply_mv(n)
            d = self._rail[n]
            if v < 0:
                d.update(now, _R_OK)
                if self.mirrored and d.value != self._rail_w[n]:
                    self._rail_w[n] = d.value
                    self.events.push(0, EV_RAIL, n * 4 + d.value)
                continue
            lim = _LIMITS[n]
            cur = d.value
            h = 0 if cur == _R_OK else _SUPPLY_HYST_MV
            if n == 0 and v < _POWER_FAIL_MV + (_SUPPLY_HYST_MV if cur == _R_FAIL else 0):
                r = _R_FAIL
            elif v - h < lim[0]:
                r = _R_LOW
            elif v + h > lim[1]:
                r = _R_HIGH
            else:
                r = _R_OK
            d.update(now, r)
            r = d.value
            if self.mirrored and r != self._rail_w[n]:
                self._rail_w[n] = r
                self.events.push(0, EV_RAIL, n * 4 + r)
            if r == _R_FAIL:
                fail = True
            elif r == _R_LOW:
                low = True
            elif r == _R_HIGH:
                high = True
        self._set(E_.IOCU_EVENT_POWER_FAILURE, fail)
        self._set(E_.ERR_VOLTAGE_TOO_LOW, low)
        self._set(E_.ERR_VOLTAGE_TOO_HIGH, high)

    def _inputs(self, now: int) -> None:
        for n in (1, 2):
            d = self._in[n]
            code = E_.ERR_EXT_SENS1_BOUNCED if n == 1 else E_.ERR_EXT_SENS2_BOUNCED
            changed = d.update(now, 1 if self.io.ext_input(n) else 0)
            if self._frozen[n]:
                if ticks_diff(now, self._t_frozen[n]) < BOUNCE_FREEZE_MS:
                    continue
                self._frozen[n] = 0
                self._rn[n] = 0
                self._set(code, False)
                changed = d.value != self.ext_level[n]
            if not changed:
                continue
            ring = self._ring[n]
            i = self._ri[n]
            ring[i] = now
            i += 1
            if i > _BOUNCE_MAX:
                i = 0
            self._ri[n] = i
            if self._rn[n] <= _BOUNCE_MAX:
                self._rn[n] += 1
            # ring full: ring[i] is the oldest of the last BOUNCE_MAX + 1 changes
            if self._rn[n] > _BOUNCE_MAX and ticks_diff(now, ring[i]) <= _BOUNCE_WINDOW_MS:
                self._frozen[n] = 1
                self._t_frozen[n] = now
                self._set(code, True)
                continue
            self.ext_level[n] = d.value
            self.ext_known[n] = 1
            self.events.push(0, EV_INPUT, n * 2 + d.value)

    # ---------------------------------------------------------- the tick
    def tick(self, now: int) -> None:
        self._dirty = False
        if len(self.link):
            self._dispatch(now)
        if self.link.overflows != self._over_seen:
            # frames were lost at the queue (manual 8.5 ERR_RX_BUFFER_OVERFLOW)
            self._over_seen = self.link.overflows
            self._warn(E_.ERR_RX_BUFFER_OVERFLOW)
        if self.supply_monitor:
            self._supply(now)
        if self._hb_armed and self.heartbeat_timeout_ms > 0:
            self._set(E_.ERR_HEARTBEAT, ticks_diff(now, self._hb_t) > self.heartbeat_timeout_ms)
        if self.inputs:
            self._inputs(now)
        a = self._act
        if a[E_.IOCU_EVENT_POWER_FAILURE]:
            err = E_.IOCU_EVENT_POWER_FAILURE
        elif a[E_.ERR_VOLTAGE_TOO_LOW]:
            err = E_.ERR_VOLTAGE_TOO_LOW
        elif a[E_.ERR_VOLTAGE_TOO_HIGH]:
            err = E_.ERR_VOLTAGE_TOO_HIGH
        elif a[E_.ERR_HEARTBEAT]:
            err = E_.ERR_HEARTBEAT
        else:
            err = 0
        if self.mirrored and err != self.error:
            self.events.push(0, EV_BLOCK, err)
        self.error = err
        for c in self.connectors:
            c.station_error = err
            c.tick(now)

    def next_deadline_ms(self, now: int, watch_heartbeat: bool = True) -> int:
        """Like Connector.next_deadline_ms, over the station and all connectors.
        watch_heartbeat False: the caller feeds heartbeat() before every tick,
        so the heartbeat timeout needs no tick of its own (virtual time can
        jump past it)."""
        if self._dirty or len(self.link):
            return 0
        d = -1
        if self.supply_monitor:
            for r in self._rail:
                if r.pending():
                    return 10
        if self.inputs:
            for n in (1, 2):
                if self._in[n].pending():
                    return 10
                if self._frozen[n]:
                    x = BOUNCE_FREEZE_MS - ticks_diff(now, self._t_frozen[n])
                    if x < 0:
                        x = 0
                    if d < 0 or x < d:
                        d = x
        if (watch_heartbeat and self._hb_armed and self.heartbeat_timeout_ms > 0
                and not self._act[E_.ERR_HEARTBEAT]):
            x = self.heartbeat_timeout_ms + 1 - ticks_diff(now, self._hb_t)
            if x < 0:
                x = 0
            if d < 0 or x < d:
                d = x
        for c in self.connectors:
            x = c.next_deadline_ms(now)
            if x >= 0 and (d < 0 or x < d):
                d = x
        return d
