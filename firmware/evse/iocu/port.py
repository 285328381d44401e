# The IOCU port: the one handle the MCU side holds on the safety core
# (manual 8.1: an MCU runs OCPP, transactions, meters and configuration; an
# IOCU owns Mode 3, the lock, the contactor and the CCID).
#
#   commands  every command is a 5-byte frame of evse.iocu.link (socket,
#             cmd, arg, CRC-8) posted to the link; the IOCU decodes it in its
#             tick (Iocu._dispatch), so the link's rules run for real: a
#             corrupted frame is ERR_REQ_CRC_WRONG, a flooded queue
#             ERR_RX_BUFFER_OVERFLOW, a stopped heartbeat ERR_HEARTBEAT
#             (energy off, manual 8.5), a bad socket id / unknown command
#             ERR_SOCKETID_NOT_ALLOWED / ERR_UNKNOWN_REQ.
#   state     comes back as events (evse.iocu.events ring); sync() decodes
#             them into one ConnectorMirror per socket and the station fields
#             here (error, rail_state, ext_level, ext_known). MCU services
#             read the mirrors, never the Connector objects.
#   commanded what the MCU itself decided (authorized, operative, limit,
#             configuration) is kept in the mirror at once; the IOCU applies
#             it in its next tick.
#   recovery  a link error seen coming back (ERR_REQ_CRC_WRONG,
#             ERR_RX_BUFFER_OVERFLOW, ERR_HEARTBEAT cleared) makes sync()
#             send the commanded state of every connector again (the
#             commands are idempotent); lost events (ERR_TX_BUFFER_OVERFLOW)
#             make it ask for a full report (CMD_REPORT).
#
# Steady state allocates nothing: frames are built in the link's
# preallocated buffer; events are small ints; sync() copies them into a
# second preallocated ring (`inbox`) that the station drains later in its
# step for logs and warnings.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

from evse.iocu import errors as E_
from evse.iocu import link as L
from evse.iocu import pilot as P
from evse.iocu import pwm as W
from evse.iocu import lock as K
from evse.iocu.events import (EventRing, EV_PILOT, EV_ERROR_SET, EV_ERROR_CLEARED, EV_WARNING,
                              EV_CONTACTOR, EV_LOCK, EV_PLUG, EV_OFFERED, EV_INPUT, EV_CABLE,
                              EV_DUTY, EV_SESSION, EV_LOCKST, EV_RAIL, EV_REPORT, EV_BLOCK)

_N = E_.N_CODES


class LockMirror:
    """The lock driver as the IOCU reports it (EV_LOCKST): the same read
    API as evse.iocu.lock.Lock (fitted, state, pos, settled(), feedback())."""

    def __init__(self) -> None:
        self.fitted = False
        self.state = K.IDLE
        self.pos = K.POS_UNKNOWN
        self._fb = -1

    def settled(self, want_locked: bool) -> bool:
        if not self.fitted:
            return True
        return self.state == K.IDLE and self.pos == (K.POS_LOCKED if want_locked else K.POS_UNLOCKED)

    def feedback(self) -> int:
        return self._fb


