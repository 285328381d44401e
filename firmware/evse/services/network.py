# The station's network link (manual PrimaryConnection / SecondaryConnection):
# brings the board's interfaces up (board.netifs, evse.hal.netif; the
# simulator's always-up "sim" interface, evsesim.hal.sim), falls back to the
# secondary when the primary does not come up, tries the primary again every
# 4 hours while on the secondary, and reconnects an interface whose link
# dropped. A synchronous state machine: the station steps it with its clock
# (step(now_ms) / next_deadline_ms(now_ms)); it never sleeps or waits.
#
# Connection types (keys.py, Decision of PrimaryConnection): 0 = "mobile",
# on the boards the ESP32's WLAN station; 1 = ethernet, a wired network.LAN.
# A type whose interface the board lacks (or WLAN without NetworkWLANSSID)
# is unusable: the other one is used, the missing one never tried.
#
# Rules:
# - start: the primary (the secondary when the primary is unusable) is
#   started and gets UP_TIMEOUT_MS to come up; then the other usable one is
#   started (the first one stopped), and so on, alternating. With one usable
#   interface it is restarted every UP_TIMEOUT_MS.
# - a link that drops is restarted at once (reconnect) and gets
#   UP_TIMEOUT_MS again before the other interface is tried.
# - on the secondary, RETRY_PRIMARY_MS after the fallback began, the primary
#   is started beside it (the secondary stays up meanwhile); if it comes up
#   within UP_TIMEOUT_MS the station moves to it and the secondary is
#   stopped, else the primary is stopped and tried again RETRY_PRIMARY_MS
#   later.
# - every change (up, down, another interface) calls on_change(self): the
#   station logs it and tells the OCPP client, which drops a WebSocket on a
#   dead or replaced link and reconnects at once when the link is up.
#   No StatusNotification: a "down" cannot reach the Central System, and
#   after an "up" the OCPP reconnect reports the station anyway (the log line
#   is in GetDiagnostics' file and on the website).
# - interfaces are polled at most every POLL_MS (the board steps every 10 ms).
# Settings (Network* keys, PrimaryConnection, SecondaryConnection) are read
# once: they are reboot keys.
from evse.clock import iso8601
from evse.ticks import ticks_add, ticks_diff

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

UP_TIMEOUT_MS = const(60000)
RETRY_PRIMARY_MS = const(14400000)    # 4 h
POLL_MS = const(1000)

OFF = const(0)        # no usable interface
_TRYING = const(1)     # started, waiting for the link
_UP = const(2)

_PHASE_NAMES = const(("off", "connecting", "up"))
_CONNECTION_NAMES = const(("mobile", "ethernet"))


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("PrimaryConnection", "SecondaryConnection", "NetworkWLANSSID", "NetworkWLANPassword",
                      "NetworkDHCP", "NetworkIPAddress", "NetworkNetmask", "NetworkGateway", "NetworkDNS",
                      "gprsAPN", "gprsPASSWORD", "gprsQcfgBand", "gprsUSER", "ModemICCID", "ModemIMSI",
                      "ModemInitString", "ModemSignalStrengthInterval", "ModemWeakSignalStrengthLimit",
                      "PINCode", "SMSFactoryResetString", "SMSManagementOriginator", "SMSResetString"))


