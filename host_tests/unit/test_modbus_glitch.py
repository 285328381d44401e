# Implausible energy registers from a Modbus meter (evse.metering.
# modbus_meter): negative, zero or lower than before, absurd (3e38) or a
# jump the installation cannot deliver are rejected (read again, then
# PowerMeterFailure "energy N Wh rejected"); the last reported reading is
# the floor after a restart; a meter answering its first poll is never a
# PowerMeterFailure at boot. Fake RTU slave (modbus_rig), both runtimes.
import struct
from evse.hal.fsstore import Storage
from evse.metering import regmap
from evse.metering.modbus_meter import ModbusMeter, energy_wh
from evse.metering.rtu import RtuMaster
from modbus_rig import Slave, Port, Clock, run
from support import tmpdir
from test_modbus_station import build, run as run_station, sdm630

KWH = 1500.0
MAX_W = 16 * 3 * 253          # what the factory gives for 16 A, 3 phases


class OnceSlave(Slave):
    """Answers `bad` (kWh, f32 at 0x48) for the next `n` energy reads."""

    def __init__(self) -> None:
        Slave.__init__(self)
        self.bad = None
        self.n = 0

    def answer(self, frame):
        start = (frame[2] << 8) | frame[3]
        count = (frame[4] << 8) | frame[5]
        if self.n > 0 and start <= 0x48 < start + count:
            self.n -= 1
            keep = dict(self.regs[(1, 4)])
            self.put(1, 4, 0x48, "f32", self.bad)
            out = Slave.answer(self, frame)
            self.regs[(1, 4)] = keep
            return out
        return Slave.answer(self, frame)


def meter(slave, storage=None):
    clock = Clock()
    m = ModbusMeter(RtuMaster(Port(slave)), 1, regmap.spec(4), clock, 1000,
                    max_w=lambda: MAX_W, storage=storage)
    return m, clock


def sdm(slave, kwh):
    sdm630(slave, 1, kwh, 16.0)


def test_energy_is_integer_wh():
    buf = bytes([0, 0, 0, 0, 0, 0, 0x12, 0x34])
    r = (regmap.Q_E, 0, regmap.T_U64, regmap.ABCD, 10.0)
    assert energy_wh(buf, 0, r) == 0x1234 * 10 and type(energy_wh(buf, 0, r)) is int
    big = bytes([0x7F, 0x7F, 0xFF, 0xFF])          # float32 3.4e38 (kWh x 1000 overflows)
    assert energy_wh(big, 0, (regmap.Q_E, 0, regmap.T_F32, regmap.ABCD, 1000.0)) > 10 ** 12


def _f32(x, order=regmap.ABCD):
    b = struct.pack(">f", x)
    return b[2:4] + b[0:2] if order == regmap.CDAB else b


def test_float32_kwh_register_converted_once_to_the_nearest_wh():
    # from the register's bits, in integers: the nearest Wh of the float32
    # value itself (float32 -> double and x 1000 are exact in double, the
    # reference here; a board's single-precision raw x 1000.0 is not)
    r = (regmap.Q_E, 0, regmap.T_F32, regmap.ABCD, 1000.0)
    rc = (regmap.Q_E, 0, regmap.T_F32, regmap.CDAB, 1000.0)
    for kwh in (0.0, 0.0004, 0.0005, 1.0, 1234.5678, 16777.216, 16777.217, 16384.0,
                30000.0, 30000.001, 30000.002, 123456.789, 4194304.0):
        f = struct.unpack(">f", _f32(kwh))[0]
        want = int(f * 1000 + 0.5)
        got = energy_wh(_f32(kwh), 0, r)
        assert got == want and type(got) is int, (kwh, got, want)
        assert energy_wh(_f32(kwh, regmap.CDAB), 0, rc) == want
    # the precision note: a float32 kWh register steps 1.95 Wh at 30 MWh
    b = bytearray(_f32(30000.0))
    seen = []
    for _ in range(4):
        seen.append(energy_wh(b, 0, r))
        v = int.from_bytes(bytes(b), "big") + 1            # the next float32
        b = bytearray(v.to_bytes(4, "big"))
    assert seen == [30000000, 30000002, 30000004, 30000006], seen
    assert energy_wh(_f32(-2.0), 0, r) == -2000              # rejected later: negative
    assert energy_wh(bytes([0x7F, 0xC0, 0, 0]), 0, r) is None        # NaN: not available
    # an integer register of 0.1 Wh: divided with rounding, no float
    r10 = (regmap.Q_E, 0, regmap.T_U32, regmap.ABCD, 0.1)
    assert energy_wh(bytes([0x11, 0xE1, 0xA3, 0x05]), 0, r10) == 30000001  # 300000005 x 0.1 Wh, ties up
    assert energy_wh(bytes([0x11, 0xE1, 0xA3, 0x04]), 0, r10) == 30000000
    assert energy_wh(bytes([0x11, 0xE1, 0xA3, 0x0E]), 0, r10) == 30000001


