# The simulator's RS485 bus: the HAL's RS485 port (write / readinto / any,
# see evse/hal/__init__.py) carried over TCP, so that two (or more)
# simulator processes share one bus (docs/simulator.md, option --rs485).
#
#   TcpBus("listen:HOST:PORT")   this process is the bus hub: it accepts any
#                                number of peers
#   TcpBus("connect:HOST:PORT")  join the hub; reconnects every RECONNECT_S
#
# Bus semantics: every byte one node writes reaches every other node, in
# order, never the writer itself (the hub relays between its peers). A node
# writing while nobody else is on the bus loses the bytes, as on a real bus
# without listeners. Received bytes wait in a bounded FIFO (RX_MAX, like a
# UART's): an overflow drops the new bytes and counts `overruns`. The
# synchronous side (the link core) never waits; tasks started by start()
# move the bytes, and wait_data() lets the simulator run the station when
# bytes arrive (virtual clock). Which side listens is independent of the
# master/slave role; by convention the master listens.
import sys

from evse.aio import asyncio

RX_MAX = 4096
RECONNECT_S = 0.2


def parse_spec(spec: str):
    """'listen:HOST:PORT' | 'connect:HOST:PORT' -> (mode, host, port);
    ValueError with the reason otherwise."""
    if type(spec) is not str or ":" not in spec:
        raise ValueError("--rs485 must be listen:HOST:PORT or connect:HOST:PORT")
    mode, rest = spec.split(":", 1)
    if mode not in ("listen", "connect") or ":" not in rest:
        raise ValueError("--rs485 must be listen:HOST:PORT or connect:HOST:PORT")
    host, port_s = rest.rsplit(":", 1)
    try:
        port = int(port_s)
    except ValueError:
        raise ValueError("--rs485 port must be a number")
    if not host or not (0 < port < 65536):
        raise ValueError("--rs485 needs a host and a port 1..65535")
    return mode, host, port


class TcpBus:
    def __init__(self, spec: str) -> None:
        self.mode, self.host, self.port = parse_spec(spec)
        self._rx = bytearray()
        self._peers = []            # type: list  # asyncio stream writers
        self._tasks = []            # type: list
        self._server = None         # type: object
        self._data = None           # type: object  # asyncio.Event, made in start()
        self._out = None            # type: object
        self._running = False
        self._active = 0            # peer handlers still running
        self.overruns = 0
        self.rx_bytes = 0
        self.tx_bytes = 0

    # ---- the HAL port (synchronous) -------------------------------------------------
    def write(self, buf) -> int:
        data = bytes(buf)
        self.tx_bytes += len(data)
        self._send(data, None)
        return len(data)

    def readinto(self, buf) -> int:
        n = min(len(buf), len(self._rx))
        if n:
            buf[0:n] = self._rx[0:n]
            self._rx[0:n] = b""
        return n

    def any(self) -> int:
        return len(self._rx)

    def connected(self) -> bool:
        """Somebody else is on the bus."""
        return bool(self._peers)

    # ---- async shell -----------------------------------------------------------------
    async def start(self) -> None:
        if self._running:
            return                                   # already up (a station reboot)
        self._running = True
        self._data = asyncio.Event()
        self._out = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._drain_loop()))
        if self.mode == "listen":
            self._server = await asyncio.start_server(self._peer, self.host, self.port)
        else:
            self._tasks.append(asyncio.create_task(self._connect_loop()))

    async def stop(self) -> None:
        self._running = False
        for t in self._tasks:
            try:
                t.cancel()
            except Exception:
                pass
        self._tasks = []
        peers, self._peers = self._peers, []
        for w in peers:
            try:
                w.close()
                await w.wait_closed()                # MicroPython closes the socket here
            except Exception:
                pass
        srv = self._server
        if srv is not None:
            self._server = None
            srv.close()                              # type: ignore[attr-defined]
            try:
                await srv.wait_closed()              # type: ignore[attr-defined]
            except AttributeError:
                pass
        for _ in range(50):                          # let the peer handlers see EOF
            if not self._active:
                break
            await asyncio.sleep(0.01)

    async def wait_data(self) -> None:
        """Until bytes have arrived since the last call."""
        ev = self._data
        await ev.wait()                              # type: ignore[attr-defined]
        ev.clear()                                   # type: ignore[attr-defined]

    def _send(self, data: bytes, skip) -> None:
        for w in self._peers:
            if w is skip:
                continue
            try:
                w.write(data)
            except Exception:
                pass
        if self._out is not None:
            self._out.set()                          # type: ignore[attr-defined]

    async def _drain_loop(self) -> None:
        ev = self._out
        while self._running:
            await ev.wait()                          # type: ignore[attr-defined]
            ev.clear()                               # type: ignore[attr-defined]
            for w in list(self._peers):
                try:
                    await w.drain()
                except Exception:
                    pass

    async def _peer(self, reader, writer) -> None:
        self._peers.append(writer)
        self._active += 1
        try:
            await self._pump(reader, writer)
        except Exception as e:  # a peer going away must not stop the bus
            if hasattr(sys, "print_exception") and self._running and not isinstance(e, OSError):
                sys.print_exception(e)  # type: ignore[attr-defined]
        finally:                # also when cancelled (stop())
            self._active -= 1
            if writer in self._peers:
                self._peers.remove(writer)
            try:
                writer.close()
            except Exception:
                pass
        try:
            await writer.wait_closed()
        except Exception:
            pass

    async def _pump(self, reader, writer) -> None:
        while self._running:
            data = await reader.read(256)
            if not data:
                return
            self.rx_bytes += len(data)
            if len(self._rx) + len(data) > RX_MAX:
                self.overruns += 1
            else:
                self._rx.extend(data)
            if self.mode == "listen":
                self._send(data, writer)          # the hub relays to the others
            self._data.set()                     # type: ignore[attr-defined]

    async def _connect_loop(self) -> None:
        while self._running:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(RECONNECT_S)
                continue
            await self._peer(reader, writer)
            if self._running:
                await asyncio.sleep(RECONNECT_S)
