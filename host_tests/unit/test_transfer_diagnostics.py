# evse.services.diagnostics: the Log ring, the diagnostics file (versions,
# configuration without secrets, time-filtered log and errors), and the
# GetDiagnostics upload with its DiagnosticsStatusNotifications and retries,
# over the fake FTP/HTTP servers of test_transfer on a virtual clock.
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")  # the frozen asyncio, when MICROPYPATH hides it
import asyncio

from evse.clock import iso8601
from evsesim.hal.simclock import VirtualClock
from evse.config.store import Config
from evse.hal.fsstore import Storage
from evse.services.diagnostics import Diagnostics, Log, is_secret
from support import tmpdir
from test_transfer import FakeFtp, FakeHttp, FakeNet, http_response


class Rig:
    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.storage = Storage(tmpdir("diag"))
        self.config = Config(self.storage, "dscu")
        self.net = FakeNet()
        self.ftp = FakeFtp(self.net, user="FTPUSER", password="FTPPASS")
        self.http = FakeHttp(self.net)
        self.log = Log(self.clock, 8)
        self.errors = Log(self.clock, 4)
        self.sent = []
        self.diag = Diagnostics(self.storage, self.clock, self.net, self.config, self.notify,
                                log=self.log, errors=self.errors,
                                info=lambda: {"connectors": ["Available", "Charging"]})

    def notify(self, action, payload) -> None:
        assert action == "DiagnosticsStatusNotification"
        self.sent.append(payload["status"])

    def statuses(self):
        s = self.sent
        self.sent = []
        return s

    def advance(self, s: int) -> None:
        self.clock.advance_ms(s * 1000)

    def step(self) -> None:
        async def go():
            self.diag.poll(self.clock.now())
            if self.diag.task is not None:
                await self.diag.task
        asyncio.run(go())


# ---- Log -------------------------------------------------------------------------------------
def test_log_is_a_bounded_ring_with_time_filter():
    clock = VirtualClock(epoch_s=1000000)
    log = Log(clock, 3)
    assert len(log) == 0 and log.lines() == []
    for i in range(5):
        log.add("event %d" % i)
        clock.advance_ms(10000)
    assert len(log) == 3
    assert log.lines() == [iso8601(1000020) + " INFO event 2", iso8601(1000030) + " INFO event 3",
                           iso8601(1000040) + " INFO event 4"]
    assert [ln[-7:] for ln in log.lines(1000030, None)] == ["event 3", "event 4"]
    assert [ln[-7:] for ln in log.lines(None, 1000030)] == ["event 2", "event 3"]
    assert log.lines(1000031, 1000039) == []
    log.add("x" * 500)
    assert log.lines()[-1].endswith(" " + "x" * 160)


def test_secret_keys():
    for k in ("FTPPassword", "gprsPASSWORD", "LocalManagementPassword", "PINCode", "ClientKey",
              "AuthorizationKey", "SMSResetString", "TaglessIdTag1"):
        assert is_secret(k), k
    for k in ("FTPUserName", "GetConfigurationMaxKeys", "HeartBeatInterval", "FirmwareVersionMCU"):
        assert not is_secret(k), k


# ---- the file --------------------------------------------------------------------------------
def test_collect_writes_versions_config_without_secrets_and_filtered_log():
    r = Rig()
    assert r.config.change("FTPPassword", "hunter2") == "Accepted"
    assert r.config.change("NodeId", "CP/7 x") in ("Accepted", "RebootRequired")
    r.diag.config = r.config = Config(r.storage, "dscu")   # NodeId is active after a reboot
    r.config.set_internal("FirmwareVersionMCU", "1.2.3")
    t0 = r.clock.now()
    r.log.add("old line")
    r.advance(100)
    r.log.add("kept line")
    r.errors.add("ERR_LOCK connector 1")
    r.advance(100)
    r.log.add("too new")
    r.advance(5)
    name = r.diag.collect(iso8601(t0 + 50), t0 + 150)
    assert name == "diag-CP_7_x-" + iso8601(r.clock.now()).replace("-", "").replace(":", "") + ".txt"
    text = r.storage.read(name).decode()
    assert "firmware_mcu: 1.2.3" in text
    assert "firmware_builtin: " in text and "uptime_s: 205" in text
    assert 'connectors: ["Available", "Charging"]' in text
    assert "FTPUserName = FTPUSER" in text
    assert "HeartBeatInterval = " in text
    assert "hunter2" not in text and "FTPPassword" not in text
    assert "LocalManagementPassword" not in text and "PINCode" not in text
    assert "kept line" in text and "old line" not in text and "too new" not in text
    assert "[errors]\n" + iso8601(t0 + 100) + " INFO ERR_LOCK connector 1\n" in text
    assert "period: %s .. %s" % (iso8601(t0 + 50), iso8601(t0 + 150)) in text


