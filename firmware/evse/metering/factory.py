# Builds the energy meters of the station's connectors from the
# configuration (MeterType, MeterPulseCount) and the meter port:
#
#   MeterType 3          S0 pulse meters on the board's S0 inputs
#                        (ConnectorIO.s0_pulses, or board.s0_input(i, ppk));
#                        the Modbus port, if any, is not used
#   port None            the board's built-in meters (board.builtin_meters:
#                        the simulator's evsesim.hal.sim_meter, which integrate
#                        the simulated EV's draw); on a real board (none)
#                        RefusedMeters
#   a port               Modbus RTU meters of the configured MeterType, the
#                        meter of connector N at address N, all on one
#                        RtuMaster over that port (HAL RS485 port interface:
#                        a board's UART, or the simulator's TCP transport)
#   MeterType 10, a port EKM Omnimeter Pulse UL v.4 meters in EKM's own
#                        protocol (evse.metering.ekm), connector N's meter
#                        number EkmMeterNumberN (default N), all on one
#                        EkmMaster over that port
#
# A MeterType the firmware cannot read (no public register map, not
# Modbus, no S0 input) gives RefusedMeters: never ok(), info() says why,
# so every connector reports PowerMeterFailure with the reason, and the
# reason goes to the error log.
# The register maps (evse.metering.regmap) and the Modbus classes are loaded
# only for a Modbus MeterType on a port (docs/memory.md, lazy services), the
# RefusedMeter (evse.metering.refused) only when a meter is refused.
PULSE_METER = 3     # regmap.PULSE_METER
EKM_METER = 10      # EKM Omnimeter v.4, EKM's own protocol (evse.metering.ekm)


try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("MeterType", "MeterPulseCount", "EkmMeterNumber1", "EkmMeterNumber2"))


def make_meters(board, cfg, clock, storage, error_log, port) -> list:
    n = len(board.connectors)
    mtype = cfg.get("MeterType")
    if mtype == PULSE_METER:
        if port is not None:
            error_log.add("meters: MeterType 3 (S0 pulse meter): the Modbus port is not used")
        return [_pulse_meter(board, cfg, clock, storage, error_log, i) for i in range(n)]
    if port is None:
        own = getattr(board, "builtin_meters", None)
        if own is None:
            # a real board without a bus: nothing to read
            why = "MeterType %d: no RS485 port on this board" % mtype
            error_log.add("meters: " + why)
            from evse.metering.refused import RefusedMeter
            return [RefusedMeter(why) for _ in range(n)]
        return own(clock, storage)       # the board's own (the simulator's)
    if mtype == EKM_METER:
        from evse.metering.ekm import EkmMaster, EkmMeter
        ekm = EkmMaster(port)
        max_w = _max_w(cfg)
        # connector N's meter: its meter number, EkmMeterNumberN (digits only)
        return [EkmMeter(ekm, int(cfg.get("EkmMeterNumber%d" % (i + 1))), clock,
                         max_w=lambda: max_w, storage=storage)
                for i in range(n)]
    from evse.metering import regmap
    why = regmap.refusal(mtype)
    if why:
        error_log.add("meters: " + why)
        from evse.metering.refused import RefusedMeter
        return [RefusedMeter(why) for _ in range(n)]
    from evse.metering.rtu import RtuMaster
    from evse.metering.modbus_meter import ModbusMeter
    master = RtuMaster(port)
    entry = regmap.spec(mtype)
    max_w = _max_w(cfg)

    def bound() -> int:
        return max_w
    return [ModbusMeter(master, i + 1, entry, clock, max_w=bound, storage=storage)
            for i in range(n)]


def _max_w(cfg) -> int:
    # the most the installation can deliver, bounding a register's jumps
    # (docs/metering.md): MaxCurrentConnection (80 A when 0) on the active
    # phases at the higher of OverVoltageLimit and 253 V
    amps = cfg.get("MaxCurrentConnection") or 80
    volts = max(cfg.get("OverVoltageLimit"), 253)
    phases = 3 if (cfg.get("L2Active") or cfg.get("L3Active")) else 1
    return amps * volts * phases


def _pulse_meter(board, cfg, clock, storage, error_log, i: int):
    ppk = cfg.get("MeterPulseCount")
    cio = board.connectors[i]
    src = None
    if hasattr(cio, "s0_pulses"):
        src = cio
    elif hasattr(board, "s0_input"):
        src = board.s0_input(i, ppk)
    if src is None:
        why = "MeterType 3: no S0 input on this board"
        error_log.add("meters: " + why)
        from evse.metering.refused import RefusedMeter
        return RefusedMeter(why)
    from evse.metering.pulse import PulseMeter
    return PulseMeter(src, clock, cfg, storage, i)


def master_of(meters):
    """The RtuMaster (or EkmMaster) of the station's meters, or None."""
    for m in meters:
        master = getattr(m, "master", None)
        if master is not None:
            return master
    return None
