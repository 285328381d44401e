# The simulator's fault machinery, synchronously and with fakes: link
# faults (evsesim.simlink: seeded decisions, held messages in virtual time,
# disconnect after N messages) and the built-in meter's glitches (spike,
# backwards, freeze through the plausibility rule). Both runtimes.
try:
    import asyncio
except ImportError:  # pragma: no cover
    import uasyncio as asyncio  # type: ignore

from evsesim.simlink import Link, Rng, frame_head
from evsesim.hal.sim_meter import SimMeter
from evse.metering.plausible import plausible, GLITCH_RETRIES
from modbus_rig import Clock


def test_rng_is_the_same_on_every_runtime():
    r = Rng(1)
    assert [r.next() for _ in range(3)] == [270369, 67634689, 2647435461]
    assert Rng(0).next() != 0


def _decisions(seed: int) -> list:
    link = Link(Clock(), True, seed)
    link.set_dir(("out", "in"), drop=0.5, duplicate=0.25)
    out = []
    for i in range(40):
        d = "out" if i % 2 else "in"
        out.append(link.decide(d, '[2,"m%d","Heartbeat",{}]' % i)[0])
    return out


def test_same_seed_same_decisions():
    a = _decisions(5)
    assert a == _decisions(5) and a != _decisions(6)
    assert 0 in a and 1 in a and 2 in a


def test_counters_log_and_reseed():
    link = Link(Clock(), True, 3)
    link.set_dir(("out",), drop=1.0)
    assert link.decide("out", '[2,"a-1","Heartbeat",{}]')[0] == 0
    assert link.decide("in", '[3,"a-1",{}]')[0] == 1
    info = link.info()
    assert info["out"]["dropped"] == 1 and info["in"]["dropped"] == 0
    assert info["log"] == [["out", 1, "Heartbeat", "dropped", "a-1"]]
    link.reseed(3)
    assert link.info()["out"]["messages"] == 0 and link.info()["log"] == []
    assert frame_head('[3,"x",{}]') == (3, "x", None) and frame_head("nope") == (0, None, None)


def test_disconnect_after_n_messages_of_the_chosen_direction():
    link = Link(Clock(), True)
    link.disconnect_after(2, ("out",))
    assert not link.counted("in")
    assert not link.counted("out")
    assert link.counted("out")            # the 2nd: now
    assert not link.counted("out")        # once


class FakeWS:
    closed = False

    def __init__(self) -> None:
        self.sent = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, *a) -> None:
        self.closed = True


def test_latency_holds_a_message_until_virtual_time_reaches_it():
    clock = Clock()
    link = Link(clock, True)
    link.set_dir(("out",), latency_ms=3000)
    ws = FakeWS()

    async def run():
        w = link.wrap(ws)
        await w.send_text('[2,"a-1","Heartbeat",{}]')
        for _ in range(3):
            await asyncio.sleep(0)
        assert ws.sent == [] and link.next_deadline_ms() == 3000
        clock.advance_ms(2999)
        assert not link.release() and link.next_deadline_ms() == 1
        clock.advance_ms(1)
        assert link.release()
        for _ in range(5):
            await asyncio.sleep(0)
        assert ws.sent == ['[2,"a-1","Heartbeat",{}]'] and link.next_deadline_ms() == -1
        await w.close()
    asyncio.run(run())


class Cio:
    class ev:
        phases = 3
    da = 160                       # 16 A on 3 phases: 11 kW

    def ev_current_da(self):
        return self.da


def _run(m, clock, seconds):
    for _ in range(seconds):
        clock.advance_ms(1000)
        m.update(clock.ticks_ms())


def test_meter_glitches_pass_the_plausibility_rule():
    clock = Clock()
    m = SimMeter(Cio(), clock, None, 0)
    _run(m, clock, 10)
    e0 = m.energy_wh()
    assert e0 > 0 and m.ok()
    m.set_fault("meter_spike", True)     # one reading 1 MWh too high: rejected once
    _run(m, clock, 2)
    assert m.ok() and m.rejected == 1 and e0 < m.energy_wh() < e0 + 100
    m.set_fault("meter_backwards", True)
    for _ in range(GLITCH_RETRIES + 1):
        e1 = m.energy_wh()
        _run(m, clock, 1)
        assert m.energy_wh() == e1       # never below an accepted reading
    assert not m.ok() and m.info().startswith("meter 1: energy ") and "rejected" in m.info()
    m.set_fault("meter_backwards", False)
    _run(m, clock, 1)
    assert m.ok() and m.info() == "meter"
    m.set_fault("meter_freeze", True)
    f = m.energy_wh()
    _run(m, clock, 5)
    assert m.energy_wh() == f and m.ok()
    m.set_fault("meter_freeze", False)
    _run(m, clock, 3)
    assert m.energy_wh() == m.mwh // 1000 > f


def test_plausibility_rule():
    assert plausible(5, -1, -1, None, 1)
    assert not plausible(-1, -1, -1, None, 1) and not plausible(4, 5, 1000, 1000, 1)
    assert plausible(5 + 20 + 2, 5, 0, 1000, 1) and not plausible(5 + 23, 5, 0, 1000, 1)
    assert plausible(10 ** 6, 5, -1, None, 1)          # no bound without a time


def test_command_line_link_options():
    from evsesim import sim
    from support import raises
    o = sim.parse_args(["--link", "dir=out,drop=0.5,latency_ms=200", "--link", "seed=4",
                        "--link-seed", "9"])
    assert o["link_seed"] == 9
    assert o["link"] == [{"dir": "out", "drop": 0.5, "latency_ms": 200}, {"seed": 4}]
    for bad in (["--link", "dir=sideways"], ["--link", "drop=2"], ["--link", "nonsense"],
                ["--link", "disconnect=true"], ["--link-seed", "x"], ["--link", "colour=1"]):
        assert raises(sim.UsageError, sim.parse_args, bad), bad
