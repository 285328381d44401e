# The energy registers the controller keeps (evse.hal.register: the
# simulated meter, the S0 pulse meter): integer mWh (no single-precision
# float that stops counting past 16.8 MWh), saved before any reading is
# reported so that a power cut never leaves the register below a value the
# Central System already has, and an S0 gap after a cut reported. Both
# runtimes.
from evse.hal.fsstore import Storage
from evse.hal.register import parse_mwh, format_mwh
from evsesim.hal.sim_meter import SimMeter
from evse.metering.pulse import PulseMeter, gap_bound_wh
from evse.hal.register import SAVE_WH
from modbus_rig import Clock, Config
from session_rig import Rig, FakeCS
from support import tmpdir, raises

BIG = 16777216             # 2**24: float32 + 1.0 is itself from here on


class S0:
    def __init__(self, n: int = 0) -> None:
        self.count = n

    def s0_pulses(self) -> int:
        return self.count & 0x3FFFFFFF


class EV:
    phases = 1


class Cio:
    ev = EV()
    da = 0

    def ev_current_da(self):
        return self.da


def test_register_text_is_exact():
    assert parse_mwh("16777217.001") == 16777217001
    assert parse_mwh("12.5") == 12500 and parse_mwh("7") == 7000
    assert format_mwh(16777217001) == "16777217.001" and format_mwh(5) == "0.005"
    for bad in ("", "-1.0", "1e3", "x", "1.2.3"):
        assert raises(ValueError, parse_mwh, bad), bad


def test_pulse_meter_counts_past_16_8_mwh_exactly():
    st = Storage(tmpdir("reg"))
    st.write("s0meter1", b"16777214.000")
    clock = Clock()
    src = S0()
    m = PulseMeter(src, clock, Config(MeterPulseCount=1000), st, 0)      # 1 Wh per pulse
    for k in range(1, 6):
        src.count += 1
        clock.advance_ms(1000)
        m.update(clock.ticks_ms())
        assert m.energy_wh() == BIG - 2 + k, (k, m.energy_wh())
    m.save(clock.ticks_ms(), True)
    assert PulseMeter(S0(), clock, Config(MeterPulseCount=1000), st, 0).energy_wh() == BIG + 3
    # a pulse value that is no whole number of mWh: carried exactly
    m3 = PulseMeter(S0(), clock, Config(MeterPulseCount=3000))           # 1/3 Wh per pulse
    m3.src.count = 3000 * 7
    m3.update(clock.ticks_ms())
    assert m3.energy_wh() == 7000 and m3.mwh == 7000000


def test_simulated_meter_counts_past_16_8_mwh_exactly():
    st = Storage(tmpdir("reg"))
    st.write("meter1", b"16777216.000")
    clock = Clock()
    cio = Cio()
    m = SimMeter(cio, clock, st, 0)
    m.set_grid([250])
    cio.da = 10                                  # 1 A x 250 V = 250 W: 1 Wh in 14.4 s
    clock.advance_ms(1)
    m.update(clock.ticks_ms())                   # the meter sees the draw
    for _ in range(1440):                        # 144 s in 100 ms steps: exactly 10 Wh
        clock.advance_ms(100)
        m.update(clock.ticks_ms())
    assert m.energy_wh() == BIG + 10 and m.mwh == (BIG + 10) * 1000
    assert m.power_w() == 250.0 and m.current_a(0) == 1.0 and m.voltage_v(1) == 0.0


def tx_energies(r):
    out = []
    for a, p in r.txs():
        if a == "MeterValues":
            for mv in p["meterValue"]:
                for sv in mv["sampledValue"]:
                    if sv["measurand"] == "Energy.Active.Import.Register":
                        out.append(int(sv["value"]))
        elif a == "StartTransaction":
            out.append(p["meterStart"])
    return out


