# The board's network interfaces (board.netifs), over MicroPython's `network`
# module: the ESP32's WLAN station and a wired network.LAN (NUCLEO-F429ZI's
# on-board PHY; an ESP32 with an Ethernet PHY configured in pins.py). Thin
# wrappers: activate, connect, report; never wait. What to bring up when, and
# the fallback between them, is evse.services.network's (the synchronous
# state machine the station steps).
#
# boards/<name>/main.py calls attach(board, pins) before main.run. The
# `network` module is a parameter so that tests drive these wrappers with a
# fake one (host_tests/unit/fake_network.py); the simulator has no `network`
# module and uses SimNetIf (evsesim.hal.sim).
#
# Interface contract (one object per connection type, see evse/hal/__init__.py):
#   kind               "wlan", "lan" or "sim"
#   start(settings)    activate and start connecting (non-blocking); settings:
#                      (ssid, password, dhcp, ip, netmask, gateway, dns) as in
#                      the Network* configuration keys
#   stop()             disconnect and deactivate
#   is_up() -> bool    link up with an address
#   addr() -> str      IPv4 address in use ("" while down)
#   rssi()             received signal strength, dBm (WLAN), else None

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only

# connection types of PrimaryConnection / SecondaryConnection (keys.py)
MOBILE = 0      # on the boards: the ESP32's WLAN station (no modem)
ETHERNET = 1

_NONE = "0.0.0.0"


def _static(s):
    """settings -> the 4-tuple of ifconfig, or None for DHCP."""
    if s[2]:
        return None
    return (s[3], s[4], s[5] or _NONE, s[6] or _NONE)


class _If:
    kind = ""

    def __init__(self, network) -> None:
        self._net = network
        self._nic = None    # type: Any

    def _make(self):
        raise NotImplementedError

    def nic(self):
        if self._nic is None:
            self._nic = self._make()
        return self._nic

    def stop(self) -> None:
        n = self._nic
        if n is None:
            return
        try:
            if hasattr(n, "disconnect"):
                n.disconnect()
        except OSError:
            pass
        try:
            n.active(False)
        except OSError:
            pass

    def is_up(self) -> bool:
        n = self._nic
        if n is None:
            return False
        try:
            return bool(n.isconnected())
        except OSError:
            return False

    def addr(self) -> str:
        if not self.is_up():
            return ""
        try:
            return self._nic.ifconfig()[0]
        except (OSError, IndexError):
            return ""

    def rssi(self):
        return None


class WlanIf(_If):
    """The ESP32's WLAN station (network.WLAN(network.STA_IF))."""
    kind = "wlan"

    def _make(self):
        return self._net.WLAN(self._net.STA_IF)

    def start(self, s) -> None:
        w = self.nic()
        w.active(True)
        try:
            w.disconnect()          # a connect already in progress would refuse the new one
        except OSError:
            pass
        st = _static(s)
        if st is not None:
            w.ifconfig(st)
        w.connect(s[0], s[1])       # non-blocking on the ESP32

    def rssi(self):
        if not self.is_up():
            return None
        try:
            return self._nic.status("rssi")
        except (OSError, ValueError, TypeError):
            return None


class LanIf(_If):
    """A wired interface: network.LAN(**kw) (no arguments on the NUCLEO;
    the PHY's mdc/mdio/phy_type/phy_addr/power pins on an ESP32)."""
    kind = "lan"

    def __init__(self, network, kw=None) -> None:
        super().__init__(network)
        self._kw = kw or {}

    def _make(self):
        return self._net.LAN(**self._kw)

    def start(self, s) -> None:
        n = self.nic()
        n.active(True)              # DHCP starts with the interface
        st = _static(s)
        if st is not None:
            n.ifconfig(st)          # static: replaces DHCP


def interfaces(network, pins) -> dict:
    """{connection type: interface} of this board: WLAN where the network
    module has it (pins.WLAN = False turns it off), LAN where pins.py sets
    LAN = {...network.LAN keyword arguments...}."""
    out = {}  # type: dict
    if hasattr(network, "WLAN") and getattr(pins, "WLAN", True):
        out[MOBILE] = WlanIf(network)
    kw = getattr(pins, "LAN", None)
    if kw is not None and hasattr(network, "LAN"):
        out[ETHERNET] = LanIf(network, kw)
    return out


def attach(board, pins, network=None) -> dict:
    """Give the board its network interfaces (board.netifs); the station
    brings them up (evse.services.network). No `network` module: none."""
    if network is None:
        try:
            import network  # type: ignore[import-not-found,no-redef]
        except ImportError:
            network = None
    board.netifs = interfaces(network, pins) if network is not None else {}
    return board.netifs
