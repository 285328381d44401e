# Configuration store (evse.config.store.Config) and key table (evse.config.keys):
# defaults, OCPP ChangeConfiguration / GetConfiguration semantics, validation per
# key, cross-key rules, the sensor action lists, models. Runs on CPython (pytest)
# and on the MicroPython Unix port (tools/mp_test_runner.py).
# Persistence is in test_config_persist.py, docs/generator checks in test_config_docs.py.
from evse.config import keys as K
from evse.config.store import Config
from evse.config.values import fmt_float, actions_text

ACC = "Accepted"
REJ = "Rejected"
RBR = "RebootRequired"
NSU = "NotSupported"
OK = (ACC, RBR)


class MemStorage:
    """In-memory Storage with the real signatures; fail_writes makes write() raise."""

    def __init__(self):
        self.files = {}
        self.fail_writes = False
        self.writes = 0

    def read(self, name):
        return self.files.get(name)

    def write(self, name, data):
        if self.fail_writes:
            raise OSError(28)  # ENOSPC
        self.writes += 1
        self.files[name] = bytes(data)

    def append(self, name, data):
        self.files[name] = self.files.get(name, b"") + bytes(data)

    def remove(self, name):
        self.files.pop(name, None)

    def names(self):
        return list(self.files)


def new(model="dscu", storage=None):
    return Config(storage if storage is not None else MemStorage(), model)


def entry(name):
    for e in K.KEYS:
        if e[K.NAME] == name:
            return e
    raise KeyError(name)


def on_model(e, model):
    return bool(e[K.FLAGS] & (K.SSCU if model == "sscu" else K.DSCU))


def default_of(e, model):
    d = e[K.DEFAULT]
    if type(d) is tuple:
        return d[0] if model == "sscu" else d[1]
    return d


def text_of(e, v):
    t = e[K.TYPE]
    if t == K.BOOLEAN:
        return "true" if v else "false"
    if t == K.FLOAT:
        return fmt_float(v)
    if t == K.INTEGER:
        return str(v)
    return v


def relaxed(model="dscu", storage=None):
    """A Config where every in-range value of the current keys passes the cross-key
    rules (MinCurrentConnection 0, MaxCurrentConnection and the station limit 80)."""
    c = new(model, storage)
    assert c.change("MinCurrentConnection", "0") in OK
    assert c.change("MaxCurrentConnection", "80") in OK
    assert c.change("ChargePointCurrentLimit", "80") == ACC
    # static addressing (NetworkDHCP false) needs an address and a netmask
    assert c.change("NetworkIPAddress", "10.0.0.2") in OK
    assert c.change("NetworkNetmask", "255.0.0.0") in OK
    # SecurityProfile 1/2 need a Basic password, 2 also TLS with a root certificate
    assert c.change("AuthorizationKey", "0123456789abcdef") == ACC
    assert c.change("UseWebsocketSecure", "true") in OK
    return c


# ---- the table ---------------------------------------------------------------------

SECURITY_KEYS = ("AuthorizationKey", "SecurityProfile")   # security whitepaper, not the manual
# OCPP 1.6 9.1.25-9.1.28, not in the manual
OCPP_KEYS = ("StopTxnAlignedData", "StopTxnAlignedDataMaxLength", "StopTxnSampledData",
             "StopTxnSampledDataMaxLength")
# vendor keys of the boards' network interfaces (evse.services.network)
NETWORK_KEYS = ("NetworkWLANSSID", "NetworkWLANPassword", "NetworkDHCP", "NetworkIPAddress",
                "NetworkNetmask", "NetworkGateway", "NetworkDNS")
LOG_KEYS = ("LogLevel",)   # vendor key of the console log (evse.services.log)
METER_KEYS = ("EkmMeterNumber1", "EkmMeterNumber2")   # vendor keys (evse.metering.ekm)


def test_security_profile_only_rises_and_needs_its_prerequisites():
    c = new("dscu")
    assert c.change("SecurityProfile", "1") == REJ            # no AuthorizationKey yet
    assert c.change("AuthorizationKey", "short") == REJ       # 16..40 characters
    assert c.change("AuthorizationKey", "0123456789abcdef") == ACC
    assert c.change("SecurityProfile", "1") == ACC
    assert c.change("SecurityProfile", "0") == REJ            # never lowered (A05.FR.01)
    assert c.change("AuthorizationKey", "") == REJ            # profile 1 needs it
    assert c.change("SecurityProfile", "2") == REJ            # needs TLS
    assert c.change("UseWebsocketSecure", "true") in OK
    assert c.change("SecurityProfile", "2") == ACC
    assert c.change("SecurityProfile", "3") == REJ            # client certificates: not supported
    assert c.get("SecurityProfile") == 2


