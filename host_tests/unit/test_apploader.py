# The boot loader (evse.apploader, evse.hal.slotfs): which firmware slot a boot
# runs, what it does with a slot that fails, and that a power cut during the
# extraction leaves a bootable station. The "application" here is a package of
# its own, fwapp (fwapp.who.WHO says which copy runs), so the test process's
# evse modules stay as they are; the built-in copy is a directory at the END
# of sys.path, as ".frozen" comes after the slot directory on a board.
import json
import sys

from evse import apploader
from evse.hal import slotfs
from evse.hal.fsstore import Storage
from evse.services.firmware import FirmwareUpdater
from evse.services.fwbundle import encode_bundle
from support import tmpdir

PKG = ("fwapp",)
ENTRY = ("fwapp.who",)


def app(who, raise_at_import=False, init=True):
    files = []
    if init:
        files.append(("fwapp/__init__.py", b"# test application\n"))
    src = "WHO = %r\n" % who
    if raise_at_import:
        src = "raise ImportError('broken %s')\n" % who
    files.append(("fwapp/who.py", src.encode()))
    files.append(("fwapp/sub/__init__.py", b""))
    files.append(("fwapp/sub/data.py", ("DATA = %r\n" % ("x" * 5000)).encode()))
    return files


def _write(path, data) -> None:
    with open(path, "wb") as f:
        f.write(data)


class Station:
    """A state directory with a built-in fwapp and the slots the test puts in."""

    def __init__(self) -> None:
        self.root = tmpdir("boot")
        self.builtin = tmpdir("builtin")
        import os
        os.mkdir(self.builtin + "/fwapp")
        _write(self.builtin + "/fwapp/__init__.py", b"")
        _write(self.builtin + "/fwapp/who.py", b"WHO = 'builtin'\n")
        self.logged = []
        self.power_off()
        sys.path.append(self.builtin)

    def slot(self, name, version, files) -> bytes:
        b = encode_bundle(version, files)
        _write(self.root + "/app-" + name + ".jsonl", b)
        return b

    def pointer(self, **kw):
        if kw:
            p = {"slot": "", "version": "", "prev": "", "prev_version": "", "state": "ok",
                 "boots": 0, "report": ""}
            p.update(kw)
            _write(self.root + "/app-active", json.dumps(p).encode())
        with open(self.root + "/app-active") as f:
            return json.loads(f.read())

    def boot(self, max_boots=3):
        """One boot (a new process: nothing of the last one is loaded)."""
        self.power_off()
        r = apploader.boot(self.root, ENTRY, max_boots=max_boots, packages=PKG,
                           log=self.logged.append)
        return r, sys.modules["fwapp.who"].WHO

    def power_off(self) -> None:
        for k in list(sys.modules):
            if k == "fwapp" or k.startswith("fwapp."):
                del sys.modules[k]
        for p in list(sys.path):
            if p.startswith(self.root + "/"):
                sys.path.remove(p)
        apploader._state = None
        apploader._active = None

    def close(self) -> None:
        self.power_off()
        if self.builtin in sys.path:
            sys.path.remove(self.builtin)


def run(test):
    st = Station()
    try:
        test(st)
    finally:
        st.close()


def test_no_pointer_runs_the_builtin_firmware():
    def t(st):
        r, who = st.boot()
        assert who == "builtin" and r["slot"] is None and r["dir"] is None
        assert not [p for p in sys.path if p.startswith(st.root)]
    run(t)


def test_trial_slot_is_extracted_and_shadows_the_builtin_modules():
    def t(st):
        st.slot("b", "2.0.0", app("b"))
        st.pointer(slot="b", version="2.0.0", prev="", prev_version="0.1.0", state="trial")
        r, who = st.boot()
        assert who == "b" and r["slot"] == "app-b.jsonl" and r["version"] == "2.0.0"
        assert sys.path[0] == st.root + "/app-b.d"
        __import__("fwapp.sub.data")    # a subpackage of the slot, from the slot
        assert sys.modules["fwapp.sub.data"].DATA == "x" * 5000
        assert st.pointer()["boots"] == 1 and st.pointer()["state"] == "trial"
        # the next boot takes the extraction made (a file left there stays)
        _write(st.root + "/app-b.d/kept", b"1")
        r, who = st.boot()
        assert who == "b" and st.pointer()["boots"] == 2
        assert slotfs.read_file(st.root + "/app-b.d/kept") == b"1"
    run(t)