def test_each_glitch_once_is_read_again_and_never_reported():
    for bad in (-5.0, 0.0, KWH - 1.0, 3e38, KWH + 1000.0):
        s = OnceSlave()
        sdm(s, KWH)
        m, clock = meter(s)
        run([m], clock, 100)
        assert m.ok() and m.energy_wh() == 1500000
        s.bad = bad
        s.n = 2                                   # two bad answers, then good again
        run([m], clock, 1000)
        assert m.ok(), (bad, m.info())
        assert m.energy_wh() == 1500000 and m.rejected == 2, (bad, m.energy_wh(), m.rejected)


def test_a_persistent_glitch_is_a_meter_failure():
    for bad, why in ((-5.0, "Modbus 1: energy -5000 Wh rejected"),
                     (0.0, "Modbus 1: energy 0 Wh rejected"),
                     (1499.0, "Modbus 1: energy 1499000 Wh rejected"),
                     (3e38, "Modbus 1: energy >1e12 Wh rejected")):
        s = Slave()
        sdm(s, KWH)
        m, clock = meter(s)
        run([m], clock, 100)
        s.put(1, 4, 0x48, "f32", bad)
        run([m], clock, 1000)
        assert not m.ok() and m.info() == why, (bad, m.info())
        assert m.energy_wh() == 1500000           # the last good reading stays
        assert m.stats()["rejected"] == 3
        sdm(s, KWH + 0.002)                      # good again: recovers
        run([m], clock, 1500)
        assert m.ok() and m.energy_wh() == 1500002


def test_a_jump_beyond_the_installation_is_rejected():
    s = Slave()
    sdm(s, KWH)
    m, clock = meter(s)
    run([m], clock, 100)
    # 60 s at the installation's maximum (12144 W): 202 Wh; x 1.5 + slack
    clock.advance_ms(59900)
    sdm(s, KWH + 0.250)
    run([m], clock, 100)
    assert m.ok() and m.energy_wh() == 1500250
    clock.advance_ms(59900)
    sdm(s, KWH + 0.250 + 0.500)                   # 500 Wh in 60 s: 30 kW
    run([m], clock, 1000)
    assert not m.ok() and m.info() == "Modbus 1: energy 1500750 Wh rejected"
    assert m.energy_wh() == 1500250


def test_reported_reading_is_the_floor_after_a_restart():
    st = Storage(tmpdir("mbfloor"))
    s = Slave()
    sdm(s, KWH)
    m, clock = meter(s, st)
    run([m], clock, 100)
    m.persist(clock.ticks_ms())                   # reported (MeterValues, Start/Stop)
    m2, clock2 = meter(s, st)                     # power cycle
    assert m2.energy_wh() == 1500000 and not m2.ok() and m2.info() == ""
    sdm(s, KWH - 10)                              # the meter now reads less (replaced?)
    run([m2], clock2, 1500)
    assert not m2.ok() and m2.info() == "Modbus 1: energy 1490000 Wh rejected"
    assert m2.energy_wh() == 1500000
    sdm(s, KWH + 10)
    run([m2], clock2, 1500)
    assert m2.ok() and m2.energy_wh() == 1510000


def test_station_no_power_meter_failure_at_boot_and_glitch_reported():
    s = Slave()
    sdm630(s, 1, KWH, 0.0)
    sdm630(s, 2, 42.0, 0.0)
    board, st, seen = build([("MeterType", "4")], Port(s))
    run_station(board, st, 3000)
    assert seen and all(x[2] == "NoError" for x in seen), seen
    s.put(1, 4, 0x48, "f32", -5.0)
    run_station(board, st, 3000)
    c1 = st.status()["connectors"][0]
    assert c1["error_code"] == "PowerMeterFailure" and c1["energy_wh"] == 1500000
    assert (1, "Available", "PowerMeterFailure", "Modbus 1: energy -5000 Wh rejected", "") in seen
    assert st.metering.sampled_value(0, ["Energy.Active.Import.Register"], "Trigger") == []
