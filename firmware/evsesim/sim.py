# Simulator entry point (../shared/design/SIMULATOR.md is the contract):
#   MICROPYPATH=firmware micropython -m evsesim.sim [options]
#   PYTHONPATH=firmware  python      -m evsesim.sim [options]
# Runs the real firmware with the simulated HAL and a JSON-lines control channel.
import sys

# The Unix port keeps asyncio (and other bundled modules) in ".frozen", which
# MICROPYPATH=firmware drops from sys.path: put it back before importing them.
if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")

from evse.aio import asyncio

USAGE = """usage: evsesim.sim [--csms URL] [--id ID] [--model sscu|dscu] [--state-dir DIR]
                [--control HOST:PORT] [--set KEY=VALUE]... [--modbus PEER]
                [--clock real|virtual] [--rs485 listen:HOST:PORT|connect:HOST:PORT]
                [--web HOST:PORT] [--journal-bytes N] [--events FILE]
                [--link-seed N] [--link FIELD=VALUE,...]...
                [--log-level off|error|warn|info|debug] [--fsync on|off] [--help]"""

# every option, for --help (docs/simulator.md has the whole contract)
OPTIONS = (
    ("--csms URL", "Central System endpoint, ws:// or wss:// (the id is appended)"),
    ("--id ID", "charge point identity (NodeId)"),
    ("--model sscu|dscu", "one or two connectors (default dscu)"),
    ("--state-dir DIR", "persistent storage; the same DIR again is a power cycle (./sim-state)"),
    ("--control HOST:PORT", "control channel address (127.0.0.1:7001)"),
    ("--set KEY=VALUE", "configuration at boot, repeatable, validated like ChangeConfiguration"),
    ("--modbus PEER", "energy meters from a Modbus RTU peer: tcp:HOST:PORT"),
    ("--clock real|virtual", "virtual: time moves only through the advance op (default real)"),
    ("--rs485 SPEC", "RS485 bus over TCP: listen:HOST:PORT or connect:HOST:PORT"),
    ("--web HOST:PORT", "serve the local management website"),
    ("--journal-bytes N", "byte budget of the transaction journal, 0 for none (32768)"),
    ("--events FILE", "write the event log (JSON lines; tools/plot_session.py draws it)"),
    ("--link-seed N", "seed of the OCPP link faults (default 1)"),
    ("--link SPEC", "link faults from the start, as the link op: dir=out,drop=0.5,latency_ms=200"),
    ("--log-level LEVEL", "console lines on stdout: off, error, warn, info, debug (default: LogLevel, warn)"),
    ("--fsync on|off", "on: every durable write is also fsynced (survives a host crash; slower); default off"),
    ("--help", "this text: every option and every control op"),
)


class UsageError(Exception):
    pass


class HelpRequested(Exception):
    pass


def help_text() -> str:
    from evsesim import simctl
    lines = [USAGE, "", "options:"]
    for opt, what in OPTIONS:
        lines.append("  %-22s %s" % (opt, what))
    lines.append("")
    lines.append("control ops (TCP, one JSON object per line: {\"op\": NAME, ARG: VALUE, ...}):")
    lines.append(simctl.help_text())
    return "\n".join(lines)