def test_wlan_password_is_write_only_and_static_addressing_needs_address_and_netmask():
    c = new("sscu")
    assert c.change("NetworkWLANPassword", "short") == REJ              # WPA2: 8..63
    assert c.change("NetworkWLANPassword", "correct horse battery") == RBR
    items, unknown = c.get_configuration(["NetworkWLANPassword"], ocpp=True)
    assert unknown == [] and items == [{"key": "NetworkWLANPassword", "readonly": False}]
    full = [it for it in c.get_configuration(ocpp=True)[0] if it["key"] == "NetworkWLANPassword"]
    assert full == [{"key": "NetworkWLANPassword", "readonly": False}]
    assert "correct horse" not in repr(c.get_configuration(ocpp=True))
    assert c.change("NetworkWLANPassword", "") in OK                   # an open network again
    for bad in ("192.168.1", "192.168.1.256", "192.168.01.2", "a.b.c.d", " 10.0.0.1", "1.2.3.4.5"):
        assert c.change("NetworkIPAddress", bad) == REJ, bad
    assert c.change("NetworkDHCP", "false") == REJ                     # no address yet
    assert c.change("NetworkIPAddress", "192.168.1.20") == RBR
    assert c.change("NetworkDHCP", "false") == REJ                     # no netmask yet
    assert c.change("NetworkNetmask", "255.255.255.0") == RBR
    assert c.change("NetworkDHCP", "false") == RBR
    assert c.change("NetworkIPAddress", "") == REJ                     # static needs it
    assert c.change("NetworkGateway", "") in OK                        # optional
    assert c.get_str("NetworkIPAddress", configured=True) == "192.168.1.20"


def test_table_has_the_manuals_149_keys_plus_security_and_ocpp_keys():
    names = [e[K.NAME] for e in K.KEYS]
    assert len(K.KEYS) == (149 + len(SECURITY_KEYS) + len(OCPP_KEYS) + len(NETWORK_KEYS) +
                           len(LOG_KEYS) + len(METER_KEYS))
    assert all(n in names for n in SECURITY_KEYS + OCPP_KEYS + NETWORK_KEYS + LOG_KEYS + METER_KEYS)
    assert len(set(names)) == len(names)
    assert len(set(n.lower() for n in names)) == len(names)   # case-insensitive lookup is unambiguous
    for e in K.KEYS:
        assert len(e) == 8
        assert type(e[K.NAME]) is str
        assert e[K.TYPE] in (K.INTEGER, K.FLOAT, K.BOOLEAN, K.STRING, K.CSL, K.LIST)
        assert e[K.FLAGS] & K.BOTH, e[K.NAME]
        if e[K.FLAGS] & K.RO:
            assert not e[K.FLAGS] & (K.REBOOT | K.VALIDATE), e[K.NAME]


def test_table_types_of_bounds_and_defaults():
    for e in K.KEYS:
        t = e[K.TYPE]
        for model in ("sscu", "dscu"):
            d = default_of(e, model)
            if t == K.INTEGER:
                assert type(d) is int, e[K.NAME]
            elif t == K.FLOAT:
                assert type(d) is float, e[K.NAME]
            elif t == K.BOOLEAN:
                assert type(d) is bool, e[K.NAME]
            else:
                assert type(d) is str, e[K.NAME]
        if t == K.INTEGER and e[K.LO] is not None:
            assert type(e[K.LO]) is int and type(e[K.HI]) is int
        if t == K.FLOAT and e[K.LO] is not None:
            assert type(e[K.LO]) is float and type(e[K.HI]) is float


def test_aliases_point_at_existing_keys():
    names = [e[K.NAME] for e in K.KEYS]
    for alias, real in K.ALIASES:
        assert real in names and alias not in names


# ---- defaults ------------------------------------------------------------------------

def test_every_default_both_models():
    for model in ("sscu", "dscu"):
        c = new(model)
        assert c.errors == []
        for e in K.KEYS:
            d = default_of(e, model)
            if e[K.TYPE] == K.LIST:
                assert c.get(e[K.NAME]) == [[0, a] for a in K.SENSOR_ACTIONS]
                assert c.get_str(e[K.NAME]) == K.NO_ACTIONS
            else:
                v = c.get(e[K.NAME])
                assert v == d and type(v) is type(d), (model, e[K.NAME], v)
                assert c.get_str(e[K.NAME]) == text_of(e, d)


def test_defaults_validate_and_satisfy_rules():
    # every writable default must be accepted as a value (and is a no-op)
    for model in ("sscu", "dscu"):
        c = new(model)
        st = c._storage
        for e in K.KEYS:
            if e[K.FLAGS] & K.RO or not on_model(e, model):
                continue
            assert c.change(e[K.NAME], c.get_str(e[K.NAME])) == ACC, (model, e[K.NAME])
        assert st.writes == 0 and c.reboot_pending() == []


def test_model_dependent_defaults():
    s = new("sscu")
    d = new("dscu")
    assert s.get("NumberOfConnectors") == 1 and d.get("NumberOfConnectors") == 2
    assert s.get("ConnectorPhaseRotation") == "1.Unknown"
    assert d.get("ConnectorPhaseRotation") == "1.Unknown,2.Unknown"
    assert d.get_str("HeartBeatInterval") == "900"
    assert d.get("MinCurrentConnection") == 12.5 and d.get_str("MinCurrentConnection") == "12.5"
    assert d.get_str("TempLowerOffsetLimit") == "16.0"
    assert d.get("MeterValuesSampledData") == "Energy.Active.Import.Register,Current.Import,Current.Offered"
    assert d.get("LocalManagementPassword") == "$r33nFI^x"
    assert d.get("ChargingScheduleAllowedChargingRateUnit") == "Current"
    assert d.get("OCPPProtocolUsed") == "ocpp1.6"


def test_model_argument():
    assert new("SSCU").model == "sscu"
    for bad in ("xscu", "", None):
        try:
            new(bad)
        except ValueError:
            continue
        raise AssertionError("model %r accepted" % (bad,))


# ---- one valid and one invalid value per validated key (generated from the table) ----

