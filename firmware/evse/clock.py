# The one clock of the firmware (docs/architecture.md, time).
#   ticks_ms()  monotonic milliseconds, wrapping like MicroPython's ticks (2**30)
#   now()       UTC seconds since 1970-01-01 (OCPP timestamps)
#   wait_ms(ms, ev, task)  wait ms of this clock's time, or until the event
#               ev (None: none) is set; True when ev was set
#   real_ms(ms) real milliseconds to wait for a deadline ms away
# Time comes in from outside: the firmware never asks which clock it has, it
# waits through the clock. A running clock (RunningClock: the board's, the
# host's) waits in real time; the simulator's VirtualClock (evsesim.hal.simclock,
# not frozen into a board) moves only when told (--clock virtual, unit
# tests), so its waits last until it has been moved. The real clocks live in
# the HAL (evsesim.hal.sim.RealClock, machine_hal).
from evse.aio import asyncio, sleep_ms


async def wait_event_ms(ev, ms: int) -> bool:
    """Wait for the asyncio event at most ms of real time; True when set."""
    try:
        await asyncio.wait_for_ms(ev.wait(), ms)  # type: ignore[attr-defined]
    except AttributeError:
        try:
            await asyncio.wait_for(ev.wait(), ms / 1000)
        except asyncio.TimeoutError:
            return False
    except asyncio.TimeoutError:
        return False
    return True


class RunningClock:
    """What a clock that runs by itself does to wait: real time."""

    async def wait_ms(self, ms: int, ev=None, task=None) -> bool:
        if ev is None:
            await sleep_ms(ms)
            return False
        return await wait_event_ms(ev, ms)

    def real_ms(self, ms: int) -> int:
        return ms

def iso8601(epoch_s: int) -> str:
    """UTC seconds -> 'YYYY-MM-DDTHH:MM:SSZ' without the datetime module."""
    days, rem = divmod(int(epoch_s), 86400)
    hh, rem = divmod(rem, 3600)
    mi, ss = divmod(rem, 60)
    # civil-from-days (H. Hinnant), proleptic Gregorian
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, hh, mi, ss)


def parse_iso8601(s: str) -> int:
    """'YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]' -> UTC seconds. ValueError if malformed."""
    if len(s) < 19 or s[4] != "-" or s[7] != "-" or s[10] not in "Tt " or s[13] != ":" or s[16] != ":":
        raise ValueError("bad timestamp")
    y = int(s[0:4])
    m = int(s[5:7])
    d = int(s[8:10])
    hh = int(s[11:13])
    mi = int(s[14:16])
    ss = int(s[17:19])
    if not (1 <= m <= 12 and 1 <= d <= 31 and hh < 24 and mi < 60 and ss < 61):
        raise ValueError("bad timestamp")
    rest = s[19:]
    if rest.startswith("."):
        i = 1
        while i < len(rest) and rest[i] in "0123456789":
            i += 1
        rest = rest[i:]
    off = 0
    if rest in ("", "Z", "z"):
        off = 0
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
        off = (int(rest[1:3]) * 60 + int(rest[4:6])) * 60
        if rest[0] == "-":
            off = -off
    else:
        raise ValueError("bad timestamp")
    # days-from-civil
    yy = y - 1 if m <= 2 else y
    era = yy // 400
    yoe = yy - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + hh * 3600 + mi * 60 + ss - off
