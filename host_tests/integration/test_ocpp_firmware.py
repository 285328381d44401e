# Reset (Hard/Soft), GetDiagnostics and UpdateFirmware (OCPP 1.6 5.9, 5.14,
# 5.19 with errata 3.36/3.47/3.49) on the simulator against the development
# Central System, with a local HTTP server for the files.
import functools
import os

import pytest

import mkbundle
from evse.services.fwbundle import encode_bundle
from ocpp_rig import rig_run, until
from test_transfer_live import HttpServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@functools.lru_cache(maxsize=None)
def _app_files() -> tuple:
    """The whole evse package as .mpy (what the Unix port imports; a bundle
    of the sources would pass the 1 MB download limit)."""
    return tuple(mkbundle.collect(mpy="bytecode"))


def app_bundle(version: str, patches=None) -> bytes:
    """A bundle of the application, with patched modules: {path: source}."""
    files = list(_app_files())
    for rel, src in (patches or {}).items():
        path, data = mkbundle.compile_mpy(rel, src, "bytecode")
        assert path in [f[0] for f in files], path
        files = [(p, data if p == path else d) for p, d in files]
    return encode_bundle(version, files)


def patched(rel: str, old: str, new: str) -> bytes:
    with open(os.path.join(mkbundle.FW, rel)) as f:
        src = f.read()
    assert old in src, (rel, old)
    return src.replace(old, new, 1).encode()


@pytest.mark.parametrize("kind", ["Hard", "Soft"])
def test_reset_stops_the_transaction_and_reboots(tmp_path, kind):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await rig.advance(60)
        wh = (await rig.connector(1))["energy_wh"]
        assert await rig.call("Reset", type=kind) == {"status": "Accepted"}
        await rig.wait_call("BootNotification", 2)
        await rig.advance(1)
        acts = [r.action for r in rig.calls()]
        (stop,) = rig.payloads("StopTransaction")
        assert stop["transactionId"] == txid and stop["reason"] == kind + "Reset"
        assert abs(stop["meterStop"] - wh) <= 1
        # errata 3.36: the StopTransaction goes before the reset
        boot2 = len(acts) - 1 - acts[::-1].index("BootNotification")
        assert acts.index("StopTransaction") < boot2
        assert rig.cs.connections[-2][1] == "disconnect" and rig.cs.connections[-1][1] == "connect"
        # a new controller: registered again, connectors reported, nothing charging
        st = await rig.status()
        assert st["ocpp"]["registered"]
        c = st["connectors"][0]
        assert c["transaction_id"] is None and not c["contactor"] and c["session"] == "Idle"
        assert rig.statuses(0)[-1] == "Available"
        # the EV still plugged in: the next card starts a new transaction
        await rig.op("rfid", reader=1, id="TAG0002")
        await rig.advance(2)
        assert len(rig.calls("StartTransaction")) == 2
        assert (await rig.connector(1))["status"] == "Charging"
        assert sorted(rig.cs.transactions) == [txid, txid + 1]
    rig_run(tmp_path, body)


def test_reset_while_offline_delivers_the_stop_after_the_reboot(tmp_path):
    async def body(rig):
        await rig.start()
        txid = await rig.card_start(1)
        await rig.advance(30)
        rig.cs.ignore_actions = {"StopTransaction"}
        assert await rig.call("Reset", type="Soft") == {"status": "Accepted"}
        await rig.wait_call("StopTransaction")
        await rig.wait_call("BootNotification", 2, timeout=15)
        rig.cs.ignore_actions = set()
        await rig.advance(1)
        stops = rig.payloads("StopTransaction")
        assert [s["transactionId"] for s in stops] == [txid, txid]
        assert rig.calls("StopTransaction")[-1].answer[0] == "result"
        assert (await rig.status())["ocpp"]["queued"] == 0
    rig_run(tmp_path, body, settings={"MessageResponseTimeOut": "3"})


def test_get_diagnostics_upload_over_http(tmp_path):
    async def body(rig):
        with HttpServer() as srv:
            await rig.start()
            conf = await rig.call("GetDiagnostics", location="http://127.0.0.1:%d/upload" % srv.port,
                                  retries=1, retryInterval=30)
            name = conf["fileName"]
            assert name
            await until(rig, lambda: [p["status"] for p in rig.payloads("DiagnosticsStatusNotification")]
                        == ["Uploading", "Uploaded"])
            assert name in srv.uploads
            text = srv.uploads[name].decode()
            assert "[configuration]" in text and "NodeId = CP1" in text
            # TriggerMessage reports Idle again
            assert await rig.call("TriggerMessage", requestedMessage="DiagnosticsStatusNotification") == \
                {"status": "Accepted"}
            await rig.advance(0)
            assert rig.payloads("DiagnosticsStatusNotification")[-1] == {"status": "Idle"}
            # an upload that cannot succeed: UploadFailed after the retries
            conf = await rig.call("GetDiagnostics", location="http://127.0.0.1:1/upload", retries=1,
                                  retryInterval=10)
            await until(rig, lambda: rig.payloads("DiagnosticsStatusNotification")[-1]
                        == {"status": "UploadFailed"}, step=5)
    rig_run(tmp_path, body)


