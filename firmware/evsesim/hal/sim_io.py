# Simulated connector and station I/O: implements the ConnectorIO and
# StationIO interfaces of evse.hal (see __init__.py) with small physical
# models, for the simulator and the tests. Time comes from the clock passed
# in (anything with ticks_ms(), e.g. evsesim.hal.simclock.VirtualClock); the models
# compute their state lazily when read, so no step() call is needed.
# The HAL methods allocate nothing (the safety core's tick calls them).
#
# Per connector (SimConnectorIO):
#   EV (SimEV): state "A".."F", max current, phases, diode, overdraw (a
#     faulty EV: while it draws at all it draws this much more than the
#     duty offers and its max current allow; 0 = a well-behaved EV). The pilot the
#     controller reads: high level A 12 V, B 9 V, C 6 V, D 3 V, E 0 V,
#     F -12 V; low level -12 V while PWM runs and a diode is present; without
#     the diode the EV's resistor pulls the low level to minus its high level.
#     No PWM (duty 1000): low == high. Duty 0: steady -12 V.
#   cable: plug(cable_amps) / unplug() at the socket -> PP resistor
#     (13 A 1500 ohm, 20 A 680, 32 A 220, 63 A 100; -1 = open). A tethered
#     connector has its cable always connected (PP unused, plug() refused).
#     The EV's pilot is seen only while the cable is connected.
#   lock actuator: a pin moving over lock_travel_ms while the motor runs;
#     the lock switch reads locked while the pin is past half travel (then it
#     also holds the plug: unplug() is refused unless force=True); 2- or
#     3-stage (bit1 = plug-present switch), inversed levels.
#   contactor: contacts follow the coil after relay_ms; helper contact NO or
#     NC on relay_sense(); ev_current_da() = what the EV draws.
#   LED: led_rgb / led_intensity record the last led_set().
# Station (SimStationIO): CCID device (Fault rises ccid_response_ms after
#   Test goes on, falls when Test goes off; a trip holds it high), external
#   inputs, supply rails, temperature, buzzer.
#
# Faults by name, set_fault(name, active) -> True if handled by this object,
# False if it belongs to another object (station vs connector, or to the
# meter / reader / MCU simulation); ValueError for an unknown name.
#   connector: lock_stuck (motor cannot move the pin), lock_no_feedback
#     (lock switch reads unlocked), lock_forced_open / lock_forced_closed
#     (pin forced to a position), plug_not_seated (3-stage plug switch reads
#     no plug), contactor_welded, contactor_no_close, diode_missing,
#     pilot_short (CP shorted to PE: 0 V), pilot_invalid (CP high level at
#     7.5 V, between the bands: a bad resistor or contact)
#   station: ccid_trip, ccid_selftest_fail
#   elsewhere: meter_offline, meter_crc, reader_offline, heartbeat
# `version` counts changes made through the simulation API (plug, EV state,
# fault, inputs...): a simulator that jumps virtual time ticks the safety core
# again whenever it changed.
from evse.ticks import ticks_diff

CONNECTOR_FAULTS = ("lock_stuck", "lock_no_feedback", "lock_forced_open", "lock_forced_closed",
                    "plug_not_seated", "contactor_welded", "contactor_no_close",
                    "diode_missing", "pilot_short", "pilot_invalid")
STATION_FAULTS = ("ccid_trip", "ccid_selftest_fail")
OTHER_FAULTS = ("meter_offline", "meter_crc", "meter_spike", "meter_backwards", "meter_freeze",
                "reader_offline", "heartbeat")
ALL_FAULTS = CONNECTOR_FAULTS + STATION_FAULTS + OTHER_FAULTS

PP_OHMS = {13: 1500, 20: 680, 32: 220, 63: 100}
_LEVEL = {"A": 12000, "B": 9000, "C": 6000, "D": 3000, "E": 0, "F": -12000}
EV_STATES = "ABCDEF"