class Network:
    """config: evse.config.store.Config; clock: ticks_ms()/now(); netifs:
    {connection type: interface} (evse.hal.netif contract); on_change(net)
    after every change of up/down or interface."""

    def __init__(self, config, clock, netifs, on_change=None, log=None) -> None:
        # on_change(network): the OCPP client's net_changed; log: the station's
        g = config.get
        self.log = log
        self.clock = clock
        self._ifs = netifs or {}
        self._on_change = on_change
        self.settings = (g("NetworkWLANSSID"), g("NetworkWLANPassword"), bool(g("NetworkDHCP")),
                         g("NetworkIPAddress"), g("NetworkNetmask"), g("NetworkGateway"),
                         g("NetworkDNS"))
        p = g("PrimaryConnection")
        s = g("SecondaryConnection")
        self.primary = p if self._usable(p) else -1
        self.secondary = s if s != p and self._usable(s) else -1
        # no usable interface (a board without `network`, a test's board): not
        # managed here; the OCPP client then does not wait for a link
        self.managed = self.primary >= 0 or self.secondary >= 0
        self.cur = -1                 # connection type in use (or being started); -1 none
        self.phase = OFF
        self.up = False
        self.since = clock.now()      # UTC s of the last change
        self.changes = 0
        self.last = ""                # what the last change was (log text)
        self.replaced = False         # the last change moved an up link to another interface
        self._t = 0                   # ticks: the current phase began
        self._poll = 0
        self._begun = False
        self._retry_due = None        # type: int | None  # ticks: next try of the primary
        self._retry_t = None          # type: int | None  # ticks: the primary's retry began

    def _usable(self, c: int) -> bool:
        i = self._ifs.get(c)
        if i is None:
            return False
        return not (i.kind == "wlan" and not self.settings[0])

    def _other(self, c: int) -> int:
        o = self.secondary if c == self.primary else self.primary
        return o if o >= 0 else c

    def _start(self, c: int, now: int) -> None:
        switched = c != self.cur
        self.cur = c
        self.phase = _TRYING
        self._t = now
        self._poll = now
        try:
            self._ifs[c].start(self.settings)
        except Exception as e:      # OSError and the ports' own: tried again after the timeout
            self.last = "%s start failed: %r" % (self._ifs[c].kind, e)
        if c != self.secondary or self.primary < 0:
            self._retry_due = None
        elif switched or self._retry_due is None:
            # counted from the fallback; a reconnect of the secondary keeps it
            self._retry_due = ticks_add(now, RETRY_PRIMARY_MS)
        self._retry_t = None

    def _stop(self, c: int) -> None:
        try:
            self._ifs[c].stop()
        except Exception:
            pass

    def _changed(self, up: bool, what: str, replaced: bool = False) -> None:
        self.up = up
        self.replaced = replaced
        self.since = self.clock.now()
        self.changes += 1
        self.last = what
        if self.log is not None:
            self.log.add(self.last)
        if self._on_change is not None:
            self._on_change(self)

    def _describe(self) -> str:
        i = self._ifs[self.cur]
        return "%s %s (%s)" % (i.kind, i.addr() or "-", self.role())

    # ---- the state machine --------------------------------------------------------
    def step(self, now: int) -> None:
        if not self._begun:
            self._begun = True
            first = self.primary if self.primary >= 0 else self.secondary
            if first >= 0:
                self._start(first, now)
                if self._ifs[first].is_up():        # already there (the simulator's)
                    self.phase = _UP
                    self._changed(True, "network up: " + self._describe())
            else:
                self.last = "no usable network interface"
            return
        if self.phase == OFF or ticks_diff(now, self._poll) < POLL_MS:
            return
        self._poll = now
        i = self._ifs[self.cur]
        if self.phase == _TRYING:
            if i.is_up():
                self.phase = _UP
                self._changed(True, "network up: " + self._describe())
            elif ticks_diff(now, self._t) >= UP_TIMEOUT_MS:
                nxt = self._other(self.cur)
                if nxt != self.cur:
                    self._stop(self.cur)
                self._start(nxt, now)
            return
        # UP
        if not i.is_up():
            if self._retry_t is not None:
                self._stop(self.primary)
            kind = i.kind
            self._start(self.cur, now)          # reconnect the same interface first
            self._changed(False, "network down: %s link lost, reconnecting" % kind)
            return
        if self._retry_t is not None:
            if self._ifs[self.primary].is_up():
                old = self.cur
                self.cur = self.primary
                self._t = now
                self._retry_due = None
                self._retry_t = None
                self._stop(old)
                self._changed(True, "network up: " + self._describe() + ", back from the secondary",
                              True)
            elif ticks_diff(now, self._retry_t) >= UP_TIMEOUT_MS:
                self._stop(self.primary)
                self._retry_t = None
                self._retry_due = ticks_add(now, RETRY_PRIMARY_MS)
            return
        due = self._retry_due
        if due is not None and ticks_diff(now, due) >= 0:
            self._retry_due = None
            self._retry_t = now
            try:
                self._ifs[self.primary].start(self.settings)
            except Exception as e:
                self.last = "%s start failed: %r" % (self._ifs[self.primary].kind, e)

    def next_deadline_ms(self, now: int) -> int:
        """ms until step() has something to do; -1: nothing scheduled (a
        dropped link is seen at the next step, every 10 ms on a board)."""
        if not self._begun:
            return 0
        if self.phase == _TRYING or self._retry_t is not None:
            return max(0, POLL_MS - ticks_diff(now, self._poll))
        if self.phase == _UP and self._retry_due is not None:
            return max(0, ticks_diff(self._retry_due, now))
        return -1

    # ---- reports --------------------------------------------------------------------
    def role(self) -> str:
        if self.cur < 0:
            return ""
        return "primary" if self.cur == self.primary else "secondary"

    def info(self) -> dict:
        """The status report (simulator `status`, website, /api/status)."""
        if self.cur < 0:
            return {"interface": "", "connection": None, "role": "", "state": _PHASE_NAMES[self.phase],
                    "up": False, "ip": "", "rssi": None, "since": iso8601(self.since), "note": self.last}
        i = self._ifs[self.cur]
        up = self.phase == _UP
        return {"interface": i.kind, "connection": _CONNECTION_NAMES[self.cur], "role": self.role(),
                "state": _PHASE_NAMES[self.phase], "up": up, "ip": i.addr() if up else "",
                "rssi": i.rssi() if up else None, "since": iso8601(self.since), "note": self.last}
