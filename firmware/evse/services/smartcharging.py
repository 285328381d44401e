# Smart Charging (OCPP 1.6 3.13, 5.5, 5.7, 5.16 with errata v4.0; manual 6.3 and
# the keys SmartChargingEnabled, NominalAmperage, NominalPeriod,
# ChargingProfileMaxStackLevel, ChargingScheduleAllowedChargingRateUnit,
# ChargingSchedulesMaxPeriods, MaxChargingProfilesInstalled, MainsVoltage).
#
# Holds the Central System's charging profiles, answers SetChargingProfile,
# ClearChargingProfile and GetCompositeSchedule, and tells the energy layer the
# current a connector may be offered (limit_a / target_a). Local load balancing
# (evse.services.loadbalance) stays on top of this: a profile never raises the
# station limit (manual 6.3).
#
# Decisions (where the spec or the manual leave room):
# - SmartChargingEnabled False: SetChargingProfile answers "NotSupported" and
#   stores nothing (the manual says profiles are ignored; the status exists to
#   tell the Central System so). Profiles installed earlier stay stored but are
#   ignored until the key is True again; ClearChargingProfile still works.
# - Malformed requests (missing/mistyped fields, unknown enumeration value,
#   connectorId out of range) are what errata 3.38/3.39 answer with a CALLERROR:
#   profile_error() returns (OCPP-J error code, text) for the OCPP handler.
#   set_profile() itself never raises: it answers "Rejected" for them.
# - "Rejected" also for: ChargePointMaxProfile on a connector > 0, TxProfile on
#   connector 0 or without a transaction on its connector (or with a
#   transactionId other than the running one), transactionId on another
#   purpose, stackLevel > ChargingProfileMaxStackLevel, more periods than
#   ChargingSchedulesMaxPeriods, a unit ChargingScheduleAllowedChargingRateUnit
#   does not list, first startPeriod not 0 or two periods starting together,
#   negative limit, numberPhases outside 1..3, duration <= 0, Recurring without
#   recurrencyKind or startSchedule, validTo not after validFrom or already
#   past, MaxChargingProfilesInstalled reached, or the file could not be saved.
# - Units: ChargingScheduleAllowedChargingRateUnit lists "Current" (or
#   "Current [A]", "A") and/or "Power" ("W"). The key is read-only "Current", so
#   W schedules are Rejected on this product; if the list allows W, a W limit is
#   converted per OCPP 7.12: A = W / (MainsVoltage * numberPhases, absent = 3),
#   rounded down to 0.1 A (never above what was asked).
# - Replacement (3.13.2, 5.16.3): a new profile replaces the one with the same
#   chargingProfileId, and the one with the same purpose + stackLevel +
#   connectorId (a connector's TxDefaultProfile and connector 0's coexist,
#   3.13.1). Expired profiles (validTo passed) are dropped before counting.
# - Stacking: the prevailing profile of a purpose is the highest stackLevel one
#   that yields a limit at that instant (valid, started, within duration); when
#   it has none (outside its duration) the next lower one applies (errata 3.43).
#   For a connector the TxDefaultProfiles of the connector and of connector 0
#   stack together; at equal stackLevel the connector's own one wins.
# - Combining (3.13.3): min(ChargePointMaxProfile, TxProfile, or TxDefaultProfile
#   when the connector has no TxProfile yielding a limit). limit_a(0) is the
#   ChargePointMaxProfile alone: the station total for load balancing.
# - Kinds: Absolute from startSchedule (absent: from the time it was received);
#   Recurring Daily/Weekly repeats startSchedule every 86400/604800 s in UTC in
#   both directions (validFrom gates the start), periods or a duration beyond
#   the recurrence are not executed (errata 3.44); Relative from the
#   transaction start; with no transaction yet (the EV is about to start) it
#   stays at its first period. GetCompositeSchedule without a transaction
#   reports a Relative profile as if the transaction started at scheduleStart.
#   A Relative ChargePointMaxProfile (no transaction at station level) runs
#   from the time it was received.
#   DST is not modelled: OCPP recommends UTC (3.14).
# - NominalAmperage/NominalPeriod (manual): NominalAmperage is the "default
#   charge rate (standard situation, no smart charging)": with
#   SmartChargingEnabled False every connector is offered it (manual
#   SmartChargingEnabled: "charging will be done at nominal amperage"). While
#   smart charging is enabled the TxProfile/TxDefaultProfile is ignored for the
#   first NominalPeriod seconds of a transaction (ChargePointMaxProfile still
#   applies); when nothing applies target_a() gives NominalAmperage, and so do
#   the gaps of a composite schedule. minChargingRate is kept, not used.
# - GetCompositeSchedule reports what the station will offer: connector 0
#   min(ChargePointMaxProfile, ChargePointCurrentLimit); a connector
#   min(MaxCurrentConnection, ChargePointCurrentLimit, target, and what the
#   station passes as limiting it now: the plugged cable's rating, temperature
#   derating, a load-balancing share below its target) over time, 0 where that
#   is below the connector's 6 A minimum. Rejected (None) for an unknown
#   connector or duration <= 0; a unit other than A/W raises ValueError (errata
#   3.24: CALLERROR PropertyConstraintViolation). At most
#   ChargingSchedulesMaxPeriods periods; the reported duration is cut to them.
# - Persistence (errata 3.37): "profiles.json" in Storage, written atomically on
#   every change. A corrupt file or entry loads as no profile plus a line in
#   `errors`, never an exception.
#
# Internals: limits are ints in tenths of the schedule unit (0.1 A / 0.1 W) and
# periods live in arrays, so 8 profiles x 255 periods stay a few kB.
import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only

