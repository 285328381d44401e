# Faults that used to lose the link or the data (OCPP 1.6 3.7, OCPP-J 1.6):
# - hours offline, then kill -9: the restarted station, on a small heap,
#   still connects and delivers every queued transaction message in order;
# - surrogate escapes from the Central System (a valid pair, a lone one):
#   the link stays up and every frame the station sends is strict UTF-8.
from ocpp_rig import parse_iso, rig_run

# The Unix port's heap for the simulator. A fresh boot needs about 800 KiB;
# before the fix the restart below needed more than 1.5 MiB (the journal
# load fragmented the heap, then a MemoryError ended the connection task).
SMALL_HEAP = "1280K"
SAMPLE_S = 30
OFFLINE_S = 3 * 3600 + 18 * 60          # 3.3 hours: ~400 MeterValues queued


def test_hours_offline_then_kill_9_on_a_small_heap_delivers_everything_in_order(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        # the Central System becomes unreachable for hours
        rig.cs.reject_connections = True
        await rig.cs.disconnect(rig.cp)
        await rig.cs.wait_for(lambda rs: not rig.cs.connected(rig.cp))
        n_online = len(rig.tx_calls())
        await rig.advance(OFFLINE_S)
        st = await rig.status()
        assert not st["ocpp"]["connected"]
        queued = st["ocpp"]["queued"]
        assert queued >= OFFLINE_S // SAMPLE_S - 2, queued
        await rig.kill()
        # power back, Central System reachable again: same state directory
        rig.cs.reject_connections = False
        await rig.start()
        for _ in range(100):
            st = await rig.status()
            if st["ocpp"]["queued"] == 0:
                break
            await rig.advance(5)
        assert st["ocpp"]["queued"] == 0 and st["ocpp"]["connected"], st["ocpp"]
        assert not any("Error" in n for n in st["ocpp"]["log"]), st["ocpp"]["log"]
        msgs = [(r.action, r.payload) for r in rig.tx_calls()]
        acts = [a for a, _ in msgs]
        # online: the Start (and any sample taken before the outage); then
        # everything queued offline and the PowerLoss stop, once each, in order
        assert acts[0] == "StartTransaction" and acts[-1] == "StopTransaction", acts[:3]
        assert set(acts[1:-1]) == {"MeterValues"}
        later = msgs[n_online:]
        assert len(later) == queued + 1, (len(later), queued)   # + the PowerLoss stop
        mvs = [p for a, p in msgs if a == "MeterValues"]
        assert all(p["transactionId"] == txid for p in mvs)
        stamps = [parse_iso(p["meterValue"][0]["timestamp"]) for p in mvs]
        assert [b - a for a, b in zip(stamps, stamps[1:])] == [SAMPLE_S] * (len(stamps) - 1)
        energy = [int(p["meterValue"][0]["sampledValue"][0]["value"]) for p in mvs]
        assert energy == sorted(energy) and energy[-1] > energy[0]
        stop = msgs[-1][1]
        assert stop["transactionId"] == txid and stop["reason"] == "PowerLoss"
        assert stop["meterStop"] >= energy[-1]
        # every CALL was answered (nothing lost in a dead connection)
        assert all(r.answer is not None and r.answer[0] == "result" for r in rig.tx_calls())
    rig_run(tmp_path, body, timeout=180, heapsize=SMALL_HEAP,
            settings={"MeterValueSampleInterval": str(SAMPLE_S),
                      "MeterValuesSampledData": "Energy.Active.Import.Register"})