def options(argv: list, opts: dict, help_exc=None):
    """(key, value) of each --name VALUE / --name=VALUE in argv whose key
    (name with "_" for "-") is in opts; --set KEY=VALUE goes into
    opts["set"] itself. -h/--help raises help_exc (UsageError("") without
    one). Shared by evsesim.sim and evsesim.fleet."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            raise help_exc() if help_exc is not None else UsageError("")
        if not a.startswith("--"):
            raise UsageError("unexpected argument " + a)
        name = a[2:]
        val = None
        if "=" in name:
            name, val = name.split("=", 1)
        key = name.replace("-", "_")
        if key not in opts:
            raise UsageError("unknown option --" + name)
        if val is None:
            i += 1
            if i >= len(argv):
                raise UsageError("--" + name + " needs a value")
            val = argv[i]
        i += 1
        if key == "set":
            if "=" not in val:
                raise UsageError("--set needs KEY=VALUE, got " + val)
            opts["set"].append(val.split("=", 1))
        else:
            yield key, val


def parse_args(argv: list) -> dict:
    opts = {}  # type: dict
    opts.update({"csms": None, "id": None, "model": "dscu", "state_dir": "./sim-state",
            "control": "127.0.0.1:7001", "set": [], "modbus": None, "clock": "real"})
    opts["rs485"] = None   # extension (docs/simulator.md): RS485 bus over TCP
    opts["web"] = None     # extension (docs/simulator.md): local management website
    opts["journal_bytes"] = None   # extension: the OCPP journal's byte budget
    opts["events"] = None          # extension: the event log (evsesim.simevents)
    opts["link_seed"] = None       # extension: the OCPP link faults (evsesim.simlink)
    opts["link"] = []
    opts["log_level"] = None       # the console's level, over the LogLevel key
    opts["fsync"] = "off"          # the state directory's writes fsynced (evse.hal.fsstore)
    for key, val in options(argv, opts, HelpRequested):
        if key == "link":
            opts["link"].append(link_spec(val))
        else:
            opts[key] = val
    if opts["model"] not in ("sscu", "dscu"):
        raise UsageError("--model must be sscu or dscu")
    if opts["clock"] not in ("real", "virtual"):
        raise UsageError("--clock must be real or virtual")
    if opts["modbus"] is not None:
        opts["modbus_spec"] = modbus_spec(opts["modbus"])
    if opts["rs485"] is not None:
        from evsesim.hal.sim_rs485 import parse_spec
        try:
            parse_spec(opts["rs485"])
        except ValueError as e:
            raise UsageError(str(e))
    if opts["web"] is not None:
        opts["web_addr"] = host_port(opts["web"], "--web")
    if opts["log_level"] is not None and opts["log_level"] not in ("off", "error", "warn", "info", "debug"):
        raise UsageError("--log-level must be off, error, warn, info or debug")
    if opts["fsync"] not in ("on", "off"):
        raise UsageError("--fsync must be on or off")
    jb = opts["journal_bytes"]
    if jb is not None and (not jb.isdigit() or 0 < int(jb) < 4096):
        raise UsageError("--journal-bytes must be 0 (no budget) or at least 4096")
    ls = opts["link_seed"]
    if ls is not None:
        if not ls.isdigit() or int(ls) > 0xFFFFFFFF:
            raise UsageError("--link-seed must be an integer 0..4294967295")
        opts["link_seed"] = int(ls)
    from evsesim.simctl import apply_link, BadRequest
    from evsesim.simlink import Link
    probe = Link(None, True)
    for spec in opts["link"]:
        try:
            apply_link(probe, spec)
        except BadRequest as e:
            raise UsageError("--link: " + str(e))
    ctl = opts["control"]
    if ":" not in ctl:
        raise UsageError("--control must be HOST:PORT")
    host, port = ctl.rsplit(":", 1)
    try:
        opts["control_addr"] = (host, int(port))
    except ValueError:
        raise UsageError("--control port must be a number")
    return opts


def link_spec(text: str) -> dict:
    """--link dir=out,drop=0.5 -> the link op's fields (values as JSON
    where they parse: numbers, true/false; else text)."""
    import json
    req = {}
    for part in text.split(","):
        name, sep, val = part.partition("=")
        if not sep or not name:
            raise UsageError("--link needs FIELD=VALUE,..., got " + text)
        try:
            req[name] = json.loads(val)
        except ValueError:
            req[name] = val
    if "disconnect" in req:
        raise UsageError("--link: disconnect is an op (there is no connection at start)")
    return req


def host_port(text: str, option: str) -> tuple:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(option + " must be HOST:PORT")
    return (host, int(port))


def modbus_spec(peer: str) -> str:
    """--modbus tcp:HOST:PORT -> the TCP transport's spec (RTU frames over
    TCP, as serial gateways carry them; evsesim.hal.sim_rs485.TcpBus)."""
    if peer.startswith("tcp:"):
        from evsesim.hal.sim_rs485 import parse_spec
        try:
            parse_spec("connect:" + peer[4:])
        except ValueError:
            raise UsageError("--modbus must be tcp:HOST:PORT (port 1..65535)")
        return "connect:" + peer[4:]
    if peer.startswith("/"):
        raise UsageError("--modbus %s: serial devices are not supported by the simulator; "
                         "bridge the device to TCP (e.g. socat) and use tcp:HOST:PORT" % peer)
    raise UsageError("--modbus must be tcp:HOST:PORT or a serial device path")


def csms_settings(url: str) -> list:
    """ws[s]://host[:port][/path] -> [(key, value), ...] for the configuration."""
    secure = False
    if url.startswith("wss://"):
        secure = True
        rest = url[6:]
    elif url.startswith("ws://"):
        rest = url[5:]
    else:
        raise UsageError("--csms must start with ws:// or wss://")
    if "/" in rest:
        hostport, path = rest.split("/", 1)
        path = "/" + path
    else:
        hostport, path = rest, "/"
    if hostport.startswith("["):
        host, _, tail = hostport[1:].partition("]")
        port_s = tail[1:] if tail.startswith(":") else ""
    elif ":" in hostport:
        host, port_s = hostport.rsplit(":", 1)
    else:
        host, port_s = hostport, ""
    if not host:
        raise UsageError("--csms has no host")
    port = int(port_s) if port_s else (443 if secure else 80)
    return [("BESURL", host), ("BESPortnumber", str(port)), ("BESPath", path),
            ("UseWebsocketSecure", "true" if secure else "false")]


