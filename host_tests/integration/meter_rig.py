"""The meter peers of the live meter tests (test_modbus_live.py,
test_meter_peers.py, test_ekm_live.py) and the station launch they share.

The simulator reads its meters over --modbus tcp:127.0.0.1:PORT (the bytes of
the RS485 bus over TCP, whatever the protocol: docs/simulator.md), so every
peer here is a TCP server on loopback standing in for a serial gateway with
meters behind it:

- ModbusPeer: a pymodbus RTU-over-TCP slave serving one MeterType's registers
  at units 1, 2..., built from the register map's own description (address,
  function code 3/4, data type, word order, scale: evse.metering.regmap) by
  the encoder below, independent of the firmware's decoder. Faults: `corrupt`
  (every reply's CRC is wrong), `exception` (an exception code for every
  request), `silent` (no reply: a timeout).
- EkmBridge: meters speaking EKM's v.4 protocol (host_tests/unit/ekm_rig.py)
  behind an asyncio TCP server. Faults: `silent`, and the EkmPeer's own
  `corrupt`, `short`, `garble`.

run_station() starts the Central System and the simulator (MicroPython Unix
port, virtual clock) with the meter transport pointed at a peer; until()
advances virtual time while real time passes (the transport reconnects and
the peers answer in real time)."""
import asyncio
import struct
import time

from ocpp_rig import rig_run
from simclient import free_port

from evse.metering import regmap
from evse.metering.regmap import (ABCD, CDAB, QUANTITY_NAMES, T_F32, T_I16, T_I32, T_U16,
                                  T_U32, T_U64)

# ---- the register encoder (the map's description -> register words) -------------------
_PACK = {T_U16: ">H", T_I16: ">h", T_U32: ">I", T_I32: ">i", T_U64: ">Q", T_F32: ">f"}


def raw_of(reg: tuple, value: float):
    """The raw register value a meter holds for a physical value (W, Wh, A,
    V, Hz): value / scale, an int for the integer types."""
    typ, scale = reg[2], reg[4]
    if typ == T_F32:
        return value / scale
    return int(round(value / scale))


def encode(reg: tuple, value: float) -> list:
    """The register words of one mapped quantity holding `value`: the raw
    value packed big-endian (bytes within a word: high first), the words in
    the map's order (ABCD: high word first, CDAB: low word first)."""
    b = struct.pack(_PACK[reg[2]], raw_of(reg, value))
    words = [(b[i] << 8) | b[i + 1] for i in range(0, len(b), 2)]
    if reg[3] == CDAB:
        words.reverse()
    else:
        assert reg[3] == ABCD, reg
    return words


def held(reg: tuple, value: float) -> float:
    """What the register really holds for `value`, in physical units (a
    float32 rounds to 24 bits of mantissa): the reading a perfect decoder
    gives."""
    raw = raw_of(reg, value)
    if reg[2] == T_F32:
        raw = struct.unpack(">f", struct.pack(">f", raw))[0]
    return raw * reg[4]


def step(reg: tuple, value: float) -> float:
    """One step of the register near `value`, in physical units."""
    if reg[2] != T_F32:
        return abs(reg[4])
    raw = abs(raw_of(reg, value)) or 1.0
    bits = struct.unpack(">I", struct.pack(">f", raw))[0]
    nxt = struct.unpack(">f", struct.pack(">I", bits + 1))[0]
    return (nxt - struct.unpack(">f", struct.pack(">I", bits))[0]) * reg[4]


