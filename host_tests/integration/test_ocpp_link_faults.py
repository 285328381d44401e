# Faults that used to lose the link or the data (OCPP 1.6 3.7, OCPP-J 1.6):
# - hours offline, then kill -9: the restarted station, on a small heap,
#   still connects and delivers every queued transaction message in order;
# - surrogate escapes from the Central System (a valid pair, a lone one):
#   the link stays up and every frame the station sends is strict UTF-8.
import asyncio
import json
import os
import re
import time

import pytest

from ocpp_rig import parse_iso, rig_run

# The Unix port's heap for the simulator. A fresh boot needs about 800 KiB;
# before the fix the restart below needed more than 1.5 MiB (the journal
# load fragmented the heap, then a MemoryError ended the connection task).
SMALL_HEAP = "1280K"
SAMPLE_S = 30
OFFLINE_S = 3 * 3600 + 18 * 60          # 3.3 hours: ~400 MeterValues queued



async def drain(rig):
    """Let the queue drain at this virtual instant (advance(0) lets the link
    work in real time); -> the last status."""
    deadline = time.time() + 90
    while time.time() < deadline:
        st = await rig.status()
        if st["ocpp"]["queued"] == 0:
            break
        await rig.advance(0)
    return st


async def unreachable(rig):
    """The Central System drops the station and refuses it from now on."""
    rig.cs.reject_connections = True
    await rig.cs.disconnect(rig.cp)
    await rig.cs.wait_for(lambda rs: not rig.cs.connected(rig.cp))


