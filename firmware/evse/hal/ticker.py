# The safety tick's time source on a board (docs/design-notes.md, "The safety
# tick"): a periodic machine.Timer whose callback only asks
# micropython.schedule to run the tick. A scheduled callback runs between two
# bytecodes of whatever Python code is running, so a long loop in the MCU
# side (a journal compaction, JSON work, a web page) cannot starve the
# safety core: it is pre-empted at most one bytecode late.
#
#   TimerTicker(timer, schedule, ticks_ms, period_ms=10)
#     timer     a machine.Timer (not started); boards/<name>/pins.py TICK_TIMER
#     schedule  micropython.schedule
#     ticks_ms  time.ticks_ms (the board clock's ticks)
#   start(fn)   fn(now_ms) every period_ms, until stop()
#   hold() / release()   a short critical section of the MCU side (a multi-
#               field update of the safety core's configuration): a tick due
#               meanwhile runs at release(), never in the middle
#
# Rules of an interrupt handler (MicroPython isr_rules): the timer callback
# and the scheduled function are bound methods made once in __init__, and
# neither allocates: no floats, no closures, no exceptions on the normal path.
# Overrun: the timer fired while the previous tick was still scheduled or
# running (a tick longer than the period, or code that kept the scheduler
# locked): that period is skipped and counted in `overruns` (the next one
# runs as usual), never queued twice.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

PERIOD_MS = const(10)

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only


class TimerTicker:
    def __init__(self, timer, schedule, ticks_ms, period_ms: int = PERIOD_MS) -> None:
        self.timer = timer
        self.period_ms = period_ms
        self._schedule = schedule
        self._ticks_ms = ticks_ms
        self._fn = None         # type: Any
        self.running = False
        self.ticks = 0          # ticks run
        self.overruns = 0       # periods skipped: the previous tick still pending/running
        self._pending = False   # scheduled, not yet run
        self._busy = False      # fn running
        self._held = 0          # hold() depth
        self._deferred = False  # a tick came while held
        # bound once: creating a bound method allocates, an IRQ must not
        self._irq_cb = self._irq
        self._run_cb = self._run

    def start(self, fn) -> None:
        self._fn = fn
        self.running = True
        t = self.timer
        t.init(mode=t.PERIODIC, period=self.period_ms, callback=self._irq_cb)

    def stop(self) -> None:
        self.running = False
        try:
            self.timer.deinit()
        except Exception:
            pass

    # ---- interrupt side ----------------------------------------------------
    def _irq(self, _t) -> None:
        if self._pending or self._busy:
            self.overruns += 1
            return
        self._pending = True
        try:
            self._schedule(self._run_cb, 0)
        except RuntimeError:            # the scheduler's queue is full
            self._pending = False
            self.overruns += 1

    def _run(self, _arg) -> None:
        self._pending = False
        if not self.running:
            return
        if self._held or self._busy:
            self._deferred = True
            return
        self._busy = True
        try:
            self._fn(self._ticks_ms())
            self.ticks += 1
        finally:
            self._busy = False

    # ---- MCU side ----------------------------------------------------------
    def hold(self) -> None:
        self._held += 1

    def release(self) -> None:
        if self._held:
            self._held -= 1
        if not self._held and self._deferred:
            self._deferred = False
            self._run(0)
