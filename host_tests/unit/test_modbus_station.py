# The station with Modbus meters (a fake RTU slave behind the HAL port
# interface), refused MeterTypes and S0 pulse meters: what the status and
# the StatusNotifications say. Simulated board, virtual clock, OCPP offline.
# Both runtimes.
from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.station import Station
from modbus_rig import Slave, Port
from support import tmpdir

KWH = (1234.5, 42.0)


def build(settings, port=None, model="dscu"):
    board = SimBoard(1 if model == "sscu" else 2, tmpdir("modbus"), True)
    cfg = Config(board.storage, model=model)
    for k, v in settings:
        assert cfg.change(k, v) in ("Accepted", "RebootRequired"), k
    cfg = Config(board.storage, model=model)      # reboot-required keys now active
    st = Station(board, cfg, model, modbus=port)
    seen = []
    st.status_report.listeners.append(lambda *a: seen.append(a))
    st.step()
    return board, st, seen


def run(board, st, ms):
    while ms > 0:
        st.step()
        d = max(1, min(st.next_deadline_ms(), ms))
        board.clock.advance_ms(d)
        ms -= d
    st.step()


def sdm630(slave, unit, kwh, amps):
    for k in range(3):
        slave.put(unit, 4, 2 * k, "f32", 230.0)
        slave.put(unit, 4, 6 + 2 * k, "f32", amps)
    slave.put(unit, 4, 0x34, "f32", amps * 690)
    slave.put(unit, 4, 0x46, "f32", 50.0)
    slave.put(unit, 4, 0x48, "f32", kwh)


def test_station_reads_modbus_meters_and_reports_their_failure():
    s = Slave()
    sdm630(s, 1, KWH[0], 16.0)
    sdm630(s, 2, KWH[1], 0.0)
    board, st, seen = build([("MeterType", "4")], Port(s))
    run(board, st, 2000)
    c1, c2 = st.status()["connectors"]
    assert c1["energy_wh"] == 1234500.0 and c1["current_a"] == [16.0, 16.0, 16.0]
    assert c2["energy_wh"] == 42000.0 and c1["error_code"] == c2["error_code"] == "NoError"
    assert st.ocpp.meter_type == "Eastron SDM630"
    # connector 1's meter stops answering
    s.offline.add(1)
    run(board, st, 5000)
    c1, c2 = st.status()["connectors"]
    assert c1["error_code"] == "PowerMeterFailure" and c2["error_code"] == "NoError"
    assert (1, "Available", "PowerMeterFailure", "Modbus 1: timeout", "") in seen
    assert st.metering.sampled_value(0, ["Energy.Active.Import.Register"], "Trigger") == []
    mb = st.status()["modbus"]
    assert mb["timeouts"] >= 3 and [m["ok"] for m in mb["meters"]] == [False, True]
    # and answers again
    s.offline.clear()
    s.put(1, 4, 0x48, "f32", KWH[0] + 0.01)       # 10 Wh more: plausible in 8 s
    run(board, st, 3000)
    c1 = st.status()["connectors"][0]
    assert c1["error_code"] == "NoError" and c1["energy_wh"] == 1234510
    assert seen[-1][0] == 1 and seen[-1][2] == "NoError" and seen[-1][3].startswith("cleared")


def test_station_refuses_a_meter_type_without_a_map():
    s = Slave()
    port = Port(s)
    board, st, seen = build([("MeterType", "7")], port)
    run(board, st, 3000)
    for c in st.status()["connectors"]:
        assert c["error_code"] == "PowerMeterFailure" and c["energy_wh"] == 0.0
    assert (1, "Available", "PowerMeterFailure", "MeterType 7: no register map", "") in seen
    assert (2, "Available", "PowerMeterFailure", "MeterType 7: no register map", "") in seen
    assert port.written == []                         # never pretends to read it
    assert any(line.endswith("meters: MeterType 7: no register map") for line in st.error_log.lines())


