# A plain state-recording fake of MicroPython's `network` module (the parts
# evse.hal.netif uses), for CPython and the Unix port. Pass the module (or a
# Port of it) to evse.hal.netif.interfaces / attach:
#
#   import fake_network
#   net = fake_network.Port(wlan=True, lan=True)
#   ifs = netif.interfaces(net, pins)
#
# Each WLAN/LAN object records its calls in .calls and its state in
# .is_active, .connected_to, .static (the last ifconfig tuple, None = DHCP).
# The "outside world" is set by the test: link(True/False) brings the link
# up or drops it; for WLAN only when the connect() named the reachable ssid
# and password (Port.ap = (ssid, password)); dhcp_addr is what DHCP assigns.
STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_GOT_IP = 1010


class _Nic:
    def __init__(self, port, kind) -> None:
        self.port = port
        self.kind = kind
        self.calls = []           # ("active", True), ("connect", ssid, pw), ("ifconfig", t) ...
        self.is_active = False
        self.connected_to = None  # (ssid, password) of the last connect (WLAN)
        self.static = None        # ifconfig tuple, None = DHCP
        self.linked = False       # the outside world: cable in / access point in range
        self.rssi = -61

    def active(self, on=None):
        if on is None:
            return self.is_active
        self.calls.append(("active", bool(on)))
        self.is_active = bool(on)
        return None

    def ifconfig(self, t=None):
        if t is None:
            if not self.isconnected():
                return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")
            if self.static is not None:
                return self.static
            return self.port.dhcp[self.kind]
        self.calls.append(("ifconfig", t))
        self.static = None if t == "dhcp" else tuple(t)
        return None

    def _reachable(self) -> bool:
        return self.linked

    def isconnected(self) -> bool:
        return self.is_active and self._reachable()

    def config(self, name):
        if name == "mac":
            return b"\x02\x00\x00\x00\x00\x01" if self.kind == "wlan" else b"\x02\x00\x00\x00\x00\x02"
        raise ValueError(name)

    def link(self, up: bool) -> None:
        """The outside world: the cable / the access point comes or goes."""
        self.linked = up


class WLAN(_Nic):
    def __init__(self, port, interface_id=STA_IF) -> None:
        super().__init__(port, "wlan")
        assert interface_id == STA_IF
        self.status_calls = 0

    def connect(self, ssid, key=None):
        if not self.is_active:
            raise OSError("WLAN not active")
        self.calls.append(("connect", ssid, key))
        self.connected_to = (ssid, key)

    def disconnect(self):
        self.calls.append(("disconnect",))
        self.connected_to = None

    def _reachable(self) -> bool:
        return self.linked and self.connected_to == self.port.ap

    def status(self, param=None):
        if param == "rssi":
            return self.rssi
        return STAT_GOT_IP if self.isconnected() else STAT_CONNECTING


class LAN(_Nic):
    def __init__(self, port, **kw) -> None:
        super().__init__(port, "lan")
        self.kw = kw


class Port:
    """One board's `network` module: WLAN(STA_IF) and LAN(**kw) each return
    the one interface object of their kind (as on the hardware)."""
    STA_IF = STA_IF
    AP_IF = AP_IF

    def __init__(self, wlan: bool = True, lan: bool = True) -> None:
        self.ap = ("home", "secret-pass")
        self.dhcp = {"wlan": ("192.168.1.57", "255.255.255.0", "192.168.1.1", "192.168.1.1"),
                     "lan": ("10.0.0.23", "255.255.0.0", "10.0.0.1", "10.0.0.1")}
        self.wlan = WLAN(self) if wlan else None
        self.lan = LAN(self) if lan else None
        # only the kinds this board has exist, like the ports' modules
        if wlan:
            self.WLAN = self._wlan
        if lan:
            self.LAN = self._lan

    def _wlan(self, interface_id=STA_IF):
        assert interface_id == STA_IF
        return self.wlan

    def _lan(self, **kw):
        self.lan.kw = kw      # the PHY settings of the last LAN(...)
        return self.lan
