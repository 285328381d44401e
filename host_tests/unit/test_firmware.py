# evse.services.firmware: the bundle format (streaming verification: good, bad
# hash, truncated, wrong format), the UpdateFirmware sequence with its
# FirmwareStatusNotifications over a fake FTP/HTTP transport on a virtual clock,
# A/B slot switching, confirmation and rollback.
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")  # the frozen asyncio, when MICROPYPATH hides it
import asyncio
import json

from evse.clock import iso8601
from evsesim.hal.simclock import VirtualClock
from evse.config.store import Config
from evse.hal.fsstore import Storage
from evse.services import firmware as fw
from evse.services.firmware import FirmwareUpdater
from evse.services.fwbundle import BundleParser, encode_bundle, verify_bundle
from support import tmpdir
from test_transfer import FakeFtp, FakeHttp, FakeNet, http_response, payload

FILES = [("evse/services/x.py", b"print('x')\n" * 400), ("evse/y.mpy", payload(5000)),
         ("empty.txt", b"")]


def good_bundle(version="1.2.0", files=None):
    return encode_bundle(version, FILES if files is None else files)


# ---- bundle format ----------------------------------------------------------------------------
def test_good_bundle_verifies_in_any_chunking():
    b = good_bundle()
    for chunk in (1, 7, 512, 4096, len(b)):
        p = verify_bundle(b, chunk)
        assert p.ok, (chunk, p.error)
        assert p.version == "1.2.0"
        assert [(f[0], f[1]) for f in p.files] == [(n, len(d)) for n, d in FILES]


def test_bundle_lines_are_json_and_bounded():
    b = good_bundle()
    lines = b.split(b"\n")
    assert lines[-1] == b""
    for ln in lines[:-1]:
        assert len(ln) <= 4400
        assert type(json.loads(ln)) is dict
    assert json.loads(lines[0])["files"] == 3


def test_on_data_extracts_the_files():
    got = {}

    def on_data(path, data):
        got[path] = got.get(path, b"") + data

    p = BundleParser(on_data)
    b = good_bundle()
    for i in range(0, len(b), 1000):
        p.feed(b[i:i + 1000])
    p.finish()
    assert p.ok
    for name, data in FILES:
        assert got.get(name, b"") == data


def _replace_line(b, index, fn):
    lines = b.split(b"\n")
    lines[index] = fn(lines[index])
    return b"\n".join(lines)


def _rec(d):
    return json.dumps(d).encode()


def test_bad_file_hash_is_rejected():
    b = good_bundle()
    # flip one byte of the first data line's content (valid base64 kept)
    def flip(ln):
        d = json.loads(ln)
        s = d["data"]
        d["data"] = ("B" if s[0] != "B" else "C") + s[1:]
        return _rec(d)
    p = verify_bundle(_replace_line(b, 2, flip))
    assert not p.ok and "sha256 mismatch" in p.error


def test_declared_hash_or_size_wrong():
    b = good_bundle()

    def sha(ln):
        d = json.loads(ln)
        d["sha256"] = "0" * 64
        return _rec(d)

    def size(ln):
        d = json.loads(ln)
        d["size"] += 1
        return _rec(d)
    assert "sha256 mismatch" in verify_bundle(_replace_line(b, 1, sha)).error
    assert "size mismatch" in verify_bundle(_replace_line(b, 1, size)).error


def test_header_edit_breaks_the_closing_hash():
    b = good_bundle()

    def ver(ln):
        d = json.loads(ln)
        d["version"] = "9.9.9"
        return _rec(d)
    p = verify_bundle(_replace_line(b, 0, ver))
    assert not p.ok and p.error == "bundle hash mismatch"


def test_truncated_bundle_is_rejected_at_every_cut():
    b = good_bundle()
    cuts = list(range(0, len(b) - 1, 97)) + [len(b) - 1]
    for n in cuts:
        p = verify_bundle(b[:n])
        assert not p.ok, n
        assert p.error is not None


def test_missing_file_record_is_rejected():
    lines = good_bundle().split(b"\n")
    # drop the last file record (empty.txt, no data lines) but keep the end line
    body = b"\n".join(lines[:-3]) + b"\n"
    p = verify_bundle(body + lines[-2] + b"\n")
    assert not p.ok and p.error in ("file count mismatch", "bundle hash mismatch")


