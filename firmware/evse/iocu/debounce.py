# Debounce of a classified reading: a new value counts only after it has been
# read in `n` consecutive samples spanning at least `ms` milliseconds.
# Used for the pilot state, PP, lock feedback, the diode test and the
# external inputs. Allocation-free.
from evse.ticks import ticks_diff


class Debounce:
    def __init__(self, n: int, ms: int, initial: int = -1) -> None:
        self.n = n
        self.ms = ms
        self.value = initial   # debounced value
        self._cand = initial
        self._cnt = 0
        self._t0 = 0

    def reset(self, value: int = -1) -> None:
        self.value = value
        self._cand = value
        self._cnt = 0

    def pending(self) -> bool:
        """A different value is being confirmed."""
        return self._cnt > 0

    def update(self, now: int, v: int) -> bool:
        """Feed one sample; True when the debounced value changed."""
        if v == self.value:
            self._cnt = 0
            self._cand = v
            return False
        if v != self._cand or self._cnt == 0:
            self._cand = v
            self._cnt = 1
            self._t0 = now
        else:
            self._cnt += 1
        if self._cnt >= self.n and ticks_diff(now, self._t0) >= self.ms:
            self.value = v
            self._cnt = 0
            return True
        return False