def test_hours_offline_then_kill_9_on_a_small_heap_delivers_everything_in_order(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await unreachable(rig)                    # the Central System, for hours
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
        # the queue drains at this virtual instant (advance(0) lets the link
        # work in real time): virtual time never runs past an answer on its
        # way, however slow the machine, so nothing is sent twice
        st = await drain(rig)
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
        # (meterStop is the energy register as last persisted before the
        # kill, which may be older than the last sample: not checked here)
        assert stop["meterStop"] >= energy[0]
        # every CALL was answered (nothing lost in a dead connection)
        assert all(r.answer is not None and r.answer[0] == "result" for r in rig.tx_calls())
    # a long queue (~400 messages, ~70 KB): a board with a larger journal
    # budget than the STM32F4's 32 KiB (32 KiB: test_journal_offline_budget)
    rig_run(tmp_path, body, timeout=180, heapsize=SMALL_HEAP, sim_args=["--journal-bytes", "262144"],
            settings={"MeterValueSampleInterval": str(SAMPLE_S),
                      "MeterValuesSampledData": "Energy.Active.Import.Register"})



def test_journal_offline_budget(tmp_path):
    # the same hours offline with the default budget (32 KiB, an STM32F4
    # board): the journal never passes it, the oldest sampled values give
    # way, and after the kill the Central System still gets the Start, the
    # newest values and the PowerLoss Stop, each once, in order
    budget = 32768

    def used():
        d = tmp_path / "state"
        return sum(os.path.getsize(d / n) for n in os.listdir(d) if n.startswith("txjournal"))

    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await unreachable(rig)
        n_online = len(rig.tx_calls())
        peak = 0
        for _ in range(11):                       # 3.3 h in 18 min steps
            await rig.advance(OFFLINE_S // 11)
            peak = max(peak, used())
        st = await rig.status()
        j = st["ocpp"]["journal"]
        assert j["budget"] == budget and j["budget_dropped"] > 0 and j["over_budget"] == 0, j
        assert peak <= budget and j["bytes"] <= budget, (peak, j)
        queued = st["ocpp"]["queued"]
        last = (await rig.connector(1))["energy_wh"]
        await rig.kill()
        rig.cs.reject_connections = False
        await rig.start()
        st = await drain(rig)
        assert st["ocpp"]["queued"] == 0 and st["ocpp"]["connected"], st["ocpp"]
        msgs = [(r.action, r.payload) for r in rig.tx_calls()]
        acts = [a for a, _ in msgs]
        assert acts.count("StartTransaction") == 1 and acts.count("StopTransaction") == 1
        assert acts[0] == "StartTransaction" and acts[-1] == "StopTransaction", acts[:3]
        later = msgs[n_online:]
        assert len(later) == queued + 1, (len(later), queued)
        mvs = [p for a, p in later if a == "MeterValues"]
        stamps = [parse_iso(p["meterValue"][0]["timestamp"]) for p in mvs]
        assert stamps == sorted(stamps) and len(stamps) > 10
        energy = [int(p["meterValue"][0]["sampledValue"][0]["value"]) for p in mvs]
        # the newest values are there: the last one within a sample of the end
        assert last - 100 <= energy[-1] <= last, (energy[-1], last)
        stop = msgs[-1][1]
        assert stop["transactionId"] == txid and stop["reason"] == "PowerLoss"
        assert stop["meterStop"] >= energy[-1]
        assert used() <= budget
    rig_run(tmp_path, body, timeout=180,
            settings={"MeterValueSampleInterval": str(SAMPLE_S),
                      "MeterValuesSampledData": "Energy.Active.Import.Register"})


CLEF = chr(0x1D11E)     # what "\ud834\udd1e" encodes
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _strict_utf8_and_no_surrogates(text):
    # the Central System's websocket layer already refused invalid UTF-8
    # (it would have closed the link with 1007); a str holding a surrogate
    # could not be encoded either
    text.encode("utf-8")
    return SURROGATE_ESCAPE.search(text) is None


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_surrogate_escapes_from_the_central_system_keep_the_link_up(tmp_path, runtime):
    async def body(rig):
        await rig.start()
        send = rig.cs.send_raw
        # a valid pair is the character it encodes, echoed back as UTF-8
        reply = json.loads(await send(rig.cp, '[2,"p1","GetConfiguration",{"key":["\\ud834\\udd1e"]}]'))
        assert reply == [3, "p1", {"configurationKey": [], "unknownKey": [CLEF]}], reply
        reply = json.loads(await send(rig.cp, '[2,"p2","ChangeConfiguration",'
                                              '{"key":"x\\ud834\\udd1e","value":"\\ud834\\udd1e"}]'))
        assert reply == [3, "p2", {"status": "NotSupported"}], reply
        reply = json.loads(await send(rig.cp, '[2,"p3","DataTransfer",'
                                              '{"vendorId":"v\\ud834\\udd1e","data":"\\ud834\\udd1e"}]'))
        assert reply[:2] == [3, "p3"] and "status" in reply[2], reply
        # an unpaired one is no Unicode text: FormationViolation, nothing echoed
        for frame in ('[2,"l1","GetConfiguration",{"key":["\\ud800"]}]',
                      '[2,"l2","RemoteStartTransaction",{"idTag":"A\\udd1e"}]',
                      '[2,"l3","DataTransfer",{"vendorId":"V","data":"\\ud834x"}]',
                      '[2,"l4","ChangeConfiguration",{"key":"HeartBeatInterval","value":"\\udbff"}]'):
            reply = json.loads(await send(rig.cp, frame))
            assert reply[:3] == [4, json.loads(frame)[1], "FormationViolation"], (frame, reply)
        reply = json.loads(await send(rig.cp, '[2,"\\ud800","ClearCache",{}]'))
        assert reply[:3] == [4, "-1", "FormationViolation"], reply
        await rig.advance(5)
        assert rig.calls("RemoteStartTransaction") == [] and rig.calls("Authorize") == []
        assert rig.calls("StartTransaction") == []
        # the link stayed up, the station works, and every frame it sent is clean
        assert await rig.call("GetConfiguration", key=["HeartBeatInterval"]) == {
            "configurationKey": [{"key": "HeartBeatInterval", "readonly": False,
                                  "value": str(rig.cs.heartbeat_interval)}]}
        st = await rig.status()
        assert st["ocpp"]["connected"] and st["ocpp"]["registered"]
        assert [c[1] for c in rig.cs.connections] == ["connect"]
        sent = [t for cp, d, t, _ in rig.cs.frames if cp == rig.cp and d == "in"]
        assert len(sent) >= 10
        assert all(_strict_utf8_and_no_surrogates(t) for t in sent), sent
        assert any(CLEF in t for t in sent)
    rig_run(tmp_path, body, runtime=runtime)


def test_the_ocpp_socket_has_tcp_nodelay_on_cpython():
    import socket

    from evse.hal.net import Net

    async def main():
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await Net().open_connection("127.0.0.1", port)
            sock = writer.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            writer.close()
        finally:
            server.close()
            await server.wait_closed()
    asyncio.run(main())
