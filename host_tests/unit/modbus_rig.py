# Fakes for the Modbus meter tests (test_modbus*.py), both runtimes: a
# Modbus RTU slave holding register images per unit (strict: reading an
# address it does not hold is exception 2, as on meters with gaps), a port
# with the HAL RS485 interface in front of it, and a clock. The slave's
# CRC and value encoders are written independently of the firmware's.
import struct


def ref_crc(data) -> int:
    """CRC-16/MODBUS, bit by bit (the reference the firmware's table must match)."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body) -> bytes:
    c = ref_crc(body)
    return bytes(body) + bytes([c & 0xFF, c >> 8])


class Clock:
    def __init__(self, t: int = 1000) -> None:
        self.t = t

    def ticks_ms(self) -> int:
        return self.t & 0x3FFFFFFF

    def now(self) -> int:
        return 1767225600 + self.t // 1000

    def advance_ms(self, ms: int) -> None:
        self.t += ms


class Slave:
    def __init__(self) -> None:
        self.regs = {}           # (unit, fc) -> {address: word}
        self.requests = []       # (unit, fc, start, count)
        self.offline = set()     # units that do not answer
        self.corrupt = False     # answer with a wrong CRC
        self.garbage = b""       # bytes sent before each reply
        self.exception = None    # force this exception code
        self.max_regs = 125      # a bigger request gets exception 3

    # ---- register image ------------------------------------------------------------------
    def put_words(self, unit: int, fc: int, addr: int, words) -> None:
        img = self.regs.setdefault((unit, fc), {})
        for i, w in enumerate(words):
            img[addr + i] = w & 0xFFFF

    def put(self, unit: int, fc: int, addr: int, kind: str, value, order: str = "ABCD") -> None:
        """kind: u16 i16 u32 i32 f32 u64; order ABCD (high word first) or CDAB."""
        if kind in ("u16", "i16"):
            self.put_words(unit, fc, addr, [int(value)])
            return
        fmt = {"u32": ">I", "i32": ">i", "f32": ">f", "u64": ">Q"}[kind]
        raw = struct.pack(fmt, value)
        words = [(raw[i] << 8) | raw[i + 1] for i in range(0, len(raw), 2)]
        if order == "CDAB":
            words.reverse()
        self.put_words(unit, fc, addr, words)

    # ---- the bus -----------------------------------------------------------------------------
    def answer(self, frame: bytes) -> bytes:
        if len(frame) != 8 or ref_crc(frame[:6]) != frame[6] | (frame[7] << 8):
            return b""
        unit, fc = frame[0], frame[1]
        start = (frame[2] << 8) | frame[3]
        count = (frame[4] << 8) | frame[5]
        self.requests.append((unit, fc, start, count))
        if unit in self.offline:
            return b""
        img = self.regs.get((unit, fc))
        code = self.exception
        if code is None:
            if img is None:
                code = 1 if not any(k[0] == unit for k in self.regs) else 2
            elif count > self.max_regs:
                code = 3
            elif any((start + i) not in img for i in range(count)):
                code = 2
        if code is not None:
            out = with_crc(bytes([unit, fc | 0x80, code]))
        else:
            body = bytearray([unit, fc, 2 * count])
            for i in range(count):
                w = img[start + i]
                body.append(w >> 8)
                body.append(w & 0xFF)
            out = with_crc(body)
        if self.corrupt:
            out = out[:-1] + bytes([out[-1] ^ 0x55])
        return self.garbage + out


class Port:
    """HAL RS485 port in front of a Slave. auto=False: replies wait in
    `later` until arrive(n) lets n bytes (all: None) reach the reader."""

    def __init__(self, slave, auto: bool = True) -> None:
        self.slave = slave
        self.auto = auto
        self.rx = bytearray()
        self.later = bytearray()
        self.written = []
        self.up = True           # for connected()

    def write(self, buf) -> int:
        data = bytes(buf)
        self.written.append(data)
        if self.up:
            reply = self.slave.answer(data)
            if self.auto:
                self.rx.extend(reply)
            else:
                self.later.extend(reply)
        return len(data)

    def arrive(self, n=None) -> None:
        if n is None:
            n = len(self.later)
        self.rx.extend(self.later[:n])
        self.later = self.later[n:]

    def inject(self, data) -> None:
        self.rx.extend(data)

    def readinto(self, buf) -> int:
        n = min(len(buf), len(self.rx))
        buf[0:n] = self.rx[0:n]
        self.rx = self.rx[n:]
        return n

    def any(self) -> int:
        return len(self.rx)


class LinkedPort(Port):
    """A port that knows whether a peer listens (the simulator's TCP transport)."""

    def connected(self) -> bool:
        return self.up


class Owner:
    def __init__(self) -> None:
        self.results = []
        self.data = []

    def on_reply(self, result: int, master) -> None:
        self.results.append(result)
        self.data.append(bytes(master.rx[3:3 + 2 * master.count]))


class Config:
    """config.get() of the keys the meters read."""

    def __init__(self, **kw) -> None:
        self.values = {"MeterType": 1, "MeterPulseCount": 100, "MainsVoltage": 230,
                       "L2Active": True, "L3Active": True,
                       "MaxCurrentConnection": 16, "OverVoltageLimit": 253}
        self.values.update(kw)

    def get(self, key):
        return self.values[key]


def run(meters, clock, ms: int, step: int = 10) -> None:
    """Step the meters like the station does, for ms of fake time."""
    end = clock.t + ms
    while True:
        for m in meters:
            m.update(clock.ticks_ms())
        if clock.t >= end:
            break
        clock.advance_ms(step)
