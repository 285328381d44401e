# cpython-only: the generators (tools/gen_config_keys.py, tools/gen_config_docs.py)
# and property tests of the configuration store with hypothesis.
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tool(name):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def test_configuration_md_is_up_to_date():
    docs = _tool("gen_config_docs")
    assert docs.check_complete() == []
    assert docs.render() == open(docs.OUT).read(), "docs/configuration.md is stale: run tools/gen_config_docs.py"
    assert docs.render_keyhelp() == open(docs.HELP_OUT).read(), \
        "firmware/evse/web/keyhelp.py is stale: run tools/gen_config_docs.py"
    assert docs.main(["--check"]) == 0


def test_docs_carry_every_key_and_decision():
    docs = _tool("gen_config_docs")
    text = docs.render()
    from evse.config import keys as K
    for e in K.KEYS:
        assert "| `%s` |" % e[K.NAME] in text
    com = docs.parse_comments()
    assert com["TempLowerOffsetLimit"]["decision"].startswith("Float, not Integer")
    assert "source" in com["StopTransactionOnEVSideDisconnect"]
    assert com["MeterType"]["values"].startswith("1 = ABB B23")
    for alias, real in K.ALIASES:      # how the manual's spellings and OCPP's relate
        req = "no" if alias == "AuthorizationCacheEnabled" else "yes"    # 9.1.2 is optional
        assert "| `%s` | %s | alias of the manual's `%s` |" % (alias, req, real) in text
    assert "| 9.1.27 | `StopTxnSampledData` | yes | added (not in the manual) |" in text


def test_keys_py_matches_generator():
    import pytest
    gen = _tool("gen_config_keys")
    if not os.path.exists(gen.DEFAULT_JSON):
        pytest.skip("config_keys.json not available")
    assert gen.main(["--check"]) == 0, "firmware/evse/config/keys.py is stale: run tools/gen_config_keys.py"


def test_changes_never_raise_and_reject_cleanly():
    from hypothesis import given, settings, strategies as st
    from evse.config import keys as K
    from evse.config.store import Config
    from test_config import MemStorage

    names = [e[K.NAME] for e in K.KEYS]
    texts = st.one_of(
        st.text(max_size=40),
        st.sampled_from(["true", "FALSE", "0", "-1", "80", "12.5", "1e3", "nan", "", " ", "GREEN",
                         "Voltage.L1", K.NO_ACTIONS]),
        st.integers(-100000, 100000).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    )

    @settings(max_examples=400, deadline=None)
    @given(st.sampled_from(names + ["Unknown", "heartbeatinterval"]), texts,
           st.sampled_from(["sscu", "dscu"]))
    def prop(name, text, model):
        c = Config(MemStorage(), model)
        before = c.get_configuration()
        r = c.change(name, text)
        assert r in ("Accepted", "Rejected", "RebootRequired", "NotSupported")
        if r in ("Rejected", "NotSupported"):
            assert c.get_configuration() == before
        else:
            shown = c.get_str(name, configured=True)
            assert c.change(name, shown) == "Accepted" or c.reboot_pending()
            assert c.get_str(name, configured=True) == shown
            again = Config(c._storage, model)
            assert again.errors == []
            assert again.get_str(name) == shown

    prop()


def test_float_text_round_trips():
    from hypothesis import given, settings, strategies as st
    from evse.config.store import Config
    from test_config import MemStorage

    @settings(max_examples=300, deadline=None)
    @given(st.decimals(min_value=6, max_value=80, places=3))
    def prop(d):
        c = Config(MemStorage(), "dscu")
        assert c.change("NominalAmperage", str(d)) == "Accepted"
        assert abs(c.get("NominalAmperage") - float(d)) < 1e-9
        assert c.change("NominalAmperage", c.get_str("NominalAmperage")) == "Accepted"

    prop()


def test_store_repeats_the_table_constants_exactly():
    # config/store.py repeats keys.py's field indexes, types and flags as private
    # const()s (folded at compile time, no module globals): same values
    import re
    from evse.config import keys as K
    path = os.path.join(os.path.dirname(K.__file__), "store.py")
    with open(path) as f:
        src = f.read()
    found = dict((n, int(v)) for n, v in re.findall(r"^_([A-Z0-9]+) = const\((\d+)\)", src, re.M))
    for n in ("NAME", "TYPE", "FLAGS", "LO", "HI", "ENUM", "DEFAULT", "INTEGER", "FLOAT", "BOOLEAN",
              "STRING", "CSL", "LIST", "RO", "REBOOT", "SSCU", "DSCU", "VOLATILE", "DIGITS",
              "WRITEONLY", "IPV4"):
        assert found[n] == getattr(K, n), n
