# Persistence of the configuration store on the real file Storage: restarts,
# corrupt files, leftovers of an interrupted write. A new Config on the same
# directory is a power cycle. Runs on CPython and on the MicroPython Unix port.
import json

from support import tmpdir
from evse.hal.fsstore import Storage
from evse.config.store import Config, FILE, BAD_FILE
from evse.config.values import adler32


def fresh(model="dscu"):
    d = tmpdir("cfg")
    return d, Config(Storage(d), model)


def boot(d, model="dscu"):
    return Config(Storage(d), model)


def write_raw(d, name, data):
    with open(d + "/" + name, "wb") as f:
        f.write(data)


def file_with(values, fmt=1):
    """A well-formed config file (valid checksum) holding `values`."""
    body = json.dumps({"format": fmt, "values": values}).encode()
    return body + ("\n%08x\n" % adler32(body)).encode()


def read_values(d):
    with open(d + "/" + FILE, "rb") as f:
        raw = f.read()
    return json.loads(raw.split(b"\n")[0].decode())["values"]


def test_missing_file_means_defaults():
    d, c = fresh()
    assert c.errors == [] and c.get("HeartBeatInterval") == 900
    assert Storage(d).names() == []          # nothing written for defaults


def test_values_survive_restart():
    d, c = fresh()
    assert c.change("HeartBeatInterval", "60") == "Accepted"
    assert c.change("BESURL", "csms.example.org") == "RebootRequired"
    assert c.change("MinCurrentConnection", "8.5") == "RebootRequired"
    assert c.change("LEDcolor_Charging", "cyan") == "Accepted"
    assert c.change("MeterValuesSampledData", "Voltage.L1,Energy.Active.Import.Register") == "Accepted"
    c2 = boot(d)
    assert c2.errors == []
    assert c2.get("HeartBeatInterval") == 60
    assert c2.get("BESURL") == "csms.example.org"
    assert c2.get("MinCurrentConnection") == 8.5
    assert c2.get("LEDcolor_Charging") == "CYAN"
    assert c2.get("MeterValuesSampledData") == "Voltage.L1,Energy.Active.Import.Register"
    assert c2.reboot_pending() == []


def test_only_non_default_values_are_stored():
    d, c = fresh()
    c.change("HeartBeatInterval", "60")
    c.change("SmartChargingEnabled", "true")
    assert read_values(d) == {"HeartBeatInterval": "60", "SmartChargingEnabled": "true"}
    c.change("HeartBeatInterval", "900")           # back to default: dropped from the file
    assert read_values(d) == {"SmartChargingEnabled": "true"}


def test_sensor_list_survives_restart():
    d, c = fresh("sscu")
    txt = ('[[1, "StatusNotification"], [0, "StopTransaction"], [0, "UnlockConnector"], [0, "SetError"], '
           '[0, "ClearError"], [0, "HardReset"], [0, "SetLEDIntensityLow"], [1, "SetLEDIntensityHigh"]]')
    assert c.change("ExternalSensor1TriggerActions", txt) == "RebootRequired"
    c2 = boot(d, "sscu")
    assert c2.errors == [] and c2.get_str("ExternalSensor1TriggerActions") == txt
    assert c2.get("ExternalSensor1TriggerActions")[7] == [1, "SetLEDIntensityHigh"]


def test_garbage_file_gives_defaults_and_error():
    for raw in (b"\x00\xff\xfe garbage \x80", b"", b"\n", b"{}", b"not json\n00000000\n"):
        d, c = fresh()
        write_raw(d, FILE, raw)
        c = boot(d)
        assert c.get("HeartBeatInterval") == 900
        assert len(c.errors) == 1 and "unusable" in c.errors[0], (raw, c.errors)
        st = Storage(d)
        assert FILE not in st.names() and st.read(BAD_FILE) == raw     # kept for diagnosis
        c.change("HeartBeatInterval", "60")
        assert boot(d).get("HeartBeatInterval") == 60 and boot(d).errors == []


