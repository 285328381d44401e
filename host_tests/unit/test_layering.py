# The layering rules of docs/architecture.md: only the HAL touches the hardware,
# the host's time, sockets and files; firmware uses no CPython-only modules.
import os

FW = "firmware/evse"
HW = ("machine", "time", "socket", "ssl", "select", "utime", "usocket")
CPYTHON_ONLY = ("dataclasses", "enum", "abc", "typing", "logging", "functools",
                "datetime", "queue", "uuid", "traceback", "os.path", "pathlib",
                "threading", "subprocess")
# modules allowed to touch the outside world
HAL_ALLOWED = ("hal/",)
FILE_ALLOWED = ("hal/",)


def _walk(d):
    out = []
    for n in os.listdir(d):
        p = d + "/" + n
        if n == "__pycache__":
            continue
        try:
            os.listdir(p)
            out.extend(_walk(p))
        except OSError:
            if n.endswith(".py"):
                out.append(p)
    return out


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
    for p in _walk(FW):
        rel = p[len(FW) + 1:]
        base = rel.split("/")[-1]
        if base == "__init__.py" and "/" in rel:
            continue
        if base not in words:
            missing.append(rel)
    assert not missing, missing


# Imports point down only (docs/architecture.md, layers): what each folder
# of the package may import besides itself. The one exception: the
# simulator's meter (hal/sim_meter.py) shares the plausibility rule of the
# real meters (metering/plausible.py).
BASE = ("evse.aio", "evse.ticks", "evse.clock", "evse.hal")
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
