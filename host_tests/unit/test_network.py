# The station's network link (evse.services.network over evse.hal.netif),
# driven by a fake `network` module (fake_network) on the test's virtual
# clock: bring-up with DHCP and static addressing, fallback to the secondary,
# the primary tried again after 4 h, reconnection after a dropped link, and
# the WLAN password never readable.
import fake_network
from evse.clock import iso8601
from evsesim.hal.simclock import VirtualClock
from evse.config.store import Config
from evse.hal import netif
from evse.services import network as N
from test_config import MemStorage


class Pins:
    """A board's pins.py as netif reads it."""

    def __init__(self, lan=None, wlan=True) -> None:
        self.LAN = lan
        self.WLAN = wlan


def rig(*keys, wlan=True, lan=True):
    """keys: (name, value) pairs, changed in this order (a dict's order is
    not MicroPython's)."""
    port = fake_network.Port(wlan=wlan, lan=lan)
    ifs = netif.interfaces(port, Pins(lan={} if lan else None, wlan=wlan))
    cfg = Config(MemStorage(), "sscu")
    for k, v in keys:
        assert cfg.change(k, v) in ("Accepted", "RebootRequired"), k
    # reboot keys: the station reads them at boot, so build a booted config
    booted = Config(cfg._storage, "sscu")
    clock = VirtualClock()
    seen = []
    net = N.Network(booted, clock, ifs, lambda n: seen.append((n.up, n.info()["interface"])))
    return port, net, clock, seen


def run(net, clock, ms, step=500):
    """Step the machine like the station does, for ms of the test's clock."""
    end = clock.ticks_ms() + ms
    while clock.ticks_ms() < end:
        net.step(clock.ticks_ms())
        clock.advance_ms(step)
    net.step(clock.ticks_ms())


WLAN_KEYS = (("NetworkWLANSSID", "home"), ("NetworkWLANPassword", "secret-pass"))


def test_wlan_comes_up_with_dhcp_and_reports_address_and_rssi():
    port, net, clock, seen = rig(*WLAN_KEYS)
    w = port.wlan
    assert net.info()["state"] == "off" and not net.up
    net.step(clock.ticks_ms())
    assert ("active", True) in w.calls and ("connect", "home", "secret-pass") in w.calls
    assert not any(c[0] == "ifconfig" for c in w.calls)          # DHCP: no static setup
    assert net.info()["state"] == "connecting" and seen == []
    w.link(True)
    run(net, clock, 2000)
    info = net.info()
    assert info["up"] and info["interface"] == "wlan" and info["connection"] == "mobile"
    assert info["role"] == "primary" and info["ip"] == "192.168.1.57" and info["rssi"] == -61
    assert info["since"] == iso8601(clock.now() - 1)     # the poll that saw the link
    assert seen == [(True, "wlan")]
    assert "wlan 192.168.1.57 (primary)" in net.last


def test_wrong_password_never_comes_up():
    port, net, clock, seen = rig(("NetworkWLANSSID", "home"), ("NetworkWLANPassword", "wrong-pass"))
    port.wlan.link(True)
    port.lan.link(False)
    run(net, clock, 30000)
    assert not net.up and seen == [] and net.info()["state"] == "connecting"


def test_lan_static_addressing():
    port, net, clock, seen = rig(("PrimaryConnection", "1"), ("NetworkIPAddress", "10.1.2.3"),
                                 ("NetworkNetmask", "255.255.255.0"),
                                 ("NetworkGateway", "10.1.2.1"), ("NetworkDHCP", "false"))
    lan = port.lan
    run(net, clock, 1000)
    # DNS left empty: 0.0.0.0 (no name server)
    assert ("ifconfig", ("10.1.2.3", "255.255.255.0", "10.1.2.1", "0.0.0.0")) in lan.calls
    assert lan.is_active and not port.wlan.calls     # WLAN is the secondary: untouched
    lan.link(True)
    run(net, clock, 1000)
    info = net.info()
    assert info["up"] and info["interface"] == "lan" and info["connection"] == "ethernet"
    assert info["ip"] == "10.1.2.3" and info["rssi"] is None
    assert seen == [(True, "lan")]


