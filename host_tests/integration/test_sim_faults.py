# The faults a Central System team needs, seeded for repeatability
# (docs/simulator.md "Link faults", "Power cut", "Meter glitches"; tools/csms.py
# --delay-ms / --silent), on the MicroPython Unix port with the virtual clock,
# asserting what the Central System saw:
# - link faults per OCPP message and direction: drop (the journal delivers
#   afterwards), duplicate (one transaction, every copy answered), latency
#   (held in virtual time), disconnect (now / after N messages: a reconnect,
#   no second boot); the same seed gives the same decisions;
# - a power cut (the process kills itself) and a restart on the same state:
#   a new boot, StopTransaction PowerLoss, nothing lost;
# - meter glitches (spike, backwards, freeze): no energy ever goes backwards
#   in MeterValues or meterStop; a lasting glitch is a PowerMeterFailure;
# - a slow and a silent Central System.
import asyncio
import time

from csms import CentralSystem
from ocpp_rig import TAG, parse_iso, rig_run

TAGLESS = {"TaglessCharging": "true", "RFIDReader1Enabled": "false"}
QUICK = {"MessageResponseTimeOut": "5", "TransactionMessageRetryInterval": "2",
         "MeterValueSampleInterval": "5",
         "MeterValuesSampledData": "Energy.Active.Import.Register"}


def energies(payloads):
    return [int(sv["value"]) for p in payloads for mv in p["meterValue"]
            for sv in mv["sampledValue"] if sv.get("measurand", "Energy.Active.Import.Register")
            == "Energy.Active.Import.Register"]


def stamps(payloads):
    return [parse_iso(p["meterValue"][0]["timestamp"]) for p in payloads]


