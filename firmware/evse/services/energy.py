# Energy allocation (manual 6.2 / 6.3): the current offered per connector,
# each MCU step. Load balancing and temperature derating
# (services/loadbalance.py) over the smart charging limits
# (services/smartcharging.py, loaded when SmartChargingEnabled or stored
# profiles need it; NominalAmperage otherwise), the overcurrent cap, blocking
# MCU-side conditions and a suspended session; the result goes to the
# safety core as CMD_SET_LIMIT frames (only on a change). The smart
# charging operations (SetChargingProfile, ClearChargingProfile,
# GetCompositeSchedule) are this service's.
#
# Allocation-free while smart charging is off: preallocated per-connector
# lists, integers (deci-amps, 0.1 degC), the configuration read again only
# when a key changes (config.subscribe; docs/memory.md).
TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time (MicroPython has no typing)
    from typing import Any  # TYPE_CHECKING only

from evse.iocu import pilot as P
from evse.callerror import CallError, connector_id
from evse.services.loadbalance import LoadBalancer, deci
from evse.services.session import TX

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

_PROFILES_FILE = const("profiles.json")     # smartcharging.FILE, spelled here so that looking does not load it


# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("MaxCurrentConnection", "MinCurrentConnection", "NominalAmperage"))
# the keys a connector's offer follows (own, load balancing's, smart charging's):
# a change of one tells the safety core every offer again
_INPUTS = const(("MaxCurrentConnection", "MinCurrentConnection", "NominalAmperage",
                 "ChargePointCurrentLimit", "TempLowerOffsetDegrees", "TempLowerOffsetLimit",
                 "TempUpperOffsetDegrees", "TempUpperOffsetLimit", "SmartChargingEnabled",
                 "NominalPeriod", "MainsVoltage", "L1Active", "L2Active", "L3Active"))


