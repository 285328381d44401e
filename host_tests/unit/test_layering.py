# The layering rules of docs/architecture.md: only the HAL touches the hardware,
# the host's time, sockets and files; firmware uses no CPython-only modules.

from support import cpython_only, walk_py as _walk

FW = "firmware/evse"
HW = ("machine", "time", "socket", "ssl", "select", "utime", "usocket")
CPYTHON_ONLY = ("dataclasses", "enum", "abc", "typing", "logging", "functools",
                "datetime", "queue", "uuid", "traceback", "os.path", "pathlib",
                "threading", "subprocess")
# modules allowed to touch the outside world
HAL_ALLOWED = ("hal/",)
FILE_ALLOWED = ("hal/",)


def _imports(path):
    names = []
    guarded = False
    with open(path) as f:
        for line in f:
            s = line.strip()
            if guarded and line.startswith(" "):
                continue    # under "if TYPE_CHECKING:": seen by the type checker only
            guarded = s == "if TYPE_CHECKING:" or s.startswith("if TYPE_CHECKING:  #")
            if s.startswith("import "):
                for part in s[7:].split(","):
                    names.append(part.strip().split(" ")[0])
            elif s.startswith("from ") and " import " in s:
                names.append(s[5:].split(" import ")[0].strip())
    return names


def test_only_hal_imports_hardware_time_sockets():
    bad = []
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        if rel.startswith(HAL_ALLOWED):
            continue
        for name in _imports(p):
            if name in HW:
                bad.append("%s imports %s" % (rel, name))
    assert not bad, bad


def test_no_cpython_only_modules_in_firmware():
    bad = []
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        for name in _imports(p):
            if name in CPYTHON_ONLY or name.startswith("typing"):
                bad.append("%s imports %s" % (rel, name))
    assert not bad, bad


def test_only_hal_opens_files():
    bad = []
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        if rel.startswith(FILE_ALLOWED):
            continue
        with open(p) as f:
            src = f.read()
        for needle in ("open(", "os.remove", "os.rename", "os.listdir", "os.mkdir"):
            i = src.find(needle)
            while i >= 0:
                before = src[i - 1] if i > 0 else " "
                if before not in "._abcdefghijklmnopqrstuvwxyz":
                    bad.append("%s uses %s" % (rel, needle))
                    break
                i = src.find(needle, i + 1)
    assert not bad, bad


# ---- the IOCU boundary (manual 8.1; docs/design-notes.md, the IOCU port) ----
# The MCU side holds one object of the safety core: the port
# (evse.iocu.port). Nothing outside iocu/ calls a Connector mutator, reaches
# a Connector, or looks inside the Iocu. The mutators are derived from the
# Connector class: its public methods that assign an attribute of self,
# directly or through another method that does.
CONNECTOR = FW + "/iocu/connector.py"
# the composition root may build the safety core and hand its link to the
# port; the MCU loop (evse.mcu) runs its tick (the IOCU's own timer on one
# processor) and asks its next deadline
IOCU_ROOT = {"station.py": ("tick", "next_deadline_ms", "link"), "mcu.py": ("tick", "next_deadline_ms")}
# same-named methods of classes that are not the Connector (receiver, method)
NOT_CONNECTOR = {("station.py", "self.indicators", "tick"),   # evse.services.indicators
                 ("mcu.py", "st.indicators", "tick"),
                 ("fleet.py", "self", "report")}             # evsesim.fleet.Fleet.report


def _connector_mutators():
    import ast
    with open(CONNECTOR) as f:
        tree = ast.parse(f.read())
    cls = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Connector"][0]
    meths = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}

    def assigns_self(fn):
        for n in ast.walk(fn):
            if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) \
                    and isinstance(n.value, ast.Name) and n.value.id == "self":
                return True
        return False

    def self_calls(fn):
        return {n.func.attr for n in ast.walk(fn)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Name) and n.func.value.id == "self"}

    mut = {m for m, fn in meths.items() if assigns_self(fn)}
    grew = True
    while grew:
        grew = False
        for m, fn in meths.items():
            if m not in mut and self_calls(fn) & mut:
                mut.add(m)
                grew = True
    attrs = set()
    for n in ast.walk(meths["__init__"]):
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) \
                and isinstance(n.value, ast.Name) and n.value.id == "self" and not n.attr.startswith("_"):
            attrs.add(n.attr)
    return {m for m in mut if not m.startswith("_") and m != "__init__"}, attrs


