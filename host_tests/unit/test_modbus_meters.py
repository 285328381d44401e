# Modbus meter drivers per MeterType (evse.metering.modbus_meter) against a
# strict fake slave whose register images are written from the public maps
# (addresses, types, word order and scales typed in here, not taken from the
# firmware's table); failure and recovery; the S0 pulse meter; the meter
# factory and the station's PowerMeterFailure. Both runtimes.
from evse.metering import regmap
from evse.metering.modbus_meter import ModbusMeter
from evse.metering.pulse import PulseMeter
from evse.metering.rtu import RtuMaster
from modbus_rig import Slave, Port, Clock, Config, run
from support import tmpdir, raises

V = (230.1, 231.2, 229.9)
I = (16.0, 70.123, 0.5)         # 70 A: a value above 0xFFFF raw, so word order matters
P = 11040.0
HZ = 50.0
KWH = 98765.4


def close(a, b, tol=1e-3):
    return abs(a - b) <= tol * max(1.0, abs(b))


def meter_over(slave, mtype, unit=1, period_ms=1000, **kw):
    clock = Clock()
    master = RtuMaster(Port(slave), **kw)
    return ModbusMeter(master, unit, regmap.spec(mtype), clock, period_ms), clock


def read_once(slave, mtype, unit=1):
    m, clock = meter_over(slave, mtype, unit)
    run([m], clock, 200)
    assert m.ok(), m.info()
    assert m.info() == ""
    return m


def check(m, phases=3, hz=True, v=True):
    assert close(m.energy_wh(), KWH * 1000), m.energy_wh()
    assert close(m.power_w(), P)
    for p in range(phases):
        assert close(m.current_a(p), I[p]), (p, m.current_a(p))
        if v:
            assert close(m.voltage_v(p), V[p]), (p, m.voltage_v(p))
    if hz:
        assert close(m.frequency_hz(), HZ)


def requests_within(slave, limit):
    assert slave.requests
    assert all(r[3] <= limit for r in slave.requests), slave.requests


# ---- one test per MeterType with a map --------------------------------------------------------
def fill_abb_b23(s, unit=1):
    # holding registers (03), high word first; V 0.1, A 0.01, W 0.01, kWh 0.01 (uint64), Hz 0.01
    for k in range(3):
        s.put(unit, 3, 0x5B00 + 2 * k, "u32", round(V[k] * 10))
        s.put(unit, 3, 0x5B0C + 2 * k, "u32", round(I[k] * 100))
    s.put(unit, 3, 0x5B14, "i32", round(P * 100))
    s.put(unit, 3, 0x5000, "u64", round(KWH * 100))
    s.put(unit, 3, 0x5B2C, "u16", round(HZ * 100))


def test_abb_b23():
    s = Slave()
    fill_abb_b23(s)
    check(read_once(s, 1))
    assert {r[1] for r in s.requests} == {3}


def fill_cg(s, unit, v_at, i_at, p_at, hz_at, e_at, phases=3):
    # Carlo Gavazzi: input registers (04), int32 low word first; V 0.1, A 0.001, W 0.1, kWh 0.1
    for k in range(phases):
        if v_at is not None:
            s.put(unit, 4, v_at + 2 * k, "i32", round(V[k] * 10), "CDAB")
        s.put(unit, 4, i_at + 2 * k, "i32", round(I[k] * 1000), "CDAB")
    s.put(unit, 4, p_at, "i32", round(P * 10), "CDAB")
    if hz_at is not None:
        s.put(unit, 4, hz_at, "u16", round(HZ * 10))
    s.put(unit, 4, e_at, "i32", round(KWH * 10), "CDAB")


def test_carlo_gavazzi_em24():
    s = Slave()
    s.max_regs = 6
    fill_cg(s, 1, 0x00, 0x0C, 0x28, 0x37, 0x3E)
    check(read_once(s, 2))
    requests_within(s, 6)
    assert len(s.requests) == 5           # V, I, P, Hz, kWh: nothing in between is read