class Energy:
    OPERATIONS = ("SetChargingProfile", "ClearChargingProfile", "GetCompositeSchedule")   # evse.ocpp.operations

    def __init__(self, config, storage, clock, io, sessions, port, conditions, warnings,
                 overcurrent) -> None:
        self.config = config
        self.storage = storage
        self.clock = clock
        self.io = io                    # the board's I/O: temperature_dc()
        self.sessions = sessions
        self.port = port
        self.mirrors = port.conn
        self.conditions = conditions
        self.warnings = warnings
        self.overcurrent = overcurrent
        self.tx = None                  # type: Any  # services/transactions.py, wired by the station
        n = self.n = len(sessions)
        self.balancer = LoadBalancer(n)
        self._active = [False] * n      # the step's inputs, updated in place
        self._demand = [False] * n
        self._sc = [0] * n              # type: list
        self.limits = [-1] * n          # what the safety core was last told, deci-amps; -1: tell again
        self._smart = None              # type: Any
        # SmartChargingEnabled takes effect at once (manual): _on_config
        # loads the service when it becomes True; stored profiles (kept
        # while disabled) load it at boot
        try:
            stored = storage.read(_PROFILES_FILE) is not None
        except OSError:
            stored = True               # the service reports the read failure
        if self._enabled() or stored:
            self._load_smart()
        self._cache_config()
        config.subscribe(self._on_config, _INPUTS)

    # ---- smart charging (lazy service) ---------------------------------------------
    def _enabled(self) -> bool:
        try:
            return self.config.get("SmartChargingEnabled") is True
        except (KeyError, ValueError):
            return False

    def _load_smart(self):
        from evse.services.smartcharging import SmartCharging
        sc = self._smart = SmartCharging(self.config, self.storage, self.clock, self.n)
        return sc

    @property
    def smart(self):
        sc = self._smart
        return sc if sc is not None else self._load_smart()

    def smart_on(self) -> bool:
        sc = self._smart
        return sc is not None and sc.enabled()

    def _on_config(self, key: str) -> None:
        if key == "SmartChargingEnabled" and self._smart is None and self._enabled():
            self._load_smart()          # takes effect at once (manual)
        self._cache_config()
        self.invalidate()

    def invalidate(self) -> None:
        """Tell the safety core every connector's offer again at the next step."""
        for i in range(self.n):
            self.limits[i] = -1

    def nominal_a(self) -> float:
        # SmartCharging.target_a while disabled: NominalAmperage (manual
        # SmartChargingEnabled False: "charging will be done at nominal amperage")
        try:
            v = self.config.get("NominalAmperage")
        except (KeyError, ValueError):
            v = None
        return int(round((16.0 if v is None else v) * 10)) / 10

    def target_a(self, cid: int, wall: int, start) -> float:
        sc = self._smart
        return sc.target_a(cid, wall, start) if sc is not None else self.nominal_a()

    def tx_ended(self, cid: int) -> None:
        if self._smart is not None:
            self._smart.tx_ended(cid)
        self.limits[cid - 1] = -1

    # ---- the step ------------------------------------------------------------------
    def _cache_config(self) -> None:
        """The step's configuration, in integers (deci-amps, 0.1 degC)."""
        g = self.config.get
        self._cp_limit_da = deci(g("ChargePointCurrentLimit"))
        self._maxc_da = deci(g("MaxCurrentConnection"))
        self._minc_da = deci(g("MinCurrentConnection"))
        self._tlow_dc = deci(g("TempLowerOffsetDegrees"))
        self._tlow_da = deci(g("TempLowerOffsetLimit"))
        self._tup_dc = deci(g("TempUpperOffsetDegrees"))
        self._tup_da = deci(g("TempUpperOffsetLimit"))
        self._nominal_da = deci(self.nominal_a())

    def step(self, now: int) -> None:
        """Offered current per connector: load balancing over smart charging
        limits (manual 6.2/6.3), then the safety core adds cable and
        MaxCurrentConnection limits."""
        wall = self.clock.now()
        active = self._active
        demand = self._demand
        sc = self._sc
        smart = self._smart
        on = smart is not None and smart.enabled()
        for i in range(self.n):
            s = self.sessions[i]
            p = self.mirrors[i].pilot
            tx = s.state == TX
            active[i] = tx
            demand[i] = p == P.C or p == P.D
            # NominalAmperage also when smart charging is disabled (manual
            # SmartChargingEnabled False: "charging will be done at nominal amperage")
            if smart is None:
                sc[i] = self._nominal_da
            else:
                sc[i] = smart.step_da(i + 1, wall, s.start_time if tx else None)
        station_sc = smart.step_da(0, wall) if on else -1
        if station_sc < 0:
            station_sc = None
        temp_dc = self.io.temperature_dc()
        lb = self.balancer
        derate = lb.derating.cap_dc(temp_dc, self._tlow_dc, self._tlow_da, self._tup_dc, self._tup_da)
        alloc = lb.allocate_into(wall, self._cp_limit_da, self._maxc_da, self._minc_da,
                                 active, demand, sc, station_sc, derate)
        w = self.warnings
        w.derating(derate, temp_dc)
        for i in range(self.n):
            c = self.mirrors[i]
            if on:
                w.limit(i + 1, active[i], sc[i], c.max_da)
            else:
                w.limit(i + 1, False, None, c.max_da)
            da = alloc[i] if active[i] else c.max_da
            cap = self.overcurrent.cap_da[i]
            if 0 <= cap < da:
                da = cap        # an EV that overdrew is offered the minimum
            if self.conditions.blocks(i + 1):
                da = 0          # a blocking MCU-side condition: no energy (PWM below 6 A)
            elif self.sessions[i].suspended:
                da = 0          # invalidated id past MaxEnergyOnInvalidId: SuspendedEVSE (session.py)
            if da != self.limits[i]:
                self.limits[i] = da
                self.port.set_limit_da(i + 1, int(da))

    def next_change_s(self, wall: int):
        """Seconds until a profile period or the load balancer next changes the offer, or None."""
        sc = self._smart
        x = None
        if sc is not None and sc.enabled():
            x = sc.step_change_s(wall)      # from what the energy step asked last
        y = self.balancer.next_change_s(wall)
        if x is None or (y is not None and y < x):
            return y
        return x

    # ---- Smart Charging operations (OCPP 1.6 5.16, 5.5, 5.7; evse.ocpp.operations) ------
    def ocpp_set_charging_profile(self, p: dict) -> dict:
        cid = connector_id(p["connectorId"], self.n)
        profile = p["csChargingProfiles"]
        err = self.smart.profile_error(cid, profile)
        if err is not None:
            raise CallError(err[0], err[1])
        return {"status": self.set_charging_profile(cid, profile)}

    def ocpp_clear_charging_profile(self, p: dict) -> dict:
        cid = p.get("connectorId")
        if cid is not None:
            connector_id(cid, self.n)
        return {"status": self.clear_charging_profile(p.get("id"), cid, p.get("chargingProfilePurpose"),
                                                      p.get("stackLevel"))}

    def ocpp_get_composite_schedule(self, p: dict) -> dict:
        cid = p["connectorId"]
        if not 0 <= cid <= self.n:
            return {"status": "Rejected"}       # 5.7: e.g. the connectorId is unknown
        try:
            res = self.composite_schedule(cid, p["duration"], p.get("chargingRateUnit"))
        except ValueError as e:
            raise CallError("PropertyConstraintViolation", str(e))
        if res is None:
            return {"status": "Rejected"}
        out = {"status": "Accepted", "connectorId": cid}
        out.update(res)
        return out

    def set_charging_profile(self, cid: int, profile: dict) -> str:
        """SetChargingProfile of a profile the handler checked
        (SmartCharging.profile_error: a CALLERROR otherwise)."""
        sessions = self.sessions
        tx = self.tx

        def tx_active(c: int):
            if 1 <= c <= len(sessions):
                s = sessions[c - 1]
                if s.state == TX:
                    t = tx.transaction_id(s)
                    return t if t is not None else True
            return None
        r = self.smart.set_profile(cid, profile, tx_active)
        self.invalidate()
        return r

    def clear_charging_profile(self, pid, cid, purpose, level) -> str:
        r = self.smart.clear(pid, cid, purpose, level)
        self.invalidate()
        return r

    def composite_schedule(self, cid: int, duration: int, unit):
        """GetCompositeSchedule: {scheduleStart, chargingSchedule}, None (no
        schedule), or ValueError (a constraint the request violates)."""
        start = None
        cap = None
        floor = 0
        if 1 <= cid <= self.n:
            if self.sessions[cid - 1].state == TX:
                start = self.sessions[cid - 1].start_time
            cap = self._offer_cap_da(cid - 1, start)
            floor = self.mirrors[cid - 1].min_da
        res = self.smart.composite_schedule(cid, duration, unit, self.clock.now(), start, cap, floor)
        if res is None:
            return None
        return {"scheduleStart": res["scheduleStart"], "chargingSchedule": res["chargingSchedule"]}

    def _offer_cap_da(self, i: int, start):
        """What limits connector index i now besides the charging profiles and
        the configured maxima (GetCompositeSchedule reports what is offered):
        the plugged cable's rating, temperature derating, and a load-balancing
        share below the connector's own target. Deci-amps or None."""
        c = self.mirrors[i]
        cap = None
        if c.cable_in() and c.cable_da >= 0:
            cap = c.cable_da
        v = self.balancer.derating.cap     # the derating cap in force, or None
        if v is not None:
            cap = v if cap is None or v < cap else cap
        if self.sessions[i].state == TX:
            own = int(round(self.target_a(i + 1, self.clock.now(), start) * 10))
            for x in (c.max_da, cap):
                if x is not None and x < own:
                    own = x
            share = self.balancer.alloc[i]
            if share < own:
                cap = share
        return cap
