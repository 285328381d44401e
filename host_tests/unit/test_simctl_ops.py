# The simulator's one table of ops (evsesim.simctl.OPS): every op the control
# server dispatches has its help entry, and the help texts name every op and
# every command-line option (docs/simulator.md).
from evsesim import sim, simctl
from evsesim.hal.sim_io import ALL_FAULTS


class _Board:
    connectors = [object(), object()]
    virtual = True


def _server():
    return simctl.ControlServer(None, _Board(), ("127.0.0.1", 0))


def test_every_dispatched_op_has_a_help_entry_and_no_more():
    srv = _server()
    assert sorted(simctl.op_names()) == sorted(srv.ops.keys())
    assert len(simctl.op_names()) == len(set(simctl.op_names()))


def test_help_op_lists_ops_arguments_connectors_and_faults():
    import asyncio
    srv = _server()
    r = asyncio.run(srv.op_help({}))
    assert [o["op"] for o in r["ops"]] == simctl.op_names()
    assert r["faults"] == list(ALL_FAULTS)
    plug = r["ops"][0]
    assert plug["op"] == "plug"
    assert plug["args"][0]["name"] == "connector" and plug["args"][0]["values"] == [1, 2]
    fault = [o for o in r["ops"] if o["op"] == "fault"][0]
    assert fault["args"][0]["values"] == list(ALL_FAULTS)
    one = asyncio.run(srv.op_help({"name": "ev"}))
    assert [o["op"] for o in one["ops"]] == ["ev"]


def test_unknown_op_and_fault_errors_list_the_valid_names():
    import asyncio
    srv = _server()
    msg = srv._unknown_op("nope")
    for name in simctl.op_names():
        assert name in msg
    try:
        asyncio.run(srv.op_fault({"name": "nope", "active": True}))
        raise AssertionError("no error")
    except simctl.BadRequest as e:
        for name in ALL_FAULTS:
            assert name in str(e)


def test_sim_help_names_every_option_and_every_op():
    text = sim.help_text()
    opts = sim.parse_args([])
    for key in opts:
        if key.endswith("_addr"):
            continue        # derived, not an option
        assert "--" + key.replace("_", "-") + " " in text, key
    for name in simctl.op_names():
        assert "\n  " + name + " " in text or "\n  " + name + "\n" in text, name
    for f in ALL_FAULTS:
        assert f in text
    assert "--help" in text