def _check_fault(name, own):
    if name in own:
        return True
    if name in ALL_FAULTS:
        return False
    raise ValueError("unknown fault: %s" % name)


def duty_to_da(permille: int) -> int:
    """What the simulated EV reads from the duty (IEC 61851-1 Annex A)."""
    if permille < 80 or permille > 970:
        return 0
    if permille < 100:
        return 60
    if permille <= 850:
        return permille * 6 // 10
    return (permille - 640) * 25 // 10


class SimEV:
    def __init__(self) -> None:
        self.state = "A"
        self.max_da = 320
        self.phases = 3
        self.diode = True
        self.overdraw_da = 0


class SimConnectorIO:
    def __init__(self, clock, tethered=False, three_stage=False, inversed=False,
                 helper_no=True, lock_travel_ms=400, relay_ms=20) -> None:
        self._clock = clock
        self.tethered = bool(tethered)
        self.three_stage = bool(three_stage)
        self.inversed = bool(inversed)
        self.helper_no = bool(helper_no)
        self.lock_travel_ms = lock_travel_ms
        self.relay_ms = relay_ms
        self.ev = SimEV()
        self.cable_amps = 0          # 0 = no cable in the socket
        self.faults: set = set()
        self.version = 0
        # pilot
        self.duty = 1000
        self._high = 12000
        self._low = 12000
        # lock
        self.lock_pos = 0            # 0 .. lock_travel_ms
        self.motor = 0
        self._t_motor = clock.ticks_ms()
        self.lock_drive_calls = 0
        # contactor
        self.coil = 0
        self._t_coil = self._t_motor
        self._contacts_before = False
        self.relay_switches = 0
        # misc
        self.led_rgb = 0
        self.led_intensity = 0
        self.socket_temp = 250
        self._f_short = self._f_diode = self._f_stuck = self._f_nofb = False
        self._f_open = self._f_closed = self._f_seat = self._f_weld = self._f_noclose = False
        self._f_inval = False
        self._update_pilot()

    # ------------------------------------------------------ simulation API
    def plug(self, cable_amps=32) -> None:
        if self.tethered:
            raise ValueError("tethered cable")
        if cable_amps not in PP_OHMS:
            raise ValueError("cable_amps: 13, 20, 32 or 63")
        self.cable_amps = cable_amps
        self._changed()

    def unplug(self, force=False) -> bool:
        """Pull the cable out of the socket; refused (False) while the lock
        pin holds it, unless force (broken lock / notch)."""
        if self.tethered:
            raise ValueError("tethered cable")
        if self.cable_amps and self._pin_in() and not force:
            return False
        self.cable_amps = 0
        self._changed()
        return True

    def set_ev(self, state=None, max_current_a=None, phases=None, diode=None,
               overdraw_a=None) -> None:
        if state is not None:
            if state not in _LEVEL:
                raise ValueError("EV state A..F")
            self.ev.state = state
        if max_current_a is not None:
            self.ev.max_da = int(max_current_a * 10)
        if phases is not None:
            if phases not in (1, 2, 3):
                raise ValueError("phases 1..3")
            self.ev.phases = phases
        if diode is not None:
            self.ev.diode = bool(diode)
        if overdraw_a is not None:
            self.ev.overdraw_da = int(overdraw_a * 10)
        self._changed()

    def set_fault(self, name, active=True) -> bool:
        if not _check_fault(name, CONNECTOR_FAULTS):
            return False
        self._lock_update()
        self._contacts()  # settle the contact state before changing the model
        if active:
            self.faults.add(name)
        else:
            self.faults.discard(name)
        f = self.faults
        self._f_short = "pilot_short" in f
        self._f_diode = "diode_missing" in f
        self._f_stuck = "lock_stuck" in f
        self._f_nofb = "lock_no_feedback" in f
        self._f_open = "lock_forced_open" in f
        self._f_closed = "lock_forced_closed" in f
        self._f_seat = "plug_not_seated" in f
        self._f_weld = "contactor_welded" in f
        self._f_noclose = "contactor_no_close" in f
        self._f_inval = "pilot_invalid" in f
        if self._f_open:
            self.lock_pos = 0
        if self._f_closed:
            self.lock_pos = self.lock_travel_ms
        self._changed()
        return True

    def set_socket_temp_dc(self, v: int) -> None:
        self.socket_temp = v
        self._changed()

    def cable_connected(self) -> bool:
        return self.tethered or self.cable_amps != 0

    def ev_state_seen(self) -> str:
        return self.ev.state if self.cable_connected() else "A"

    def contacts_closed(self) -> bool:
        return self._contacts()

    def ev_current_da(self) -> int:
        """Current the EV draws per phase (deci-amps)."""
        if not self._contacts() or self._f_short:
            return 0
        st = self.ev_state_seen()
        if st != "C" and st != "D":
            return 0
        da = duty_to_da(self.duty)
        if da > self.ev.max_da:
            da = self.ev.max_da
        return da + self.ev.overdraw_da if da > 0 else 0

    def locked_mechanically(self) -> bool:
        return self._pin_in()

    # ------------------------------------------------------ internals
    def _changed(self) -> None:
        self.version += 1
        self._update_pilot()

    def _update_pilot(self) -> None:
        # precompute both levels: the HAL reads then allocate nothing
        if self._f_short:
            self._high = self._low = 0
            return
        st = self.ev.state if (self.tethered or self.cable_amps) else "A"
        duty = self.duty
        if duty <= 0:
            self._high = self._low = -12000
            return
        h = 7500 if self._f_inval else _LEVEL[st]
        self._high = h
        if duty >= 1000:
            self._low = h
        elif st in "BCD" and not (self.ev.diode and not self._f_diode):
            self._low = -h
        elif st == "E":
            self._low = 0
        else:
            self._low = -12000

    def _pin_in(self) -> bool:
        self._lock_update()
        return self.lock_pos * 2 >= self.lock_travel_ms

    def _lock_update(self) -> None:
        now = self._clock.ticks_ms()
        if self._f_open:
            self.lock_pos = 0
        elif self._f_closed:
            self.lock_pos = self.lock_travel_ms
        elif self.motor and not self._f_stuck:
            p = self.lock_pos + self.motor * ticks_diff(now, self._t_motor)
            if p < 0:
                p = 0
            elif p > self.lock_travel_ms:
                p = self.lock_travel_ms
            self.lock_pos = p
        self._t_motor = now

    def _contacts(self) -> bool:
        if self._f_weld:
            return True
        if self._f_noclose:
            return False
        if ticks_diff(self._clock.ticks_ms(), self._t_coil) >= self.relay_ms:
            return self.coil == 1
        return self._contacts_before

    def settle_ms(self, now: int) -> int:
        """ms until the contacts follow a coil change still in motion, else -1:
        the simulated meter steps then, so the EV's draw is seen at once."""
        left = self.relay_ms - ticks_diff(now, self._t_coil)
        return left if left >= 0 else -1

    # ------------------------------------------------------ ConnectorIO (HAL)
    def cp_set_duty(self, permille: int) -> None:
        self.duty = permille
        self._update_pilot()

    def cp_high_mv(self) -> int:
        return self._high

    def cp_low_mv(self) -> int:
        return self._low

    def pp_ohms(self) -> int:
        if self.tethered or not self.cable_amps:
            return -1
        return PP_OHMS[self.cable_amps]

    def lock_drive(self, direction: int) -> None:
        self._lock_update()
        self.motor = direction
        self.lock_drive_calls += 1

    def lock_sense(self) -> int:
        v = 0 if self._f_nofb else (1 if self._pin_in() else 0)
        if self.three_stage:
            if self.cable_amps and not self._f_seat:
                v |= 2
            return v ^ 3 if self.inversed else v
        return v ^ 1 if self.inversed else v

    def relay_set(self, on: int) -> None:
        on = 1 if on else 0
        if on == self.coil:
            return
        self._contacts_before = self._contacts()
        self.coil = on
        self._t_coil = self._clock.ticks_ms()
        self.relay_switches += 1

    def relay_sense(self) -> int:
        c = self._contacts()
        if self.helper_no:
            return 1 if c else 0
        return 0 if c else 1

    def led_set(self, rgb: int, intensity: int) -> None:
        self.led_rgb = rgb
        self.led_intensity = intensity

    def socket_temp_dc(self) -> int:
        return self.socket_temp