def test_station_takes_over_the_counted_boot():
    def t(st):
        st.slot("b", "2.0.0", app("b"))
        st.pointer(slot="b", version="2.0.0", prev_version="0.1.0", state="trial")
        st.boot()
        sent = []
        fw = FirmwareUpdater(Storage(st.root), None, None, None, lambda a, p: sent.append(p["status"]),
                             lambda: None)
        fw.start()
        assert fw.status() == "Installing" and st.pointer()["boots"] == 1   # not counted twice
        fw.confirm_boot()
        assert sent == ["Installed"] and st.pointer()["state"] == "ok"
        # without a boot loader in the process the station counts itself
        apploader._state = None
        fw.start()
        assert st.pointer()["boots"] == 0 and fw.status() == "Idle"
    run(t)


def test_slot_raising_at_import_falls_back_to_the_previous_slot():
    def t(st):
        st.slot("a", "1.0.0", app("a"))
        st.slot("b", "2.0.0", app("b", raise_at_import=True))
        st.pointer(slot="b", version="2.0.0", prev="a", prev_version="1.0.0", state="trial")
        r, who = st.boot()
        assert who == "a" and r["slot"] == "app-a.jsonl" and r["version"] == "1.0.0"
        assert st.root + "/app-b.d" not in sys.path and sys.path[0] == st.root + "/app-a.d"
        p = st.pointer()
        assert (p["slot"], p["state"], p["report"]) == ("a", "ok", "InstallationFailed")
        assert "broken b" in p["error"] and "broken b" in st.logged[0]
        # the previous firmware reports it once it reached the Central System
        sent = []
        fw = FirmwareUpdater(Storage(st.root), None, None, None, lambda a, p: sent.append(p["status"]),
                             lambda: None)
        fw.start()
        fw.confirm_boot()
        assert sent == ["InstallationFailed"]
        assert st.boot()[1] == "a"
    run(t)


def test_invalid_or_incomplete_bundle_falls_back_to_the_builtin_firmware():
    def t(st):
        b = bytearray(st.slot("b", "2.0.0", app("b")))
        i = b.find(b'"data"')
        b[i + 12] = ord("A") if b[i + 12] != ord("A") else ord("B")   # one flipped byte
        _write(st.root + "/app-b.jsonl", bytes(b))
        st.pointer(slot="b", version="2.0.0", prev_version="0.1.0", state="trial")
        r, who = st.boot()
        assert who == "builtin" and r["slot"] is None
        assert "mismatch" in st.pointer()["error"] and st.pointer()["report"] == "InstallationFailed"
        assert slotfs.read_file(st.root + "/app-b.d/" + slotfs.MARK) is None
        # a bundle without the package's __init__ cannot replace the package
        st.slot("b", "2.1.0", app("b", init=False))
        st.pointer(slot="b", version="2.1.0", prev_version="0.1.0", state="trial")
        assert st.boot()[1] == "builtin"
        assert "not a complete application" in st.pointer()["error"]
    run(t)


def test_unconfirmed_slot_is_rolled_back_after_max_boots():
    def t(st):
        st.slot("a", "1.0.0", app("a"))
        st.slot("b", "2.0.0", app("b"))
        st.pointer(slot="b", version="2.0.0", prev="a", prev_version="1.0.0", state="trial")
        assert st.boot(max_boots=2)[1] == "b"
        assert st.boot(max_boots=2)[1] == "b"     # never confirmed (hangs, crashes later)
        r, who = st.boot(max_boots=2)
        assert who == "a" and r["version"] == "1.0.0"
        p = st.pointer()
        assert (p["slot"], p["state"], p["report"]) == ("a", "ok", "InstallationFailed")
    run(t)


