# Services a configuration does not use are not loaded (docs/memory.md, lazy
# services): a default DSCU boots, registers and charges without them; the
# OCPP operation or the configuration change that needs one loads it, and it
# works. Checked with sys.modules, on CPython and on the Unix port (where the
# whole suite shares one interpreter: Unloaded takes the modules out for one
# test and puts the same module objects back after it).
import json
import sys

from evse.clock import iso8601
from session_rig import Rig, FakeCS

TAG = "LAZY01"
DIAG = ("evse.services.diagnostics", "evse.services.transfer", "evse.services.transferurl",
        "evse.services.transferjob")
FIRMWARE = ("evse.services.firmware", "evse.services.fwbundle", "evse.services.transfer",
            "evse.services.transferurl", "evse.services.transferjob")
# loaded by the transfer itself, for the URL's scheme
CLIENTS = ("evse.services.ftpclient", "evse.services.httpclient")
RESERVATIONS = ("evse.services.reservations",)
SMART = ("evse.services.smartcharging", "evse.services.smartprofile", "evse.services.smartschedule")
SENSORS = ("evse.services.sensors",)
MASTER_SLAVE = ("evse.services.mswiring", "evse.services.msmaster", "evse.services.msslave",
                "evse.services.masterslave", "evse.services.rs485link")
MODBUS = ("evse.metering.regmap", "evse.metering.rtu", "evse.metering.modbus_meter",
          "evse.metering.decode", "evse.metering.shell", "evse.metering.ekm")
WEB = ("evse.web.server", "evse.web.app", "evse.web.http", "evse.web.api", "evse.web.pages",
       "evse.web.auth", "evse.web.cfgview", "evse.web")
# children before their packages
LAZY = CLIENTS + DIAG + FIRMWARE[:2] + RESERVATIONS + SMART + SENSORS + MASTER_SLAVE + MODBUS + WEB


class Unloaded:
    def __enter__(self):
        self.saved = []
        for name in LAZY:
            m = sys.modules.pop(name, None)
            if m is None:
                continue
            parent, _, leaf = name.rpartition(".")
            pm = sys.modules.get(parent)
            on_parent = pm is not None and getattr(pm, leaf, None) is m
            if on_parent:
                delattr(pm, leaf)   # else `from pkg import leaf` finds it there
            self.saved.append((name, m, pm if on_parent else None, leaf))
        return self

    def __exit__(self, *exc):
        for name, m, pm, leaf in reversed(self.saved):
            sys.modules[name] = m
            if pm is not None:
                setattr(pm, leaf, m)
        return False


def loaded(names=LAZY) -> list:
    return [n for n in names if n in sys.modules]


def cs_call(r, action: str, payload: dict):
    """A CALL from the Central System; the station's CALLRESULT payload."""
    oc = r.st.ocpp
    oc.outbox = []
    oc.on_text(json.dumps([2, "cs1", action, payload]))
    replies = [json.loads(t) for t in oc.outbox]
    oc.outbox = []
    while oc.after:                 # what the async shell runs once the reply is out
        oc.after.pop(0)()
    assert len(replies) == 1 and replies[0][0] == 3 and replies[0][1] == "cs1", replies
    return replies[0][2]


def online_dscu(**cfg) -> Rig:
    r = Rig("dscu", **cfg)
    r.online(FakeCS())
    r.run(5)
    return r


def test_a_default_dscu_boots_and_charges_without_the_services_it_does_not_use():
    with Unloaded():
        r = online_dscu()
        assert r.calls("StatusNotification")
        r.arrive(1)
        r.card(TAG)
        r.ev(1, "C")
        r.run(120)
        assert r.status(1) == "Charging"
        assert r.st.status()["connectors"][0]["offered_a"] == 16.0   # NominalAmperage
        r.card(TAG)
        r.leave(1)
        r.run(5)
        assert r.status(1) == "Available"
        assert [p["reason"] for p in r.calls("StopTransaction")] == ["Local"]
        # GetConfiguration and TriggerMessage: nothing loaded either
        conf = cs_call(r, "GetConfiguration", {"key": ["SmartChargingEnabled"]})
        assert conf["configurationKey"][0]["value"] == "false"
        assert cs_call(r, "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == \
            {"status": "Accepted"}
        r.run(1)
        assert r.calls("FirmwareStatusNotification")[-1] == {"status": "Idle"}
        assert cs_call(r, "TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"}) == \
            {"status": "Accepted"}
        r.run(1)
        assert r.calls("DiagnosticsStatusNotification")[-1] == {"status": "Idle"}
        assert loaded() == []


def test_reserve_now_loads_reservations_and_they_survive_a_reboot():
    with Unloaded():
        r = online_dscu()
        assert loaded(RESERVATIONS) == []
        exp = iso8601(r.clock.now() + 3600)
        conf = cs_call(r, "ReserveNow", {"connectorId": 2, "expiryDate": exp, "idTag": TAG,
                                         "reservationId": 7})
        assert conf == {"status": "Accepted"}
        assert loaded(RESERVATIONS) == list(RESERVATIONS)
        r.run(1)
        assert r.status(2) == "Reserved"
        assert loaded(LAZY) == list(RESERVATIONS)
        r2 = r.reboot()
        r2.run(1)
        assert r2.status(2) == "Reserved"          # loaded at boot from its file
        r2.online(FakeCS())
        assert cs_call(r2, "CancelReservation", {"reservationId": 7}) == {"status": "Accepted"}
        r2.run(1)
        assert r2.status(2) == "Available"