def _violations(rel, src, mutators, attrs):
    import ast
    tree = ast.parse(src)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    bad = []
    for n in ast.walk(tree):
        where = "%s:%d" % (rel, getattr(n, "lineno", 0))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in mutators:
            recv = ast.unparse(n.func.value)
            m = n.func.attr
            if recv.endswith("port"):
                continue                    # the IOCU port: a framed command
            if recv.endswith(".iocu") and m in IOCU_ROOT.get(rel, ()):
                continue
            if (rel, recv, m) in NOT_CONNECTOR:
                continue
            bad.append("%s calls the Connector mutator %s.%s()" % (where, recv, m))
        elif isinstance(n, ast.Attribute):
            recv = ast.unparse(n.value)
            if n.attr == "connectors" and not rel.startswith("hal/") and id(n) not in called:
                # the HAL's connector IO lists are hardware, not the IOCU;
                # the root stores the Connector list for tests to look at
                if recv.endswith("board") or (rel == "station.py" and isinstance(n.ctx, ast.Store)):
                    continue
                bad.append("%s reaches the Connectors: %s.connectors" % (where, recv))
            elif recv.endswith("iocu") and n.attr not in IOCU_ROOT.get(rel, ()):
                bad.append("%s looks inside the Iocu: %s.%s" % (where, recv, n.attr))
            elif (isinstance(n.ctx, ast.Store) and n.attr in attrs and recv != "self"
                  and not rel.startswith("hal/")):
                bad.append("%s assigns a Connector attribute: %s.%s" % (where, recv, n.attr))
        elif isinstance(n, ast.Name) and n.id == "Connector" and rel != "station.py":
            bad.append("%s names the Connector class" % where)
    return bad


def _iocu_boundary_violations():
    mutators, attrs = _connector_mutators()
    bad = []
    for p in sorted(_walk(FW)):
        rel = p[len(FW) + 1:]
        if rel.startswith("iocu/"):
            continue
        with open(p) as f:
            bad.extend(_violations(rel, f.read(), mutators, attrs))
    return mutators, bad


@cpython_only
def test_only_the_iocu_port_commands_the_safety_core():
    mutators, bad = _iocu_boundary_violations()
    # the derivation finds the commands (and not the read-only getters)
    for m in ("authorize", "set_limit_da", "request_unlock", "keep_lock", "set_operative",
              "clear_error", "set_external_error", "configure", "tick"):
        assert m in mutators, m
    for m in ("active", "cable_in", "session_ended", "next_deadline_ms"):
        assert m not in mutators, m
    assert not bad, bad


@cpython_only
def test_the_boundary_check_catches_each_way_around_the_port():
    mutators, attrs = _connector_mutators()
    cases = (
        ("services/x.py", "def f(st):\n    st.connectors[0].authorize(True)\n", 2),
        ("services/x.py", "def f(s):\n    s.connector.request_unlock()\n", 1),
        ("web/x.py", "def f(st):\n    return st.iocu.error\n", 1),
        ("services/x.py", "def f(c):\n    c.operative = False\n", 1),
        ("ocpp/x.py", "from evse.iocu.connector import Connector\nC = Connector\n", 1),
        ("services/x.py", "def f(st):\n    st.port.authorize(1, True)\n    return st.n\n", 0),
    )
    for rel, src, n in cases:
        got = _violations(rel, src, mutators, attrs)
        assert len(got) == n, (src, got)


def test_one_module_imports_asyncio():
    # evse/aio.py is the one asyncio import (uasyncio on old MicroPython,
    # None where none is on sys.path); everything else: from evse.aio import asyncio
    bad = []
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        if rel == "aio.py":
            continue
        for name in _imports(p):
            if name in ("asyncio", "uasyncio") or name.startswith("asyncio."):
                bad.append("%s imports %s" % (rel, name))
    assert not bad, bad