def test_truncated_file_gives_defaults():
    d, c = fresh()
    c.change("HeartBeatInterval", "60")
    c.change("BESURL", "csms.example.org")
    with open(d + "/" + FILE, "rb") as f:
        raw = f.read()
    for cut in (1, len(raw) // 2, len(raw) - 3):
        write_raw(d, FILE, raw[:cut])
        c2 = boot(d)
        assert c2.get("HeartBeatInterval") == 900 and c2.get("BESURL") != "csms.example.org"
        assert len(c2.errors) == 1


def test_flipped_byte_detected_by_checksum():
    d, c = fresh()
    c.change("MaxCurrentConnection", "16")
    c.change("HeartBeatInterval", "61")
    with open(d + "/" + FILE, "rb") as f:
        raw = bytearray(f.read())
    i = raw.find(b"61")
    raw[i] = ord("7")                               # still valid JSON, still in range
    write_raw(d, FILE, bytes(raw))
    c2 = boot(d)
    assert c2.get("HeartBeatInterval") == 900 and "checksum" in c2.errors[0]


def test_wrong_types_and_invalid_values_fall_back_per_key():
    d, c = fresh()
    write_raw(d, FILE, file_with({
        "HeartBeatInterval": 60,                   # not text
        "BESPortnumber": "99999",                  # out of range
        "SmartChargingEnabled": "maybe",           # not a boolean
        "LEDcolor_Available": "PURPLE",            # not listed
        "NoLongerAKey": "1",                       # unknown
        "FirmwareVersionMCU": "9.9",               # volatile: never loaded
        "BESURL": "csms.example.org",              # fine
        "MeterType": "4",                          # fine
    }))
    c = boot(d)
    assert c.get("HeartBeatInterval") == 900 and c.get("BESPortnumber") == 80
    assert c.get("SmartChargingEnabled") is False and c.get("LEDcolor_Available") == "GREEN"
    assert c.get("FirmwareVersionMCU") == ""
    assert c.get("BESURL") == "csms.example.org" and c.get("MeterType") == 4
    assert len(c.errors) == 6, c.errors


def test_unknown_layout_gives_defaults():
    for raw in (file_with({"HeartBeatInterval": "60"}, fmt=2),
                file_with([["HeartBeatInterval", "60"]])):
        d, c = fresh()
        write_raw(d, FILE, raw)
        c = boot(d)
        assert c.get("HeartBeatInterval") == 900 and len(c.errors) == 1


def test_stored_values_breaking_a_rule_fall_back():
    d, c = fresh("dscu")
    write_raw(d, FILE, file_with({"MinCurrentConnection": "20.0", "MaxCurrentConnection": "16",
                                  "TaglessIdTag1": "SAME", "TaglessIdTag2": "same",
                                  "HeartBeatInterval": "60"}))
    c = boot(d)
    assert c.get("MinCurrentConnection") == 12.5
    assert c.get("TaglessIdTag1") == "TAGLESS1" and c.get("TaglessIdTag2") == "TAGLESS2"
    assert c.get("HeartBeatInterval") == 60 and len(c.errors) == 2
    # the DSCU-only sharing rule: fine on an SSCU, reset on a DSCU
    d, c = fresh("sscu")
    write_raw(d, FILE, file_with({"MinCurrentConnection": "14.0", "ChargePointCurrentLimit": "20"}))
    assert boot(d, "sscu").get("MinCurrentConnection") == 14.0
    c = boot(d, "dscu")
    assert c.get("MinCurrentConnection") == 12.5 and c.get("ChargePointCurrentLimit") == 32


def test_leftover_tmp_is_ignored():
    d, c = fresh()
    c.change("HeartBeatInterval", "60")
    write_raw(d, FILE + ".tmp", b"half a write")     # power cut during the next save
    c2 = boot(d)
    assert c2.errors == [] and c2.get("HeartBeatInterval") == 60
    assert FILE + ".tmp" not in Storage(d).names()
    write_raw(d, FILE + ".tmp", file_with({"HeartBeatInterval": "70"}))
    assert boot(d).get("HeartBeatInterval") == 60     # an unrenamed temp never counts


def test_pending_reboot_value_is_what_is_stored():
    d, c = fresh()
    c.change("Connector1Enabled", "false")
    assert read_values(d) == {"Connector1Enabled": "false"}
    assert c.get("Connector1Enabled") is True
    assert boot(d).get("Connector1Enabled") is False


def test_file_is_identical_across_saves_of_same_values():
    d, c = fresh()
    c.change("HeartBeatInterval", "60")
    with open(d + "/" + FILE, "rb") as f:
        a = f.read()
    c.change("HeartBeatInterval", "61")
    c.change("HeartBeatInterval", "60")
    with open(d + "/" + FILE, "rb") as f:
        assert f.read() == a
