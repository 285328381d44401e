# The simulator's Board: clock, storage, network and simulated I/O, for CPython
# and the MicroPython Unix port. This module (with sim_io) is the only HAL
# implementation that differs from a board's (boards/*/hal_board.py).
import time

from evse.clock import VirtualClock
from evse.hal.fsstore import Storage
from evse.ticks import ticks_wrap


class RealClock:
    """Wall-clock time of the host. ticks wrap like MicroPython's."""

    def __init__(self) -> None:
        self._off = 0

    def ticks_ms(self) -> int:
        if hasattr(time, "ticks_ms"):
            return time.ticks_ms()  # type: ignore[attr-defined]
        return ticks_wrap(int(time.monotonic() * 1000))

    def now(self) -> int:
        return int(time.time()) + self._off

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self._off * 1000

    def set_utc(self, epoch_s: int) -> None:
        self._off = epoch_s - int(time.time())

    def advance_ms(self, ms: int) -> None:
        raise ValueError("advance needs --clock virtual")


class SimBoard:
    """Everything the firmware needs from the outside world, simulated."""

    def __init__(self, n_connectors: int, state_dir: str, virtual: bool) -> None:
        self.virtual = virtual
        self.clock = VirtualClock() if virtual else RealClock()
        self.storage = Storage(state_dir)
        from evse.hal import sim_io
        self.io = sim_io.SimStationIO(self.clock)
        self.connectors = [sim_io.SimConnectorIO(self.clock) for i in range(n_connectors)]
        self.net = None
        try:
            from evse.hal.net import Net
            self.net = Net()
        except ImportError:
            pass

    def random_bytes(self, n: int) -> bytes:
        try:
            import os
            return os.urandom(n)
        except (ImportError, AttributeError):
            import random
            return bytes(random.getrandbits(8) for _ in range(n))