def test_get_diagnostics_loads_the_upload_and_counts_uptime_from_boot():
    with Unloaded():
        r = online_dscu()
        r.run(100)
        assert loaded(DIAG) == []
        conf = cs_call(r, "GetDiagnostics", {"location": "ftp://user:pw@192.0.2.1/diag/"})
        assert conf["fileName"].endswith(".txt"), conf
        assert loaded(DIAG) == list(DIAG)
        assert r.st.maint.diagnostics.status() == "Uploading"
        assert r.st.maint.diagnostics.uptime_s() >= 105      # since the station booted


def test_update_firmware_loads_the_updater_and_its_job_survives_a_reboot():
    with Unloaded():
        r = online_dscu()
        assert loaded(FIRMWARE) == []
        later = iso8601(r.clock.now() + 86400)
        conf = cs_call(r, "UpdateFirmware", {"location": "http://192.0.2.1/fw.jsonl",
                                             "retrieveDate": later})
        assert conf == {}
        assert loaded(FIRMWARE) == list(FIRMWARE)
        assert r.st.maint.firmware.status() == "Idle"
        assert r.st.next_deadline_ms() > 0
        r2 = r.reboot()
        assert r2.st.maint._fw is not None                # the stored job loads it at boot
        assert r2.st.maint.firmware.next_deadline_s(r2.clock.now()) > 80000


def test_enabling_smart_charging_loads_it_at_once_and_profiles_apply():
    with Unloaded():
        r = online_dscu()
        assert loaded(SMART) == []
        conf = cs_call(r, "ChangeConfiguration", {"key": "SmartChargingEnabled", "value": "true"})
        assert conf == {"status": "Accepted"}
        assert loaded(SMART) == list(SMART)          # no reboot: the key takes effect at once
        profile = {"chargingProfileId": 3, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                   "chargingProfileKind": "Absolute", "chargingSchedule": {
                       "chargingRateUnit": "A", "startSchedule": iso8601(r.clock.now() - 60),
                       "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}}
        assert cs_call(r, "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": profile}) == \
            {"status": "Accepted"}
        r.arrive(1)
        r.card(TAG)
        r.ev(1, "C")
        r.run(60)                                    # past NominalPeriod (30 s)
        assert r.status(1) == "Charging"
        assert r.st.status()["connectors"][0]["offered_a"] == 10.0


def test_stored_profiles_load_smart_charging_at_boot_while_disabled():
    with Unloaded():
        r = online_dscu(SmartChargingEnabled=True)
        profile = {"chargingProfileId": 4, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                   "chargingProfileKind": "Absolute", "chargingSchedule": {
                       "chargingRateUnit": "A", "startSchedule": iso8601(r.clock.now() - 60),
                       "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 8.0}]}}
        assert cs_call(r, "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": profile}) == \
            {"status": "Accepted"}
        assert cs_call(r, "ChangeConfiguration", {"key": "SmartChargingEnabled", "value": "false"}) == \
            {"status": "Accepted"}
        r2 = r.reboot()
        assert r2.st.energy._smart is not None              # the stored profile is kept (ignored while disabled)
        r2.online(FakeCS())
        assert cs_call(r2, "ClearChargingProfile", {"id": 4}) == {"status": "Accepted"}


def test_a_voltage_sensor_leaving_its_range_loads_the_sensor_scenarios():
    with Unloaded():
        r = online_dscu()
        assert loaded(SENSORS) == []
        r.board.io.set_supply_mv(2, 9000)            # servo buffer collapsed
        r.run(2)
        assert loaded(SENSORS) == list(SENSORS)
        assert [e[:2] for e in r.st.sensors.log] == [("VCCBUFF", "trigger")]


def test_master_slave_loads_after_the_reboot_its_key_asks_for():
    with Unloaded():
        r = Rig("sscu")
        r.online(FakeCS())
        assert cs_call(r, "ChangeConfiguration", {"key": "RFIDMasterSlaveEnabled", "value": "true"}) == \
            {"status": "RebootRequired"}
        assert cs_call(r, "ChangeConfiguration", {"key": "RFIDMasterSlaveID", "value": "1"}) == \
            {"status": "RebootRequired"}
        r.run(1)
        assert loaded(MASTER_SLAVE) == [] and r.st.link is None
        r2 = r.reboot()
        # the master's side of the link, not the slave's
        assert loaded(MASTER_SLAVE) == [n for n in MASTER_SLAVE if n != "evse.services.msslave"]
        assert r2.st.link is not None and r2.st.link.role == "master"


def test_meter_type_10_loads_the_ekm_driver_and_not_the_modbus_maps():
    from evse.config.store import Config
    from evsesim.hal.sim import SimBoard
    from evse.station import Station
    from ekm_rig import EkmPeer, EkmReading
    from modbus_rig import Port
    from support import tmpdir
    with Unloaded():
        peer = EkmPeer()
        peer.meters[1] = EkmReading()
        peer.meters[2] = EkmReading()
        board = SimBoard(2, tmpdir("lazyekm"), True)
        cfg = Config(board.storage, model="dscu")
        cfg.change("MeterType", "10")
        st = Station(board, Config(board.storage, model="dscu"), "dscu", modbus=Port(peer))
        for _ in range(50):
            st.step()
            board.clock.advance_ms(10)
        assert st.status()["connectors"][0]["energy_wh"] == 123456700
        # the EKM driver and the shared CRC (evse.metering.rtu); no register map, no Modbus meter
        assert loaded(MODBUS) == ["evse.metering.rtu", "evse.metering.ekm"]
