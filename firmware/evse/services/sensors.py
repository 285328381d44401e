# Sensor scenarios (manual chapter 5): external digital sensors 1 and 2 and the
# three board voltage sensors (VCC main, 3V3IO, VBUFF) each run a configurable
# scenario when they become active (TriggerActions) and when they return to
# normal (RecoverActions).
#
# A scenario is the manual's list of the eight fixed actions with priorities:
# priority 0 = not executed; lower numbers run first (5.6: "a lower priority
# value prevails over a higher value"); equal priorities run in table order.
#
# Activity:
# - external sensor n (ExternalSensor<n>Type != 0): the IOCU's debounced input
#   level (bounce-protected, manual ERR_EXT_SENSn_BOUNCED); NormallyOpen True:
#   the normal state is contact High/Open, so the sensor is active at level 0;
#   False: normal is Low/Closed, active at level 1 (manual 5.5). Until the
#   first debounced reading (about 50 ms after boot) a sensor is inactive,
#   so a normally-open sensor does not trigger at every boot (5.9.1's tilt
#   configuration would otherwise come up Faulted).
#   Type 8 (CCID, sensor 1 only, manual 7.2): active while the IOCU reports
#   ERR_CCID_TRIPPED; the safety core itself opens the contactor.
# - voltage sensor: active while the IOCU's supervisor sees its rail outside
#   its limits (too low, too high or, for VCC main, power failure).
# CoupledConnector 0 = all connectors, n = connector n (5.4).
#
# Actions: StatusNotification (errorCode OtherError, info = the sensor name,
# vendorErrorCode SENSOR_TRIGGERED; on recovery NoError with info
# "<name> recovered"), StopTransaction (reason EmergencyStop), UnlockConnector,
# SetError (ERR_EXTERNAL: Faulted, red LED, no charging), ClearError,
# HardReset, SetLEDIntensityLow / SetLEDIntensityHigh.
from evse.iocu import errors as E

TYPE_NAMES = {1: "TILT", 2: "WATER", 3: "TEMPERATURE", 4: "LIGHT", 5: "OPENDOOR",
              6: "BUTTON", 7: "GROUND_FAILURE", 8: "CCID", 99: "OTHER"}
ACTIONS = ("StatusNotification", "StopTransaction", "UnlockConnector", "SetError",
           "ClearError", "HardReset", "SetLEDIntensityLow", "SetLEDIntensityHigh")

_INPUT = 0
_RAIL = 1

# name, kind, index (input n / rail n), key prefix
SENSORS = (
    ("ext1", _INPUT, 1, "ExternalSensor1"),
    ("ext2", _INPUT, 2, "ExternalSensor2"),
    ("vmain", _RAIL, 0, "VoltageSensorVCCMain"),
    ("3v3io", _RAIL, 1, "VoltageSensorVCC3V3IO"),
    ("vbuff", _RAIL, 2, "VoltageSensorVCCBuff"),
)
_RAIL_NAMES = ("VCCMAIN", "VCC3V3IO", "VCCBUFF")
# the keys step() reads, spelled out: a key built as prefix + "Type" would be
# a new string on every MCU step (docs/memory.md)
_TYPE_KEYS = ("", "ExternalSensor1Type", "ExternalSensor2Type")
_NO_KEYS = ("", "ExternalSensor1NormallyOpen", "ExternalSensor2NormallyOpen")


try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("ExternalSensor1Type", "ExternalSensor1NormallyOpen", "ExternalSensor1Name",
                      "ExternalSensor1CoupledConnector", "ExternalSensor1TriggerActions",
                      "ExternalSensor1RecoverActions", "ExternalSensor2Type", "ExternalSensor2NormallyOpen",
                      "ExternalSensor2Name", "ExternalSensor2CoupledConnector",
                      "ExternalSensor2TriggerActions", "ExternalSensor2RecoverActions",
                      "VoltageSensorVCCMainCoupledConnector", "VoltageSensorVCCMainTriggerActions",
                      "VoltageSensorVCCMainRecoverActions", "VoltageSensorVCC3V3IOCoupledConnector",
                      "VoltageSensorVCC3V3IOTriggerActions", "VoltageSensorVCC3V3IORecoverActions",
                      "VoltageSensorVCCBuffCoupledConnector", "VoltageSensorVCCBuffTriggerActions",
                      "VoltageSensorVCCBuffRecoverActions"))