class SimStationIO:
    def __init__(self, clock, ccid_response_ms=50) -> None:
        self._clock = clock
        self.ccid_response_ms = ccid_response_ms
        self.ccid_test = 0
        self._t_test = clock.ticks_ms()
        self.ccid_tests = 0
        self.inputs = bytearray(3)    # [1], [2]
        self.supply = [12000, 3300, 12000]
        self.temperature = 250
        self.buzzer = 0
        self.buzzer_count = 0
        self.faults: set = set()
        self.version = 0
        self._trip = False
        self._nofault = False

    # simulation API
    def set_fault(self, name, active=True) -> bool:
        if not _check_fault(name, STATION_FAULTS):
            return False
        if active:
            self.faults.add(name)
        else:
            self.faults.discard(name)
        self._trip = "ccid_trip" in self.faults
        self._nofault = "ccid_selftest_fail" in self.faults
        self.version += 1
        return True

    def set_input(self, n: int, level: int) -> None:
        if n not in (1, 2):
            raise ValueError("input 1 or 2")
        self.inputs[n] = 1 if level else 0
        self.version += 1

    def set_supply_mv(self, n: int, mv: int) -> None:
        if n not in (0, 1, 2):
            raise ValueError("rail 0..2")
        self.supply[n] = mv
        self.version += 1

    def set_temperature_dc(self, v: int) -> None:
        self.temperature = v
        self.version += 1

    # StationIO (HAL)
    def ccid_test_set(self, on: int) -> None:
        on = 1 if on else 0
        if on != self.ccid_test:
            self.ccid_test = on
            self._t_test = self._clock.ticks_ms()
            if on:
                self.ccid_tests += 1

    def ccid_fault(self) -> int:
        if self._trip:
            return 1
        if (self.ccid_test and not self._nofault
                and ticks_diff(self._clock.ticks_ms(), self._t_test) >= self.ccid_response_ms):
            return 1
        return 0

    def ext_input(self, n: int) -> int:
        return self.inputs[n]

    def supply_mv(self, n: int) -> int:
        return self.supply[n]

    def temperature_dc(self) -> int:
        return self.temperature

    def buzzer_set(self, on: int) -> None:
        on = 1 if on else 0
        if on != self.buzzer:
            self.buzzer = on
            if on:
                self.buzzer_count += 1


class SimBoardIO:
    """A station IO and n connector IOs sharing one clock."""

    def __init__(self, clock, n_connectors=2, **conn_kw) -> None:
        self.io = SimStationIO(clock)
        self.connectors = [SimConnectorIO(clock, **conn_kw) for _ in range(n_connectors)]

    def set_fault(self, name, active=True, connector=1) -> bool:
        """Route a fault to the station or to connector `connector` (1-based);
        False for faults simulated elsewhere (meter, reader, heartbeat)."""
        if name in STATION_FAULTS:
            return self.io.set_fault(name, active)
        if not (1 <= connector <= len(self.connectors)):
            raise ValueError("connector")
        return self.connectors[connector - 1].set_fault(name, active)

    @property
    def version(self) -> int:
        v = self.io.version
        for c in self.connectors:
            v += c.version
        return v
