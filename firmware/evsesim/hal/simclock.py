# The simulator's clock (--clock virtual) and the unit tests': virtual time
# that moves only when told (advance_ms), with the waits of evse.clock's
# interface (docs/architecture.md, time). Not frozen into a board image
# (boards/sim_manifest.py): a board's clock is evse.hal.machine_hal.BoardClock.
from evse.aio import asyncio
from evse.ticks import ticks_wrap, ticks_diff

VIRTUAL_LOOK_MS = 1000   # a virtual deadline is looked at again after this much real time
DEFAULT_EPOCH = 1767225600  # 2026-01-01T00:00:00Z


class VirtualClock:
    def __init__(self, epoch_s: int = DEFAULT_EPOCH, ticks: int = 0) -> None:
        self._ms = 0          # virtual milliseconds since creation (not wrapped)
        self._t0 = ticks
        self._epoch_ms = epoch_s * 1000
        self._synced = False
        self._s = 0           # now()'s second and the virtual ms it spans
        self._s_lo = 0
        self._s_hi = -1
        # True: take every currentTime, backwards too, as a board's clock
        # does (unit tests of wall-clock code); the simulator keeps False
        self.follow_csms = False

    def ticks_ms(self) -> int:
        return ticks_wrap(self._t0 + self._ms)

    def now(self) -> int:
        # the same int object for the whole second: on a 32-bit port UTC
        # seconds since 1970 are a long int, and the MCU step asks often
        ms = self._ms
        if self._s_lo <= ms < self._s_hi:
            return self._s
        t = self._epoch_ms + ms
        s = self._s = t // 1000
        self._s_lo = ms - t % 1000      # the virtual ms this second began at
        self._s_hi = self._s_lo + 1000
        return s

    def now_ms(self) -> int:
        return self._epoch_ms + self._ms

    def advance_ms(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("time runs forward")
        self._ms += ms

    def set_utc(self, epoch_s: int) -> None:
        """Time from the Central System (BootNotification/Heartbeat
        currentTime). Virtual time belongs to the simulation: the first time
        received is taken as the starting point when it is later than the
        clock, and every later one is ignored, so a Central System answering
        real wall-clock time never moves the clock backwards nor undoes an
        `advance` (docs/simulator.md)."""
        self._s_hi = -1       # now() computes again
        if self.follow_csms:
            self._epoch_ms = epoch_s * 1000 - self._ms
            return
        if self._synced:
            return
        self._synced = True
        ms = epoch_s * 1000 - self._ms
        if ms > self._epoch_ms:
            self._epoch_ms = ms

    async def wait_ms(self, ms: int, ev=None, task=None) -> bool:
        """Until this clock has been moved on by ms (whoever drives it moves
        it), or task.running goes False. The event is not waited for: what
        it announces is looked at when the clock has moved."""
        start = self.ticks_ms()
        while True:
            # always yield at least once: callers loop on this (keepalive),
            # and a return without yielding once running went False spun
            # the whole event loop (shutdown hung)
            await asyncio.sleep(0.005)
            if (task is not None and not task.running) or ticks_diff(self.ticks_ms(), start) >= ms:
                return False

    def real_ms(self, ms: int) -> int:
        # the clock moves only when told: nothing comes due in real time,
        # but look again now and then
        return VIRTUAL_LOOK_MS
