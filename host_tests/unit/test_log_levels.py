# Levelled logging (evse.services.log): error, warn, info, debug lines; the
# console (a board's REPL console, the simulator's stdout) prints those at or
# above the level of the LogLevel key or the simulator's --log-level, in the
# same form as the website's Log page and a diagnostics upload show them.
from evse.clock import iso8601
from evsesim.hal.simclock import VirtualClock
from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.services import log as LG
from evse.station import Station
from support import tmpdir


class Console:
    def __init__(self) -> None:
        self.lines = []

    def __enter__(self):
        self.saved = LG.console()
        LG.print = self.print       # the module's print, as the Unix port resolves it too
        return self

    def print(self, line) -> None:
        self.lines.append(line)

    def __exit__(self, *exc):
        del LG.print
        LG.set_console(self.saved)
        return False


def test_levels_on_the_console_and_in_the_ring():
    clock = VirtualClock(epoch_s=1000000)
    log = LG.Log(clock, 8)
    with Console() as out:
        LG.set_console(LG.WARN)
        log.error("e1")
        log.warn("w1")
        log.info("i1")
        log.debug("d1")
        t = iso8601(1000000)
        assert out.lines == [t + " ERROR e1", t + " WARN w1"]
        # the ring keeps error, warn and info whatever the console's level; debug never
        assert log.lines() == [t + " ERROR e1", t + " WARN w1", t + " INFO i1"]
        LG.set_console(LG.DEBUG)
        log.debug("d2")
        log.add("i2")
        assert out.lines[2:] == [t + " DEBUG d2", t + " INFO i2"] and len(log) == 4
        LG.set_console(LG.level_of("off"))
        log.error("e2")
        assert len(out.lines) == 4 and log.lines()[-1] == t + " ERROR e2"
    assert [LG.level_of(n) for n in ("off", "error", "warn", "info", "debug", "x")] == [-1, 0, 1, 2, 3, -1]


def test_loglevel_key_and_the_boards_level():
    with Console() as out:
        b = SimBoard(1, tmpdir("loglevel"), True)
        c = Config(b.storage, model="sscu")
        st = Station(b, c, "sscu")
        assert LG.console() == LG.WARN          # the key's default
        st.error_log.add("config: broken")      # the error history's lines are errors
        assert out.lines[-1].endswith(" ERROR config: broken")
        assert c.change("LogLevel", "info") == "Accepted" and LG.console() == LG.INFO
        st.log.add("web: login from x")
        assert out.lines[-1].endswith(" INFO web: login from x")
        assert c.change("LogLevel", "loud") == "Rejected" and LG.console() == LG.INFO
        # the simulator's --log-level is the board's: the key does not move it
        b2 = SimBoard(1, tmpdir("loglevel2"), True)
        b2.log_level = "error"
        c2 = Config(b2.storage, model="sscu")
        Station(b2, c2, "sscu")
        assert LG.console() == LG.ERROR
        c2.change("LogLevel", "debug")
        assert LG.console() == LG.ERROR


def test_sim_log_level_option():
    from evsesim import sim
    from support import raises
    assert sim.parse_args(["--log-level", "debug"])["log_level"] == "debug"
    assert sim.parse_args([])["log_level"] is None
    raises(sim.UsageError, sim.parse_args, ["--log-level", "loud"])
