# Simulator entry point (../shared/design/SIMULATOR.md is the contract):
#   MICROPYPATH=firmware micropython -m evse.sim [options]
#   PYTHONPATH=firmware  python      -m evse.sim [options]
# Runs the real firmware with the simulated HAL and a JSON-lines control channel.
import sys

# The Unix port keeps asyncio (and other bundled modules) in ".frozen", which
# MICROPYPATH=firmware drops from sys.path: put it back before importing them.
if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")

try:
    import asyncio
except ImportError:  # pragma: no cover
    import uasyncio as asyncio  # type: ignore

USAGE = """usage: evse.sim [--csms URL] [--id ID] [--model sscu|dscu] [--state-dir DIR]
                [--control HOST:PORT] [--set KEY=VALUE]... [--modbus PEER]
                [--clock real|virtual]"""


class UsageError(Exception):
    pass


def parse_args(argv: list) -> dict:
    opts = {}  # type: dict
    opts.update({"csms": None, "id": None, "model": "dscu", "state_dir": "./sim-state",
            "control": "127.0.0.1:7001", "set": [], "modbus": None, "clock": "real"})
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            raise UsageError("")
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
        if key == "set":
            if "=" not in val:
                raise UsageError("--set needs KEY=VALUE, got " + val)
            opts["set"].append(val.split("=", 1))
        else:
            opts[key] = val
        i += 1
    if opts["model"] not in ("sscu", "dscu"):
        raise UsageError("--model must be sscu or dscu")
    if opts["clock"] not in ("real", "virtual"):
        raise UsageError("--clock must be real or virtual")
    if opts["modbus"]:
        # RS485 Modbus metering is a later issue; refuse rather than pretend
        raise UsageError("--modbus: Modbus metering is not available yet (built-in meters only)")
    ctl = opts["control"]
    if ":" not in ctl:
        raise UsageError("--control must be HOST:PORT")
    host, port = ctl.rsplit(":", 1)
    try:
        opts["control_addr"] = (host, int(port))
    except ValueError:
        raise UsageError("--control port must be a number")
    return opts


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


def main(argv: list) -> int:
    try:
        opts = parse_args(argv)
        from evse.hal.sim import SimBoard
        from evse.config.store import Config
        n = 1 if opts["model"] == "sscu" else 2
        board = SimBoard(n, opts["state_dir"], opts["clock"] == "virtual")
        cfg = Config(board.storage, model=opts["model"])
        pairs = []
        if opts["csms"]:
            pairs.extend(csms_settings(opts["csms"]))
        if opts["id"]:
            pairs.append(("NodeId", opts["id"]))
        pairs.extend(opts["set"])
        apply_settings(cfg, pairs)
        if pairs:  # boot with what was stored, as after a power cycle
            cfg = Config(board.storage, model=opts["model"])
    except UsageError as e:
        msg = str(e)
        if msg:
            print("evse.sim: " + msg, file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    from evse.station import Station
    from evse.simctl import ControlServer
    station = Station(board, cfg, opts["model"], modbus=opts["modbus"])
    server = ControlServer(station, board, opts["control_addr"])
    return asyncio.run(server.run())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