def _bundle_from_records(recs):
    body = b"".join(_rec(r) + b"\n" for r in recs)
    import hashlib
    import binascii
    h = hashlib.sha256()
    h.update(body)
    return body + _rec({"end": binascii.hexlify(h.digest()).decode()}) + b"\n"


def test_wrong_format_is_rejected():
    H = {"bundle": "micro-evse", "format": 1, "version": "1.0", "files": 1}
    F = {"file": "a.py", "size": 0, "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
    assert verify_bundle(_bundle_from_records([H, F])).ok
    cases = [
        (b"PK\x03\x04 zip file\n", "bad JSON line"),
        (b"", "bundle truncated"),
        (b"[1, 2]\n", "bad record"),
        (_bundle_from_records([dict(H, bundle="other"), F]), "not a micro-evse bundle"),
        (_bundle_from_records([dict(H, format=2), F]), "not a micro-evse bundle"),
        (_bundle_from_records([dict(H, version=""), F]), "bad version"),
        (_bundle_from_records([dict(H, version="1.0 beta"), F]), "bad version"),
        (_bundle_from_records([dict(H, version="v" * 51), F]), "bad version"),
        (_bundle_from_records([dict(H, version=3), F]), "bad version"),
        (_bundle_from_records([dict(H, files="1"), F]), "bad file count"),
        (_bundle_from_records([H, dict(F, file="../boot.py")]), "bad path"),
        (_bundle_from_records([H, dict(F, file="/abs.py")]), "bad path"),
        (_bundle_from_records([H, dict(F, file="a b.py")]), "bad path"),
        (_bundle_from_records([H, dict(F, size=-1)]), "bad file record"),
        (_bundle_from_records([H, dict(F, sha256="abc")]), "bad file record"),
        (_bundle_from_records([dict(H, files=2), F, F]), "duplicate path"),
        (_bundle_from_records([H, F, dict(F, file="b.py")]), "more files than declared"),
        (_bundle_from_records([dict(H, files=2), F]), "file count mismatch"),
        (_bundle_from_records([H, {"data": "AAAA"}]), "data outside a file"),
        (_bundle_from_records([H, F, {"what": 1}]), "unknown record"),
        (_bundle_from_records([H, F]) + b"{}\n", "data after end"),
        (b"{\"bundle\": \"" + b"x" * 5000 + b"\"}\n", "line too long"),
        (b"x" * 5000, "line too long"),
    ]
    for data, err in cases:
        p = verify_bundle(data)
        assert not p.ok, err
        assert p.error.startswith(err), (err, p.error)


def test_bad_base64_is_rejected():
    F = {"file": "a.py", "size": 3, "sha256": "0" * 64}
    H = {"bundle": "micro-evse", "format": 1, "version": "1.0", "files": 1}
    p = verify_bundle(_bundle_from_records([H, F, {"data": "abc"}]))
    assert not p.ok and p.error in ("bad base64", "sha256 mismatch: a.py")
    p = verify_bundle(_bundle_from_records([H, F, {"data": 5}]))
    assert p.error == "data outside a file"


# ---- the updater ------------------------------------------------------------------------------
class Rig:
    """A controller with storage, virtual clock, config, fake network, and
    recorded notifications and reboots. reboot_now() builds a new updater on
    the same storage, as after a power cycle."""

    def __init__(self, storage_dir=None, busy=False, max_boots=3) -> None:
        self.dir = storage_dir or tmpdir("fw")
        self.clock = VirtualClock()
        self.net = FakeNet()
        self.ftp = FakeFtp(self.net, user="FTPUSER", password="FTPPASS")
        self.http = FakeHttp(self.net)
        self.sent = []
        self.reboots = 0
        self.is_busy = busy
        self.max_boots = max_boots
        self.start()

    def start(self) -> None:
        self.storage = Storage(self.dir)
        self.config = Config(self.storage, "dscu")
        self.fw = FirmwareUpdater(self.storage, self.clock, self.net, self.config, self.notify,
                                  self.reboot, busy=lambda: self.is_busy, builtin_version="0.1.0",
                                  max_boots=self.max_boots)

    def notify(self, action, payload) -> None:
        assert action == "FirmwareStatusNotification"
        self.sent.append(payload["status"])

    def reboot(self) -> None:
        self.reboots += 1

    def reboot_now(self):
        self.start()
        return self.fw.boot_attempt()

    def statuses(self):
        s = self.sent
        self.sent = []
        return s

    def advance(self, s: int) -> None:
        self.clock.advance_ms(s * 1000)

    def step(self) -> None:
        """poll, and let a started download finish (one asyncio.run per step)."""
        async def go():
            self.fw.poll(self.clock.now())
            if self.fw.task is not None:
                await self.fw.task
        asyncio.run(go())

    def pointer(self):
        raw = self.storage.read("app-active")
        return json.loads(raw) if raw else None


def test_first_boot_runs_builtin_and_sets_version():
    r = Rig()
    assert r.fw.boot_attempt() is None
    assert r.config.get("FirmwareVersionMCU") == "0.1.0"
    r.fw.confirm_boot()
    assert r.statuses() == [] and r.fw.status() == "Idle"
    assert r.fw.active_version() == "0.1.0" and r.fw.active_slot() is None


def test_update_waits_for_retrieve_date_then_downloads_installs_and_reboots():
    r = Rig()
    r.fw.boot_attempt()
    r.ftp.files["fw/b-1.2.0.jsonl"] = good_bundle("1.2.0")
    at = r.clock.now() + 3600
    r.fw.request("ftp://ftp.example/fw/b-1.2.0.jsonl", iso8601(at), 2, 60)
    assert r.fw.status() == "Idle"
    assert r.fw.next_deadline_s(r.clock.now()) == 3600
    r.step()
    assert r.fw.task is None and r.statuses() == []
    r.advance(3600)
    assert r.fw.next_deadline_s(r.clock.now()) == 0
    r.step()
    assert r.statuses() == ["Downloading", "Downloaded", "Installing"]
    assert r.reboots == 1
    assert r.fw.status() == "Installing"
    assert r.fw.next_deadline_s(r.clock.now()) == -1
    ptr = r.pointer()
    assert (ptr["slot"], ptr["version"], ptr["state"], ptr["prev"]) == ("a", "1.2.0", "trial", "")
    names = r.storage.names()
    assert "app-a.jsonl" in names and "fw-bundle.jsonl" not in names and "fw-job" not in names
    assert verify_bundle(r.storage.read("app-a.jsonl")).ok
    assert "USER FTPUSER" in r.ftp.log      # configured credentials: URL has none
    # the new firmware boots, reaches the Central System, confirms
    assert r.reboot_now() == "app-a.jsonl"
    assert r.config.get("FirmwareVersionMCU") == "1.2.0"
    assert r.fw.status() == "Installing"
    r.fw.confirm_boot()
    assert r.statuses() == ["Installed"]
    assert r.fw.status() == "Idle"
    assert r.pointer()["state"] == "ok"
    r.fw.confirm_boot()
    assert r.statuses() == []
    assert r.reboot_now() == "app-a.jsonl"   # confirmed: stays
    assert r.fw.active_version() == "1.2.0"


def test_second_update_uses_the_other_slot_and_keeps_the_first():
    r = Rig()
    r.fw.boot_attempt()
    for v, slot, prev in (("1.1", "a", ""), ("1.2", "b", "a"), ("1.3", "a", "b")):
        r.http.routes["/" + v] = http_response(200, good_bundle(v), mode="chunked")
        r.fw.request("http://web.example/" + v, r.clock.now())
        r.step()
        assert r.statuses() == ["Downloading", "Downloaded", "Installing"]
        assert r.reboot_now() == "app-%s.jsonl" % slot
        r.fw.confirm_boot()
        assert r.statuses() == ["Installed"]
        ptr = r.pointer()
        assert (ptr["slot"], ptr["prev"], ptr["version"]) == (slot, prev, v)
    assert "app-a.jsonl" in r.storage.names() and "app-b.jsonl" in r.storage.names()
    assert verify_bundle(r.storage.read("app-b.jsonl")).version == "1.2"


def test_unconfirmed_slot_rolls_back_after_max_boots():
    r = Rig(max_boots=2)
    r.fw.boot_attempt()
    r.http.routes["/good"] = http_response(200, good_bundle("1.1"))
    r.http.routes["/bad"] = http_response(200, good_bundle("2.0"))
    r.fw.request("http://web.example/good", None)
    r.step()
    r.reboot_now()
    r.fw.confirm_boot()
    r.statuses()
    r.fw.request("http://web.example/bad", None)
    r.step()
    assert r.statuses() == ["Downloading", "Downloaded", "Installing"]
    # 2.0 never reaches the Central System: two boots, then back to 1.1
    assert r.reboot_now() == "app-b.jsonl"
    assert r.config.get("FirmwareVersionMCU") == "2.0"
    assert r.reboot_now() == "app-b.jsonl"
    assert r.reboot_now() == "app-a.jsonl"
    assert r.config.get("FirmwareVersionMCU") == "1.1"
    assert r.pointer()["state"] == "ok"
    assert r.statuses() == []
    r.fw.confirm_boot()
    assert r.statuses() == ["InstallationFailed"]
    r.fw.confirm_boot()
    assert r.statuses() == []
    assert r.reboot_now() == "app-a.jsonl"
    # the next update goes to the slot of the failed one
    r.http.routes["/fix"] = http_response(200, good_bundle("2.1"))
    r.fw.request("http://web.example/fix", None)
    r.step()
    assert r.pointer()["slot"] == "b" and r.pointer()["prev"] == "a"


def test_first_install_rolls_back_to_builtin():
    r = Rig(max_boots=1)
    r.fw.boot_attempt()
    r.http.routes["/f"] = http_response(200, good_bundle("1.1"))
    r.fw.request("http://web.example/f", None)
    r.step()
    assert r.reboot_now() == "app-a.jsonl"
    assert r.reboot_now() is None
    assert r.config.get("FirmwareVersionMCU") == "0.1.0"
    r.fw.confirm_boot()
    assert r.statuses()[-1] == "InstallationFailed"


def test_update_during_a_trial_keeps_the_last_confirmed_slot_as_fallback():
    r = Rig()
    r.fw.boot_attempt()
    for v in ("1.1", "1.2", "1.3"):
        r.http.routes["/" + v] = http_response(200, good_bundle(v))
    r.fw.request("http://web.example/1.1", None)
    r.step()
    r.reboot_now()
    r.fw.confirm_boot()                       # 1.1 in a, confirmed
    r.fw.request("http://web.example/1.2", None)
    r.step()
    r.reboot_now()                            # 1.2 in b on trial, not confirmed...
    r.fw.request("http://web.example/1.3", None)
    r.step()                                  # ...and replaced by 1.3 in b
    ptr = r.pointer()
    assert (ptr["slot"], ptr["version"], ptr["prev"], ptr["prev_version"]) == ("b", "1.3", "a", "1.1")
    assert verify_bundle(r.storage.read("app-a.jsonl")).version == "1.1"


def test_missing_slot_file_falls_back():
    r = Rig()
    r.fw.boot_attempt()
    r.http.routes["/f"] = http_response(200, good_bundle("1.1"))
    r.fw.request("http://web.example/f", None)
    r.step()
    r.storage.remove("app-a.jsonl")
    assert r.reboot_now() is None            # trial slot gone: rolled back to built-in
    assert r.pointer()["report"] == "InstallationFailed"


def test_corrupt_bundle_is_installation_failed_and_changes_nothing():
    r = Rig()
    r.fw.boot_attempt()
    b = good_bundle("1.5")

    def flip(ln):
        d = json.loads(ln)
        d["data"] = ("B" if d["data"][0] != "B" else "C") + d["data"][1:]
        return _rec(d)
    for bad in (b[:-30], _replace_line(b, 2, flip), b"<html>not found</html>\n"):
        r.http.routes["/f"] = http_response(200, bad)
        r.fw.request("http://web.example/f", None, 3, 10)
        r.step()
        assert r.statuses() == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
        assert r.fw.status() == "Idle"
        assert r.fw.next_deadline_s(r.clock.now()) == -1
        assert r.reboots == 0 and r.pointer() is None
        assert [n for n in r.storage.names() if n.startswith("fw-") or n.startswith("app-")] == []
        assert "bundle invalid" in r.fw.last_error


def test_download_failure_retries_then_download_failed():
    r = Rig()
    r.fw.boot_attempt()
    r.fw.request("ftp://ftp.example/missing.jsonl", r.clock.now(), 1, 120)
    r.step()
    assert r.statuses() == ["Downloading"]
    assert r.fw.status() == "Downloading"
    assert r.fw.next_deadline_s(r.clock.now()) == 120
    r.advance(119)
    r.step()
    assert r.fw.task is None and r.statuses() == []
    r.advance(1)
    r.step()
    assert r.statuses() == ["DownloadFailed"]
    assert r.fw.status() == "Idle" and r.fw.next_deadline_s(r.clock.now()) == -1
    assert "550" in r.fw.last_error
    assert r.ftp.log.count("RETR missing.jsonl") == 2
    assert "fw-job" not in r.storage.names()


def test_download_recovers_on_a_retry():
    r = Rig()
    r.fw.boot_attempt()
    r.net.refuse = 1
    r.http.routes["/f"] = http_response(200, good_bundle("1.1"))
    r.fw.request("http://web.example/f", r.clock.now(), 1, 30)
    r.step()
    assert r.statuses() == ["Downloading"]
    r.advance(30)
    r.step()
    assert r.statuses() == ["Downloaded", "Installing"]
    assert r.reboots == 1


def test_install_waits_until_not_busy():
    r = Rig(busy=True)
    r.fw.boot_attempt()
    r.http.routes["/f"] = http_response(200, good_bundle("1.1"))
    r.fw.request("http://web.example/f", None)
    r.step()
    assert r.statuses() == ["Downloading", "Downloaded"]
    assert r.fw.status() == "Downloaded"
    assert r.fw.next_deadline_s(r.clock.now()) == 60
    r.advance(60)
    r.step()
    assert r.statuses() == [] and r.reboots == 0
    r.is_busy = False
    assert r.fw.next_deadline_s(r.clock.now()) == 0
    r.step()
    assert r.statuses() == ["Installing"] and r.reboots == 1


def test_pending_request_survives_a_reboot():
    r = Rig()
    r.fw.boot_attempt()
    r.http.routes["/f"] = http_response(200, good_bundle("1.1"))
    r.fw.request("http://web.example/f", r.clock.now() + 600, 0, 0)
    r.reboot_now()
    assert r.fw.next_deadline_s(r.clock.now()) == 600
    r.advance(600)
    r.step()
    assert r.statuses() == ["Downloading", "Downloaded", "Installing"]


def test_invalid_location_reports_download_failed_once():
    r = Rig()
    r.fw.boot_attempt()
    r.fw.request("gopher://h/f", r.clock.now(), 5, 10)
    r.step()
    assert r.statuses() == ["Downloading", "DownloadFailed"]
    assert r.fw.next_deadline_s(r.clock.now()) == -1


def test_new_request_replaces_a_pending_one():
    r = Rig()
    r.fw.boot_attempt()
    r.http.routes["/new"] = http_response(200, good_bundle("3.0"))
    r.fw.request("http://web.example/old", r.clock.now() + 100)
    r.fw.request("http://web.example/new", r.clock.now())
    r.step()
    assert r.statuses() == ["Downloading", "Downloaded", "Installing"]
    assert [q[1] for q in r.http.requests] == ["/new"]
    assert r.pointer()["version"] == "3.0"


def test_too_large_bundle_is_download_failed():
    r = Rig()
    r.fw.boot_attempt()
    r.fw.max_bytes = 1000
    r.http.routes["/f"] = http_response(200, good_bundle("1.1"))
    r.fw.request("http://web.example/f", None, 0)
    r.step()
    assert r.statuses() == ["Downloading", "DownloadFailed"]
    assert "larger" in r.fw.last_error


def test_run_drives_retries_with_the_firmware_sleep():
    r = Rig()
    r.fw.boot_attempt()
    r.net.refuse = 2
    r.http.routes["/f"] = http_response(200, good_bundle("1.1"))
    r.fw.request("http://web.example/f", r.clock.now() + 10, 2, 45)
    slept = []

    async def sleep(s):
        slept.append(s)
        r.advance(s)

    asyncio.run(r.fw.run(sleep))
    assert slept == [10, 45, 45]
    assert r.statuses() == ["Downloading", "Downloaded", "Installing"]
    assert r.reboots == 1


def test_new_request_cancels_a_running_download():
    r = Rig()
    r.fw.boot_attempt()
    r.http.routes["/new"] = http_response(200, good_bundle("2.0"))
    r.net.hang = ("slow.example",)

    async def go():
        r.fw.request("http://slow.example/old", None)
        r.fw.poll(r.clock.now())
        old = r.fw.task
        assert old is not None
        await asyncio.sleep(0)                # the old try has started
        r.fw.request("http://web.example/new", None)
        assert r.fw.task is None
        r.fw.poll(r.clock.now())
        await r.fw.task
        try:
            await old
        except asyncio.CancelledError:
            pass
    asyncio.run(go())
    assert r.pointer()["version"] == "2.0"
    assert r.statuses() == ["Downloading", "Downloading", "Downloaded", "Installing"]
    assert [q[1] for q in r.http.requests] == ["/new"]
    assert r.reboots == 1
    assert [n for n in r.storage.names() if n.startswith("fw-")] == []