def order(actions: list) -> list:
    """The actions to run, in execution order (stable for equal priorities)."""
    pairs = []
    for i, item in enumerate(actions):
        prio, name = item[0], item[1]
        if type(prio) is int and prio > 0:
            for canon in ACTIONS:
                if canon.lower() == str(name).lower():
                    pairs.append((prio, i, canon))
    pairs.sort()
    return [p[2] for p in pairs]


class Sensors:
    def __init__(self, config, port, sessions, indicators, status, maint, syslog) -> None:
        # status: services/statusreport.py (sensor_status); maint:
        # services/maintenance.py (reset); syslog: the station's log
        self.config = config
        self.port = port
        self.sessions = sessions
        self.n = len(sessions)
        self.indicators = indicators
        self.status = status
        self.maint = maint
        self.syslog = syslog
        self.active = [False] * len(SENSORS)
        self.log = []  # type: list  # (sensor, "trigger"/"recover", [actions])

    def sensor_name(self, i: int) -> str:
        name, kind, idx, prefix = SENSORS[i]
        if kind == _RAIL:
            return _RAIL_NAMES[idx]
        t = self.config.get(prefix + "Type")
        if t == 99:
            return self.config.get(prefix + "Name") or "OTHER"
        return TYPE_NAMES.get(t, "SENSOR%d" % idx)

    def _is_active(self, i: int) -> bool:
        name, kind, idx, prefix = SENSORS[i]
        st = self
        if kind == _RAIL:
            return st.port.rail_state(idx) != 0
        t = st.config.get(_TYPE_KEYS[idx])
        if t == 0:
            return False
        if t == 8:
            return idx == 1 and st.port.conn[0].active(E.ERR_CCID_TRIPPED)
        if not st.port.ext_known[idx]:
            return False     # no debounced reading yet (boot): neither triggered nor recovered
        level = st.port.ext_level[idx]
        if st.config.get(_NO_KEYS[idx]):
            return level == 0
        return level == 1

    def step(self) -> None:
        for i in range(len(SENSORS)):
            a = self._is_active(i)
            if a != self.active[i]:
                self.active[i] = a
                self._run(i, a)

    def _run(self, i: int, trigger: bool) -> None:
        prefix = SENSORS[i][3]
        key = prefix + ("TriggerActions" if trigger else "RecoverActions")
        todo = order(self.config.get(key))
        name = self.sensor_name(i)
        self.log.append((name, "trigger" if trigger else "recover", todo))
        if len(self.log) > 20:
            self.log.pop(0)
        if not todo:
            return
        cc = self.config.get(prefix + "CoupledConnector")
        conns = list(range(1, self.n + 1)) if cc == 0 else [cc] if 1 <= cc <= self.n else []
        self.syslog.add("sensor %s %s: %s" % (name, "trigger" if trigger else "recover", ",".join(todo)))
        for action in todo:
            self._do(action, name, trigger, cc, conns)

    def _do(self, action: str, name: str, trigger: bool, cc: int, conns: list) -> None:
        st = self
        if action == "StatusNotification":
            for cid in ([0] if cc == 0 else conns):
                st.status.sensor_status(cid, name, trigger)
        elif action == "StopTransaction":
            for cid in conns:
                st.sessions[cid - 1].stop("EmergencyStop")
        elif action == "UnlockConnector":
            for cid in conns:
                # no unlock under a running transaction: end it first
                st.sessions[cid - 1].stop("EmergencyStop")
                st.port.request_unlock(cid)
        elif action == "SetError":
            for cid in conns:
                st.port.set_external_error(cid, E.ERR_EXTERNAL)
        elif action == "ClearError":
            for cid in conns:
                st.port.clear_error(cid)
        elif action == "HardReset":
            st.maint.reset("Hard", local=True)
        elif action == "SetLEDIntensityLow":
            st.indicators.set_intensity_mode("low")
        elif action == "SetLEDIntensityHigh":
            st.indicators.set_intensity_mode("high")