def test_no_reported_energy_exceeds_the_power_loss_meter_stop():
    # MeterValues every 5 s; the register's own save comes every 250 Wh
    # (about 80 s here): a cut 20 s in followed samples the energy rule had
    # not covered. Every reported value must be <= the PowerLoss meterStop.
    r = Rig(MeterValueSampleInterval=5)
    r.arrive(1)
    r.card("A")
    r.ev(1, "C")
    r.run(20)
    reported = tx_energies(r)
    assert len(reported) >= 5 and reported[-1] > reported[0], reported
    r2 = Rig(r.model, r.dir)                     # kill -9: nothing saved at the end
    (stop,) = r2.stops()
    assert stop["reason"] == "PowerLoss"
    assert max(reported) <= stop["meterStop"], (reported, stop)
    # the saves came with the reports, not more often than they
    assert r.st.meters[0].saves <= len(reported) + 4


def test_s0_gap_after_a_power_cut_is_reported():
    r = Rig(MeterType=3, MeterPulseCount=1000)
    r.arrive(1)
    r.card("A")
    r.ev(1, "C")
    r.run(30)
    assert r.energy() > 50
    r2 = Rig(r.model, r.dir)                     # kill -9 while pulses came
    st = r2.st
    fields = st.status_report.fields(1)
    # less than SAVE_WH (250 Wh; 16 A x 3 x 253 V for SAVE_MAX_MS is more),
    # plus a pulse, plus the step
    assert fields == ("OtherError", "S0EnergyGap", "power cut: <=252 Wh not counted"), fields
    assert any("S0 meter power cut" in e for e in st.error_log.lines()), st.error_log.lines()
    # reported once: a clean restart after it is quiet
    r3 = Rig(r.model, r.dir)
    assert r3.st.status_report.fields(1)[0] == "NoError"


def test_s0_clean_stop_reports_no_gap():
    r = Rig(MeterType=3, MeterPulseCount=1000)
    r.arrive(1)
    r.card("A")
    r.ev(1, "C")
    r.run(30)
    r2 = r.reboot()
    assert r2.st.status_report.fields(1)[0] == "NoError"


# ---- integer energy end to end: past 2**24 Wh and at 30 MWh ---------------------------

def _charged_session(register: str, start_wh: int, **cfg):
    """A station whose meter register starts at start_wh, online with a fake
    Central System: a session at 6 A x 3 phases x 230 V (4140 W: 69 Wh a
    minute, an odd number: a float32 register, 2 Wh a step at 30 MWh, could
    not show it) with MeterValues every minute, stopped after an hour."""
    d = tmpdir("reg")
    Storage(d).write(register, (format_mwh(start_wh * 1000)).encode())
    r = Rig("sscu", d, MeterValueSampleInterval=60, HeartBeatInterval=0, **cfg)
    r.online(FakeCS())
    r.arrive(1)
    r.card("A")
    r.cio(1).set_ev("C", 6, 3, True)
    r.run(3600)
    r.ev(1, "B")
    r.card("A")                          # the same card stops it
    r.run(5)
    return r


def _check_exact(r, start_wh: int):
    (start,) = r.calls("StartTransaction")
    (stop,) = r.calls("StopTransaction")
    m0 = start["meterStart"]
    m1 = stop["meterStop"]
    assert type(m0) is int and type(m1) is int
    assert start_wh <= m0 < start_wh + 10, (start_wh, m0)
    # an hour at 4140 W (give or take the contactor's moments)
    assert 4100 <= m1 - m0 <= 4141, (m0, m1)
    vals = []
    for p in r.calls("MeterValues"):
        for mv in p["meterValue"]:
            for sv in mv["sampledValue"]:
                if sv["measurand"] == "Energy.Active.Import.Register":
                    assert "." not in sv["value"] and "e" not in sv["value"], sv
                    vals.append(int(sv["value"]))
    steps = [vals[i + 1] - vals[i] for i in range(len(vals) - 1)]
    assert len(steps) >= 50 and steps.count(69) >= 50, steps     # every Wh, to the Wh
    assert m0 <= vals[0] and vals[-1] <= m1
    # the register, the status and the Central System agree, in whole Wh
    e = r.st.meters[0].energy_wh()
    st = r.st.status()["connectors"][0]["energy_wh"]
    assert type(e) is int and type(st) is int and e == st == m1, (e, st, m1)
    # what the register keeps on storage after a power cut (kill -9 now)
    r2 = Rig("sscu", r.dir)
    assert r2.st.meters[0].energy_wh() == m1


