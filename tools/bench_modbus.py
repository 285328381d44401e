# `make bench` part 5: the Modbus efficiency. One full 3-phase reading of an
# Eastron SDM630 (MeterType 4: 3 requests, V/A, W, Hz+kWh) at 9600 baud 8N1
# through a simulated UART that paces bytes at the baud rate (a byte is
# readable only once its 10 bits have crossed the wire; the slave answers
# 3.5 character times after the request's last byte), timed in real time
# against the wire-time bound: the bytes on the wire x 10 bits / baud plus
# the 3.5-character silences between the frames. The meter is driven as the
# station drives it: update(now), then sleep until next_deadline_ms but at
# most 1 ms or 10 ms (the driver's own efficiency), and, for comparison, a
# fixed 10 ms sleep whatever the deadline (the board's MCU loop today,
# evse.mcu.TICK_MS: a reply is seen up to a tick late). Runs on the
# MicroPython Unix port and on CPython:
#
#   MICROPYPATH=firmware:host_tests/unit micropython tools/bench_modbus.py
import sys
import time

try:
    ticks_us = time.ticks_us        # type: ignore[attr-defined]
    ticks_diff = time.ticks_diff    # type: ignore[attr-defined]
    sleep_us = time.sleep_us        # type: ignore[attr-defined]
except AttributeError:              # CPython
    def ticks_us() -> int:
        return time.perf_counter_ns() // 1000

    def ticks_diff(a: int, b: int) -> int:
        return a - b

    def sleep_us(us: int) -> None:
        time.sleep(us / 1e6)

from evse.metering import regmap                      # noqa: E402
from evse.metering.modbus_meter import ModbusMeter    # noqa: E402
from evse.metering.rtu import RtuMaster               # noqa: E402
from modbus_rig import Slave                          # noqa: E402

BAUD = 9600
CHAR_US = 10 * 1000000 // BAUD        # 8N1: start + 8 + stop
SILENCE_US = 35 * CHAR_US // 10       # 3.5 characters


class RealClock:
    def ticks_ms(self) -> int:
        return (ticks_us() // 1000) & 0x3FFFFFFF


class PacedUart:
    """The HAL RS485 port of a slave behind a 9600-baud line."""

    def __init__(self, slave) -> None:
        self.slave = slave
        self.reply = b""
        self.t0 = 0               # when the reply's first bit goes on the line
        self.taken = 0
        self.line_free = ticks_us()
        self.frames = 0
        self.chars = 0
        self.first = None
        self.last_end = 0         # the last reply byte's end
        self.short_gaps = 0       # requests sent less than 3.5 characters after a reply

    def write(self, buf) -> int:
        data = bytes(buf)
        now = ticks_us()
        if self.frames and ticks_diff(now, self.last_end) < SILENCE_US:
            self.short_gaps += 1
        start = now if ticks_diff(now, self.line_free) >= 0 else self.line_free
        if self.first is None:
            self.first = start
        end = start + len(data) * CHAR_US
        self.reply = self.slave.answer(data)
        self.t0 = end + SILENCE_US
        self.taken = 0
        self.frames += 2 if self.reply else 1
        self.chars += len(data) + len(self.reply)
        self.last_end = self.t0 + len(self.reply) * CHAR_US
        self.line_free = self.last_end
        return len(data)

    def any(self) -> int:
        arrived = ticks_diff(ticks_us(), self.t0) // CHAR_US
        if arrived < 0:
            return 0
        return min(arrived, len(self.reply)) - self.taken

    def readinto(self, buf) -> int:
        n = min(len(buf), self.any())
        if n <= 0:
            return 0
        buf[0:n] = self.reply[self.taken:self.taken + n]
        self.taken += n
        return n


def sdm630() -> Slave:
    s = Slave()
    for k in range(3):
        s.put(1, 4, 2 * k, "f32", 230.0 + k)
        s.put(1, 4, 6 + 2 * k, "f32", 16.0 + k)
    s.put(1, 4, 0x34, "f32", 11040.0)
    s.put(1, 4, 0x46, "f32", 50.0)
    s.put(1, 4, 0x48, "f32", 12345.6)
    return s


def one_reading(tick_ms: int, fixed: bool = False):
    """(measured us, bound us, requests, short gaps) of one full reading."""
    port = PacedUart(sdm630())
    clock = RealClock()
    master = RtuMaster(port, char_us=CHAR_US)
    m = ModbusMeter(master, 1, regmap.spec(4), clock)
    done = None
    while done is None:
        now = clock.ticks_ms()
        m.update(now)
        if m.cycles:
            done = ticks_us()
            break
        d = m.next_deadline_ms(now)
        if d < 0 or d > tick_ms or fixed:
            d = tick_ms
        wake = ticks_us() + (d * 1000 if d > 0 else 200)
        while ticks_diff(wake, ticks_us()) > 0:
            sleep_us(100)
    assert m.ok(), m.info()
    measured = ticks_diff(done, port.first)
    bound = port.chars * CHAR_US + (port.frames - 1) * SILENCE_US
    return measured, bound, master.requests, port.short_gaps


def main() -> None:
    print("   SDM630 (MeterType 4), 9600 baud 8N1, best of 5 readings:")
    for tick, fixed in ((1, False), (10, False), (10, True)):
        best = None
        for _ in range(5):
            r = one_reading(tick, fixed)
            if best is None or r[0] < best[0]:
                best = r
        assert best is not None
        measured, bound, reqs, short = best
        print("   %-33s %.1f ms for %d requests, wire-time bound %.1f ms, ratio %.2f%s"
              % (("a fixed %d ms tick:" if fixed else "to the deadline, at most %d ms:") % tick,
                 measured / 1000, reqs, bound / 1000, measured / bound,
                 "" if not short else "  (%d requests inside the 3.5-character silence)" % short))


if __name__ == "__main__":
    main()
    sys.exit(0)