from evse.clock import iso8601
from evse.services.smartprofile import (CP_MAX, TX_DEFAULT, TX, PURPOSES, UNITS, E_PROPERTY, E_TYPE,
                                        ProfileError, Profile, parse, check)
from evse.services.smartschedule import allowed_units, min_opt, period_at, period_value

FILE = "profiles.json"


try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("SmartChargingEnabled", "ChargingProfileMaxStackLevel",
                      "ChargingScheduleAllowedChargingRateUnit", "ChargingSchedulesMaxPeriods",
                      "MaxChargingProfilesInstalled", "NominalPeriod", "ConnectorSwitch3to1PhaseSupported"))
# what a composite schedule is computed from (the RO limits cannot change)
_INPUTS = const(("SmartChargingEnabled", "NominalPeriod", "NominalAmperage", "ChargePointCurrentLimit",
                 "MaxCurrentConnection", "MainsVoltage", "L1Active", "L2Active", "L3Active"))


def _cfg(config, name: str, default):
    try:
        v = config.get(name)
    except (KeyError, ValueError):
        return default
    return default if v is None else v



class SmartCharging:
    def __init__(self, config, storage, clock, n_connectors: int) -> None:
        self.config = config
        self.storage = storage
        self.clock = clock
        self.n = n_connectors
        self.profiles: list = []   # Profile, sorted by (stackLevel, connectorId) descending
        self.errors: list = []     # load/save problems, for diagnostics
        self.reason = ""        # why the last set_profile was not Accepted
        # the energy step's answers (step_da), one per connector (0 = the
        # station): valid while the profile list is the same object, no key
        # changed (_gen), the transaction start is the same and the wall time
        # is inside [from, until): the schedule's next change (docs/memory.md:
        # the MCU step allocates nothing)
        k = n_connectors + 1
        self._gen = 0
        self._k_prof = None     # type: Any
        self._k_gen = [-1] * k
        self._k_start = [None] * k      # type: list
        self._k_from = [0] * k
        self._k_until = [None] * k      # type: list  # None: no change scheduled
        self._k_val = [0] * k
        self._k_ver = 0         # answers computed so far: step_change_s's memo
        self._c_now = None      # type: Any  # step_change_s's last question (now, _k_ver, _gen) and answer
        self._c_ver = -1
        self._c_gen = -1
        self._c = None          # type: Any
        config.subscribe(self._on_config, _INPUTS)
        self._load()

    def _on_config(self, key: str) -> None:
        self._gen += 1          # NominalAmperage, MainsVoltage, SmartChargingEnabled...: compute again

    # ---- configuration ----------------------------------------------------------
    def enabled(self) -> bool:
        return _cfg(self.config, "SmartChargingEnabled", False) is True

    def _volts(self) -> int:
        return int(_cfg(self.config, "MainsVoltage", 230))

    def _installed_phases(self) -> int:
        n = 0
        for k in ("L1Active", "L2Active", "L3Active"):
            if _cfg(self.config, k, True) is True:
                n += 1
        return n or 3

    def _deci(self, name: str, default) -> int:
        return int(round(_cfg(self.config, name, default) * 10))

    # ---- SetChargingProfile ----------------------------------------------------------
    def profile_error(self, connector_id, profile):
        """(OCPP-J error code, text) when the request deserves a CALLERROR
        (errata 3.38/3.39), else None."""
        try:
            parse(connector_id, profile, self.n, 0)
        except ProfileError as e:
            return (e.code, e.text)
        return None

    def set_profile(self, connector_id, cs_charging_profiles, tx_active_fn=None) -> str:
        """SetChargingProfile.req -> "Accepted" | "Rejected" | "NotSupported".
        tx_active_fn(connector_id): None/False without a transaction, else True
        or the transactionId of the running transaction. A TxProfile from a
        RemoteStartTransaction is installed with this same call once its
        transaction has started."""
        self.reason = ""
        if not self.enabled():
            self.reason = "SmartChargingEnabled is False"
            return "NotSupported"
        now = self.clock.now()
        try:
            p = parse(connector_id, cs_charging_profiles, self.n, now)
        except ProfileError as e:
            self.reason = e.text
            return "Rejected"
        why = self._rule(p, now, tx_active_fn)
        if why:
            self.reason = why
            return "Rejected"
        keep = []
        for q in self.profiles:
            if q.pid == p.pid:
                continue
            if q.purpose == p.purpose and q.stack == p.stack and q.cid == p.cid:
                continue
            if q.vto is not None and q.vto <= now:
                continue
            keep.append(q)
        if len(keep) >= int(_cfg(self.config, "MaxChargingProfilesInstalled", 8)):
            self.reason = "MaxChargingProfilesInstalled reached"
            return "Rejected"
        keep.append(p)
        old = self.profiles
        self.profiles = keep
        self._sort()
        if not self._save():
            self.profiles = old
            self.reason = "profiles could not be saved"
            return "Rejected"
        return "Accepted"

    def _rule(self, p: Profile, now: int, tx_active_fn) -> str:
        if p.purpose == CP_MAX and p.cid != 0:
            return "ChargePointMaxProfile only on connector 0"
        if p.purpose == TX:
            if p.cid == 0:
                return "TxProfile not on connector 0"
            active = tx_active_fn(p.cid) if tx_active_fn is not None else None
            if active is None or active is False:
                return "no transaction on connector"
            if p.txid is not None and type(active) is int and active != p.txid:
                return "transactionId is not the running transaction"
        elif p.txid is not None:
            return "transactionId only with TxProfile"
        if p.stack > int(_cfg(self.config, "ChargingProfileMaxStackLevel", 6)):
            return "stackLevel above ChargingProfileMaxStackLevel"
        if len(p.starts) > int(_cfg(self.config, "ChargingSchedulesMaxPeriods", 255)):
            return "more periods than ChargingSchedulesMaxPeriods"
        a_ok, w_ok = allowed_units(_cfg(self.config, "ChargingScheduleAllowedChargingRateUnit", "Current"))
        if not (w_ok if p.watts else a_ok):
            return "chargingRateUnit not allowed"
        why = check(p)
        if why:
            return why
        if p.vto is not None and p.vto <= now:
            return "validTo in the past"
        return ""

    # ---- ClearChargingProfile --------------------------------------------------------
    def clear(self, id=None, connector_id=None, purpose=None, stack_level=None) -> str:
        """ClearChargingProfile.req -> "Accepted" | "Unknown". All given fields
        must match (errata 3.25); no field clears every profile."""
        pi = -2
        if purpose is not None:
            pi = -1
            for i in range(len(PURPOSES)):
                if PURPOSES[i] == purpose:
                    pi = i
        keep = []
        for p in self.profiles:
            if ((id is None or p.pid == id) and (connector_id is None or p.cid == connector_id)
                    and (pi == -2 or p.purpose == pi)
                    and (stack_level is None or p.stack == stack_level)):
                continue
            keep.append(p)
        if len(keep) == len(self.profiles):
            return "Unknown"
        self.profiles = keep
        self._save()
        return "Accepted"

    def tx_ended(self, connector_id: int) -> None:
        """A transaction stopped: its TxProfiles cease to be valid (3.13.1, 7.10)."""
        keep = [p for p in self.profiles if not (p.purpose == TX and p.cid == connector_id)]
        if len(keep) != len(self.profiles):
            self.profiles = keep
            self._save()

    # ---- limits ------------------------------------------------------------------------
    def _select(self, purpose: int, c: int, t: int, anchor):
        """Prevailing profile of a purpose for connector c at t:
        (profile or None, period index, next change or None)."""
        nxt = None
        for p in self.profiles:   # highest stackLevel first, connector > 0 before 0
            if p.purpose != purpose:
                continue
            if purpose == TX_DEFAULT:
                if p.cid != c and p.cid != 0:
                    continue
            elif p.cid != c:
                continue
            i, n = period_at(p, t, anchor)
            nxt = min_opt(nxt, n)
            if i >= 0:
                return p, i, nxt
        return None, -1, nxt

    def _eval(self, c: int, t: int, anchor, tx_start, watts: bool, volts: int):
        """Min of the applicable profile limits at t, in tenths of the unit:
        (value or None, numberPhases of the deciding period (0 = absent),
        True when a TxProfile/TxDefaultProfile took part, next change or None)."""
        val = None
        ph = 0
        p, i, nxt = self._select(CP_MAX, 0, t, anchor)
        if p is not None:
            val = period_value(p, i, watts, volts)
            ph = p.phases[i]
        if c == 0:
            return val, ph, False, nxt
        if tx_start is not None:
            # manual NominalAmperage/NominalPeriod: profile ignored at session start
            np_end = tx_start + int(_cfg(self.config, "NominalPeriod", 30))
            if t < np_end:
                return val, ph, False, min_opt(nxt, np_end)
        p, i, n = self._select(TX, c, t, anchor)
        nxt = min_opt(nxt, n)
        if p is None:
            p, i, n = self._select(TX_DEFAULT, c, t, anchor)
            nxt = min_opt(nxt, n)
        if p is None:
            return val, ph, False, nxt
        v = period_value(p, i, watts, volts)
        if val is None or v < val:
            val = v
            ph = p.phases[i]
        return val, ph, True, nxt

    def limit_a(self, connector_id: int, now: int, tx_start=None):
        """Current limit (A, float) the profiles set on a connector at `now`, or
        None when no profile applies (or smart charging is disabled).
        Connector 0: the ChargePointMaxProfile, a limit for all connectors
        together (feed it to load balancing as a station limit)."""
        if not self.enabled():
            return None
        v = self._eval(connector_id, now, tx_start, tx_start, False, self._volts())[0]
        return None if v is None else v / 10

    def target_a(self, connector_id: int, now: int, tx_start=None) -> float:
        """What the smart-charging layer lets a connector draw (A): the profile
        limit, or NominalAmperage where no TxProfile/TxDefaultProfile applies
        (disabled, NominalPeriod, none installed), capped by the
        ChargePointMaxProfile. Connector 0: ChargePointMaxProfile, else
        ChargePointCurrentLimit."""
        nom = self._deci("NominalAmperage", 16.0)
        if not self.enabled():
            return nom / 10
        if connector_id == 0:
            v = self._eval(0, now, None, None, False, self._volts())[0]
            return (self._deci("ChargePointCurrentLimit", 32) if v is None else v) / 10
        return self._target(connector_id, now, tx_start, tx_start, False, self._volts(), nom)[0] / 10

    def step_da(self, cid: int, now: int, tx_start=None) -> int:
        """For the energy step, in deci-amps: connector cid's target_a, or
        for cid 0 the station limit limit_a(0) (-1 when none). The last
        answer while nothing it depends on changed (no allocation), else
        computed again, with the instant it next may change."""
        if (self._k_prof is self.profiles and self._k_gen[cid] == self._gen
                and self._k_start[cid] == tx_start and self._k_from[cid] <= now):
            u = self._k_until[cid]
            if u is None or now < u:
                return self._k_val[cid]
        nxt = None
        if not self.enabled():
            val = -1 if cid == 0 else self._deci("NominalAmperage", 16.0)
        elif cid == 0:
            v, _, _, nxt = self._eval(0, now, None, None, False, self._volts())
            val = -1 if v is None else v
        else:
            val, _, nxt = self._target(cid, now, tx_start, tx_start, False, self._volts(),
                                       self._deci("NominalAmperage", 16.0))
        self._k_prof = self.profiles
        self._k_gen[cid] = self._gen
        self._k_start[cid] = tx_start
        self._k_from[cid] = now
        self._k_until[cid] = nxt
        self._k_val[cid] = val
        self._k_ver += 1
        return val

    def step_change_s(self, now: int):
        """Seconds until an answer of step_da next may change, or None: the
        energy step's next_change_s, from what it asked last."""
        best = None
        if self._k_prof is not self.profiles:
            return 0
        if self._c_now is now and self._c_ver == self._k_ver and self._c_gen == self._gen:
            return self._c      # the same question within the clock's second
        for c in range(self.n + 1):
            if self._k_gen[c] != self._gen:
                continue
            u = self._k_until[c]
            if u is not None and (best is None or u < best):
                best = u
        self._c_now = now
        self._c_ver = self._k_ver
        self._c_gen = self._gen
        self._c = None if best is None else max(0, best - now)
        return self._c

    def _target(self, c: int, t: int, anchor, tx_start, watts: bool, volts: int, nom: int):
        val, ph, has_tx, nxt = self._eval(c, t, anchor, tx_start, watts, volts)
        if not has_tx and (val is None or nom < val):
            val = nom
            ph = 0
        return val, ph, nxt

    def next_change_s(self, now: int, tx_starts=None):
        """Seconds until some connector's limit may change (for the simulator to
        jump virtual time), or None when nothing is scheduled. tx_starts:
        {connectorId: transaction start epoch} of running transactions."""
        if not self.enabled():
            return None
        volts = self._volts()
        nxt = None
        for c in range(self.n + 1):
            ts = None if tx_starts is None else tx_starts.get(c)
            nxt = min_opt(nxt, self._eval(c, now, ts, ts, False, volts)[3])
        return None if nxt is None else nxt - now

    # ---- GetCompositeSchedule ----------------------------------------------------------
    def composite_schedule(self, connector_id, duration_s, unit=None, now=None, tx_start=None,
                           cap_da=None, min_da: int = 0):
        """GetCompositeSchedule.req -> None (status Rejected) or the .conf fields.
        tx_start: start epoch of the transaction running on the connector.
        cap_da: what else limits the connector now (cable, derating, load
        balancing; deci-amps, None = nothing); min_da: below this the connector
        offers nothing (IEC 61851-1 minimum), so a lower limit is reported as 0."""
        if unit is not None and unit not in UNITS:
            raise ValueError("chargingRateUnit")
        if (type(connector_id) is not int or connector_id < 0 or connector_id > self.n
                or type(duration_s) is not int or duration_s <= 0):
            return None
        start = self.clock.now() if now is None else now
        watts = unit == "W"
        volts = self._volts()
        k = volts * self._installed_phases() if watts else 1
        station = self._deci("ChargePointCurrentLimit", 32) * k
        if connector_id == 0:
            local = station
        else:
            local = min_opt(self._deci("MaxCurrentConnection", 16) * k, station)
        if cap_da is not None:
            local = min_opt(local, max(0, cap_da) * k)
        floor = min_da * k
        nom = self._deci("NominalAmperage", 16.0) * k
        on = self.enabled()
        anchor = start if tx_start is None else tx_start
        maxp = int(_cfg(self.config, "ChargingSchedulesMaxPeriods", 255))
        end = start + duration_s
        out = []  # type: list
        t = start
        while t < end:
            if not on:
                val, ph, nxt = (local if connector_id == 0 else nom), 0, None
            elif connector_id == 0:
                val, ph, _, nxt = self._eval(0, t, anchor, None, watts, volts)
            else:
                val, ph, nxt = self._target(connector_id, t, anchor, tx_start, watts, volts, nom)
            if val is None or local < val:
                val = local
                ph = 0
            if val < floor:
                val = 0       # the connector pauses: no PWM offer below the minimum
            if not out or out[-1][1] != val or out[-1][2] != ph:
                if len(out) >= maxp:
                    end = t
                    break
                out.append((t - start, val, ph))
            if nxt is None or nxt <= t:
                break
            t = nxt
        per = []
        for off, val, ph in out:
            e = {"startPeriod": off, "limit": val / 10}
            if ph:
                e["numberPhases"] = ph
            per.append(e)
        return {"status": "Accepted", "connectorId": connector_id,
                "scheduleStart": iso8601(start),
                "chargingSchedule": {"duration": end - start,
                                     "chargingRateUnit": "W" if watts else "A",
                                     "chargingSchedulePeriod": per}}

    # ---- persistence ---------------------------------------------------------------------
    def _sort(self) -> None:
        self.profiles.sort(key=lambda p: (p.stack, p.cid), reverse=True)

    def _save(self) -> bool:
        rows = [{"connectorId": p.cid, "installed": p.installed, "profile": p.to_dict()}
                for p in self.profiles]
        try:
            self.storage.write(FILE, json.dumps({"v": 1, "profiles": rows}).encode())
            return True
        except OSError as e:
            self.errors.append("%s: save failed (%r)" % (FILE, e))
            return False

    def _load(self) -> None:
        raw = self.storage.read(FILE)
        if raw is None:
            return
        try:
            data = json.loads(raw.decode())
            rows = data["profiles"]
            if type(rows) is not list:
                raise ValueError("profiles not a list")
        except (ValueError, KeyError, TypeError) as e:
            self.errors.append("%s: corrupt, no profiles loaded (%r)" % (FILE, e))
            return
        for row in rows:
            try:
                p = parse(row["connectorId"], row["profile"], self.n, row["installed"])
                if type(p.installed) is not int:
                    raise ProfileError(E_TYPE, "installed")
                why = check(p)
                if why:
                    raise ProfileError(E_PROPERTY, why)
            except (ProfileError, KeyError, TypeError) as e:
                self.errors.append("%s: entry dropped (%r)" % (FILE, e))
                continue
            # a later duplicate (same id, or purpose+stack+connector) wins
            self.profiles = [q for q in self.profiles if q.pid != p.pid and not (
                q.purpose == p.purpose and q.stack == p.stack and q.cid == p.cid)]
            self.profiles.append(p)
        self._sort()