def test_carlo_gavazzi_em340():
    s = Slave()
    s.max_regs = 50
    fill_cg(s, 1, 0x00, 0x0C, 0x28, 0x33, 0x34)
    check(read_once(s, 5))
    requests_within(s, 50)


def test_carlo_gavazzi_em111_single_phase():
    s = Slave()
    s.max_regs = 50
    fill_cg(s, 1, 0x00, 0x02, 0x04, 0x0F, 0x10, phases=1)
    m = read_once(s, 13)
    check(m, phases=1)
    assert m.current_a(1) == 0.0 and not m.has("Current.Import", 1) and m.has("Current.Import", 0)
    assert not m.has("Voltage", 2) and m.has("Energy.Active.Import.Register")
    requests_within(s, 50)


def test_phoenix_eem350_partial_map():
    s = Slave()
    s.max_regs = 11
    s.put(1, 4, 0, "i32", round(V[0] * 10), "CDAB")
    fill_cg(s, 1, None, 0x0C, 0x28, None, 0x3E)
    m = read_once(s, 6)
    check(m, hz=False, v=False)
    assert close(m.voltage_v(0), V[0]) and not m.has("Voltage", 1) and not m.has("Frequency")
    requests_within(s, 11)


def fill_eastron(s, unit, phases=3):
    # input registers (04), float32 high word first, kWh
    for k in range(phases):
        s.put(unit, 4, 2 * k, "f32", V[k])
        s.put(unit, 4, 6 + 2 * k, "f32", I[k])
    s.put(unit, 4, 0x34 if phases == 3 else 0x0C, "f32", P)
    s.put(unit, 4, 0x46, "f32", HZ)
    s.put(unit, 4, 0x48, "f32", KWH)


def test_eastron_sdm630():
    s = Slave()
    s.max_regs = 80
    fill_eastron(s, 1)
    check(read_once(s, 4))
    requests_within(s, 80)
    assert [r[1:] for r in s.requests] == [(4, 0, 12), (4, 0x34, 2), (4, 0x46, 4)]


def test_eastron_sdm230_single_phase():
    s = Slave()
    fill_eastron(s, 1, phases=1)
    m = read_once(s, 14)
    check(m, phases=1)
    assert not m.has("Current.Import", 2)


def test_meter_at_its_own_address():
    s = Slave()
    fill_eastron(s, 7)
    m = read_once(s, 4, unit=7)
    check(m)
    assert {r[0] for r in s.requests} == {7}


# ---- polling, failure, recovery ------------------------------------------------------------
def test_polls_every_period_and_tells_its_deadline():
    s = Slave()
    fill_eastron(s, 1)
    m, clock = meter_over(s, 4, period_ms=1000)
    run([m], clock, 50)
    assert m.ok() and len(s.requests) == 3
    assert 900 <= m.next_deadline_ms(clock.ticks_ms()) <= 1000
    s.put(1, 4, 0x48, "f32", KWH + 1.0)
    run([m], clock, 1000)
    assert len(s.requests) == 6 and close(m.energy_wh(), (KWH + 1.0) * 1000)


def test_not_ok_before_the_first_answer_but_not_failed():
    s = Slave()
    fill_eastron(s, 1)
    m, clock = meter_over(s, 4)
    # no reading yet (no MeterValues), but nothing failed: info() is empty,
    # so the station reports no PowerMeterFailure before the first cycle ends
    assert not m.ok() and m.info() == ""
    run([m], clock, 100)
    assert m.ok() and m.info() == ""
    s2 = Slave()
    s2.offline.add(1)                             # nobody answers at that address
    m2, clock2 = meter_over(s2, 4)
    run([m2], clock2, 2000)
    assert not m2.ok() and m2.info() == "Modbus 1: timeout"