class ModbusPeer:
    """An RTU-over-TCP gateway with one meter of `meter_type` at each unit.
    Only the mapped registers exist, in the table of the map's function code
    (input registers for 4, holding registers for 3): a read anywhere else,
    or with the other function code, is answered with exception 2."""

    def __init__(self, meter_type: int, port: int = 0, units=(1,)) -> None:
        self.entry = regmap.spec(meter_type)
        assert self.entry is not None, meter_type
        self.meter_type = meter_type
        self.fc = self.entry[2]
        self.regs = self.entry[4]
        self.port = port or free_port()
        self.units = units
        self.values = {u: {} for u in units}     # unit -> quantity name -> physical value
        self.requests = 0
        self.wrong_fc = 0          # requests with the other function code
        self.corrupt = False       # flip a bit of every reply's CRC
        self.silent = False        # answer nothing (the meter timed out)
        self.exception = 0         # answer every request with this exception code
        self.server = None

    def reg(self, name: str):
        q = QUANTITY_NAMES.index(name)
        for r in self.regs:
            if r[0] == q:
                return r
        return None

    def mapped(self) -> list:
        """The quantity names the map reads for this type."""
        return [QUANTITY_NAMES[r[0]] for r in self.regs]

    def set(self, unit: int, **values: float) -> None:
        """Physical values by quantity name (energy_wh, power_w,
        frequency_hz, current_l1.., voltage_l1..); unmapped ones are ignored."""
        self.values[unit].update(values)

    def _action(self, unit: int):
        async def action(function_code, start_address, address, count, registers, values):
            from pymodbus.constants import ExcCodes
            self.requests += 1
            if function_code != self.fc:
                self.wrong_fc += 1
            if self.exception:
                return ExcCodes(self.exception)
            for name, v in self.values[unit].items():
                r = self.reg(name)
                if r is not None:
                    w = encode(r, v)
                    registers[r[1] - start_address:r[1] - start_address + len(w)] = w
            return None
        return action

    def _simdata(self):
        from pymodbus.simulator import DataType, SimData
        mine = [SimData(r[1], count=len(encode(r, 0.0)), values=0, datatype=DataType.REGISTERS)
                for r in self.regs]
        # the other register table holds one register far from any map
        other = [SimData(0x7FF0, count=1, values=0, datatype=DataType.REGISTERS)]
        bits = [SimData(0, count=1, datatype=DataType.BITS)]
        if self.fc == 3:
            return (bits, list(bits), mine, other)
        return (bits, list(bits), other, mine)

    async def start(self) -> None:
        from pymodbus import FramerType
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import SimDevice
        devices = [SimDevice(id=u, action=self._action(u), simdata=self._simdata())
                   for u in self.units]
        self.server = ModbusTcpServer(devices, framer=FramerType.RTU,
                                      address=("127.0.0.1", self.port),
                                      trace_packet=self._trace)
        await self.server.serve_forever(background=True)

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending and self.silent:
            return b""
        if sending and self.corrupt and data:
            return data[:-1] + bytes([data[-1] ^ 0x01])
        return data

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None


# ---- EKM v.4 ----------------------------------------------------------------------------
class EkmBridge:
    """A TCP-serial bridge with EKM meters behind it (ekm_rig.EkmPeer:
    meters by meter number, its fault flags)."""

    def __init__(self, port: int = 0) -> None:
        from ekm_rig import EkmPeer
        self.port = port or free_port()
        self.peer = EkmPeer()
        self.silent = False      # nobody answers (the meters are switched off)
        self.server = None

    async def _serve(self, reader, writer) -> None:
        buf = b""
        try:
            while True:
                data = await reader.read(256)
                if not data:
                    return
                buf += data
                while True:
                    if buf.startswith(b"\x01\x42\x30\x03\x75"):
                        self.peer.answer(buf[:5])
                        buf = buf[5:]
                        continue
                    end = buf.find(b"\r\n")
                    if end < 0:
                        break
                    frame, buf = buf[:end + 2], buf[end + 2:]
                    reply = b"" if self.silent else self.peer.answer(frame)
                    if reply:
                        writer.write(reply)
                        await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


# ---- the station ----------------------------------------------------------------------------
def run_station(tmp_path, body, peer, meter_type: int, model: str = "dscu", settings=None,
                timeout: float = 60):
    """Run `await body(rig)` with the simulator reading `meter_type` meters
    from `peer` (its .port), tagless charging, no RFID readers; asserts the
    Central System saw no OCPP-J violation."""
    s = {"MeterType": str(meter_type), "TaglessCharging": "true", "RFIDReader1Enabled": "false"}
    if model == "dscu":
        s["RFIDReader2Enabled"] = "false"
    s.update(settings or {})
    rig = rig_run(tmp_path, body, timeout=timeout, model=model,
                  sim_args=["--modbus", "tcp:127.0.0.1:%d" % peer.port], settings=s)
    assert rig.cs.violations == []
    return rig


async def until(rig, pred, what, seconds: float = 10.0, connector: int = 1, pause: float = 0.1):
    """Advance virtual time in 1 s steps until pred(status of `connector`)
    (real time passes too: the transport reconnects in real time)."""
    t_end = time.monotonic() + seconds
    while True:
        await rig.advance(1)
        c = await rig.connector(connector)
        if pred(c):
            return c
        assert time.monotonic() < t_end, (what, c)
        await asyncio.sleep(pause)


async def reported(rig, error_code: str, info=None, connector: int = 1, n: int = 1,
                   advance: int = 5) -> dict:
    """The n-th StatusNotification of `connector` with `error_code` (and an
    info starting with `info`), advancing virtual time up to `advance` s while
    it may be queued behind another message."""
    def match(p):
        return (p["connectorId"] == connector and p["errorCode"] == error_code and
                (info is None or p.get("info", "").startswith(info)))
    for _ in range(advance):
        got = [p for p in rig.payloads("StatusNotification") if match(p)]
        if len(got) >= n:
            return got[n - 1]
        await rig.advance(1)
    got = await rig.wait_call("StatusNotification", n, pred=match)
    return got[n - 1]