def test_start_up_failure_resets_into_the_previous_firmware():
    def t(st):
        st.slot("b", "2.0.0", app("b"))
        st.pointer(slot="b", version="2.0.0", prev_version="0.1.0", state="trial")
        assert st.boot()[1] == "b"
        assert apploader.failed(RuntimeError("no station")) is True
        assert st.pointer()["report"] == "InstallationFailed"
        assert st.boot()[1] == "builtin"
        assert apploader.failed(RuntimeError("built-in")) is False   # nothing to fall back on
    run(t)


class Cut(BaseException):
    """The power goes (kill -9): nothing after it runs."""


class CountingOs:
    def __init__(self, real, left) -> None:
        self.real = real
        self.left = left

    def tick(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise Cut()

    def stat(self, p):
        return self.real.stat(p)

    def listdir(self, p):
        return self.real.listdir(p)

    def mkdir(self, p):
        self.tick()
        self.real.mkdir(p)

    def rmdir(self, p):
        self.tick()
        self.real.rmdir(p)

    def remove(self, p):
        self.tick()
        self.real.remove(p)

    def rename(self, a, b):
        self.tick()
        self.real.rename(a, b)


class CountingFile:
    def __init__(self, f, counter) -> None:
        self.f = f
        self.c = counter

    def write(self, b):
        self.c.tick()
        n = len(b) // 2       # the cut may come in the middle of a write
        self.f.write(b[:n])
        self.f.flush()
        self.c.tick()
        self.f.write(b[n:])
        return len(b)

    def read(self, *a):
        return self.f.read(*a)

    def seek(self, *a):
        return self.f.seek(*a)

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()


def test_power_cut_at_any_point_of_the_extraction_leaves_a_bootable_station():
    real_os = slotfs.os
    cut_at = 0
    while True:
        st = Station()
        try:
            # slot b held 2.0.0 (extracted); 2.1.0 was installed over it, on trial
            st.slot("a", "1.0.0", app("a"))
            st.slot("b", "2.0.0", app("b-2.0.0"))
            st.pointer(slot="b", version="2.0.0", prev="a", prev_version="1.0.0", state="ok")
            assert st.boot()[1] == "b-2.0.0"
            st.slot("b", "2.1.0", app("b-2.1.0"))
            st.pointer(slot="b", version="2.1.0", prev="a", prev_version="1.0.0", state="trial")
            counter = CountingOs(real_os, cut_at)
            slotfs.os = counter
            slotfs.open = lambda p, m="r": CountingFile(open(p, m), counter) if "w" in m else open(p, m)
            cut = False
            try:
                st.boot()
            except Cut:
                cut = True
            finally:
                slotfs.os = real_os
                del slotfs.open
            # the next boot runs the new firmware, never the stale 2.0.0 files
            r, who = st.boot()
            assert who == "b-2.1.0", (cut_at, who)
            assert st.pointer()["boots"] == 2      # the cut boot counted too
            assert slotfs.read_file(st.root + "/app-b.d/" + slotfs.MARK) == \
                slotfs.end_line(st.root + "/app-b.jsonl")
        finally:
            st.close()
            slotfs.os = real_os
        if not cut:
            break
        cut_at += 1
    assert cut_at > 10      # every operation of a whole extraction was cut once


def test_power_cuts_at_every_boot_roll_back_to_the_previous_slot():
    real_os = slotfs.os
    st = Station()
    try:
        st.slot("a", "1.0.0", app("a"))
        st.boot()
        st.pointer(slot="a", version="1.0.0", state="ok")
        assert st.boot()[1] == "a"
        st.slot("b", "2.0.0", app("b"))
        st.pointer(slot="b", version="2.0.0", prev="a", prev_version="1.0.0", state="trial")
        for _ in range(3):          # every extraction of b is cut short
            slotfs.os = CountingOs(real_os, 3)
            try:
                st.boot()
                raise AssertionError("not cut")
            except Cut:
                pass
            finally:
                slotfs.os = real_os
        r, who = st.boot()          # max_boots reached: the previous slot, as extracted before
        assert who == "a" and st.pointer()["report"] == "InstallationFailed"
    finally:
        st.close()
        slotfs.os = real_os
