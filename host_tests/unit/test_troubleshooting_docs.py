# cpython-only: the generator of docs/troubleshooting.md (tools/gen_troubleshooting.py).
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _gen():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        return __import__("gen_troubleshooting")
    finally:
        sys.path.pop(0)


def test_every_error_code_has_a_meaning_and_a_check():
    g = _gen()
    assert g.check_complete() == []
    from evse.iocu import errors as E
    text = g.render()
    for i in range(1, E.N_CODES):
        name, code = E.TABLE[i][0], E.TABLE[i][1]
        row = [ln for ln in text.splitlines() if ln.startswith("| `%s`" % name)]
        assert len(row) == 1, name
        assert "| %s |" % code in row[0]


def test_troubleshooting_md_is_up_to_date():
    g = _gen()
    with open(g.OUT) as f:
        assert g.render() == f.read(), "docs/troubleshooting.md is stale: run tools/gen_troubleshooting.py"
    assert g.main(["--check"]) == 0