def samples(e):
    """(good, bad): good = [(text, expected OCPP text)], bad = [text]."""
    t = e[K.TYPE]
    lo, hi, enum = e[K.LO], e[K.HI], e[K.ENUM]
    good = []
    bad = ["", "x" * 501, "\x01", chr(0xe9)]
    if t == K.INTEGER:
        if enum is not None:
            good = [(str(x), str(x)) for x in enum]
            bad += [str(max(enum) + 1), str(min(enum) - 1)]
        else:
            good = [(str(lo), str(lo)), (str(hi), str(hi)), (" %d " % ((lo + hi) // 2), str((lo + hi) // 2))]
            bad += [str(lo - 1), str(hi + 1)]
        bad += ["abc", "1.5", "0x10", "1_0", "1e3", "--1"]
    elif t == K.FLOAT:
        mid = (lo + hi) / 2
        good = [(fmt_float(lo), fmt_float(lo)), (fmt_float(hi), fmt_float(hi)),
                (str(int(hi)), fmt_float(hi)), ("%.1f" % mid, fmt_float(round(mid, 1)))]
        bad += [fmt_float(lo - 0.5), fmt_float(hi + 0.5), "nan", "inf", "1e1", "abc", ".", "1.2.3"]
    elif t == K.BOOLEAN:
        good = [("true", "true"), ("FALSE", "false"), ("True", "true"), (" false ", "false")]
        bad += ["1", "0", "yes", "truee"]
    elif t == K.STRING:
        if enum is not None:
            good = [(x, x) for x in enum] + [(enum[0].lower(), enum[0])]
            bad += ["PURPLE", enum[0] + "X"]
        else:
            n = max(lo or 0, 1)
            if e[K.FLAGS] & K.DIGITS:
                good = [("0" * n, "0" * n), ("1234", "1234")]
                bad += ["12a4", "12 4"]
            elif e[K.FLAGS] & K.IPV4:
                good = [("192.168.1.20", "192.168.1.20"), ("0.0.0.0", "0.0.0.0")]
                bad += ["v", "1.2.3", "256.1.1.1", "1.2.3.04", "1.2.3.4 "]
            else:
                sv = "Some value 1" + "x" * max(0, n - 12)
                good = [("v" * n, "v" * n), (sv, sv)]
            if hi is not None:
                bad += ["7" * (hi + 1)]
            if lo is None or lo == 0 or e[K.FLAGS] & K.WRITEONLY:
                bad.remove("")
                good.append(("", ""))   # (a write-only secret may be unset)
            if lo and e[K.FLAGS] & K.WRITEONLY:
                bad.append("v" * (lo - 1))
    elif t == K.CSL:
        good = [(enum[0], enum[0]), (" %s , %s " % (enum[1], enum[2]), "%s,%s" % (enum[1], enum[2])),
                (enum[0].upper(), enum[0]), ("", ""), ("Voltage.L1", "Voltage.L1")]
        bad.remove("")
        bad += ["Bogus", enum[0] + ",,", "%s,%s" % (enum[0], enum[0]), "Voltage.L4"]
    elif t == K.LIST:
        rev = list(reversed(K.SENSOR_ACTIONS))
        good = [("[" + ", ".join('[%d, "%s"]' % (i + 1, a) for i, a in enumerate(rev)) + "]",
                 actions_text([8 - i for i in range(8)]))]
        bad += ["[]", "x", '[[0, "StatusNotification"]]']
    return good, bad


def check_key(model, e):
    name = e[K.NAME]
    good, bad = samples(e)
    assert good, name
    for text in bad:
        c = relaxed(model)
        before = c.get_str(name, True)
        assert c.change(name, text) == REJ, (model, name, text)
        assert c.get_str(name, True) == before, (model, name, text)
    for text, expect in good:
        c = relaxed(model)
        r = c.change(name, text)
        assert r in OK, (model, name, text, r)
        assert c.get_str(name, True) == expect, (model, name, text, c.get_str(name, True))
        items, unknown = c.get_configuration([name])
        assert unknown == []
        if e[K.FLAGS] & K.WRITEONLY:
            assert "value" not in items[0]          # stored, never shown
        else:
            assert items[0]["value"] == expect
        if e[K.FLAGS] & K.REBOOT:
            assert (r == RBR) == (expect != c.get_str(name)), (name, text, r)   # vs the active value
        else:
            assert r == ACC
            assert c.get_str(name) == expect


def test_valid_and_invalid_values_dscu():
    for e in K.KEYS:
        if not e[K.FLAGS] & K.RO and on_model(e, "dscu"):
            check_key("dscu", e)


def test_valid_and_invalid_values_sscu():
    for e in K.KEYS:
        if not e[K.FLAGS] & K.RO and on_model(e, "sscu"):
            check_key("sscu", e)


# ---- OCPP statuses -------------------------------------------------------------------------

def test_readonly_keys_rejected():
    c = new()
    for e in K.KEYS:
        if e[K.FLAGS] & K.RO and on_model(e, "dscu"):
            before = c.get_str(e[K.NAME])
            assert c.change(e[K.NAME], before) == REJ, e[K.NAME]
            assert c.change(e[K.NAME], "1") == REJ
            assert c.get_str(e[K.NAME]) == before
    assert c.change("OCPPProtocolsSupported", "ocpp1.6,ocpp1.5") == REJ
    assert c.change("NumberOfConnectors", "1") == REJ and c.get("NumberOfConnectors") == 2


def test_unknown_key_not_supported():
    c = new()
    for k in ("NoSuchKey", "", "HeartBeatIntervalX", "Heart Beat Interval"):
        assert c.change(k, "1") == NSU
    assert c.change(None, "1") == NSU
    assert c.supported("NoSuchKey") is False
    try:
        c.get("NoSuchKey")
    except KeyError:
        pass
    else:
        raise AssertionError("get of an unknown key")


def test_model_specific_keys_hidden():
    s = new("sscu")
    d = new("dscu")
    for name in ("BuzzerActive", "BuzzerInterval", "BuzzerPeriod", "Connector2Enabled", "RFIDReader2Enabled"):
        assert s.change(name, s.get_str(name)) == NSU
        assert s.supported(name) is False and d.supported(name) is True
        assert s.get_configuration([name]) == ([], [name])
        assert s.get(name) == d.get(name)          # default still readable
    for name in ("ExternalSensor1Type", "VoltageSensorVCCMainTriggerActions", "gprsQcfgBand",
                 "SafetyRelayEnabled", "RFIDMasterSlaveID"):
        assert d.change(name, d.get_str(name)) == NSU
        assert s.supported(name) is True
    assert s.change("Connector2FlexCable", "false") == RBR   # printed for both models: kept


def test_reboot_required_active_vs_configured():
    st = MemStorage()
    c = new("dscu", st)
    seen = []
    c.subscribe(seen.append)
    assert c.change("BESPortnumber", "443") == RBR
    assert c.get("BESPortnumber") == 80                  # still the value in effect
    assert c.get_str("BESPortnumber") == "80"
    assert c.get_str("BESPortnumber", configured=True) == "443"
    assert c.get_configuration(["BESPortnumber"])[0][0]["value"] == "443"
    assert c.reboot_pending() == ["BESPortnumber"]
    assert seen == ["BESPortnumber"]
    assert c.change("BESPortnumber", "8080") == RBR
    # a reboot activates it
    c2 = new("dscu", st)
    assert c2.get("BESPortnumber") == 8080 and c2.reboot_pending() == []
    # setting back the value in effect needs no reboot
    assert c.change("BESPortnumber", "80") == ACC
    assert c.reboot_pending() == [] and c.get_str("BESPortnumber", True) == "80"
    assert c2.change("BESPortnumber", "8080") == ACC


def test_non_reboot_change_active_at_once():
    c = new()
    assert c.change("HeartBeatInterval", "60") == ACC
    assert c.get("HeartBeatInterval") == 60 and c.get_str("HeartBeatInterval") == "60"
    assert c.reboot_pending() == []


def test_boolean_any_case():
    c = new()
    for text, v in (("TRUE", True), ("false", False), ("tRuE", True), ("False", False), (" true ", True)):
        assert c.change("SmartChargingEnabled", text) == ACC
        assert c.get("SmartChargingEnabled") is v
        assert c.get_str("SmartChargingEnabled") == ("true" if v else "false")
    for text in ("1", "0", "yes", "", "t", "true false", "true\t"):
        assert c.change("SmartChargingEnabled", text) == REJ
    assert c.get("SmartChargingEnabled") is True


def test_key_names_case_insensitive_and_aliases():
    c = new()
    assert c.change("HeartbeatInterval", "120") == ACC       # OCPP spelling
    assert c.get("HeartBeatInterval") == 120
    assert c.change("HEARTBEATINTERVAL", "121") == ACC
    assert c.get("heartbeatinterval") == 121
    assert c.change("AuthorizationCacheEnabled", "false") == ACC
    assert c.get("AuthorisationCacheEnabled") is False
    items, unknown = c.get_configuration(["heartbeatinterval", "ChargeProfileMaxStackLevel",
                                          "ChargingScheduleMaxPeriods"])
    # website and diagnostics: the manual's names
    assert [i["key"] for i in items] == ["HeartBeatInterval", "ChargingProfileMaxStackLevel",
                                         "ChargingSchedulesMaxPeriods"]
    items, unknown = c.get_configuration(["heartbeatinterval", "ChargeProfileMaxStackLevel",
                                          "ChargingScheduleMaxPeriods"], ocpp=True)
    # answered under the spelling asked (OCPP keys are CiString: any case is the key)
    assert [i["key"] for i in items] == ["heartbeatinterval", "ChargeProfileMaxStackLevel",
                                         "ChargingScheduleMaxPeriods"]
    assert [i["value"] for i in items] == ["121", "6", "255"]
    assert unknown == []
    assert c.canonical("ledcolor_available") == "LEDcolor_Available"
    assert c.readonly("GetConfigurationMaxKeys") is True and c.readonly("HeartBeatInterval") is False


def test_integers_and_floats_formats():
    c = relaxed()
    assert c.change("HeartBeatInterval", "+30") == ACC and c.get("HeartBeatInterval") == 30
    assert c.change("HeartBeatInterval", "65535") == ACC         # 65234 read as a typo
    assert c.change("HeartBeatInterval", "65536") == REJ
    assert c.change("ModemWeakSignalStrengthLimit", "-100") == ACC
    assert c.get("ModemWeakSignalStrengthLimit") == -100
    for text, shown in (("16", "16.0"), ("6.25", "6.25"), ("7.1234", "7.123"), ("8.", "8.0"), (".5", "0.5")):
        assert c.change("TempLowerOffsetLimit", text) == ACC, text
        assert c.get_str("TempLowerOffsetLimit") == shown
        assert type(c.get("TempLowerOffsetLimit")) is float
    assert c.change("NominalAmperage", "5.9") == REJ
    assert c.change("NominalAmperage", "1e1") == REJ
    assert c.change("MaxCurrentConnection", "16.0") == REJ      # Integer key: no decimals


def test_text_limits():
    c = new()
    assert c.change("BESURL", "x" * 500) == RBR
    assert c.change("BESURL", "x" * 501) == REJ
    assert c.change("BESURL", "caf" + chr(0xe9)) == REJ
    assert c.change("BESURL", "a\nb") == REJ
    assert c.change("gprsAPN", " spaced ") == ACC and c.get("gprsAPN") == " spaced "
    assert c.change("ChargePointVendor", "V" * 21) == REJ
    assert c.change("ChargePointVendor", "") == REJ
    assert c.change("PINCode", "0042") == ACC and c.get("PINCode") == "0042"
    assert c.change("PINCode", "12345678") == ACC
    assert c.change("PINCode", "123456789") == REJ
    assert c.change("PINCode", "12a") == REJ
    assert c.change("PINCode", "") == ACC
    assert c.change("ChargePointVendor", 42) == REJ                 # not text


def test_listed_values_case_insensitive():
    c = new()
    assert c.change("LEDcolor_Available", "green_blinking") == ACC
    assert c.get("LEDcolor_Available") == "GREEN_BLINKING"
    assert c.change("LEDcolor_Available", "PURPLE") == REJ
    assert c.get("LEDcolor_Available") == "GREEN_BLINKING"
    s = new("sscu")
    assert s.change("gprsQcfgBand", "europe") == ACC and s.get("gprsQcfgBand") == "EUROPE"
    assert s.change("ExternalSensor1Type", "0") == RBR or s.get_str("ExternalSensor1Type", True) == "0"
    assert s.change("ExternalSensor1Type", "99") == RBR
    assert s.change("ExternalSensor1Type", "9") == REJ
    assert c.change("MeterType", "17") == REJ and c.change("MeterType", "16") == RBR


# ---- cross-key rules --------------------------------------------------------------------

def test_tagless_tags_must_differ():
    c = new()
    assert c.change("TaglessIdTag2", "TAGLESS1") == REJ
    assert c.change("TaglessIdTag2", "tagless1") == REJ          # IdTokens ignore case
    assert c.get("TaglessIdTag2") == "TAGLESS2"
    assert c.change("TaglessIdTag1", "Tagless2") == REJ          # the rule holds both ways
    assert c.change("TaglessIdTag2", "CARD-B") == ACC
    assert c.change("TaglessIdTag1", "TAGLESS2") == ACC
    assert c.change("TaglessIdTag1", "") == REJ
    assert c.change("TaglessIdTag1", "X" * 21) == REJ


def test_min_current_not_above_max():
    for model in ("sscu", "dscu"):
        c = new(model)
        assert c.change("ChargePointCurrentLimit", "40") == ACC    # keep the DSCU rule out of the way
        assert c.change("MinCurrentConnection", "16.5") == REJ     # max 16
        assert c.change("MinCurrentConnection", "16") == RBR
        assert c.change("MaxCurrentConnection", "15") == REJ       # below the configured min
        assert c.change("MaxCurrentConnection", "20") == RBR
        assert c.change("MinCurrentConnection", "16.5") == RBR
        assert c.get("MinCurrentConnection") == 12.5               # active until reboot


def test_min_current_half_station_limit_dscu_only():
    d = new("dscu")
    assert d.change("ChargePointCurrentLimit", "24") == REJ       # 2 x 12.5 > 24
    assert d.change("ChargePointCurrentLimit", "25") == ACC       # 2 x 12.5 = 25
    assert d.change("MinCurrentConnection", "12.6") == REJ
    assert d.change("MinCurrentConnection", "6") == RBR
    assert d.change("ChargePointCurrentLimit", "12") == ACC
    s = new("sscu")
    assert s.change("ChargePointCurrentLimit", "16") == ACC       # one connector: no sharing rule
    assert s.change("MinCurrentConnection", "14") == RBR


# ---- sensor action lists ------------------------------------------------------------------

def test_action_list_accepts_manual_examples():
    s = new("sscu")
    tilt = ('[\n  [3, "StatusNotification"],\n  [1, "StopTransaction"],\n  [0, "UnlockConnector"],\n'
            '  [2, "SetError"],\n  [0, "ClearError"],\n  [0, "HardReset"],\n'
            '  [0, "SetLEDIntensityLow"],\n  [0, "SetLEDIntensityHigh"]\n]')
    assert s.change("ExternalSensor1TriggerActions", tilt) == RBR
    assert s.get_str("ExternalSensor1TriggerActions", True) == (
        '[[3, "StatusNotification"], [1, "StopTransaction"], [0, "UnlockConnector"], [2, "SetError"], '
        '[0, "ClearError"], [0, "HardReset"], [0, "SetLEDIntensityLow"], [0, "SetLEDIntensityHigh"]]')
    # section 5.6 spelling, another order
    txt = ('[[1, "SetLedIntensityLow"], [0, "SetLedIntensityHigh"], [0, "statusnotification"], '
           '[0, "StopTransaction"], [0, "UnlockConnector"], [0, "SetError"], [0, "ClearError"], [0, "HardReset"]]')
    assert s.change("ExternalSensor2TriggerActions", txt) == RBR
    s2 = Config(s._storage, "sscu")
    got = s2.get("ExternalSensor2TriggerActions")
    assert got[6] == [1, "SetLEDIntensityLow"] and got[0] == [0, "StatusNotification"]
    assert len(got) == 8 and all(type(p) is int for p, a in got)
    got[0][0] = 5                                    # a copy: the store is unaffected
    assert s2.get("ExternalSensor2TriggerActions")[0][0] == 0


def test_action_list_rejections():
    s = new("sscu")
    base = [[0, a] for a in K.SENSOR_ACTIONS]

    def text(pairs):
        return "[" + ", ".join('[%s, "%s"]' % (p, a) for p, a in pairs) + "]"

    assert s.change("VoltageSensorVCC3V3IOTriggerActions", text(base)) == ACC
    cases = []
    cases.append(text(base[:7]))                                        # one missing
    cases.append(text(base + [[0, "Reboot"]]))                          # one added
    dup = [list(p) for p in base]
    dup[1] = [0, "StatusNotification"]
    cases.append(text(dup))                                             # duplicate action
    for prio in ("9", "-1", "1.5", '"1"', "true"):
        bad = [list(p) for p in base]
        bad[0] = [prio, "StatusNotification"]
        cases.append(text(bad))
    cases.append(text(base)[:-1])                                       # truncated
    cases.append(text(base) + ",")
    cases.append(text(base).replace("], [", "] [", 1))
    cases.append(text(base).replace('"StatusNotification"', '"Status\\u004eotification"'))
    cases.append('[["StatusNotification", 0]' + text(base)[len('[[0, "StatusNotification"]'):])
    cases.append('{"a": 1}')
    for t in cases:
        assert s.change("VoltageSensorVCC3V3IOTriggerActions", t) == REJ, t
    assert s.get_str("VoltageSensorVCC3V3IOTriggerActions", True) == K.NO_ACTIONS
    ok = [list(p) for p in base]
    ok[0][0] = 8
    assert s.change("VoltageSensorVCC3V3IOTriggerActions", text(ok)) == RBR


# ---- CSL keys --------------------------------------------------------------------------------

def test_measurand_csl():
    c = new()
    k = "MeterValuesSampledData"
    assert c.change(k, "Energy.Active.Import.Register,Voltage.L1-N,Current.Import.L2,SoC") == ACC
    assert c.get(k) == "Energy.Active.Import.Register,Voltage.L1-N,Current.Import.L2,SoC"
    nine = ",".join(K.MEASURANDS[:9])
    assert c.change(k, nine) == REJ                                  # MaxLength 8
    assert c.change(k, ",".join(K.MEASURANDS[:8])) == ACC
    assert c.change(k, "Voltage,voltage") == REJ
    assert c.change(k, "Voltage,Bogus") == REJ
    assert c.get(k) == ",".join(K.MEASURANDS[:8])
    assert c.change("MeterValuesAlignedData", "Temperature") == REJ    # not one the meters give
    assert c.change("MeterValuesAlignedData", "voltage.l1 ,frequency") == ACC
    assert c.get("MeterValuesAlignedData") == "Voltage.L1,Frequency"
    assert c.change("MeterValuesAlignedData", "") == ACC and c.get("MeterValuesAlignedData") == ""


# ---- GetConfiguration -------------------------------------------------------------------------

def test_get_configuration_all():
    for model in ("sscu", "dscu"):
        c = new(model)
        items, unknown = c.get_configuration()
        expect = [e[K.NAME] for e in K.KEYS if on_model(e, model)]
        assert [i["key"] for i in items] == expect and unknown == []
        assert c.get_configuration([]) == (items, [])
        for i in items:
            if entry(i["key"])[K.FLAGS] & K.WRITEONLY:      # listed, never shown
                assert "value" not in i
                continue
            assert type(i["value"]) is str and type(i["readonly"]) is bool
            assert i["readonly"] == c.readonly(i["key"])
            assert len(i["value"]) <= 500
    assert len(new("dscu").get_configuration()[0]) == 123 + 2 + 4 + len(NETWORK_KEYS) + len(LOG_KEYS) + 2
    assert len(new("sscu").get_configuration()[0]) == 144 + 2 + 4 + len(NETWORK_KEYS) + len(LOG_KEYS) + 1


# OCPP 1.6 chapter 9 keys of the profiles the station supports (Core, LocalAuthList-
# Management, Reservation, SmartCharging; FirmwareManagement and RemoteTrigger name
# none): name -> readonly, as a generic Central System asks for them. The optional
# BlinkRepeat, LightIntensity, MinimumStatusDuration and ConnectorPhaseRotationMaxLength
# are absent (OCPP 9: a missing key = the function is not provided).
OCPP_CHAPTER9 = {
    "AllowOfflineTxForUnknownId": False, "AuthorizationCacheEnabled": False,
    "AuthorizeRemoteTxRequests": False, "ClockAlignedDataInterval": False,
    "ConnectionTimeOut": False, "ConnectorPhaseRotation": True, "GetConfigurationMaxKeys": True,
    "HeartbeatInterval": False, "LocalAuthorizeOffline": False, "LocalPreAuthorize": False,
    "MaxEnergyOnInvalidId": False, "MeterValuesAlignedData": False,
    "MeterValuesAlignedDataMaxLength": True, "MeterValuesSampledData": False,
    "MeterValuesSampledDataMaxLength": True, "MeterValueSampleInterval": False,
    "NumberOfConnectors": True, "ResetRetries": False, "StopTransactionOnEVSideDisconnect": False,
    "StopTransactionOnInvalidId": False, "StopTxnAlignedData": False,
    "StopTxnAlignedDataMaxLength": True, "StopTxnSampledData": False,
    "StopTxnSampledDataMaxLength": True, "SupportedFeatureProfiles": True,
    "SupportedFeatureProfilesMaxLength": True, "TransactionMessageAttempts": False,
    "TransactionMessageRetryInterval": False, "UnlockConnectorOnEVSideDisconnect": False,
    "WebSocketPingInterval": False,
    "LocalAuthListEnabled": False, "LocalAuthListMaxLength": True, "SendLocalListMaxLength": True,
    "ReserveConnectorZeroSupported": True,
    "ChargeProfileMaxStackLevel": True, "ChargingScheduleAllowedChargingRateUnit": True,
    "ChargingScheduleMaxPeriods": True, "ConnectorSwitch3to1PhaseSupported": True,
    "MaxChargingProfilesInstalled": True,
}


def test_every_ocpp_chapter9_key_is_listed_and_answered_under_its_ocpp_name():
    for model in ("sscu", "dscu"):
        c = new(model)
        listed, _ = c.get_configuration(None, ocpp=True)
        by_name = {}
        for it in listed:
            assert it["key"] not in by_name, it["key"]      # each spelling once
            by_name[it["key"]] = it
        for name in OCPP_CHAPTER9:
            assert name in by_name, (model, name)         # exact spelling, for a generic CSMS
            assert by_name[name]["readonly"] is OCPP_CHAPTER9[name], name
        items, unknown = c.get_configuration(list(OCPP_CHAPTER9), ocpp=True)
        assert unknown == [] and [i["key"] for i in items] == list(OCPP_CHAPTER9)
        # every manual key is still listed under the manual's name, aliases beside it
        for e in K.KEYS:
            if on_model(e, model):
                assert e[K.NAME] in by_name
        assert len(listed) == len(c.get_configuration()[0]) + len(K.ALIASES)
        assert by_name["HeartbeatInterval"] == {"key": "HeartbeatInterval", "readonly": False,
                                                "value": "900"}
        assert by_name["HeartBeatInterval"]["value"] == "900"


def test_aliases_are_one_stored_value():
    st = MemStorage()
    c = new("dscu", st)
    for alias, real in K.ALIASES:
        assert c.readonly(alias) == c.readonly(real)
    assert c.change("AuthorizationCacheEnabled", "false") == ACC
    items, _ = c.get_configuration(["AuthorisationCacheEnabled", "AuthorizationCacheEnabled"],
                                   ocpp=True)
    assert items == [{"key": "AuthorisationCacheEnabled", "readonly": False, "value": "false"},
                     {"key": "AuthorizationCacheEnabled", "readonly": False, "value": "false"}]
    assert c.change("AuthorisationCacheEnabled", "true") == ACC
    assert c.get("AuthorizationCacheEnabled") is True
    assert c.change("HeartbeatInterval", "300") == ACC
    assert c.get_configuration(["HeartBeatInterval"])[0][0]["value"] == "300"
    assert c.change("ChargeProfileMaxStackLevel", "3") == REJ     # read-only under both names
    assert c.change("ChargingProfileMaxStackLevel", "3") == REJ
    # persisted once, under the manual's name
    c2 = new("dscu", st)
    assert c2.get("HeartBeatInterval") == 300 and c2.get("AuthorisationCacheEnabled") is True
    assert "HeartbeatInterval" not in st.files["config.json"].decode()


def test_stop_txn_keys_validate_like_meter_values_keys():
    c = new()
    assert c.get("StopTxnSampledData") == "" and c.get("StopTxnAlignedData") == ""
    assert c.get("StopTxnSampledDataMaxLength") == 8 and c.get("StopTxnAlignedDataMaxLength") == 8
    assert c.change("StopTxnSampledData", "energy.active.import.register, Voltage.L1") == ACC
    assert c.get("StopTxnSampledData") == "Energy.Active.Import.Register,Voltage.L1"
    assert c.change("StopTxnSampledData", "Bogus") == REJ
    assert c.change("StopTxnSampledData", "Voltage,Voltage") == REJ
    assert c.change("StopTxnSampledData", ",".join(K.MEASURANDS[:9])) == REJ    # > MaxLength
    assert c.change("StopTxnAlignedData", "SoC") == REJ                 # not an aligned measurand
    assert c.change("StopTxnAlignedData", "Energy.Active.Import.Register") == ACC
    assert c.change("StopTxnAlignedDataMaxLength", "9") == REJ
    assert c.get("StopTxnSampledData") == "Energy.Active.Import.Register,Voltage.L1"


def test_get_configuration_some_and_unknown():
    c = new()
    c.change("HeartBeatInterval", "300")
    items, unknown = c.get_configuration(["HeartBeatInterval", "Nope", "NumberOfConnectors",
                                          "heartbeatinterval", "ExternalSensor1Type"])
    assert items == [{"key": "HeartBeatInterval", "readonly": False, "value": "300"},
                     {"key": "NumberOfConnectors", "readonly": True, "value": "2"}]
    assert unknown == ["Nope", "ExternalSensor1Type"]


def test_get_configuration_max_keys():
    c = new()
    assert c.get("GetConfigurationMaxKeys") == 255
    req = ["X%d" % i for i in range(255)] + ["HeartBeatInterval"]
    items, unknown = c.get_configuration(req)
    assert items == [] and len(unknown) == 255          # the 256th key is not answered
    req = ["HeartBeatInterval"] + ["X%d" % i for i in range(300)]
    items, unknown = c.get_configuration(req)
    assert [i["key"] for i in items] == ["HeartBeatInterval"] and len(unknown) == 254


def _rng(seed):
    state = [seed]

    def rng(n):
        out = bytearray(n)
        for i in range(n):
            state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF
            out[i] = (state[0] >> 16) & 0xFF
        return bytes(out)

    return rng


def test_password_rotates_on_get_configuration():
    st = MemStorage()
    c = new("dscu", st)
    seen = []
    c.subscribe(seen.append)
    # without rng (simulator, local tools) nothing rotates
    items, _ = c.get_configuration(["LocalManagementPassword"])
    assert items[0]["value"] == "$r33nFI^x"
    # a request without the password key leaves it alone
    c.get_configuration(["HeartBeatInterval"], rng_bytes=_rng(1))
    assert c.get("LocalManagementPassword") == "$r33nFI^x"
    items, _ = c.get_configuration(None, rng_bytes=_rng(1))
    pw = [i["value"] for i in items if i["key"] == "LocalManagementPassword"][0]
    assert pw != "$r33nFI^x" and pw == c.get("LocalManagementPassword") and len(pw) == 12
    assert seen == ["LocalManagementPassword"]
    items, _ = c.get_configuration(["LocalManagementPassword"], rng_bytes=_rng(2))
    assert items[0]["value"] != pw
    pw2 = items[0]["value"]
    assert Config(st, "dscu").get("LocalManagementPassword") == pw2    # persisted
    assert c.change("LocalManagementPassword", "mine") == REJ
    assert c.rotate_local_password(_rng(3)) == c.get("LocalManagementPassword")


# ---- firmware-owned values, listeners, failures ------------------------------------------------

def test_set_internal():
    st = MemStorage()
    c = new("dscu", st)
    seen = []
    c.subscribe(seen.append)
    assert c.set_internal("FirmwareVersionMCU", "0.1.0") is True
    assert c.set_internal("MACAddress", "02:00:00:00:00:01") is True
    assert c.set_internal("Registered", False) is True
    assert c.set_internal("ChargingProfileMaxStackLevel", 3) is True
    assert c.get("FirmwareVersionMCU") == "0.1.0" and c.get("Registered") is False
    assert seen == ["FirmwareVersionMCU", "MACAddress", "Registered", "ChargingProfileMaxStackLevel"]
    c2 = Config(st, "dscu")
    assert c2.get("FirmwareVersionMCU") == "" and c2.get("MACAddress") == ""   # volatile
    assert c2.get("Registered") is False and c2.get("ChargingProfileMaxStackLevel") == 3
    for name, value in (("HeartBeatInterval", 10), ("Registered", 1), ("NumberOfConnectors", "x"),
                        ("NumberOfConnectors", 3), ("NoSuchKey", "1")):
        try:
            c.set_internal(name, value)
        except (ValueError, KeyError):
            continue
        raise AssertionError("set_internal(%s, %r) accepted" % (name, value))


def test_listeners():
    c = new()
    seen = []
    c.subscribe(seen.append)
    c.subscribe(seen.append)                          # once only
    assert c.change("HeartBeatInterval", "60") == ACC
    assert c.change("HeartBeatInterval", "60") == ACC  # unchanged: no call
    assert c.change("HeartBeatInterval", "-1") == REJ
    assert c.change("NoKey", "1") == NSU
    assert c.change("BESPortnumber", "81") == RBR
    assert seen == ["HeartBeatInterval", "BESPortnumber"]
    c.unsubscribe(seen.append)
    c.change("HeartBeatInterval", "61")
    assert seen == ["HeartBeatInterval", "BESPortnumber"]

    def boom(name):
        raise RuntimeError("listener bug")

    c.subscribe(boom)
    assert c.change("HeartBeatInterval", "62") == ACC
    assert c.get("HeartBeatInterval") == 62 and len(c.errors) == 1


def test_listener_with_keys_hears_those_keys_only():
    c = new()
    mine, every = [], []
    c.subscribe(mine.append, ("HeartBeatInterval", "LEDcolor_Charging"))
    c.subscribe(every.append)
    assert c.change("HeartBeatInterval", "60") == ACC
    assert c.change("BESPortnumber", "81") == RBR
    assert c.change("ledcolor_charging", "red") == ACC      # any spelling: the manual's name
    assert c.change("HeartbeatInterval", "70") == ACC       # the OCPP alias of HeartBeatInterval
    assert mine == ["HeartBeatInterval", "LEDcolor_Charging", "HeartBeatInterval"]
    assert every == ["HeartBeatInterval", "BESPortnumber", "LEDcolor_Charging", "HeartBeatInterval"]
    c.subscribe(mine.append, ("BESPortnumber",))            # again: new keys replace the old
    c.change("HeartBeatInterval", "71")
    c.change("BESPortnumber", "82")
    assert mine[3:] == ["BESPortnumber"]
    c.unsubscribe(mine.append)
    c.change("BESPortnumber", "83")
    assert mine[3:] == ["BESPortnumber"] and every[-1] == "BESPortnumber"


def test_write_failure_rejects_and_keeps_value():
    st = MemStorage()
    c = new("dscu", st)
    seen = []
    c.subscribe(seen.append)
    st.fail_writes = True
    assert c.change("HeartBeatInterval", "60") == REJ
    assert c.change("BESPortnumber", "443") == REJ
    assert c.get("HeartBeatInterval") == 900 and c.get_str("BESPortnumber", True) == "80"
    assert c.reboot_pending() == [] and seen == [] and len(c.errors) == 2
    old = c.get("LocalManagementPassword")
    items, _ = c.get_configuration(["LocalManagementPassword"], rng_bytes=_rng(5))
    assert items[0]["value"] == old == c.get("LocalManagementPassword")   # consistent
    st.fail_writes = False
    assert c.change("HeartBeatInterval", "60") == ACC
