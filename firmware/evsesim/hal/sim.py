# The simulator's Board: clock, storage, network and simulated I/O, for CPython
# and the MicroPython Unix port. This module (with sim_io) is the only HAL
# implementation that differs from a board's (boards/*/hal_board.py).
import time

from evse.clock import RunningClock
from evsesim.hal.simclock import VirtualClock
from evse.hal.fsstore import Storage
from evse.ticks import ticks_wrap


class RealClock(RunningClock):
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


class SimNetIf:
    """The simulator's network interface: the host's, always up. Serves
    both connection types (PrimaryConnection / SecondaryConnection), so the
    station's network service (evse.services.network) runs unchanged."""
    kind = "sim"

    def start(self, settings) -> None:
        pass

    def stop(self) -> None:
        pass

    def is_up(self) -> bool:
        return True

    def addr(self) -> str:
        return "127.0.0.1"

    def rssi(self):
        return None


class SimBoard:
    """Everything the firmware needs from the outside world, simulated."""

    def __init__(self, n_connectors: int, state_dir: str, virtual: bool) -> None:
        self.virtual = virtual
        self.clock = VirtualClock() if virtual else RealClock()
        self.storage = Storage(state_dir)
        # written through to the host kernel, not fsynced: a power cut of the
        # simulator (kill -9) loses nothing (evse.hal.fsstore; --fsync on)
        self.storage.sync = False
        from evsesim.hal import sim_io
        self.io = sim_io.SimStationIO(self.clock)
        self.connectors = [sim_io.SimConnectorIO(self.clock) for i in range(n_connectors)]
        # RS485 port: evsesim.hal.sim_rs485.TcpBus (--rs485), a test bus, or None
        self.rs485 = None   # type: object
        self.web_addr = ()  # type: tuple  # (host, port) of the local management website (--web); () off
        self.log_level = ""  # the console's level over LogLevel (--log-level); "" the key's
        self.journal_bytes = 32768   # the OCPP journal's byte budget, as an STM32F4 board (--journal-bytes)
        sim_if = SimNetIf()
        self.netifs = {0: sim_if, 1: sim_if}   # evse.hal.netif contract
        self.net = None
        try:
            from evse.hal.net import Net
            self.net = Net()
        except ImportError:
            pass

    def _id(self) -> int:
        # stable per state directory (one simulated board), distinct in a fleet
        from binascii import crc32
        return crc32(str(getattr(self.storage, "root", "")).encode()) & 0xFFFFFFFF

    def builtin_meters(self, clock, storage) -> list:
        """The meters when there is no meter bus: one built-in simulated
        meter per connector, integrating the simulated EV's draw."""
        from evsesim.hal.sim_meter import SimMeter
        return [SimMeter(self.connectors[i], clock, storage, i) for i in range(len(self.connectors))]

    def meter_type_name(self) -> str:
        """BootNotification meterType when the meter names none: the
        simulated EV's energy (evsesim.hal.sim_io)."""
        return "simulated"

    def serial_number(self) -> str:
        """The controller's serial number (read-only key SerialNumber)."""
        return "SIM%08X" % self._id()

    def mac_address(self) -> str:
        """The network interface's MAC (read-only key MACAddress): a locally
        administered one (02:...) for the simulated board."""
        x = self._id()
        return "02:00:%02X:%02X:%02X:%02X" % (x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255)

    def s0_input(self, i: int, pulses_per_kwh: int):
        """S0 pulse input of connector i (MeterType 3): the simulated pulse
        meter's output, driven by the EV's draw (evsesim.hal.sim_s0)."""
        from evsesim.hal.sim_s0 import SimS0
        return SimS0(self.connectors[i], self.clock, pulses_per_kwh)

    def random_bytes(self, n: int) -> bytes:
        try:
            import os
            return os.urandom(n)
        except (ImportError, AttributeError):
            import random
            return bytes(random.getrandbits(8) for _ in range(n))
