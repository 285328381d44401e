# Hardware abstraction layer: the only place that touches `machine`, `time`,
# `socket`, `ssl` or the file system. Everything above receives these objects
# (duck-typed) from the entry point (evsesim.sim on a PC, boards/*/main.py on a
# board); nothing is created at import time.
#
# Implementations:
#   evse.hal.fsstore   Storage on any runtime with `os` (flash FS or a directory)
#   evsesim.hal.sim_io    simulated EV / cable / lock / contactor / CCID / inputs
#   evsesim.hal.sim       Board for the simulator and tests (clock, net, storage, io)
#   evsesim.hal.sim_rs485 the simulator's RS485 bus over TCP (two simulators share it)
#   evsesim.hal.sim_s0    the simulator's S0 pulse meter output (MeterType 3)
#   evse.hal.machine_hal `machine`-based Board for a dev board (boards/<name>/pins.py)
#   evse.hal.netif     the board's network interfaces over `network` (WLAN, LAN)
#
# Interfaces (method names are the contract; all values are small ints so that
# the safety core's tick allocates nothing):
#
# Board identity (OPTIONAL, detected with getattr; "" when unknown):
#   serial_number() -> str       the controller's serial (machine.unique_id() hex
#                                on a board): read-only key SerialNumber and
#                                BootNotification chargePoint/chargeBoxSerialNumber
#   mac_address() -> str         "AA:BB:..." of the network interface: key MACAddress
#   meter_type_name() -> str     BootNotification meterType when the meters name
#                                none: "simulated" on the simulated board, ""
#                                on a board
#
# Built-in meters (OPTIONAL, detected with getattr): builtin_meters(clock,
# storage) -> one meter per connector when there is no meter bus (the
# simulated board's evsesim.hal.sim_meter); a board has none (RefusedMeters).
#
# Clock (evsesim.hal.simclock.VirtualClock or a real clock, evse.clock.RunningClock):
#   ticks_ms() -> int            wrapping ms (see evse.ticks)
#   now() -> int                 UTC seconds since 1970
#   set_utc(epoch_s)             adjust wall clock
#   async wait_ms(ms, ev, task) -> bool  wait ms of this clock's time or until
#                                the asyncio event ev (None: none) is set; a
#                                running clock waits in real time, the virtual
#                                one until it has been moved on (or task.running
#                                is False); True when ev was set
#   real_ms(ms) -> int           real ms to wait for a deadline ms away (the
#                                virtual clock: look again after 1 s)
# The firmware never asks which clock or board it has (no `virtual`;
# host_tests/unit/test_layering.py): the simulator (evsesim.simdrive) drives a
# virtual-clock station from outside.
#
# ConnectorIO (one per connector; board.connectors[i], i = 0..n-1):
#   cp_set_duty(permille)        control pilot PWM: 1000 = steady +12 V (no PWM),
#                                0 = steady -12 V (state F / refused), else duty
#                                in 0.1 % steps (1 kHz)
#   cp_high_mv() -> int          pilot high level, mV: takes one reading (board:
#                                peak over one PWM period, machine_hal)
#   cp_low_mv() -> int           pilot low level, mV, of that reading (about
#                                -12000 while PWM runs with a diode)
#   pp_ohms() -> int             proximity resistor, ohms; -1 = open (no plug)
#   lock_drive(direction)        servo motor: 1 lock, -1 unlock, 0 off
#   lock_sense() -> int          raw feedback level(s): bit0 = lock switch,
#                                bit1 = plug-present switch (3-stage actuators)
#   relay_set(on)                contactor coil
#   relay_sense() -> int         raw helper-contact level (0/1)
#   led_set(rgb, intensity)      rgb 0xRRGGBB (0 = off), intensity 1..5
#   socket_temp_dc() -> int      OPTIONAL: socket temperature sensor, 0.1 degC
#                                (ERR_TEMPERATURE_SOCKET); detected with hasattr
#   s0_pulses() -> int           OPTIONAL: S0 pulses of this connector's pulse
#                                meter (MeterType 3) counted since boot by an
#                                edge interrupt (the handler only increments),
#                                wrapping at 2**30; detected with hasattr
#
# S0 inputs may instead come from board.s0_input(i, pulses_per_kwh) -> an
# object with s0_pulses() (or None): the simulator's (evsesim.hal.sim_s0).
#
# StationIO (board.io):
#   ccid_test_set(on)            CCID Test line
#   ccid_fault() -> int          CCID Fault line (1 = fault)
#   ext_input(n) -> int          raw level of external input n (1 or 2)
#   supply_mv(n) -> int          0 = VCC main (12 V), 1 = 3V3IO, 2 = VBUFF (12 V)
#   temperature_dc() -> int      station temperature, 0.1 degC
#   buzzer_set(on)
#
# Storage (evse.hal.fsstore.Storage):
#   read(name) -> bytes | None, write(name, data) (atomic: temp + rename),
#   append(name, data), remove(name), names() -> list
#
# RS485 port (board.rs485, None when the board has none): the external RS485
# bus (manual RFIDMasterSlaveEnabled; Modbus meters may share it). Half duplex;
# the port drives the transceiver's DE/RE itself. Never blocks:
#   write(buf) -> int            queue/send buf (bytes, bytearray, memoryview)
#   readinto(buf) -> int         move up to len(buf) received bytes into buf;
#                                0 (or None on machine.UART) when none
#   any() -> int                 bytes waiting to be read
# Implementations: evsesim.hal.sim_rs485.TcpBus (simulator, TCP loopback, with
# async start()/stop()/wait_data()/connected()), machine_hal.BoardRS485.
# The Modbus RTU energy meters (evse.metering) take a port of this
# interface from the entry point (Station(..., modbus=port)): on a board the
# RS485 UART, in the simulator a TcpBus "connect:HOST:PORT" of its own to an
# RTU-over-TCP peer (--modbus tcp:HOST:PORT).
#
# Network interfaces (board.netifs, OPTIONAL): {connection type: interface},
# type 0 = "mobile" (on the boards: the ESP32's WLAN station), 1 = ethernet
# (a wired network.LAN), as PrimaryConnection / SecondaryConnection name them;
# brought up by evse.services.network. Each interface (evse.hal.netif):
#   kind "wlan" | "lan" | "sim", start(settings), stop(), is_up() -> bool,
#   addr() -> str, rssi() -> int | None (dBm, WLAN only); never blocks.
# Boards: evse.hal.netif.attach(board, pins) in main.py; the simulator: one
# always-up "sim" interface for both types (evsesim.hal.sim.SimNetIf).
#
# Net (board.net):
#   async open_connection(host, port, tls: bool, cadata) -> (reader, writer)
#   with asyncio stream semantics (read/readexactly/write/drain/close)
