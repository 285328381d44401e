# One connector of the IOCU safety core: ties pilot, PWM, lock, contactor and
# CCID together around a fixed-period tick(now_ms).
#
# The tick reads the HAL pins, updates the state machines, decides the
# contactor with contactor.may_close() AFTER every input of the tick was
# processed (so it opens in the tick a condition fails), and writes the pins
# (relay first, then the lock motor, so the lock never moves in the tick the
# contactor opens). It allocates nothing in steady state: every buffer is
# made in __init__, values are small ints and bools, events go to a
# preallocated EventRing.
#
# MCU-side commands (they never touch the pins). In the station they arrive
# only as link frames that Iocu._dispatch decodes at the start of a tick
# (evse.iocu.port; nothing outside iocu/ calls them, test_layering.py):
#   authorize(on)         a session may deliver energy (transaction accepted,
#                         or free charging); False = session over
#   set_limit_da(da)      energy-management limit in deci-amps
#   request_unlock()      OCPP UnlockConnector / card at session end
#   keep_lock(on)         keep the cable locked with no session (transaction
#                         stopped by the EV leaving, UnlockConnectorOnEV-
#                         SideDisconnect false) until request_unlock()
#   set_operative(on)     ChangeAvailability
#   clear_error()         ClearError scenario / reset: clears latched errors
#   set_external_error(c) SetError scenario (default ERR_EXTERNAL)
#
# Errors: see errors.py for the table and the clear rules. A connector may
# hold several errors at once (a bytearray of flags); `error` is the latest
# one still active, else the station's blocking error, else 0.
#
# Rules chosen (details in the named modules):
#   - PWM is offered only when authorized, operative, EV connected (B/C/D),
#     no blocking error, the lock confirmed (if fitted) and the CCID tested;
#     the contactor rule is contactor.may_close() (+ the diode test passed).
#   - State D: PWM stays on, energy only with ventilation_ok (pilot.py).
#   - >40 A: two-step start, ERR_CHANGE_PWM_NOT_YET_ALLOWED rule (pwm.py).
#   - A latched error (kind UNPLUG/RESET, except a CCID trip that may still
#     recover) ends the session: no PWM, no energy, the lock releases, until
#     a new authorize(True) edge, even after the error cleared. A welded
#     contactor keeps the lock closed (the socket may be live).
#   - Plug removal seen on PP: during a charge (contactor closed or EV in
#     C/D with a session) ERR_UNEXPECTED_PLUG_REMOVAL; while locked before
#     energy ERR_PLUG_EXPECTED_PRESENT; otherwise normal.
#
# Once CMD_REPORT set `mirrored`, the tick also reports what the MCU's mirror
# needs beyond the events above (EV_CABLE, EV_DUTY, EV_SESSION, EV_LOCKST).
#
# Readable state: pilot, duty_permille, offered_da, contactor_closed, locked,
# plug_present, cable_da (-1 none, 0 bad resistor, else dA; tethered: 800),
# error, station_error, authorized, operative, limit_da, flex_cable,
# ventilation_ok; cable_in(), active(code).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.ticks import ticks_diff
from evse.iocu import errors as E_
from evse.iocu import pilot as P
from evse.iocu import pwm as W
from evse.iocu.debounce import Debounce
from evse.iocu.pilot import Pilot
from evse.iocu.pwm import Pwm
from evse.iocu.lock import Lock, POS_LOCKED
from evse.iocu.contactor import Contactor, may_close
from evse.iocu.ccid import Ccid, CLEARED, GAVE_UP
from evse.iocu.events import (EV_PILOT, EV_ERROR_SET, EV_ERROR_CLEARED, EV_WARNING,
                              EV_CONTACTOR, EV_LOCK, EV_PLUG, EV_OFFERED, EV_CABLE,
                              EV_DUTY, EV_SESSION, EV_LOCKST, EV_REPORT)

