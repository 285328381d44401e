# Boot loader of the application slots (manual 3.20; the slots, the pointer and
# the updater are in evse.services.firmware, the bundle format in
# evse.services.fwbundle).
#
# A board's main.py (and the simulator, evsesim.sim) calls boot(root) BEFORE it
# imports the application (evse.main, evse.station, ...):
#   1. FirmwareUpdater.boot_attempt() reads the pointer (root/app-active),
#      counts a boot of a slot on trial and rolls back one not confirmed
#      within max_boots boots;
#   2. the chosen slot (root/app-a.jsonl or app-b.jsonl) is extracted into
#      root/app-a.d (or app-b.d), or an extraction made earlier is reused when
#      its mark (root/app-X.d/_bundle_end) is the slot's closing line;
#   3. that directory goes first on sys.path (before "" and ".frozen", so its
#      modules shadow the frozen ones) and the built-in package modules
#      already imported are dropped from sys.modules;
#   4. the entry modules are imported: an exception there, an invalid bundle
#      or a bundle without the package's __init__ makes slot_failed() point
#      back to the previous slot (or the built-in firmware) and 2..4 repeat.
# A slot is a whole application package: on MicroPython the submodules of a
# package are looked up in its own directory only, so a bundle cannot
# overlay single modules of the frozen package.
#
# Extraction (evse.hal.slotfs) is atomic: a power cut (kill -9) at any point
# leaves a complete marked directory or none; the next boot extracts again,
# its boot counted, so a slot that never gets through is rolled back after
# max_boots boots; the other slot's directory is never touched.
#
# This module itself is never shadowed: it stays in sys.modules, so the
# application sees what this boot did (FirmwareUpdater.start() looks up
# booted(); evse.main and evsesim.sim call failed()).
import sys

_state = None     # type: dict | None  # after boot(): root, slot (storage name or None), dir, version
_builtin = None   # type: tuple | None  # (firmware module, Storage, slotfs, BundleParser) of the built-in firmware
_active = None    # type: tuple | None  # (dir, mark) on sys.path now; None: the built-in modules


def _nop(*a) -> None:
    pass


def _modules():
    global _builtin
    if _builtin is None:
        # imported once, at the first boot, before any slot is on sys.path:
        # the slots are always checked by the built-in verifier
        from evse.services import firmware
        from evse.services.fwbundle import BundleParser
        from evse.hal.fsstore import Storage
        from evse.hal import slotfs
        _builtin = (firmware, Storage, slotfs, BundleParser)
    return _builtin


def _covered(name: str, prefixes) -> bool:
    for p in prefixes:
        if name == p or name.startswith(p + "."):
            return True
    return False


def _purge(packages, keep) -> None:
    me = __name__
    for k in list(sys.modules):
        if k != me and _covered(k, packages) and not _covered(k, keep):
            del sys.modules[k]


def _activate(d, mark, packages, keep, path) -> None:
    """Put directory d (None: the built-in firmware) in charge of `packages`."""
    global _active
    new = (d, mark) if d is not None else None
    if new == _active:
        return
    if _active is not None and _active[0] in path:
        path.remove(_active[0])
    if d is not None:
        path.insert(0, d)
    _purge(packages, keep)
    _active = new
    try:
        import gc
        gc.collect()
    except ImportError:  # pragma: no cover
        pass


def _relink(packages) -> None:
    """Modules kept in sys.modules (this one, `keep`) as attributes of the
    packages imported again, as an import would have set them."""
    for k in list(sys.modules):
        if "." in k and _covered(k, packages):
            parent, _, leaf = k.rpartition(".")
            pm = sys.modules.get(parent)
            if pm is not None and not hasattr(pm, leaf):
                try:
                    setattr(pm, leaf, sys.modules[k])
                except (AttributeError, TypeError):  # pragma: no cover
                    pass


def boot(root: str, entry=("evse.main",), max_boots: int = 3, packages=("evse",), keep=(),
         path=None, log=print) -> dict:
    """Choose, prepare and activate the application for this boot (see the
    header). root: the storage root (pins.STATE_ROOT, --state-dir); entry:
    modules imported to prove the slot runs; keep: module prefixes that stay
    loaded (the simulator's board on a power cycle). -> {"slot": storage
    name or None (built-in), "dir": directory on sys.path or None,
    "version": what runs}."""
    global _state
    root = root.rstrip("/") or "/"
    if path is None:
        path = sys.path
    firmware, Storage, slotfs, BundleParser = _modules()
    fw = firmware.FirmwareUpdater(Storage(root), None, None, None, _nop, _nop, max_boots=max_boots)
    slot = fw.boot_attempt()
    while True:
        d = None
        mark = None
        try:
            if slot is not None:
                d = slotfs.extract(root, slot, BundleParser, packages)
                mark = slotfs.read_file(d + "/" + slotfs.MARK)
            _activate(d, mark, packages, keep, path)
            for m in entry:
                __import__(m)
            break
        except Exception as e:  # this slot cannot run: the previous one
            if slot is None:
                raise           # the built-in firmware itself: nothing to fall back on
            log("boot: firmware %s in %s fails: %r" % (fw.active_version(), slot, e))
            slot = fw.slot_failed("%r" % (e,))
    _relink(packages)
    _state = {"root": root, "slot": slot, "dir": d, "version": fw.active_version()}
    return _state


def booted():
    """What boot() chose in this process (None: no boot loader ran)."""
    return _state


def failed(exc) -> bool:
    """The application could not start (exception in its start-up): the slot
    on trial (or a confirmed one) gives way to the previous firmware at the
    next boot(). -> False when the built-in firmware failed (nothing to fall
    back on: let the exception through)."""
    global _state
    st = _state
    if st is None or st["slot"] is None:
        return False
    firmware, Storage, slotfs, _ = _modules()
    fw = firmware.FirmwareUpdater(Storage(st["root"]), None, None, None, _nop, _nop)
    fw.slot_failed("start-up: %r" % (exc,))
    _state = None
    return True