# The OCPP-J link in layers (docs/architecture.md): the frame codec with
# the text on the wire (ocpp/wsframe.py) under the opening handshake
# (ocpp/wshandshake.py), both synchronous, under the async client
# (ocpp/ws.py); the rest of the firmware sees the link through ocpp/client.py.
WS_SYNC = ("ocpp/wsframe.py", "ocpp/wshandshake.py")
WS_INTERNALS = ("evse.ocpp.ws", "evse.ocpp.wsframe", "evse.ocpp.wshandshake")
NO_IO = ("asyncio", "uasyncio", "evse.aio", "socket", "ssl", "select", "evse.hal.net")


def _evse_imports(p):
    """evse.x.y modules p imports, "from evse.ocpp import ws" as evse.ocpp.ws"""
    out = []
    with open(p) as f:
        for line in f:
            s = line.strip()
            if s.startswith("from evse.") and " import " in s:
                mod, names = s[5:].split(" import ", 1)
                out.append(mod.strip())
                for n in names.strip("()").split(","):
                    n = n.strip().split(" ")[0]
                    if n:
                        out.append(mod.strip() + "." + n)
            elif s.startswith("import evse."):
                out.append(s[7:].split(" ")[0])
    return out


def test_websocket_sync_parts_do_no_io():
    bad = []
    for rel in WS_SYNC:
        for name in _imports(FW + "/" + rel):
            if name in NO_IO or name.startswith("evse.hal") or name == "evse.ocpp.ws":
                bad.append("%s imports %s" % (rel, name))
    assert not bad, bad
    # the frame codec knows nothing of the handshake or the client
    assert [n for n in _evse_imports(FW + "/ocpp/wsframe.py")
            if n.startswith(("evse.ocpp.ws", "evse.ocpp.client"))] == []


def test_no_module_outside_ocpp_imports_websocket_internals():
    bad = []
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        if rel.startswith("ocpp/"):
            continue
        for name in _evse_imports(p):
            if name in WS_INTERNALS:
                bad.append("%s imports %s" % (rel, name))
    assert not bad, bad


# File transfer (services/transfer.py): the URL (transferurl) and the retry
# schedule (transferjob) are plain code; the FTP and HTTP clients are loaded by
# transfer.py for the URL's scheme, by nothing else.
def test_transfer_clients_are_loaded_by_the_transfer_only():
    bad = []
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        for name in _evse_imports(p):
            if name in ("evse.services.ftpclient", "evse.services.httpclient") \
                    and rel != "services/transfer.py":
                bad.append("%s imports %s" % (rel, name))
    assert not bad, bad
    for rel in ("services/transferurl.py",):
        assert [n for n in _imports(FW + "/" + rel) if n in NO_IO or n.startswith("evse.")] == [], rel


# Parts of a lazily loaded service are imported by the service (or by each
# other), never by the station at boot: the split modules load with their
# service (docs/memory.md, lazy services). fwbundle: the boot loader checks
# slots with it too.
PARTS = {
    "evse.services.smartprofile": ("services/smartcharging.py", "services/smartschedule.py"),
    "evse.services.smartschedule": ("services/smartcharging.py",),
    "evse.services.msmaster": ("services/mswiring.py",),
    "evse.services.msslave": ("services/mswiring.py",),
    "evse.services.masterslave": ("services/mswiring.py", "services/msmaster.py",
                                  "services/msslave.py"),
    "evse.services.fwbundle": ("services/firmware.py", "apploader.py"),
    "evse.services.transferjob": ("services/firmware.py", "services/diagnostics.py"),
    "evse.services.transferurl": ("services/transfer.py", "services/ftpclient.py",
                                  "services/httpclient.py"),
}


def test_the_parts_of_a_lazy_service_are_imported_by_its_modules_only():
    bad = []
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        for name in _evse_imports(p):
            if name in PARTS and rel not in PARTS[name] and "services/" + name[14:] + ".py" != rel:
                bad.append("%s imports %s" % (rel, name))
    assert not bad, bad


def test_the_master_does_not_load_the_slave_nor_the_slave_the_master():
    assert "evse.services.msslave" not in _evse_imports(FW + "/services/msmaster.py")
    assert "evse.services.msmaster" not in _evse_imports(FW + "/services/msslave.py")