async def steps(rig, seconds, step=1):
    for _ in range(int(seconds // step)):
        await rig.advance(step)


def tx_mvs(rig):
    return [p for p in rig.payloads("MeterValues") if "transactionId" in p]


# ---- link faults ------------------------------------------------------------------------

def test_out_drop_for_10_s_then_the_journal_delivers_every_transaction_message(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await steps(rig, 6)
        n_mv = len(tx_mvs(rig))
        assert n_mv >= 1
        t_drop = rig.vnow
        await rig.op("link", dir="out", drop=1.0)
        await steps(rig, 10)
        assert len(tx_mvs(rig)) == n_mv            # nothing got through
        st = await rig.status()
        assert st["link"]["out"]["dropped"] >= 2 and st["link"]["in"]["dropped"] == 0
        assert [e[3] for e in st["link"]["log"]] == ["dropped"] * len(st["link"]["log"])
        assert st["ocpp"]["connected"]              # a lossy link, not a lost one
        await rig.op("link", clear=True)
        await steps(rig, 30, 3)
        mvs = tx_mvs(rig)
        got = stamps(mvs)
        # the samples taken while every message was lost arrive afterwards,
        # each exactly once, in order, for the one transaction
        during = [t for t in got if t_drop < t <= t_drop + 10]
        assert len(during) >= 1, got
        assert got == sorted(got) and len(set(got)) == len(got)
        assert all(p["transactionId"] == txid for p in mvs)
        assert len(rig.calls("StartTransaction")) == 1
        assert (await rig.status())["ocpp"]["queued"] == 0
    rig_run(tmp_path, body, settings=dict(QUICK, TransactionMessageAttempts="10"))


def test_same_seed_same_decisions_and_a_different_seed_others(tmp_path):
    """Drop 50 % both ways: the seed alone decides which messages go (the
    station's n-th message out and in, its action)."""
    async def run(rig, seed, tag):
        await rig.op("link", clear=True, seed=seed)
        await rig.op("link", dir="both", drop=0.5)
        for i in range(6):
            await rig.op("datatransfer", vendor_id="%s%d" % (tag, i))
            await rig.advance(6)                    # past MessageResponseTimeOut
        st = await rig.status()
        await rig.op("link", clear=True)
        got = [p["vendorId"] for p in rig.payloads("DataTransfer") if p["vendorId"].startswith(tag)]
        return [e[:4] for e in st["link"]["log"]], [g[len(tag):] for g in got], st["link"]

    async def body(rig):
        await rig.start()
        assert (await rig.status())["link"]["seed"] == 7        # --link-seed
        a_log, a_got, a_info = await run(rig, 7, "a")
        b_log, b_got, b_info = await run(rig, 7, "b")
        c_log, c_got, _ = await run(rig, 8, "c")
        assert a_log and a_log == b_log and a_got == b_got, (a_log, b_log)
        assert a_info["out"]["dropped"] == b_info["out"]["dropped"] >= 1
        assert a_info["out"]["messages"] == 6
        assert c_log != a_log
        # what was dropped out never reached the Central System
        dropped_out = [e[1] for e in a_log if e[0] == "out"]
        assert len(a_got) == 6 - len(dropped_out)
    rig_run(tmp_path, body, settings={"MessageResponseTimeOut": "5"},
            sim_args=["--link-seed", "7"])


def test_duplicates_one_transaction_and_every_copy_of_a_call_answered(tmp_path):
    async def body(rig):
        await rig.start()
        # Central System -> station doubled: each answer twice (the second
        # is ignored), each CALL twice (answered per copy)
        await rig.op("link", dir="in", duplicate=1.0)
        txid = await rig.card_start(1)
        assert len(rig.calls("StartTransaction")) == 1
        n_res = len([r for r in rig.cs.records if r.kind == "result"])
        conf = await rig.call("GetConfiguration", key=["HeartBeatInterval"])
        assert conf["configurationKey"][0]["value"]
        await rig.advance(1)
        results = [r for r in rig.cs.records if r.kind == "result"][n_res:]
        assert len(results) == 2 and results[0].unique_id == results[1].unique_id
        assert results[0].payload == results[1].payload
        st = await rig.status()
        assert st["link"]["in"]["duplicated"] >= 3
        assert any("ignored CALLRESULT" in n for n in st["ocpp"]["log"]), st["ocpp"]["log"]
        # station -> Central System doubled: the CS gets each CALL twice with
        # the same message id; the station keeps the first answer
        await rig.op("link", clear=True)
        await rig.op("link", dir="out", duplicate=1.0)
        await steps(rig, 10, 5)                         # past StartTransactionDelay
        await rig.op("rfid", reader=1, id=TAG)          # the same card stops it
        await steps(rig, 3)
        stops = rig.calls("StopTransaction")
        assert len(stops) == 2 and stops[0].unique_id == stops[1].unique_id
        assert stops[0].payload["transactionId"] == txid
        await rig.op("link", clear=True)
        await rig.advance(1)
        assert (await rig.status())["ocpp"]["queued"] == 0
        assert (await rig.connector(1))["transaction_id"] is None
    rig_run(tmp_path, body, settings=QUICK)


def test_latency_is_virtual_time_and_disconnect_reconnects_without_a_second_boot(tmp_path):
    async def body(rig):
        await rig.start()
        n_boot = len(rig.calls("BootNotification"))
        await rig.op("link", dir="out", latency_ms=3000)
        await rig.op("datatransfer", vendor_id="late")
        await rig.advance(2)
        assert rig.payloads("DataTransfer") == []            # 2 s of 3: still held
        st = await rig.status()
        assert st["link"]["held"]["out"] == 1 and st["link"]["out"]["delayed"] == 1
        await rig.advance(1.5)
        assert [p["vendorId"] for p in rig.payloads("DataTransfer")] == ["late"]
        # the answer came back within MessageResponseTimeOut: no timeout
        st = await rig.status()
        assert not any("timeout" in n for n in st["ocpp"]["log"]), st["ocpp"]["log"]
        await rig.op("link", clear=True)
        # disconnect now: the station reconnects after its backoff, as registered
        n_conn = len([c for c in rig.cs.connections if c[1] == "connect"])
        r = await rig.op("link", disconnect=True)
        assert r["disconnects"] == 1
        await rig.cs.wait_for(lambda rs: not rig.cs.connected(rig.cp), timeout=10)
        for _ in range(10):
            await rig.advance(1)
            if rig.cs.connected(rig.cp):
                break
        await rig.cs.wait_connected(rig.cp)
        # disconnect after the next 2 messages out: the 3rd goes on the next connection
        await rig.op("link", dir="out", disconnect_after=2)
        for i in range(3):
            await rig.op("datatransfer", vendor_id="n%d" % i)
            await rig.advance(1)
        for _ in range(10):
            await rig.advance(1)
        assert [p["vendorId"] for p in rig.payloads("DataTransfer")][1:] == ["n0", "n1", "n2"]
        st = await rig.status()
        assert st["link"]["disconnects"] == 2 and st["link"]["connections"] == 3
        assert len([c for c in rig.cs.connections if c[1] == "connect"]) == n_conn + 2
        assert st["ocpp"]["connected"] and st["ocpp"]["registered"]
        assert len(rig.calls("BootNotification")) == n_boot     # no second boot
    rig_run(tmp_path, body, settings={"MessageResponseTimeOut": "5"})


def test_latency_on_the_real_clock_is_real_time(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.cs.wait_for(lambda rs: len([r for r in rs if r.action == "StatusNotification"
                                              and r.answer]) >= 2, cp_id=rig.cp)
        await asyncio.sleep(0.3)
        await rig.op("link", dir="both", latency_ms=800)
        t0 = time.time()
        await rig.op("datatransfer", vendor_id="rt")
        await rig.wait_call("DataTransfer")
        t_cs = rig.calls("DataTransfer")[0].time - t0
        while (await rig.status())["ocpp"]["queued"]:
            await asyncio.sleep(0.02)
        t_back = time.time() - t0
        assert 0.8 <= t_cs < 1.6 and 1.6 <= t_back < 3.0, (t_cs, t_back)
        st = await rig.status()
        assert st["link"]["out"]["delayed"] == 1 and st["link"]["in"]["delayed"] == 1
    rig_run(tmp_path, body, clock="real")


# ---- power cut --------------------------------------------------------------------------

def test_power_cut_mid_transaction_restarts_on_the_same_state_stop_power_loss(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await steps(rig, 12, 3)
        before = len(rig.calls("BootNotification"))
        reported = energies(tx_mvs(rig))
        sim = rig.sim
        pid = sim.proc.pid
        await rig._thread(sim.power_cut)            # SIGKILL of itself, then the same args
        assert sim.proc.pid != pid and sim.proc.poll() is None
        await rig.cs.wait_for(lambda rs: len(rig.calls("BootNotification")) > before, timeout=10)
        await steps(rig, 3)
        boots = rig.calls("BootNotification")
        assert len(boots) == before + 1 and boots[-1].cp_id == "CP1"
        stops = rig.payloads("StopTransaction")
        assert len(stops) == 1 and stops[0]["transactionId"] == txid
        assert stops[0]["reason"] == "PowerLoss"
        # OCPP 1.6 4.10: not resumed; the meter never below what was reported
        assert not reported or stops[0]["meterStop"] >= max(reported)
        assert (await rig.connector(1))["transaction_id"] is None
        assert (await rig.status())["ocpp"]["queued"] == 0
    rig_run(tmp_path, body, settings=QUICK)


# ---- meter glitches ---------------------------------------------------------------------

def test_meter_glitches_never_make_the_energy_go_backwards(tmp_path):
    async def body(rig):
        await rig.start()
        await rig.plug_ev(1, state="C")
        await rig.advance(2)
        (start,) = await rig.wait_call("StartTransaction")
        await steps(rig, 10)
        # one implausible reading: rejected and read again, no failure
        await rig.op("fault", name="meter_spike", active=True)
        await steps(rig, 6)
        assert (await rig.connector(1))["error_code"] == "NoError"
        # a register going backwards for 12 s: rejected, PowerMeterFailure
        await rig.op("fault", name="meter_backwards", active=True)
        await steps(rig, 12)
        c = await rig.connector(1)
        assert c["error_code"] == "PowerMeterFailure", c
        fails = [p for p in rig.payloads("StatusNotification") if p["errorCode"] == "PowerMeterFailure"]
        assert fails and "Wh rejected" in fails[0]["info"], fails
        await rig.op("fault", name="meter_backwards", active=False)
        await steps(rig, 6)
        assert (await rig.connector(1))["error_code"] == "NoError"
        # a frozen readout: flat, then it catches up with the register
        await rig.op("fault", name="meter_freeze", active=True)
        frozen = (await rig.connector(1))["energy_wh"]
        await steps(rig, 11)
        assert (await rig.connector(1))["energy_wh"] == frozen
        await rig.op("fault", name="meter_freeze", active=False)
        await steps(rig, 6)
        assert (await rig.connector(1))["energy_wh"] > frozen
        await rig.op("ev", connector=1, state="A")      # the EV leaves: the session ends
        await steps(rig, 3)
        (stop,) = rig.payloads("StopTransaction")
        seq = [start["meterStart"]] + energies(tx_mvs(rig)) + [stop["meterStop"]]
        assert seq == sorted(seq), seq
        assert max(seq) < start["meterStart"] + 100000     # no spike reported
        assert seq[-1] > seq[0]
    rig_run(tmp_path, body, settings=dict(QUICK, **TAGLESS))


# ---- a slow or silent Central System ----------------------------------------------------

def test_slow_central_system_every_message_once_heartbeats_go_on(tmp_path):
    async def body(rig):
        rig.cs.delay_ms = 300          # every CALL answered 300 ms (real time) late
        await rig.start()
        txid = await rig.card_start(1)
        await steps(rig, 40, 5)
        await rig.op("rfid", reader=1, id=TAG)          # the card stops it
        await steps(rig, 3)
        assert len(rig.calls("StartTransaction")) == 1 and len(rig.calls("StopTransaction")) == 1
        assert rig.payloads("StopTransaction")[0]["transactionId"] == txid
        assert len(rig.calls("Heartbeat")) >= 2
        st = await rig.status()
        assert not any("timeout" in n for n in st["ocpp"]["log"]), st["ocpp"]["log"]
        assert st["ocpp"]["queued"] == 0
    rig_run(tmp_path, body, settings={"MeterValueSampleInterval": "0"}, heartbeat_interval=15)


def test_silent_central_system_transaction_retries_heartbeats_continue(tmp_path):
    async def body(rig):
        rig.cs.set_silent("StartTransaction")
        await rig.start()
        await rig.plug_ev(1, state="C")
        await steps(rig, 70, 2)
        starts = rig.calls("StartTransaction")
        # TransactionMessageAttempts 3: sent 3 times, each unanswered (5 s),
        # retried after RetryInterval x failures (10 s, 20 s), then given up
        assert len(starts) == 3, [r.time for r in starts]
        assert all(s.answer is None for s in starts)
        assert len(set(s.unique_id for s in starts)) == 3
        hb = rig.calls("Heartbeat")
        assert len(hb) >= 2 and all(h.answer is not None for h in hb)   # after 15 s of silence
        st = await rig.status()
        assert any("dropped StartTransaction" in n for n in st["ocpp"]["log"]), st["ocpp"]["log"]
        # all silent: heartbeats still go out, every interval, unanswered
        rig.cs.set_silent("all")
        n_hb = len(rig.calls("Heartbeat"))
        await steps(rig, 40, 2)
        assert len(rig.calls("Heartbeat")) >= n_hb + 2
        assert (await rig.status())["ocpp"]["connected"]
    rig_run(tmp_path, body, heartbeat_interval=15,
            settings=dict(TAGLESS, MessageResponseTimeOut="5", TransactionMessageAttempts="3",
                          TransactionMessageRetryInterval="10", MeterValueSampleInterval="0"))


def test_csms_slow_and_silent_options_are_seeded_and_checked():
    cs = CentralSystem()
    cs.delay_ms, cs.delay_jitter_ms = 100, 50
    cs.reseed(3)
    a = [cs.answer_delay("Heartbeat") for _ in range(5)]
    cs.reseed(3)
    assert [cs.answer_delay("Heartbeat") for _ in range(5)] == a
    assert all(0.1 <= d <= 0.15 for d in a) and len(set(a)) > 1
    cs.set_silent("Heartbeat,MeterValues")
    assert cs.ignore_actions == {"Heartbeat", "MeterValues"} and not cs.silent
    cs.set_silent("all")
    assert cs.silent
    try:
        cs.set_silent("Reset")
        raise AssertionError("Reset is not a charge point action")
    except ValueError as e:
        assert "Reset" in str(e)
    asyncio.run(asyncio.sleep(0))
