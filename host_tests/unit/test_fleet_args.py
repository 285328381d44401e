# evsesim.fleet (docs/simulator.md, Fleet): its command line, the station ids,
# and what each station of a fleet is configured with.
import support

from evsesim import fleet as F
from evsesim.sim import UsageError


def test_defaults_and_stagger():
    o = F.parse_args(["--csms", "ws://127.0.0.1:9000/ocpp", "--count", "100", "--first", "101",
                      "--total", "200"])
    assert (o["count"], o["first"], o["total"]) == (100, 101, 200)
    assert o["meter_interval"] == 60 and o["model"] == "sscu" and o["prefix"] == "FLEET"
    f = F.Fleet(o)
    assert [m.id for m in f.members[:2]] == ["FLEET-101", "FLEET-102"]
    assert f.members[-1].id == "FLEET-200"
    # the stagger belongs to the fleet's index, not to the process
    assert f.slot(101) == 0.5 and f.slot(1) == 0.0
    # one process alone: --total defaults to its stations
    assert F.parse_args(["--csms", "ws://h/x", "--count", "7"])["total"] == 7


def test_ids_are_zero_padded():
    assert F.station_id("FLEET", 7, 200) == "FLEET-007"
    assert F.station_id("X", 42, 5000) == "X-0042"


def test_bad_options_are_refused():
    for argv in ([], ["--count", "3"], ["--csms", "http://h/"], ["--csms", "ws://h/", "--count", "0"],
                 ["--csms", "ws://h/", "--count", "x"], ["--csms", "ws://h/", "--model", "xl"],
                 ["--csms", "ws://h/", "--count", "5", "--total", "3"],
                 ["--csms", "ws://h/", "--charge", "-1"], ["--csms", "ws://h/", "--bogus", "1"],
                 ["--csms", "ws://h/", "--set", "novalue"]):
        support.raises(UsageError, F.parse_args, argv)


def test_each_station_has_its_own_id_state_and_configuration():
    root = support.tmpdir("fleet")
    try:
        o = F.parse_args(["--csms", "ws://127.0.0.1:9000/ocpp", "--count", "2", "--state-root", root,
                          "--meter-interval", "15", "--set", "HeartBeatInterval=600"])
        f = F.Fleet(o)
        for m in f.members:
            m.build()
        a, b = [m.station.config.get for m in f.members]
        assert (a("NodeId"), b("NodeId")) == ("FLEET-001", "FLEET-002")
        assert a("MeterValueSampleInterval") == 15 and b("HeartBeatInterval") == 600
        assert (a("BESURL"), a("BESPortnumber"), a("BESPath")) == ("127.0.0.1", 9000, "/ocpp")
        assert f.members[0].station.ocpp.url() == "ws://127.0.0.1:9000/ocpp/FLEET-001"
        # distinct boards: serial numbers differ, state directories are <root>/<id>
        s0, s1 = [m.board.serial_number() for m in f.members]
        assert s0 != s1
        assert [m.board.storage.root for m in f.members] == [root + "/FLEET-001", root + "/FLEET-002"]
        assert f.figures()["connected"] == 0
    finally:
        support.rmtree(root)