def test_update_firmware_waits_for_the_transaction_then_installs(tmp_path):
    async def body(rig):
        bundle = app_bundle("9.9.9")
        with HttpServer() as srv:
            srv.files["fw.jsonl"] = bundle
            await rig.start()
            txid = await rig.card_start(1)
            assert await rig.call("UpdateFirmware", location="http://127.0.0.1:%d/files/fw.jsonl" % srv.port,
                                  retrieveDate=rig.iso_now(), retries=1) == {}

            def fw():
                return [p["status"] for p in rig.payloads("FirmwareStatusNotification")]
            await until(rig, lambda: fw() == ["Downloading", "Downloaded"])
            # errata 3.49: not installed while charging
            await rig.advance(600)
            assert fw() == ["Downloading", "Downloaded"]
            assert (await rig.connector(1))["transaction_id"] == txid
            await rig.call("RemoteStopTransaction", transactionId=txid)
            await rig.advance(1)
            await rig.op("ev", connector=1, state="A")
            await rig.op("unplug", connector=1)
            # now: Installing, a reboot, then Installed with the new version
            await rig.wait_call("BootNotification", 2, timeout=15)
            await until(rig, lambda: "Installed" in fw(), step=1)
            assert fw() == ["Downloading", "Downloaded", "Installing", "Installed"]
            seq = [(r.action, r.payload.get("status")) for r in rig.calls()]
            boot2 = [i for i, a in enumerate(seq) if a[0] == "BootNotification"][1]
            # the StopTransaction and Installing go out before the reboot, Installed after it
            assert seq.index(("StopTransaction", None)) < boot2
            assert seq.index(("FirmwareStatusNotification", "Installing")) < boot2 < \
                seq.index(("FirmwareStatusNotification", "Installed"))
            boots = rig.payloads("BootNotification")
            assert boots[0]["firmwareVersion"] != "9.9.9" and boots[1]["firmwareVersion"] == "9.9.9"
            assert await rig.config("FirmwareVersionMCU") == "9.9.9"
            conf = await rig.call("TriggerMessage", requestedMessage="FirmwareStatusNotification")
            assert conf == {"status": "Accepted"}
            await rig.advance(0)
            assert fw()[-1] == "Idle"
    rig_run(tmp_path, body)


def test_update_firmware_download_failed(tmp_path):
    async def body(rig):
        with HttpServer() as srv:
            await rig.start()
            assert await rig.call("UpdateFirmware", location="http://127.0.0.1:%d/files/none" % srv.port,
                                  retrieveDate=rig.iso_now(), retries=2, retryInterval=20) == {}
            await until(rig, lambda: [p["status"] for p in rig.payloads("FirmwareStatusNotification")]
                        == ["Downloading", "DownloadFailed"], step=10)
            assert len(srv.requests) == 3
            assert len(rig.calls("BootNotification")) == 1
    rig_run(tmp_path, body)


# what the Central System sees of the code that runs: BootNotification's vendor
VENDOR_SRC = 'p = {"chargePointVendor": g("ChargePointVendor")[:20],'
VENDOR_NEW = 'p = {"chargePointVendor": "NewCode-2.0.0",'


def test_update_firmware_runs_the_new_code_and_falls_back_from_a_broken_one(tmp_path):
    client = patched("evse/ocpp/client.py", VENDOR_SRC, VENDOR_NEW)
    # 2.0.0: the station says it is "NewCode-2.0.0" (a code change, not a setting)
    good = app_bundle("2.0.0", {"evse/ocpp/client.py": client})
    # 3.0.0: the same, but its station module raises when imported
    broken = app_bundle("3.0.0", {"evse/ocpp/client.py": client, "evse/station.py": patched(
        "evse/station.py", "from evse import VERSION\n",
        "from evse import VERSION\nraise ImportError('3.0.0 is broken')\n")})

    async def body(rig):
        with HttpServer() as srv:
            srv.files["good.jsonl"] = good
            srv.files["broken.jsonl"] = broken
            url = "http://127.0.0.1:%d/files/" % srv.port
            await rig.start()

            def fw():
                return [p["status"] for p in rig.payloads("FirmwareStatusNotification")]

            def boot(i):
                b = rig.payloads("BootNotification")[i]
                return b["chargePointVendor"], b["firmwareVersion"]
            builtin_vendor, builtin_version = boot(0)
            assert builtin_vendor != "NewCode-2.0.0" and builtin_version != "2.0.0"
            assert await rig.call("UpdateFirmware", location=url + "good.jsonl",
                                  retrieveDate=rig.iso_now()) == {}
            await until(rig, lambda: len(rig.calls("BootNotification")) >= 2, timeout=30, step=1)
            await until(rig, lambda: "Installed" in fw(), step=1)
            assert fw() == ["Downloading", "Downloaded", "Installing", "Installed"]
            # the rebooted station runs the installed code
            assert boot(1) == ("NewCode-2.0.0", "2.0.0")
            assert await rig.config("FirmwareVersionMCU") == "2.0.0"
            # and keeps running it after a Reset (confirmed, no more a trial)
            assert await rig.call("Reset", type="Soft") == {"status": "Accepted"}
            await until(rig, lambda: len(rig.calls("BootNotification")) >= 3, timeout=30, step=1)
            assert boot(2) == ("NewCode-2.0.0", "2.0.0")
            assert len(fw()) == 4
            # a firmware that cannot even be imported: back to 2.0.0, reported
            assert await rig.call("UpdateFirmware", location=url + "broken.jsonl",
                                  retrieveDate=rig.iso_now()) == {}
            await until(rig, lambda: len(rig.calls("BootNotification")) >= 4, timeout=30, step=1)
            await until(rig, lambda: fw()[-1] == "InstallationFailed", step=1)
            assert fw()[4:] == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
            assert boot(3) == ("NewCode-2.0.0", "2.0.0")
            assert await rig.config("FirmwareVersionMCU") == "2.0.0"
            assert len(rig.calls("BootNotification")) == 4    # the broken one never got to boot
            conf = await rig.call("TriggerMessage", requestedMessage="FirmwareStatusNotification")
            assert conf == {"status": "Accepted"}
            await rig.advance(0)
            assert fw()[-1] == "Idle"
    rig_run(tmp_path, body)