def test_collect_keeps_one_file_and_survives_a_broken_info_source():
    r = Rig()
    a = r.diag.collect()
    r.advance(1)

    def broken():
        raise RuntimeError("sensor gone")
    r.diag.info = broken
    b = r.diag.collect()
    assert a != b
    names = r.storage.names()
    assert b in names and a not in names
    text = r.storage.read(b).decode()
    assert "info_error: sensor gone" in text and "period: - .. -" in text


# ---- the request -----------------------------------------------------------------------------
def test_ftp_upload_notifies_uploading_then_uploaded():
    r = Rig()
    name = r.diag.request("ftp://ftp.example/diag/", None, None)
    assert name and name.startswith("diag-")
    assert r.diag.status() == "Uploading"
    assert r.statuses() == []                 # nothing is sent before the .conf
    assert r.diag.next_deadline_s(r.clock.now()) == 0
    r.step()
    assert r.statuses() == ["Uploading", "Uploaded"]
    assert r.diag.status() == "Idle"
    assert r.diag.next_deadline_s(r.clock.now()) == -1
    assert r.ftp.files["diag/" + name] == r.storage.read(name)
    assert "USER FTPUSER" in r.ftp.log


def test_http_upload():
    r = Rig()
    r.http.routes["/up"] = http_response(200, b"thanks")
    name = r.diag.request("http://web.example/up", 0, 0)
    r.step()
    assert r.statuses() == ["Uploading", "Uploaded"]
    method, path, hdr, body = r.http.requests[0]
    assert (method, path) == ("POST", "/up")
    assert ('filename="%s"' % name).encode() in body
    assert r.storage.read(name) in body


def test_upload_retries_then_upload_failed():
    r = Rig()
    r.diag.request("ftp://wrong:pw@ftp.example/", 2, 300)
    r.step()
    assert r.statuses() == ["Uploading"]
    assert r.diag.status() == "Uploading"
    assert r.diag.next_deadline_s(r.clock.now()) == 300
    r.advance(299)
    r.step()
    assert r.diag.task is None
    r.advance(1)
    r.step()
    r.advance(300)
    r.step()
    assert r.statuses() == ["UploadFailed"]
    assert r.ftp.log.count("USER wrong") == 3
    assert r.diag.status() == "Idle" and "login" in r.diag.last_error
    assert "login refused" in r.log.lines()[-1]


def test_upload_succeeds_on_retry():
    r = Rig()
    r.net.refuse = 1
    r.diag.request("ftp://ftp.example/", 1, 10)
    r.step()
    r.advance(10)
    r.step()
    assert r.statuses() == ["Uploading", "Uploaded"]


def test_invalid_location_gives_no_file_name():
    r = Rig()
    assert r.diag.request("mailto:x@y", 1, 1) is None
    assert r.diag.request("ftps://h/", 1, 1) is None
    assert r.diag.status() == "Idle" and r.statuses() == []
    assert r.diag.next_deadline_s(r.clock.now()) == -1


def test_new_request_replaces_the_pending_one():
    r = Rig()
    r.diag.request("ftp://wrong:pw@ftp.example/", 3, 600)
    r.step()
    r.advance(1)
    name = r.diag.request("ftp://ftp.example/new/", 0, 0)
    r.step()
    assert r.statuses() == ["Uploading", "Uploading", "Uploaded"]
    assert ("new/" + name) in r.ftp.files


def test_run_drives_the_retries():
    r = Rig()
    r.net.refuse = 2
    r.diag.request("ftp://ftp.example/", 2, 20)
    slept = []

    async def sleep(s):
        slept.append(s)
        r.advance(s)

    asyncio.run(r.diag.run(sleep))
    assert slept == [20, 20]
    assert r.statuses() == ["Uploading", "Uploaded"]


def test_new_request_cancels_a_running_upload():
    r = Rig()
    r.http.routes["/b"] = http_response(200)
    r.net.hang = ("slow.example",)

    async def go():
        r.diag.request("http://slow.example/a", 0, 0)
        r.diag.poll(r.clock.now())
        old = r.diag.task
        await asyncio.sleep(0)
        r.advance(1)
        name = r.diag.request("http://web.example/b", 0, 0)
        r.diag.poll(r.clock.now())
        await r.diag.task
        try:
            await old
        except asyncio.CancelledError:
            pass
        return name
    name = asyncio.run(go())
    assert r.statuses() == ["Uploading", "Uploading", "Uploaded"]
    assert [q[1] for q in r.http.requests] == ["/b"]
    assert r.net.opened[0][0] == "slow.example"
    assert ('filename="%s"' % name).encode() in r.http.requests[0][3]