ERROR_HOLD_MS = const(2000)   # a latched error is shown at least this long
_TEMP_HYST_DC = const(50)      # socket temperature must fall 5.0 degC to clear
TICK_MS = const(10)           # nominal period while something is in motion
_N = E_.N_CODES


class Connector:
    def __init__(self, index: int, io, events, station_io=None) -> None:
        self.index = index          # OCPP connectorId (1..n); events carry it
        self.io = io
        self.events = events
        self._sio = station_io      # CCID lines live on the station IO
        self._pilot = Pilot()
        self.pwm = Pwm()
        self.lock = Lock()
        self.contactor = Contactor()
        self.ccid = Ccid()
        self._pp = Debounce(3, 20, -2)
        self._act = bytearray(_N)
        self._gone = bytearray(_N)
        self._t_set = [0] * _N
        self._n_act = 0
        self._n_block = 0
        self._own = 0
        # readable state (ints / bools)
        self.pilot = P.UNKNOWN
        self.duty_permille = W.NO_PWM
        self.offered_da = 0
        self.contactor_closed = False
        self.locked = False
        self.plug_present = False
        self.cable_da = -1
        self.error = 0
        self.station_error = 0      # set by the station supervisor (iocu.station)
        self.authorized = False
        self.operative = True
        self.limit_da = W.MAX_DA
        # internals
        self._hold_unlocked = False
        self._ev_seen = False
        self._session_over = False  # a latched error ended the session
        self._keep_locked = False   # keep_lock(): locked without a session
        self._want_lock = False
        self._dirty = True
        self._w_duty = -1
        self._w_relay = -1
        self._w_drive = -2
        self._w_test = -1
        self._has_temp = False
        self._now = 0               # time of the last tick (for commands)
        # last reported (EV_CABLE, EV_DUTY, EV_SESSION, EV_LOCKST): the MCU's
        # mirror (evse.iocu.port) starts from the same defaults
        self._r_cable = -1
        self._r_duty = W.NO_PWM
        self._r_over = 0
        self._r_lock = 1 << 4       # IDLE, POS_UNKNOWN, feedback -1
        self.mirrored = False       # push those events (CMD_REPORT turns it on)
        self.hw_ok = True
        self.configure()

    # ------------------------------------------------------------ setup
    def configure(self, max_current_a=16, flex_cable=True, actuator=True, three_stage=False,
                  inversed=False, safety_relay=False, helper_no=True,
                  unlock_on_ev_disconnect=False, ccid=False, ventilation_ok=False,
                  min_current_a=6, socket_temp_max_dc=0) -> bool:
        """Hardware setup and the connector's configuration keys (manual 4.4:
        MaxCurrentConnection, Connector<n>FlexCable, FlexConnectorWithActuator,
        3StageServo, InversedServo, SafetyRelayEnabled,
        RelayHelperContactNormallyOpen, UnlockConnectorOnEVSideDisconnect,
        MinCurrentConnection; CCID = ExternalSensor1Type 8). An impossible
        setup raises ERR_UNEXPECTED_HW_SETUP (no charging) and returns False;
        a valid configure() clears it."""
        ok = True
        tn = (int, float)
        if type(max_current_a) not in tn or not (0 <= max_current_a <= 80):
            ok = False
        if type(min_current_a) not in tn or not (0 <= min_current_a <= 40):
            ok = False
        elif ok and min_current_a > max_current_a and max_current_a > 0:
            ok = False
        if ccid and self._sio is None:
            ok = False
        if type(socket_temp_max_dc) is not int:
            ok = False
        self.hw_ok = ok
        if not ok:
            self._raise(self._now, E_.ERR_UNEXPECTED_HW_SETUP)
            self._dirty = True
            return False
        self.max_da = int(max_current_a * 10 + 0.5)
        self.min_da = max(W.MIN_DA, int(min_current_a * 10 + 0.5))
        # a re-configure while charging must not disturb what is measured:
        # the PP reading restarts only when the cable type itself changes
        flex_changed = getattr(self, "flex_cable", None) != bool(flex_cable)
        self.flex_cable = bool(flex_cable)
        fitted = self.flex_cable and bool(actuator)
        if (fitted != self.lock.fitted or bool(three_stage) != self.lock.three_stage
                or bool(inversed) != getattr(self, "inversed", None)):
            self.lock.configure(fitted, three_stage, inversed)
        self.inversed = bool(inversed)
        self.contactor.configure(safety_relay, helper_no)
        self.unlock_on_ev_disconnect = bool(unlock_on_ev_disconnect)
        if bool(ccid) != (self.ccid.state != 0):
            self.ccid.configure(bool(ccid))
        self.ventilation_ok = bool(ventilation_ok)
        self.temp_max_dc = socket_temp_max_dc
        self._has_temp = socket_temp_max_dc > 0 and hasattr(self.io, "socket_temp_dc")
        if not self.flex_cable:
            self.cable_da = W.MAX_DA   # tethered: no PP limit
            self.plug_present = False
        elif flex_changed:
            self._pp.reset(-2)
            self.cable_da = -1
        self._clear(E_.ERR_UNEXPECTED_HW_SETUP)
        self._dirty = True
        return True

    # ------------------------------------------------------------ MCU commands
    def authorize(self, on: bool) -> None:
        on = bool(on)
        if on and not self.authorized:
            self._hold_unlocked = False
            self._ev_seen = False
            self._session_over = False
            self._keep_locked = False
        self.authorized = on
        if not on:
            self._ev_seen = False
        self._dirty = True

    def set_limit_da(self, da: int) -> bool:
        """Energy-management limit (deci-amps). False (and the warning
        ERR_CHANGE_PWM_NOT_YET_ALLOWED) for a >40 A value during the two-step
        start; the value is kept and applies when the step ends."""
        if type(da) is not int:
            raise ValueError("deci-amps int")
        if da < 0:
            da = 0
        if da > W.MAX_DA:
            da = W.MAX_DA
        self.limit_da = da
        self._dirty = True
        if self.pwm.stepping and da > W.STEP_DA:
            self._warn(E_.ERR_CHANGE_PWM_NOT_YET_ALLOWED)
            return False
        return True

    def request_unlock(self) -> bool:
        """Unlock the cable now. During a session this stops energy and raises
        ERR_UNLOCK_DURING_TRANSACT (the session is over). False when there is
        no actuator (OCPP NotSupported) or the contactor is welded (the
        socket may be live). Read `locked` afterwards for the outcome."""
        if not self.lock.fitted or self._act[E_.ERR_RELAY_WELDED]:
            return False
        if self.authorized:
            self._raise(self._now, E_.ERR_UNLOCK_DURING_TRANSACT)
        self._hold_unlocked = True
        self.lock.retry(self._now)      # a lock that gave up tries again now
        self._dirty = True
        return True

    def keep_lock(self, on: bool) -> None:
        """Hold the cable locked (no energy: that needs authorize) until
        request_unlock() or keep_lock(False). OCPP 1.6 4.10: the transaction
        stopped because the EV left, and UnlockConnectorOnEVSideDisconnect
        false keeps the connector locked until the user presents the
        identifier."""
        self._keep_locked = bool(on)
        if on:
            self._hold_unlocked = False
        self._dirty = True

    def session_ended(self) -> bool:
        """True when a latched error ended the authorized session: no energy
        and the lock released until the next authorize(True) edge."""
        return self.authorized and self._session_over

    def set_operative(self, on: bool) -> None:
        self.operative = bool(on)
        self._dirty = True

    def clear_error(self) -> None:
        """Like a reset: clears every latched error of this connector; a cause
        still present raises its code again."""
        for c in range(1, _N):
            if self._act[c] and E_.is_latched(c):
                self._clear(c)
        if self.ccid.state != 0:
            self.ccid.configure(True)
        self._dirty = True

    def set_external_error(self, code: int = E_.ERR_EXTERNAL) -> None:
        if not E_.valid(code):
            raise ValueError("error code")
        if E_.KIND[code] == E_.PULSE:
            self._warn(code)
        else:
            self._raise(self._now, code)
        self._dirty = True

    def report(self) -> None:
        """Push the whole readable state as events again (CMD_REPORT: the MCU
        lost events, ERR_TX_BUFFER_OVERFLOW); the trackers report the rest
        at the end of the next tick."""
        i = self.index
        ev = self.events
        ev.push(i, EV_REPORT, 0)
        ev.push(i, EV_PILOT, self.pilot)
        ev.push(i, EV_PLUG, 1 if self.plug_present else 0)
        ev.push(i, EV_LOCK, 1 if self.locked else 0)
        ev.push(i, EV_OFFERED, self.offered_da)
        ev.push(i, EV_CONTACTOR, 1 if self.contactor_closed else 0)
        for c in range(1, _N):
            if self._act[c]:
                ev.push(i, EV_ERROR_SET, c)
        self._r_cable = -99
        self._r_duty = -99
        self._r_over = -99
        self._r_lock = -99
        self._dirty = True

    def cable_in(self) -> bool:
        """A charging cable is at the station: tethered, or PP sees a plug."""
        return (not self.flex_cable) or self.plug_present

    # ------------------------------------------------------------ errors
    def active(self, code: int) -> bool:
        return self._act[code] == 1

    def _raise(self, now: int, code: int) -> None:
        if self._act[code]:
            return
        self._act[code] = 1
        self._t_set[code] = now
        self._gone[code] = 1 if self.pilot == P.A or self.pilot == P.UNKNOWN else 0
        self._n_act += 1
        if E_.BLOCKS[code]:
            self._n_block += 1
        self._own = code
        self.error = code
        if E_.is_latched(code) and code != E_.ERR_CCID_TRIPPED:
            # the session is over: energy and the lock need a new authorize()
            # (a CCID trip only interrupts it until the re-test, ccid.py)
            self._session_over = True
        self.events.push(self.index, EV_ERROR_SET, code)

    def _clear(self, code: int) -> None:
        if not self._act[code]:
            return
        self._act[code] = 0
        self._n_act -= 1
        if E_.BLOCKS[code]:
            self._n_block -= 1
        self.events.push(self.index, EV_ERROR_CLEARED, code)
        if self._own == code:
            own = 0
            if self._n_act:
                for c in range(1, _N):
                    if self._act[c]:
                        own = c
            self._own = own
        self.error = self._own if self._own else self.station_error

    def _warn(self, code: int) -> None:
        self.events.push(self.index, EV_WARNING, code)

    def _lock_code(self, c: int) -> bool:
        return (c == E_.ERR_NOT_LOCKED_FOR_POWER or c == E_.ERR_PLUG_EXPECTED_LOCKED
                or c == E_.ERR_PLUG_EXPECTED_PRESENT or c == E_.ERR_SERVO_EXPECTED_LOCK
                or c == E_.ERR_SERVO_EXPECTED_UNLOCK or c == E_.ERR_SERVO_LOCK_FAILED
                or c == E_.ERR_UNEXPECTED_PLUG_REMOVAL)

    def _clear_unplugged(self, now: int) -> None:
        for c in range(1, _N):
            if (self._act[c] and E_.KIND[c] == E_.UNPLUG and self._gone[c]
                    and ticks_diff(now, self._t_set[c]) >= ERROR_HOLD_MS):
                if self._lock_code(c) and not self.lock.settled(self._want_lock):
                    continue
                self._clear(c)

    # ------------------------------------------------------------ the tick
    def tick(self, now: int) -> None:
        io = self.io
        ps = self._pilot
        self._now = now
        self._dirty = False
        was_closed = self.contactor.closed

        # 1. control pilot: debounced state, transition errors, switch rate
        if ps.sample(now, io.cp_high_mv()):
            st = ps.state
            self.pilot = st
            self.events.push(self.index, EV_PILOT, st)
            err = P.transition_error(ps.prev, st, self.pwm.running)
            if err:
                self._raise(now, err)
            if ps.count_switch(now):
                self._raise(now, E_.ERR_RELAYS_MULTIPLE_SWITCHES)
            if st == P.A and self._n_act:
                for c in range(1, _N):
                    if self._act[c]:
                        self._gone[c] = 1
        pst = self.pilot
        if pst >= P.E:
            # an abnormal pilot stays an error while it lasts (also after a
            # clear_error(), which raises nothing by transition)
            a = self._act
            if pst == P.E:
                if not a[E_.ERR_MODE3_PILOT_SHORTED]:
                    self._raise(now, E_.ERR_MODE3_PILOT_SHORTED)
            elif not (a[E_.ERR_UNEXP_INV_STATE] or a[E_.ERR_UNEXP_INV_STATE_FROM_BCD]
                      or a[E_.ERR_UNEXP_STATE_F_FROM_BCD]):
                self._raise(now, E_.ERR_UNEXP_INV_STATE)
        connected = P.B <= pst <= P.D
        # diode test on the PWM written in the previous tick
        if ps.diode_sample(now, io.cp_low_mv(), connected and 0 < self._w_duty < W.NO_PWM):
            self._raise(now, E_.ERR_DIODE_FAILURE)

        # 2. proximity pilot (socket only)
        if self.flex_cable:
            if self._pp.update(now, W.cable_da(io.pp_ohms())):
                c = self._pp.value
                self.cable_da = c
                present = c >= 0
                if present != self.plug_present:
                    self.plug_present = present
                    self.events.push(self.index, EV_PLUG, 1 if present else 0)
                    if present:
                        self._hold_unlocked = False
                    else:
                        self._keep_locked = False     # the cable is gone: nothing to hold
                        if was_closed or (self.authorized and P.C <= pst <= P.D):
                            self._raise(now, E_.ERR_UNEXPECTED_PLUG_REMOVAL)
                        elif self.lock.pos == POS_LOCKED:
                            self._raise(now, E_.ERR_PLUG_EXPECTED_PRESENT)

        # 3. socket temperature (optional sensor)
        if self._has_temp:
            t = io.socket_temp_dc()
            if t > self.temp_max_dc:
                self._raise(now, E_.ERR_TEMPERATURE_SOCKET)
            elif self._act[E_.ERR_TEMPERATURE_SOCKET] and t <= self.temp_max_dc - _TEMP_HYST_DC:
                self._clear(E_.ERR_TEMPERATURE_SOCKET)

        # 4. lock
        auth = self.authorized and not self._session_over
        if auth and connected:
            self._ev_seen = True
        lk = self.lock
        want = False
        if lk.fitted:
            if self._act[E_.ERR_RELAY_WELDED]:
                want = self.plug_present or lk.pos == POS_LOCKED
            else:
                want = (self.plug_present and not self._hold_unlocked
                        and ((auth and (connected or (self._ev_seen and not self.unlock_on_ev_disconnect)))
                             or self._keep_locked))
            if was_closed:
                want = True   # never unlock under load; next tick at the earliest
            self._want_lock = want
            err = lk.step(now, want, io.lock_sense(), self.plug_present, was_closed)
            if err:
                self._raise(now, err)
            if lk.locked != self.locked:
                self.locked = lk.locked
                self.events.push(self.index, EV_LOCK, 1 if lk.locked else 0)
        lock_ok = (not lk.fitted) or lk.locked

        # 5. CCID
        cc = self.ccid
        if cc.state:
            r = cc.step(now, auth and connected, self._sio.ccid_fault())
            if r == CLEARED:
                self._clear(E_.ERR_CCID_TRIPPED)
            elif r:
                self._raise(now, r)
            if cc.state == GAVE_UP:
                self._session_over = True

        # 6. helper contact of the contactor (coil state of the last tick)
        ct = self.contactor
        err = ct.supervise(now, io.relay_sense())
        if err:
            self._raise(now, err)

        # 7. latched errors whose EV has left
        if self._n_act and pst == P.A:
            self._clear_unplugged(now)
        self.error = self._own if self._own else self.station_error
        blocked = self._n_block > 0 or self.station_error != 0

        # 8. offered current and PWM
        want_da = self.limit_da
        if self.max_da < want_da:
            want_da = self.max_da
        if self.cable_da < want_da:
            want_da = self.cable_da
        if want_da < self.min_da:
            want_da = 0
        ccid_ok = cc.ok()
        enable = auth and self.operative and connected and not blocked and lock_ok and ccid_ok
        duty = self.pwm.update(enable, want_da, ps.diode_ok)
        off = self.pwm.offered_da
        if off != self.offered_da:
            self.offered_da = off
            self.events.push(self.index, EV_OFFERED, off)
        self.duty_permille = duty

        # 9. the contactor rule
        close = may_close(auth, self.operative, pst, self.ventilation_ok, lock_ok, off,
                          blocked, ccid_ok, ps.diode_ok)
        if ct.command(now, close):
            self.contactor_closed = close
            self.events.push(self.index, EV_CONTACTOR, 1 if close else 0)

        # 10. what the MCU mirrors and has no event of its own
        if self.mirrored:
            self._report_changes(duty, lk)

        # 11. outputs: relay first, then PWM, lock motor, CCID test line
        r = 1 if close else 0
        if r != self._w_relay:
            io.relay_set(r)
            self._w_relay = r
        if duty != self._w_duty:
            io.cp_set_duty(duty)
            self._w_duty = duty
        d = lk.drive
        if d != self._w_drive:
            io.lock_drive(d)
            self._w_drive = d
        if cc.state:
            t = 1 if cc.test_out else 0
            if t != self._w_test:
                self._sio.ccid_test_set(t)
                self._w_test = t

    def _report_changes(self, duty: int, lk) -> None:
        x = self.cable_da
        if x != self._r_cable:
            self._r_cable = x
            self.events.push(self.index, EV_CABLE, x + 1)
        if duty != self._r_duty:
            self._r_duty = duty
            self.events.push(self.index, EV_DUTY, duty)
        x = 1 if self._session_over else 0
        if x != self._r_over:
            self._r_over = x
            self.events.push(self.index, EV_SESSION, x)
        x = lk.state | (lk.pos << 2) | ((lk.feedback() + 1) << 4)
        if x != self._r_lock:
            self._r_lock = x
            self.events.push(self.index, EV_LOCKST, x)

    # ------------------------------------------------------------ scheduling
    def next_deadline_ms(self, now: int) -> int:
        """ms until the next tick is needed: TICK_MS while something is in
        motion (debounce, lock drive, relay settle, CCID test, two-step),
        longer for timers (lock retry, CCID re-test, error hold), 0 after a
        command, -1 when idle: then tick again only when an input changes
        (the simulator watches sim_io's `version`; a board ticks every
        TICK_MS anyway)."""
        if self._dirty:
            return 0
        d = -1
        ps = self._pilot
        if ps.in_motion() or self._pp.pending():
            return TICK_MS
        if 0 < self._w_duty < W.NO_PWM and P.B <= self.pilot <= P.D and not ps.diode_ok:
            return TICK_MS
        if self.pwm.stepping:
            return TICK_MS
        if self._has_temp:
            d = 1000   # poll the socket temperature once a second
        x = self.lock.next_ms(now)
        if x >= 0 and (d < 0 or x < d):
            d = x
        x = self.contactor.next_ms(now)
        if x >= 0 and (d < 0 or x < d):
            d = x
        x = self.ccid.next_ms(now)
        if x >= 0 and (d < 0 or x < d):
            d = x
        if self._n_act and self.pilot == P.A:
            for c in range(1, _N):
                if self._act[c] and E_.KIND[c] == E_.UNPLUG and self._gone[c]:
                    # hold not over yet; once it is, the code clears in that
                    # tick or waits for its subsystem (whose own deadline counts)
                    x = ERROR_HOLD_MS - ticks_diff(now, self._t_set[c])
                    if x > 0 and (d < 0 or x < d):
                        d = x
        return d