def apply_settings(cfg, pairs: list) -> None:
    for key, value in pairs:
        r = cfg.change(key, value)
        if r not in ("Accepted", "RebootRequired"):
            raise UsageError("invalid --set %s=%s: %s" % (key, value, r))


def sensor_normal_level(cfg, n: int) -> int:
    """The input level of external sensor n at rest: 1 (High/Open) for a
    normally-open contact, 0 for a normally-closed one (manual 5.5)."""
    try:
        return 1 if cfg.get("ExternalSensor%dNormallyOpen" % n) else 0
    except KeyError:   # a model without the sensor inputs
        return 0


def wire_sensors(board, cfg) -> None:
    """The simulated sensors start at rest, as wired for their configuration
    (a normally-open tilt sensor reads High), not at a raw 0 that a
    normally-open sensor would read as triggered."""
    for n in (1, 2):
        board.io.set_input(n, sensor_normal_level(cfg, n))


# imported by the boot loader to prove an installed slot runs (evse.apploader)
BOOT_ENTRY = ("evse.station", "evsesim.simctl", "evsesim.hal.sim")


def new_station(board, opts: dict, meter_port):
    """A controller on the board: configuration and station from the
    firmware the boot loader activated; one that fails to start gives way to
    the previous firmware (evse.apploader.failed), as a board resets into it."""
    from evse import apploader
    while True:
        from evse.config.store import Config
        from evse.station import Station
        try:
            return Station(board, Config(board.storage, model=opts["model"]), opts["model"],
                           modbus=meter_port)
        except Exception as e:
            if not apploader.failed(e):
                raise
            print("evsesim.sim: firmware fails to start: %r" % (e,))
            # the simulated hardware (evse.hal) stays what it is
            apploader.boot(opts["state_dir"], BOOT_ENTRY, keep=("evse.hal",))


def main(argv: list) -> int:
    try:
        parse_args(argv)
    except HelpRequested:
        print(help_text())
        return 0
    except UsageError:
        pass        # reported below
    try:
        opts = parse_args(argv)
        # the installed firmware (A/B slots in the state directory) or the
        # built-in one, before anything of the application is imported
        from evse import apploader
        apploader.boot(opts["state_dir"], BOOT_ENTRY)
        from evsesim.hal.sim import SimBoard
        from evse.config.store import Config
        n = 1 if opts["model"] == "sscu" else 2
        board = SimBoard(n, opts["state_dir"], opts["clock"] == "virtual")
        if opts["rs485"]:
            from evsesim.hal.sim_rs485 import TcpBus
            board.rs485 = TcpBus(opts["rs485"])
        meter_port = None   # the Modbus meters' own transport (--modbus), else built-in meters
        if opts["modbus"] is not None:
            from evsesim.hal.sim_rs485 import TcpBus
            meter_port = TcpBus(opts["modbus_spec"])
        if opts["web"]:
            board.web_addr = opts["web_addr"]
        if opts["log_level"]:
            board.log_level = opts["log_level"]
        board.storage.sync = opts["fsync"] == "on"
        if opts["journal_bytes"] is not None:
            board.journal_bytes = int(opts["journal_bytes"])
        cfg = Config(board.storage, model=opts["model"])
        pairs = []
        if opts["csms"]:
            pairs.extend(csms_settings(opts["csms"]))
        if opts["id"]:
            pairs.append(("NodeId", opts["id"]))
        pairs.extend(opts["set"])
        apply_settings(cfg, pairs)   # the station boots with what was stored, as after a power cycle
    except UsageError as e:
        msg = str(e)
        if msg:
            print("evsesim.sim: " + msg, file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    from evsesim.simctl import ControlServer
    wire_sensors(board, cfg)
    station = new_station(board, opts, meter_port)

    def power_cycle():
        # Reset.req and firmware installs end in Station.reboot_request: a new
        # controller (configuration, station) on the same simulated world,
        # clock and state directory, as after a power cycle; the boot loader
        # first, so an installed firmware runs from here on
        apploader.boot(opts["state_dir"], BOOT_ENTRY, keep=("evse.hal",))
        return new_station(board, opts, meter_port)
    events = None
    if opts["events"]:
        from evsesim.simevents import EventLog
        from evsesim.hal.sim_eventfile import open_events
        try:
            events = EventLog(open_events(opts["events"]), board)
        except OSError as e:
            print("evsesim.sim: --events %s: %r" % (opts["events"], e), file=sys.stderr)
            return 2
    from evsesim.simlink import Link
    from evsesim.simctl import apply_link
    link = Link(board.clock, board.virtual,
                opts["link_seed"] if opts["link_seed"] is not None else 1)
    for spec in opts["link"]:
        apply_link(link, spec)
    server = ControlServer(station, board, opts["control_addr"], restart=power_cycle,
                           events=events, link=link)
    return asyncio.run(server.run())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
