# The energy registers the controller keeps (evse.hal.register: the
# simulated meter, the S0 pulse meter): integer mWh (no single-precision
# float that stops counting past 16.8 MWh), saved before any reading is
# reported so that a power cut never leaves the register below a value the
# Central System already has, and an S0 gap after a cut reported. Both
# runtimes.
from evse.hal.fsstore import Storage
from evse.hal.register import parse_mwh, format_mwh
from evse.hal.sim_meter import SimMeter
from evse.metering.pulse import PulseMeter
from modbus_rig import Clock, Config
from session_rig import Rig
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
    # MeterValues every 5 s; the register's own save comes every 10 s at
    # most: a cut 20 s in followed a sample the periodic save had not
    # covered. Every reported value must be <= the PowerLoss meterStop.
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
    fields = st._status_fields(1)
    # 16 A x 3 phases x 253 V (OverVoltageLimit) for 10 s, plus a pulse
    assert fields == ("OtherError", "S0EnergyGap", "power cut: <=35 Wh not counted"), fields
    assert any("S0 meter power cut" in e for e in st.error_log.lines()), st.error_log.lines()
    # reported once: a clean restart after it is quiet
    r3 = Rig(r.model, r.dir)
    assert r3.st._status_fields(1)[0] == "NoError"


def test_s0_clean_stop_reports_no_gap():
    r = Rig(MeterType=3, MeterPulseCount=1000)
    r.arrive(1)
    r.card("A")
    r.ev(1, "C")
    r.run(30)
    r2 = r.reboot()
    assert r2.st._status_fields(1)[0] == "NoError"
