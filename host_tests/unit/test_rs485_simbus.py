# The simulator's RS485 bus over TCP loopback (evsesim.hal.sim_rs485.TcpBus):
# option parsing, and a hub with two peers: every byte reaches every other
# node, never its writer; a node alone on the bus loses what it writes; a
# peer reconnects after the hub restarts.
import support

from evsesim.hal import sim_rs485 as B

try:
    import asyncio
except ImportError:  # pragma: no cover
    import uasyncio as asyncio  # type: ignore


def test_parse_spec():
    assert B.parse_spec("listen:127.0.0.1:7100") == ("listen", "127.0.0.1", 7100)
    assert B.parse_spec("connect:localhost:1") == ("connect", "localhost", 1)
    for bad in ("", "listen", "listen:7100", "serve:h:1", "connect:h:x", "connect::5",
                "listen:h:0", "listen:h:70000"):
        support.raises(ValueError, B.parse_spec, bad)


def _port():
    import random
    return 20000 + random.getrandbits(15)          # the Unix port has no getsockname


async def _until(fn, ms=3000):
    t = 0
    while not fn():
        await asyncio.sleep(0.01)
        t += 10
        if t > ms:
            raise AssertionError("timed out")


def _read(bus) -> bytes:
    buf = bytearray(64)
    out = b""
    while bus.any():
        n = bus.readinto(buf)
        out += bytes(buf[:n])
    return out


async def _hub_and_peers(port):
    hub = B.TcpBus("listen:127.0.0.1:%d" % port)
    a = B.TcpBus("connect:127.0.0.1:%d" % port)
    b = B.TcpBus("connect:127.0.0.1:%d" % port)
    assert hub.write(b"lost") == 4                  # nobody listens yet
    try:
        await hub.start()
    except OSError:
        return False                                # port taken: try another
    await a.start()
    await b.start()
    try:
        await _until(lambda: len(hub._peers) == 2 and a.connected() and b.connected())
        a.write(b"\x7e\x02from-a")
        await _until(lambda: hub.any() >= 8 and b.any() >= 8)
        assert _read(hub) == b"\x7e\x02from-a"
        assert _read(b) == b"\x7e\x02from-a"
        assert a.any() == 0                         # never back to the writer
        hub.write(bytearray(b"hub"))
        await _until(lambda: a.any() >= 3 and b.any() >= 3)
        assert _read(a) == b"hub" and _read(b) == b"hub"
        # wait_data returns once bytes came
        b.write(b"x")
        await asyncio.wait_for(a.wait_data(), 3)
        await _until(lambda: a.any() >= 1 and hub.any() >= 1)
        assert _read(a) == b"x" and _read(hub) == b"x"
        # the hub goes away and comes back: the peers reconnect
        await hub.stop()
        await _until(lambda: not a.connected() and not b.connected())
        await hub.start()
        await _until(lambda: a.connected() and len(hub._peers) == 2)
        a.write(b"again")
        await _until(lambda: hub.any() >= 5)
        assert _read(hub) == b"again"
        await hub.start()                           # idempotent
    finally:
        for x in (a, b, hub):
            await x.stop()
    return True


def test_hub_relays_between_peers():
    for _ in range(5):
        if asyncio.run(_hub_and_peers(_port())):
            return
    raise AssertionError("no free port")


def test_simulator_option():
    from evsesim.sim import UsageError, parse_args
    assert parse_args([])["rs485"] is None
    assert parse_args(["--rs485", "listen:127.0.0.1:7485"])["rs485"] == "listen:127.0.0.1:7485"
    assert parse_args(["--rs485=connect:127.0.0.1:7485"])["rs485"] == "connect:127.0.0.1:7485"
    e = support.raises(UsageError, parse_args, ["--rs485", "127.0.0.1:7485"])
    assert "listen:HOST:PORT" in str(e)
