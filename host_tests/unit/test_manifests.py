# What a board image freezes (boards/*/manifest.py, boards/README.md): the
# evse package without the simulator's modules, yet every module the board
# imports at run time (the lazily loaded services too, docs/memory.md); the
# simulator's own manifest adds those on purpose. The manifests run against a
# fake of the manifest API (manifest_rig); the imports are walked from
# boards/*/main.py through the firmware sources.
from manifest_rig import FW, SIM, Manifest, reachable, walk_py
from support import cpython_only

BOARDS = ("stm32f4", "esp32")
# bytes of .mpy a board freezes (flash). Measured 245 969 (armv7emsp) with
# the website, the lazy services and without the simulator; the memory
# diet's aim of 180 KiB is not reached by leaving the simulator out
# (docs/memory.md, flash). 248 KiB since the modules follow the manual's
# concepts (docs/architecture.md): the split added about 4 KB of .mpy, most of
# it the names each new module's own qstr table repeats, which a frozen image
# stores once. 256 KiB with the IOCU port (iocu/port.py and the link's
# configuration and report frames, about 7 KB): measured 255 599; 260 493
# with the EKM protocol driver (metering/ekm.py, MeterType 10). 272 KiB with
# the field engineer's website (issue 12): evse/errhelp.py frozen for the
# status page's meaning and action per error (+8.3 KB), the live status, log
# and configuration pages and the page script (+5 KB): measured 276 241.
# 276 KiB since the key table's shared tuples are const() (config/keys.py):
# the .mpy repeats their strings in every entry (+4 KB, measured 280 126)
# while a frozen image stores them once (+1.4 KB of flash, measured on the
# emulated Cortex-M3) and the board saves 1.8 KB of heap. 292 KiB with what
# each key does on the configuration page (web/keyhelp.py, 163 summaries of
# 21 KB of text, +18 KB): measured 298 108. 296 KiB with the services that
# own their work (issue 10 item 4: station.py split into transactions,
# availability, status reporting, energy and maintenance, and the website's
# view; +3.3 KB, again mostly each new module's qstr table) and the EKM
# meter-number keys: measured 301 457. 297 KiB with each service
# registering its own OCPP operations (issue 10 item 4: ocpp/handlers.py
# gives way to the registry ocpp/operations.py, an ocpp_<action> method on
# each owning service and evse/callerror.py; +2.5 KB, each module's qstr
# table again): measured 303 949. 300 KiB with each owner declaring its
# configuration keys (private consts, compiled away; +1.9 KB: the key tuples
# the listeners subscribe with, `const` in 17 more modules): measured 305 809
MPY_BUDGET = 300 * 1024
ARCH = {"stm32f4": "armv7emsp", "esp32": "xtensawin"}


def board(name: str) -> Manifest:
    return Manifest().run("boards/%s/manifest.py" % name)


def evse_files(m: Manifest) -> list:
    return sorted(t for t in m.frozen if t.startswith("evse/"))


def runtime_imports(name: str) -> list:
    return reachable(["boards/%s/main.py" % name, "boards/%s/pins.py" % name])


def test_board_manifests_freeze_no_simulator_module():
    for b in BOARDS:
        m = board(b)
        got = evse_files(m)
        assert got, b
        assert [f for f in got if f in SIM] == [], b
        assert [f for f in got if "/sim" in f or f.startswith("evse/sim")] == [], b
        assert m.external == ["$(PORT_DIR)/boards/manifest.py"], m.external
        assert sorted(t for t in m.frozen if not t.startswith("evse/")) == ["main.py", "pins.py"]


def test_every_module_a_board_imports_is_frozen_and_nothing_else():
    for b in BOARDS:
        need = runtime_imports(b)
        got = evse_files(board(b))
        # the website, RS485 master/slave, Modbus meters, transfers... are
        # imported inside functions: the walk sees them, the image has them
        for lazy in ("evse/web/server.py", "evse/services/masterslave.py",
                     "evse/services/transfer.py", "evse/metering/modbus_meter.py",
                     "evse/services/reservations.py", "evse/services/smartcharging.py"):
            assert lazy in need, lazy
        assert [f for f in need if f not in got] == [], (b, "missing from boards/evse_manifest.py")
        assert [f for f in got if f not in need] == [], (b, "frozen, never imported")


def test_the_simulator_manifest_adds_only_the_simulator_modules():
    sim = Manifest().run("boards/sim_manifest.py")
    got = sorted(t for t in sim.frozen if t.startswith("evse/") or t.startswith("evsesim/"))
    boardset = evse_files(board("stm32f4"))
    assert sorted(f for f in got if f not in boardset) == sorted(SIM)
    assert [f for f in boardset if f not in got] == []
    # and the simulator needs nothing else: evsesim.sim's imports are all in it
    need = reachable([FW + "/evsesim/sim.py"], skip=())
    assert [f for f in need if f not in got] == []
    every = ["evse/" + f for f in walk_py(FW + "/evse")] + ["evsesim/" + f for f in walk_py(FW + "/evsesim")]
    assert [f for f in got if f not in every] == []


@cpython_only
def test_a_board_freezes_no_more_mpy_than_its_budget():
    import sys
    sys.path.insert(0, "tools")
    import mpy_build
    for b in BOARDS:
        m = board(b)
        files = [(m.frozen[t], t, m.opt[t]) for t in sorted(m.frozen)]
        total, errors = mpy_build.frozen_size(ARCH[b], files)
        assert errors == [], errors
        print("%s: %d modules frozen, %d bytes of .mpy (%s; the evse package at opt 2)"
              % (b, len(files), total, ARCH[b]))
        assert total <= MPY_BUDGET, (b, total)