def test_primary_down_falls_back_to_secondary_and_primary_is_retried_after_4_hours():
    port, net, clock, seen = rig(*WLAN_KEYS)       # primary 0 = WLAN, secondary 1 = LAN
    w, lan = port.wlan, port.lan
    lan.link(True)                                  # the access point is out of range
    run(net, clock, N.UP_TIMEOUT_MS - 2000)
    assert not net.up and lan.calls == []          # the primary gets its minute
    run(net, clock, 4000)
    assert ("active", False) in w.calls            # primary given up, secondary started
    assert net.up and net.info()["interface"] == "lan" and net.info()["role"] == "secondary"
    assert seen == [(True, "lan")]
    w.calls[:] = []
    run(net, clock, N.RETRY_PRIMARY_MS - 2 * N.UP_TIMEOUT_MS)
    assert w.calls == []                           # not retried before 4 h
    w.link(True)                                   # the access point is back meanwhile
    run(net, clock, 2 * N.UP_TIMEOUT_MS + 5000)
    assert ("connect", "home", "secret-pass") in w.calls
    info = net.info()
    assert info["up"] and info["interface"] == "wlan" and info["role"] == "primary"
    assert ("active", False) in lan.calls          # the secondary is stopped once back
    assert seen == [(True, "lan"), (True, "wlan")]
    assert "back from the secondary" in net.last


def test_primary_retry_that_fails_keeps_the_secondary_and_tries_again_4_hours_later():
    port, net, clock, seen = rig(*WLAN_KEYS)
    w, lan = port.wlan, port.lan
    lan.link(True)
    run(net, clock, N.UP_TIMEOUT_MS + 2000, step=1000)
    assert net.info()["interface"] == "lan"
    w.calls[:] = []
    run(net, clock, N.RETRY_PRIMARY_MS + N.UP_TIMEOUT_MS + 5000, step=1000)
    connects = [c for c in w.calls if c[0] == "connect"]
    assert len(connects) == 1 and ("active", False) in w.calls    # tried once, given up
    assert net.up and net.info()["interface"] == "lan"           # never left the secondary
    assert lan.calls.count(("active", False)) == 0
    run(net, clock, N.RETRY_PRIMARY_MS, step=1000)
    assert len([c for c in w.calls if c[0] == "connect"]) == 2   # again 4 h later
    assert seen == [(True, "lan")]


def test_link_drop_reconnects_the_same_interface_then_falls_back():
    port, net, clock, seen = rig(*WLAN_KEYS)
    w, lan = port.wlan, port.lan
    w.link(True)
    lan.link(True)
    run(net, clock, 2000)
    assert net.up and net.info()["interface"] == "wlan"
    n_connect = len([c for c in w.calls if c[0] == "connect"])
    w.link(False)                                   # the access point goes away
    run(net, clock, 2000)
    assert not net.up and net.info()["state"] == "connecting"
    assert len([c for c in w.calls if c[0] == "connect"]) == n_connect + 1   # reconnect
    assert seen == [(True, "wlan"), (False, "wlan")]
    w.link(True)                                    # back within the minute: same interface
    run(net, clock, 2000)
    assert net.up and net.info()["interface"] == "wlan" and lan.calls == []
    w.link(False)                                   # gone for good: the secondary takes over
    run(net, clock, N.UP_TIMEOUT_MS + 3000)
    assert net.up and net.info()["interface"] == "lan"
    assert seen == [(True, "wlan"), (False, "wlan"), (True, "wlan"), (False, "wlan"), (True, "lan")]


def test_a_missing_interface_is_skipped_and_never_retried():
    # the NUCLEO: no WLAN (connection 0), only the wired LAN
    port, net, clock, seen = rig(wlan=False)
    port.lan.link(True)
    run(net, clock, 1000)
    # the configured primary (0) does not exist: the secondary serves alone
    assert net.up and net.info()["interface"] == "lan" and net.info()["role"] == "secondary"
    assert net.next_deadline_ms(clock.ticks_ms()) == -1           # no primary to retry
    # an ESP32 without an SSID: WLAN unusable, LAN used at once
    port, net, clock, seen = rig()
    port.lan.link(True)
    run(net, clock, 1000)
    assert net.up and net.info()["interface"] == "lan" and port.wlan.calls == []


def test_one_interface_is_restarted_until_it_comes_up():
    port, net, clock, seen = rig(wlan=False, lan=True)
    run(net, clock, 3 * N.UP_TIMEOUT_MS + 1000, step=1000)
    assert port.lan.calls.count(("active", True)) == 4
    assert not net.up and seen == []


def test_no_interface_at_all_is_reported():
    port, net, clock, seen = rig(wlan=False, lan=False)
    run(net, clock, 1000)
    info = net.info()
    assert info["state"] == "off" and not info["up"] and "no usable" in info["note"]