def test_without_a_port_the_built_in_meters_stand_in():
    board, st, seen = build([("MeterType", "7")])
    run(board, st, 1000)
    assert st.status()["connectors"][0]["error_code"] == "NoError"
    assert "modbus" not in st.status()


def test_s0_pulse_meter_counts_the_ev_draw():
    board, st, seen = build([("MeterType", "3"), ("MeterPulseCount", "1000"),
                             ("TaglessCharging", "true")], model="sscu")
    assert st.ocpp.meter_type == "S0 pulse meter"
    cio = board.connectors[0]
    cio.plug(32)
    cio.set_ev("B", 16, 3, True)
    run(board, st, 1000)
    cio.set_ev("C", 16, 3, True)
    run(board, st, 2000)
    assert st.connectors[0].contactor_closed
    run(board, st, 3600 * 1000)
    c = st.status()["connectors"][0]
    assert c["error_code"] == "NoError"
    assert abs(c["energy_wh"] - 11040) < 40             # 16 A x 3 x 230 V, one hour
    assert abs(c["current_a"][0] - 16.0) < 0.5           # calculated from the pulse rate
    sv = st.metering.sampled_value(0, ["Voltage", "Energy.Active.Import.Register"], "Trigger")
    assert [x["measurand"] for x in sv] == ["Energy.Active.Import.Register"]


def test_sim_modbus_option():
    from evsesim import sim
    from support import raises
    o = sim.parse_args(["--modbus", "tcp:127.0.0.1:1502"])
    assert o["modbus_spec"] == "connect:127.0.0.1:1502"
    assert sim.parse_args([])["modbus"] is None
    e = raises(sim.UsageError, sim.parse_args, ["--modbus", "/dev/ttyUSB0"])
    assert "serial" in str(e) and "tcp:HOST:PORT" in str(e)
    for bad in ("tcp:127.0.0.1", "tcp:host:x", "udp:1.2.3.4:5"):
        raises(sim.UsageError, sim.parse_args, ["--modbus", bad])


def test_factory_refuses_a_board_without_a_meter_port():
    from evse.metering.factory import make_meters
    from evse.services.diagnostics import Log
    from modbus_rig import Clock, Config as Cfg

    class Cio:                                  # a real board's connector: no simulated EV
        pass

    class Board:
        connectors = [Cio(), Cio()]

    class St:
        board = Board()
        config = Cfg(MeterType=4)
        clock = Clock()
        storage = None
        error_log = Log(Clock(), 8)
    meters = make_meters(St.board, St.config, St.clock, St.storage, St.error_log, None)
    assert [m.ok() for m in meters] == [False, False]
    assert meters[0].info() == "MeterType 4: no RS485 port on this board"
    # and MeterType 3 without an S0 input
    St.config = Cfg(MeterType=3)
    assert make_meters(St.board, St.config, St.clock, St.storage, St.error_log, None)[1].info() == "MeterType 3: no S0 input on this board"


def test_frequency_in_meter_values_without_a_unit():
    # OCPP 1.6 has no unit for Frequency (Hertz is implied): the sampled
    # value carries none; the simulator's own meter has no frequency: left out
    s = Slave()
    sdm630(s, 1, KWH[0], 16.0)
    sdm630(s, 2, KWH[1], 0.0)
    board, st, seen = build([("MeterType", "4")], Port(s))
    run(board, st, 2000)
    (sv,) = st.metering.sampled_value(0, ["Frequency"], "Trigger")
    assert sv["value"] == "50.00" and sv["measurand"] == "Frequency" and "unit" not in sv
    board, st, seen = build([], None)
    run(board, st, 1000)
    assert st.metering.sampled_value(0, ["Frequency", "Voltage"], "Trigger")[0]["measurand"] == "Voltage"
    assert [v["measurand"] for v in st.metering.sampled_value(0, ["Frequency"], "Trigger")] == []
