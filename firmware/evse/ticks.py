# Wrapping millisecond tick arithmetic, identical to MicroPython's
# time.ticks_add/ticks_diff (period 2**30), written out so that modules above
# the HAL never import `time`. Deadlines are compared with ticks_diff only.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_PERIOD = const(0x40000000)
_MASK = const(0x3FFFFFFF)
_HALF = const(0x20000000)


def ticks_add(t: int, delta: int) -> int:
    return (t + delta) & _MASK


def ticks_diff(a: int, b: int) -> int:
    """a - b in ms, correct across one wrap (|a - b| < 2**29)."""
    return ((a - b + _HALF) & _MASK) - _HALF


def ticks_wrap(t: int) -> int:
    return t & _MASK