def test_timeouts_make_it_fail_and_answers_recover_it():
    s = Slave()
    fill_eastron(s, 1)
    m, clock = meter_over(s, 4, timeout_ms=200, retries=2)
    run([m], clock, 100)
    assert m.ok()
    s.offline.add(1)
    run([m], clock, 3000)
    assert not m.ok() and m.info() == "Modbus 1: timeout"
    assert m.master.timeouts >= 3
    assert close(m.energy_wh(), KWH * 1000)      # the last reading stays
    s.offline.clear()
    run([m], clock, 3000)
    assert m.ok() and m.info() == ""


def test_crc_errors_make_it_fail_and_are_counted():
    s = Slave()
    fill_eastron(s, 1)
    m, clock = meter_over(s, 4)
    run([m], clock, 100)
    s.corrupt = True
    run([m], clock, 1500)
    assert not m.ok() and m.info() == "Modbus 1: CRC error"
    assert m.master.crc_errors >= 3
    s.corrupt = False
    run([m], clock, 1500)
    assert m.ok()


def test_exception_reply_fails_the_cycle():
    s = Slave()
    fill_eastron(s, 1)
    del s.regs[(1, 4)][0x49]                     # energy not readable
    m, clock = meter_over(s, 4)
    run([m], clock, 100)
    assert not m.ok() and m.info() == "Modbus 1: exception 2"
    assert m.master.resends == 0


def test_energy_not_available_is_a_failure():
    s = Slave()
    fill_abb_b23(s)
    s.put_words(1, 3, 0x5000, [0xFFFF] * 4)
    m, clock = meter_over(s, 1)
    run([m], clock, 100)
    assert not m.ok() and m.info() == "Modbus 1: no energy value" and m.invalid == 1
    # another 'not available' value keeps its previous reading
    fill_abb_b23(s)
    s.put_words(1, 3, 0x5B2C, [0xFFFF])
    run([m], clock, 1000)
    assert m.ok() and m.frequency_hz() == 0.0 and close(m.current_a(0), I[0])


def test_two_meters_share_one_bus():
    s = Slave()
    fill_eastron(s, 1)
    fill_eastron(s, 2)
    s.put(2, 4, 0x48, "f32", 5.0)
    clock = Clock()
    master = RtuMaster(Port(s))
    m1 = ModbusMeter(master, 1, regmap.spec(4), clock)
    m2 = ModbusMeter(master, 2, regmap.spec(4), clock)
    run([m1, m2], clock, 200)
    assert m1.ok() and m2.ok()
    assert close(m1.energy_wh(), KWH * 1000) and close(m2.energy_wh(), 5000.0)
    assert sorted(r[0] for r in s.requests) == [1, 1, 1, 2, 2, 2]
    s.offline.add(2)
    run([m1, m2], clock, 5000)
    assert m1.ok() and not m2.ok() and m2.info() == "Modbus 2: timeout"


def test_a_silent_meter_does_not_starve_the_others():
    s = Slave()
    fill_eastron(s, 1)
    fill_eastron(s, 2)
    s.offline.add(1)                             # first in line, and always timing out
    clock = Clock()
    master = RtuMaster(Port(s), timeout_ms=400)
    m1 = ModbusMeter(master, 1, regmap.spec(4), clock)
    m2 = ModbusMeter(master, 2, regmap.spec(4), clock)
    run([m1, m2], clock, 10000)
    assert not m1.ok() and m2.ok() and m2.cycles >= 3
    s.put(2, 4, 0x48, "f32", KWH + 7.0)
    run([m1, m2], clock, 5000)
    assert close(m2.energy_wh(), (KWH + 7.0) * 1000)


def test_simulator_controls_refused():
    s = Slave()
    m, clock = meter_over(s, 4)
    e = raises(ValueError, m.set_fault, "meter_offline", True)
    assert "Modbus" in str(e)
    raises(ValueError, m.set_grid, [230])


# ---- S0 pulse meter --------------------------------------------------------------------------------
class S0:
    def __init__(self, count=0):
        self.count = count

    def s0_pulses(self):
        return self.count & 0x3FFFFFFF