def test_the_architecture_page_lists_every_module():
    # docs/architecture.md, "Folders and modules": one line per module (the
    # web pages share one); a new module is listed in its folder's block
    with open("docs/architecture.md") as f:
        doc = f.read()
    start = doc.index("firmware/evse/\n")
    block = doc[start:doc.index("```", start)]
    words = block.split()
    missing = []
    for p in _walk(FW) + _walk(SIMPKG):       # the simulator's package in the same block
        rel = p[len("firmware") + 1:]
        base = rel.split("/")[-1]
        if base == "__init__.py" and rel.count("/") > 1:
            continue
        if base not in words:
            missing.append(rel)
    assert "firmware/evsesim/" in block
    assert not missing, missing


SIMPKG = "firmware/evsesim"


def _simpkg_imports(p) -> list:
    """Lines of p that import the simulator's package (anywhere in the file)."""
    out = []
    with open(p) as f:
        for line in f:
            t = line.strip()
            if t.startswith("from evsesim") or t.startswith("import evsesim"):
                out.append(t)
    return out


def test_no_product_module_imports_the_simulators_package():
    assert _simpkg_imports(SIMPKG + "/fleet.py"), "the check finds the simulator's own imports"
    bad = [(p, i) for p in _walk(FW) for i in _simpkg_imports(p)]
    assert bad == [], bad


# Imports point down only (docs/architecture.md, layers): what each folder
# of the package may import besides itself. The one exception: the
# simulator's meter (hal/sim_meter.py) shares the plausibility rule of the
# real meters (metering/plausible.py).
# evse.callerror: what an operation answers besides its payload (CallError,
# Later), shared by the services that answer and the client that sends
BASE = ("evse.aio", "evse.ticks", "evse.clock", "evse.hal", "evse.callerror")
TOP = ("evse", "evse.VERSION")      # from evse import VERSION
MAY_IMPORT = {
    "hal": BASE,
    "config": BASE,
    "iocu": BASE,
    "metering": BASE,
    "services": BASE + ("evse.iocu", "evse.metering", "evse.config"),
    "ocpp": BASE + ("evse.config",),
    "web": BASE + ("evse.config", "evse.iocu", "evse.services", "evse.metering"),
}
UPWARD_OK = (("hal/sim_meter.py", "evse.metering.plausible"),)


def test_imports_point_down_only():
    bad = []
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        top = rel.split("/")[0]
        if top not in MAY_IMPORT:
            continue        # the station, the entry points, the simulator
        for name in _evse_imports(p):
            mod = name if name.count(".") <= 2 else ".".join(name.split(".")[:3])
            if mod == "evse." + top or mod.startswith("evse." + top + "."):
                continue
            if name in TOP or (rel, mod) in UPWARD_OK or (rel, name) in UPWARD_OK:
                continue
            if not any(mod == b or mod.startswith(b + ".") for b in MAY_IMPORT[top]):
                bad.append("%s imports %s" % (rel, name))
    assert not bad, bad


# The simulator is outside the product (docs/architecture.md, the simulator):
# its modules (manifest_rig.SIM, boards/sim_manifest.py) wrap the station
# from outside. No product module asks whether it is simulated (`.virtual`)
# nor imports a simulator module: what differs comes in through the HAL and
# the clock (board.meter_type_name, board.builtin_meters, clock.wait_ms).
from manifest_rig import SIM


def _sim_modules():
    out = []
    for f in SIM:
        mod = f[:-3].replace("/", ".")
        out.append(mod[:-9] if mod.endswith(".__init__") else mod)
    return out


def _code(line):
    """The line without its comment (a '#' inside a string is rare enough)."""
    i = line.find("#")
    return line if i < 0 else line[:i]


def _virtual_accesses(rel, src):
    bad = []
    n = 0
    for line in src.split("\n"):
        n += 1
        s = _code(line)
        i = s.find(".virtual")
        while i >= 0:
            j = i + len(".virtual")
            if j >= len(s) or not (s[j].isalpha() or s[j].isdigit() or s[j] == "_"):
                bad.append("%s:%d: %s" % (rel, n, line.strip()))
                break
            i = s.find(".virtual", j)
    return bad


def _sim_imports(rel, names, sims):
    return ["%s imports %s" % (rel, name) for name in names
            if any(name == m or name.startswith(m + ".") for m in sims)]


def _product_files():
    out = []
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        if "evse/" + rel not in SIM:
            out.append((rel, p))
    return out


def test_no_product_module_asks_whether_it_is_simulated():
    bad = []
    for rel, p in _product_files():
        with open(p) as f:
            bad += _virtual_accesses(rel, f.read())
    assert not bad, bad


