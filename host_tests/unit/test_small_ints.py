# Frozen into a board image, an int constant inside a constant tuple is a
# small int only within -8192..8191 (mpy-tool keeps that range whatever the
# port); beyond it the image holds a long int in flash. Compared, it costs
# nothing; in arithmetic every result allocates (measured on the emulated
# Cortex-M3: 32 bytes per operation, docs/memory.md). The safety core's tick
# allocates nothing, so its tables hold small ints, and the few that cannot
# are only ever compared (listed here with where they are used).
import os

from support import cpython_only

SMALL = 8191
SAFETY = ("firmware/evse/iocu", "firmware/evse/hal/machine_hal.py")
# (file, name): tables whose large values the code only compares
COMPARED_ONLY = {
    ("firmware/evse/iocu/station.py", "_LIMITS"),      # rail limits: Iocu._supply compares readings with them
    ("firmware/evse/iocu/station.py", "_TEST_RGB"),    # LED test colours, passed to led_set once per step of a test
}
# pins.py defaults the board HAL makes small ints when it is built (_small, _fit)
NORMALISED = {("firmware/evse/hal/machine_hal.py", '"cp_k"'), ("firmware/evse/hal/machine_hal.py", '"supply_k"')}


def _ints(node):
    import ast      # CPython only: the test is (the Unix port has no ast)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        yield node.value
    elif isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int:
        yield -node.operand.value
    elif isinstance(node, ast.Tuple):
        for e in node.elts:
            yield from _ints(e)


def _files():
    for root in SAFETY:
        if root.endswith(".py"):
            yield root
            continue
        for n in sorted(os.listdir(root)):
            if n.endswith(".py"):
                yield root + "/" + n


def large_constant_tuples():
    """(file, line, name or None, values) of constant tuples holding ints
    outside the frozen small-int range, outermost tuples only."""
    import ast
    out = []
    for path in _files():
        tree = ast.parse(open(path).read())
        named = {}
        for st in tree.body:
            if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                named[id(st.value)] = st.targets[0].id
        inner = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple):
                for e in node.elts:
                    inner.add(id(e))
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple) and id(node) not in inner:
                big = [v for v in _ints(node) if not -SMALL - 1 <= v <= SMALL]
                if big:
                    out.append((path, node.lineno, named.get(id(node)), big))
    return out


@cpython_only
def test_the_safety_core_computes_with_no_large_int_constant():
    found = large_constant_tuples()
    assert [(f, n) for f, _, n, _ in found if (f, n) in COMPARED_ONLY] != [], "the check finds nothing"
    bad = [(f, line, n, v) for f, line, n, v in found if (f, n) not in COMPARED_ONLY and not _normalised(f, line)]
    assert bad == [], bad


def _normalised(path: str, line: int) -> bool:
    text = open(path).read().splitlines()[line - 1]
    return any(f == path and key in text for f, key in NORMALISED)