def test_pulses_count_energy_and_rate_gives_power():
    src = S0()
    clock = Clock()
    m = PulseMeter(src, clock, Config(MeterPulseCount=1000, L2Active=False, L3Active=False))
    assert m.ok() and m.energy_wh() == 0.0 and m.power_w() == 0.0
    for _ in range(10):                      # 1 Wh each second: 3600 W
        clock.advance_ms(1000)
        src.count += 1
        m.update(clock.ticks_ms())
    assert close(m.energy_wh(), 10.0) and close(m.power_w(), 3600.0)
    assert close(m.current_a(0), 3600.0 / 230) and m.current_a(1) == 0.0
    assert m.voltage_v(0) == 230.0 and not m.has("Voltage") and m.has("Current.Import")
    # several pulses between two updates (virtual time jumps): the rate is
    # averaged over the window since the last estimate (8 + 10 pulses in 13 s)
    clock.advance_ms(5000)
    src.count += 10
    m.update(clock.ticks_ms())
    assert close(m.energy_wh(), 20.0) and close(m.power_w(), 18 * 3600000.0 / 13000)
    # no pulses: the power estimate decays, then is 0
    clock.advance_ms(10000)
    m.update(clock.ticks_ms())
    assert close(m.power_w(), 360.0)
    clock.advance_ms(400000)
    m.update(clock.ticks_ms())
    assert m.power_w() == 0.0 and close(m.energy_wh(), 20.0)


def test_pulse_count_scale_and_wrap():
    src = S0(0x3FFFFFF0)
    clock = Clock()
    m = PulseMeter(src, clock, Config(MeterPulseCount=100))
    src.count += 0x20                         # across the 2**30 wrap
    m.update(clock.ticks_ms())
    assert m.pulses == 0x20 and close(m.energy_wh(), 0x20 * 10.0)
    assert m.power_w() == 0.0                 # no time passed: no rate yet
    clock.advance_ms(3600)
    src.count += 1                            # 10 Wh in 3.6 s: 10 kW on 3 phases
    m.update(clock.ticks_ms())
    assert close(m.power_w(), 10000.0) and close(m.current_a(2), 10000.0 / 690)


def test_pulse_register_persists():
    from evse.hal.fsstore import Storage
    st = Storage(tmpdir("s0"))
    src = S0()
    clock = Clock()
    m = PulseMeter(src, clock, Config(MeterPulseCount=10), st, 0)
    src.count = 25
    m.update(clock.ticks_ms())
    m.save(clock.ticks_ms())
    m2 = PulseMeter(S0(7), clock, Config(MeterPulseCount=10), st, 0)   # after a power cycle
    assert close(m2.energy_wh(), 2500.0)
    m2.src.count = 8
    m2.update(clock.ticks_ms())
    assert close(m2.energy_wh(), 2600.0)


def test_simulated_s0_output_follows_the_ev_draw():
    from evsesim.hal.sim_s0 import SimS0

    class EV:
        phases = 3

    class Cio:
        ev = EV()
        da = 0

        def ev_current_da(self):
            return self.da
    cio = Cio()
    clock = Clock()
    src = SimS0(cio, clock, 1000)
    m = PulseMeter(src, clock, Config(MeterPulseCount=1000))
    cio.da = 160
    run([m], clock, 10)                      # the meter sees the draw
    clock.advance_ms(3600000)                # 16 A x 3 x 230 V for an hour
    m.update(clock.ticks_ms())
    assert abs(m.energy_wh() - 11040) <= 2
    assert abs(m.power_w() - 11040) < 60
    src.set_grid([240, 240, 240])
    clock.advance_ms(3600000)
    m.update(clock.ticks_ms())
    assert abs(m.energy_wh() - 11040 - 11520) <= 2


def test_waits_while_another_protocol_holds_the_shared_bus():
    s = Slave()
    fill_eastron(s, 1)
    m, clock = meter_over(s, 4)
    held = [True]
    m.master.others_busy = lambda: held[0]
    run([m], clock, 500)
    assert s.requests == [] and not m.ok()
    held[0] = False
    run([m], clock, 100)
    assert m.ok() and len(s.requests) == 3