def _top_imports(p):
    """"from evsesim import simdrive" as evsesim.simdrive"""
    out = []
    with open(p) as f:
        for line in f:
            s = line.strip()
            if s.startswith("from evse import "):
                for n in s[17:].strip("()").split(","):
                    n = n.strip().split(" ")[0]
                    if n:
                        out.append("evse." + n)
    return out


def test_no_product_module_imports_the_simulator():
    sims = _sim_modules()
    bad = []
    for rel, p in _product_files():
        bad += _sim_imports(rel, _evse_imports(p) + _top_imports(p), sims)
    assert not bad, bad


def test_the_simulator_checks_catch_a_virtual_branch_and_a_simulator_import():
    assert _virtual_accesses("x.py", "if self.board.virtual:\n    pass\n") == [
        "x.py:1: if self.board.virtual:"]
    assert _virtual_accesses("x.py", "# on board.virtual\nv = b.virtual_ms\n") == []
    sims = _sim_modules()
    assert "evsesim.hal.sim_io" in sims and "evsesim.simdrive" in sims and "evsesim.sim" in sims
    assert _sim_imports("x.py", ["evsesim.hal.sim_io", "evse.hal.simple", "evse.simulate"], sims) == [
        "x.py imports evsesim.hal.sim_io"]
    assert _sim_imports("x.py", ["evsesim.simdrive"], sims) == ["x.py imports evsesim.simdrive"]


# Services that own their work (docs/architecture.md, the composition root):
# station.py builds and wires the services (evse.mcu runs them); no service
# holds the Station, neither as an attribute nor through a bound method or a
# closure handed to it as a callback.
STATION_LINES = 240   # the composition root (the MCU loop is evse/mcu.py); was 1445 lines before the split


def _reachable_station_refs(st, roots):
    """Paths from the station's services to the Station object itself."""
    seen = {id(st)}
    bad = []
    todo = [(name, obj) for name, obj in roots]
    atoms = (int, float, str, bytes, bool, type(None))
    while todo:
        path, obj = todo.pop()
        if obj is st:
            bad.append(path)
            continue
        if isinstance(obj, atoms) or isinstance(obj, type) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if type(obj).__name__ == "module":
            continue
        kids = []
        if isinstance(obj, dict):
            kids = [("%s[%r]" % (path, k), v) for k, v in obj.items()]
        elif isinstance(obj, (list, tuple, set, frozenset)):
            kids = [("%s[%d]" % (path, i), v) for i, v in enumerate(obj)]
        elif isinstance(obj, (bytearray, memoryview)):
            continue
        else:
            s = getattr(obj, "__self__", None)
            if s is not None:
                kids.append((path + ".__self__", s))
            for i, c in enumerate(getattr(obj, "__closure__", None) or ()):
                kids.append(("%s.<cell %d>" % (path, i), c.cell_contents))
            d = getattr(obj, "__dict__", None)
            if isinstance(d, dict):
                kids.extend(("%s.%s" % (path, k), v) for k, v in d.items())
        todo.extend(kids)
    return bad


def _station(**cfg):
    from session_rig import Rig
    return Rig("dscu", **cfg).st


@cpython_only
def test_no_service_holds_the_station():
    # every service of a booted station, the lazily loaded ones too (each
    # loaded here), and the website's view less its poke()
    st = _station()
    st.maint.diagnostics
    st.maint.firmware
    st.cards.reservation_service()
    st.energy.smart
    st.sensors
    roots = [(k, v) for k, v in st.__dict__.items() if k not in ("_tick_cb", "web", "_task")]
    assert len(roots) > 20
    assert _reachable_station_refs(st, roots) == []
    view = st.web_view()
    assert view.poke.__self__ is st        # the one way back: "look at it now"
    view.poke = None
    assert _reachable_station_refs(st, [("view", view)]) == []


@cpython_only
def test_the_station_check_finds_a_service_that_holds_it():
    st = _station()
    st.energy.back = [st.poke]
    assert _reachable_station_refs(st, [("energy", st.energy)]) == ["energy.back[0].__self__"]


def test_station_py_is_a_composition_root_of_bounded_size():
    with open(FW + "/station.py") as f:
        n = len(f.read().split("\n"))
    assert n <= STATION_LINES, n