class ConnectorMirror:
    """One connector as the MCU sees it: the readable attributes of
    evse.iocu.connector.Connector, fed by events (pilot, plug_present,
    cable_da, locked, lock, contactor_closed, offered_da, duty_permille,
    errors) and by the MCU's own commands (authorized, operative, limit_da,
    configuration). No command methods: commands go through the port."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.lock = LockMirror()
        self._act = bytearray(_N)
        self._own = 0
        self._over = False
        self.pilot = P.UNKNOWN
        self.duty_permille = W.NO_PWM
        self.offered_da = 0
        self.contactor_closed = False
        self.locked = False
        self.plug_present = False
        self.cable_da = -1
        # the latest active error of this connector, else the station's
        # blocking error, else 0 (as Connector.error)
        self.error = 0
        self.station_error = 0
        self.authorized = False
        self.operative = True
        self.keep_locked = False
        self.limit_da = W.MAX_DA    # as commanded
        self.max_da = 160
        self.min_da = W.MIN_DA
        self.flex_cable = True
        self.unlock_on_ev_disconnect = False
        self.ventilation_ok = False
        self.configured = False     # a configuration was sent (resend it on recovery)
        self._cfg = [0, 0, 0, 0]    # max_da|INVALID, min_da|INVALID, temp, flags

    def active(self, code: int) -> bool:
        return self._act[code] == 1

    def cable_in(self) -> bool:
        return (not self.flex_cable) or self.plug_present

    def session_ended(self) -> bool:
        return self.authorized and self._over

    def _event(self, code: int, arg: int) -> None:
        if code == EV_PILOT:
            self.pilot = arg
        elif code == EV_OFFERED:
            self.offered_da = arg
        elif code == EV_DUTY:
            self.duty_permille = arg
        elif code == EV_CONTACTOR:
            self.contactor_closed = arg == 1
        elif code == EV_LOCK:
            self.locked = arg == 1
        elif code == EV_PLUG:
            self.plug_present = arg == 1
            if arg == 0:
                self.keep_locked = False    # the IOCU forgets it too: nothing to hold
        elif code == EV_CABLE:
            self.cable_da = arg - 1
        elif code == EV_SESSION:
            self._over = arg == 1
        elif code == EV_LOCKST:
            lk = self.lock
            lk.state = arg & 3
            lk.pos = (arg >> 2) & 3
            lk._fb = ((arg >> 4) & 3) - 1
        elif code == EV_ERROR_SET:
            if arg < _N:
                self._act[arg] = 1
                self._own = arg
        elif code == EV_ERROR_CLEARED:
            if arg < _N and self._act[arg]:
                self._act[arg] = 0
                if self._own == arg:
                    own = 0
                    for c in range(1, _N):
                        if self._act[c]:
                            own = c
                    self._own = own
        elif code == EV_REPORT:
            for c in range(_N):
                self._act[c] = 0
            self._own = 0
        self.error = self._own if self._own else self.station_error


class IocuPort:
    def __init__(self, link, events, n: int) -> None:
        self.link = link            # evse.iocu.link.CommandLink (the wire to the IOCU)
        self.events = events        # the IOCU's EventRing (the wire back)
        self.inbox = EventRing(events._size)   # events synced, for the station's log/warnings
        self.n = n
        self.conn = [ConnectorMirror(i + 1) for i in range(n)]
        # station state
        self.error = 0              # blocking station error (as Iocu.error; EV_BLOCK)
        self._rail = bytearray(3)
        self.ext_level = bytearray(3)
        self.ext_known = bytearray(3)
        self._resend = False
        self._report = False
        self.link_errors = 0        # link errors seen (CRC, overflow, heartbeat)
        # the IOCU starts in the state the mirrors start in; from now on it
        # reports what they need
        link.post(0, L.CMD_REPORT, 1)

    # ------------------------------------------------------------- commands
    def heartbeat(self, now: int) -> None:
        """The MCU is alive (manual 8.5 ERR_HEARTBEAT)."""
        self.link.post(0, L.CMD_HEARTBEAT, 0)

    def authorize(self, cid: int, on: bool) -> None:
        m = self.conn[cid - 1]
        on = bool(on)
        if on and not m.authorized:
            m._over = False         # the IOCU forgets a latched end at the edge
            m.keep_locked = False
        m.authorized = on
        self.link.post(cid, L.CMD_AUTHORIZE, 1 if on else 0)

    def set_limit_da(self, cid: int, da: int) -> None:
        """Energy-management limit (deci-amps, 0..800: the IOCU clamps)."""
        self.conn[cid - 1].limit_da = da
        self.link.post(cid, L.CMD_SET_LIMIT, da)

    def request_unlock(self, cid: int) -> bool:
        """Unlock the cable. False when there is no actuator or the
        contactor is welded (Connector.request_unlock's rule, on the
        mirror); the outcome shows in the mirror's lock."""
        m = self.conn[cid - 1]
        if not m.lock.fitted or m._act[E_.ERR_RELAY_WELDED]:
            return False
        m.keep_locked = False
        if m.lock.state == K.FAILED:
            m.lock.state = K.DRIVING    # the IOCU tries again at once (lock.retry)
        self.link.post(cid, L.CMD_UNLOCK, 0)
        return True

    def keep_lock(self, cid: int, on: bool) -> None:
        self.conn[cid - 1].keep_locked = bool(on)
        self.link.post(cid, L.CMD_KEEP_LOCK, 1 if on else 0)

    def set_operative(self, cid: int, on: bool) -> None:
        self.conn[cid - 1].operative = bool(on)
        self.link.post(cid, L.CMD_SET_OPERATIVE, 1 if on else 0)

    def clear_error(self, cid: int) -> None:
        self.link.post(cid, L.CMD_CLEAR_ERROR, 0)

    def set_external_error(self, cid: int, code: int = E_.ERR_EXTERNAL) -> None:
        self.link.post(cid, L.CMD_SET_ERROR, code)

    def configure(self, cid: int, max_da: int, min_da: int, flags: int, temp_dc: int = 0) -> bool:
        """The connector's hardware setup and configuration keys (manual 4.4;
        Connector.configure): MaxCurrentConnection and MinCurrentConnection
        in deci-amps, the CFG_* flags of evse.iocu.link, a socket temperature
        limit (0.1 degC, 0 none). False for an impossible setup: the IOCU
        then raises ERR_UNEXPECTED_HW_SETUP and keeps the previous one."""
        m = self.conn[cid - 1]
        if not 0 <= max_da <= 800:
            max_da = L.INVALID
        if not 0 <= min_da <= 400 or (min_da > max_da and 0 < max_da != L.INVALID):
            min_da = L.INVALID
        cfg = m._cfg
        cfg[0] = max_da
        cfg[1] = min_da
        cfg[2] = temp_dc
        cfg[3] = flags
        m.configured = True
        self._send_config(cid)
        if max_da == L.INVALID or min_da == L.INVALID:
            return False
        m.max_da = max_da
        m.min_da = max(W.MIN_DA, min_da)
        m.flex_cable = flex = (flags & L.CFG_FLEX) != 0
        m.lock.fitted = flex and (flags & L.CFG_ACTUATOR) != 0
        m.unlock_on_ev_disconnect = (flags & L.CFG_UNLOCK_ON_EV) != 0
        m.ventilation_ok = (flags & L.CFG_VENTILATION) != 0
        if not flex:
            m.cable_da = W.MAX_DA
            m.plug_present = False
        return True

    def _send_config(self, cid: int) -> None:
        cfg = self.conn[cid - 1]._cfg
        self.link.post(cid, L.CMD_CFG_MAX, cfg[0])
        self.link.post(cid, L.CMD_CFG_MIN, cfg[1])
        self.link.post(cid, L.CMD_CFG_TEMP, cfg[2])
        self.link.post(cid, L.CMD_CFG_APPLY, cfg[3])

    def resend(self) -> None:
        """Send the commanded state of every connector again (after a link
        error: a frame may have been lost; the commands are idempotent)."""
        for m in self.conn:
            cid = m.index
            if m.configured:
                self._send_config(cid)
            self.link.post(cid, L.CMD_SET_OPERATIVE, 1 if m.operative else 0)
            self.link.post(cid, L.CMD_SET_LIMIT, m.limit_da)
            self.link.post(cid, L.CMD_KEEP_LOCK, 1 if m.keep_locked else 0)
            self.link.post(cid, L.CMD_AUTHORIZE, 1 if m.authorized else 0)

    # ------------------------------------------------------------- state
    def rail_state(self, n: int) -> int:
        """Debounced state of supply rail n (evse.iocu.station R_*)."""
        return self._rail[n]

    def sync(self) -> None:
        """Decode the events the IOCU sent since the last call into the
        mirrors; keep them in `inbox` for the station's log and warnings.
        Then answer link trouble (resend / report)."""
        ev = self.events
        box = self.inbox
        conn = self.conn
        n = self.n
        while True:
            e = ev.pop()
            if e < 0:
                break
            box.push((e >> 24) & 0x1F, (e >> 16) & 0xFF, e & 0xFFFF)
            cid = (e >> 24) & 0x1F
            code = (e >> 16) & 0xFF
            arg = e & 0xFFFF
            if cid == 0:
                self._station_event(code, arg)
            elif cid <= n:
                conn[cid - 1]._event(code, arg)
        if self._report:
            self._report = False
            self.link.post(0, L.CMD_REPORT, 3)
        if self._resend:
            self._resend = False
            self.resend()

    def _station_event(self, code: int, arg: int) -> None:
        if code == EV_BLOCK:
            self.error = arg
            for m in self.conn:
                m.station_error = arg
                m.error = m._own if m._own else arg
        elif code == EV_ERROR_SET and arg == E_.ERR_HEARTBEAT:
            self.link_errors += 1
        elif code == EV_ERROR_CLEARED and arg == E_.ERR_HEARTBEAT:
            self._resend = True         # the link works again
        elif code == EV_WARNING:
            if arg == E_.ERR_REQ_CRC_WRONG or arg == E_.ERR_RX_BUFFER_OVERFLOW:
                self.link_errors += 1
                self._resend = True
            elif arg == E_.ERR_TX_BUFFER_OVERFLOW:
                self._report = True
        elif code == EV_RAIL:
            self._rail[(arg >> 2) & 3] = arg & 3
        elif code == EV_INPUT:
            i = arg >> 1
            if 0 < i < 3:
                self.ext_level[i] = arg & 1
                self.ext_known[i] = 1