def test_simulated_meter_at_16_8_and_30_mwh_counts_every_wh_to_meter_stop():
    for start in (BIG, 30000000):
        r = _charged_session("meter1", start)
        _check_exact(r, start)


def test_s0_meter_at_16_8_and_30_mwh_counts_every_wh_to_meter_stop():
    for start in (BIG, 30000000):
        r = _charged_session("s0meter1", start, MeterType=3, MeterPulseCount=1000)
        _check_exact(r, start)


def test_website_shows_whole_wh_at_30_mwh():
    from evse.web.pages import status as page
    r = _charged_session("meter1", 30000000)
    html = "".join(page(r.st.status(), {}, "x"))
    e = r.st.meters[0].energy_wh()
    assert ('<td id="c1-energy">%d Wh</td>' % e) in html and ("%d.0" % e) not in html, html


# ---- register saves: by energy, not every 10 s -----------------------------------------

def test_simulated_meter_saves_four_times_per_charged_kwh():
    st = Storage(tmpdir("reg"))
    clock = Clock()
    cio = Cio()
    m = SimMeter(cio, clock, st, 0)
    cio.da = 320                                   # 32 A on one phase, 230 V: 7360 W
    m.update(clock.ticks_ms())
    t = 0
    while m.energy_wh() < 10000:                   # 10 kWh in board-like 100 ms steps
        clock.advance_ms(100)
        t += 100
        m.update(clock.ticks_ms())
    kwh = m.energy_wh() // 1000
    # 4 per kWh (the 40th at 10 kWh + a step): not one per 10 s (489)
    assert kwh * 1000 // SAVE_WH - 1 <= m.saves <= kwh * 1000 // SAVE_WH, (m.saves, kwh)
    # never more than SAVE_WH behind the register in RAM
    assert m.mwh - parse_mwh(st.read("meter1").decode()) < SAVE_WH * 1000
    # slow charging: a change is saved within 15 min even below SAVE_WH
    cio.da = 1                                     # 0.1 A x 230 V = 23 W: 5.75 Wh per 15 min
    m.update(clock.ticks_ms())
    n = m.saves
    for _ in range(9000):                          # 15 min
        clock.advance_ms(100)
        m.update(clock.ticks_ms())
    assert m.saves == n + 1, (m.saves, n)


def test_station_register_saves_per_kwh_with_virtual_time():
    # no MeterValues: only the register's own rule saves; the deadline jumps
    # of the virtual clock still save every SAVE_WH
    for cfg in ({}, {"MeterType": 3, "MeterPulseCount": 1000}):
        r = Rig("sscu", MeterValueSampleInterval=0, ClockAlignedDataInterval=0, **cfg)
        r.arrive(1)
        r.card("A")
        r.ev(1, "C")
        m = r.st.meters[0]
        n0 = m.saves
        e0 = m.energy_wh()
        r.run(3600)                                # 16 A x 3 x 230 V: 11.04 kWh
        wh = m.energy_wh() - e0
        saves = m.saves - n0
        assert 11000 <= wh <= 11041, wh
        assert wh // SAVE_WH - 1 <= saves <= wh // SAVE_WH + 1, (cfg, saves, wh)   # 44


def test_s0_gap_after_a_kill_at_any_moment_is_within_the_reported_bound():
    for secs in (7, 45, 74, 75, 200, 613, 1800):
        r = Rig(MeterType=3, MeterPulseCount=1000)
        r.arrive(1)
        r.card("A")
        r.ev(1, "C")
        r.run(secs)
        # the cut comes before the station's next step (at its deadline at
        # the latest): the pulses in between were never seen
        d = r.st.next_deadline_ms()
        r.clock.advance_ms(max(0, d - 1))
        m = r.st.meters[0]
        true_wh = m.energy_wh() + m.src.s0_pulses() - m._n     # 1 pulse = 1 Wh
        r2 = Rig(r.model, r.dir)                              # kill -9
        kept = r2.st.meters[0].energy_wh()
        gap = gap_bound_wh(16 * 3 * 253, 1000)
        assert 0 <= true_wh - kept <= gap, (secs, true_wh, kept, gap)
        why = r2.st.status_report.fields(1)[2]
        assert why == "power cut: <=%d Wh not counted" % gap, why