def test_deadlines_poll_while_connecting_and_wait_for_the_retry_when_up():
    port, net, clock, seen = rig(*WLAN_KEYS)
    assert net.next_deadline_ms(clock.ticks_ms()) == 0
    net.step(clock.ticks_ms())
    assert 0 < net.next_deadline_ms(clock.ticks_ms()) <= N.POLL_MS
    port.lan.link(True)
    run(net, clock, N.UP_TIMEOUT_MS + 3000, step=1000)
    d = net.next_deadline_ms(clock.ticks_ms())     # on the secondary: the primary's retry
    assert N.RETRY_PRIMARY_MS - N.UP_TIMEOUT_MS <= d <= N.RETRY_PRIMARY_MS


def test_attach_gives_the_board_its_interfaces():
    class B:
        pass
    b = B()
    port = fake_network.Port(wlan=True, lan=True)
    ifs = netif.attach(b, Pins(lan={"phy_addr": 1}), network=port)
    assert b.netifs is ifs and sorted(ifs) == [0, 1]
    assert ifs[0].kind == "wlan" and ifs[1].kind == "lan"
    ifs[1].start(("", "", True, "", "", "", ""))
    assert port.lan.kw == {"phy_addr": 1}
    ifs = netif.attach(b, Pins(lan=None), network=port)
    assert sorted(ifs) == [0]                       # no LAN in pins.py: none


def test_wlan_password_is_never_readable():
    port, net, clock, seen = rig(*WLAN_KEYS)
    cfg = Config(MemStorage(), "sscu")
    assert cfg.change("NetworkWLANPassword", "secret-pass") == "RebootRequired"
    for items in (cfg.get_configuration(["NetworkWLANPassword"], ocpp=True)[0],
                  cfg.get_configuration(ocpp=True)[0], cfg.get_configuration()[0]):
        for it in items:
            if it["key"] == "NetworkWLANPassword":
                assert "value" not in it
            else:
                assert it.get("value") != "secret-pass"
    run(net, clock, 1000)
    assert "secret" not in repr(net.info())
    from evse.web import cfgview
    from evse.services.diagnostics import is_secret
    assert cfgview.shown(cfg, "NetworkWLANPassword") == "(hidden)"    # the website
    assert is_secret("NetworkWLANPassword")                           # diagnostics files


# ---- the station: status, website, log, OCPP ----------------------------------------

def station_on(board):
    from evse.station import Station
    return Station(board, Config(board.storage, "sscu"), "sscu")


def test_the_simulator_has_an_always_up_sim_interface():
    from evsesim.hal.sim import SimBoard
    from support import tmpdir
    st = station_on(SimBoard(1, tmpdir("net-sim"), True))
    st.step()
    n = st.status()["network"]
    assert n["interface"] == "sim" and n["up"] and n["ip"] == "127.0.0.1" and n["role"] == "primary"
    assert not st.ocpp._net_down()


class FakeWS:
    closed = False

    async def close(self):
        self.closed = True


def test_station_shows_the_link_logs_changes_and_the_ocpp_client_follows():
    try:
        import asyncio
    except ImportError:
        import uasyncio as asyncio
    from evsesim.hal.sim import SimBoard
    from evse.web import pages
    from support import tmpdir
    board = SimBoard(1, tmpdir("net-lan"), True)
    port = fake_network.Port(wlan=False, lan=True)     # the NUCLEO: wired only
    netif.attach(board, Pins(lan={}, wlan=False), network=port)
    st = station_on(board)
    st.step()
    assert st.status()["network"]["state"] == "connecting"
    assert st.ocpp._net_down()                         # no connection attempt yet
    port.lan.link(True)
    board.clock.advance_ms(N.POLL_MS)
    st.step()
    n = st.status()["network"]
    assert n["up"] and n["interface"] == "lan" and n["ip"] == "10.0.0.23" and n["rssi"] is None
    assert not st.ocpp._net_down()
    assert [ln for ln in st.log.lines() if "network up: lan 10.0.0.23" in ln]
    page = "".join(list(pages.status(st.status(), {}, "x")))
    assert "lan up 10.0.0.23 (secondary), since " + n["since"] in page
    ws = st.ocpp.ws = FakeWS()                         # a WebSocket over the link
    port.lan.link(False)                               # the cable is pulled
    board.clock.advance_ms(N.POLL_MS)
    st.step()
    assert not st.status()["network"]["up"] and st.ocpp._net_down()
    assert [ln for ln in st.log.lines() if "network down: lan link lost" in ln]
    asyncio.run(st.ocpp.flush())                       # the client's next flush drops it
    assert ws.closed and "network link changed" in st.ocpp.last_error
    page = "".join(list(pages.status(st.status(), {}, "x")))
    assert "lan connecting (secondary)" in page
