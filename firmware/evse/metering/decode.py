# Raw Modbus register words -> engineering values, and the plan of read
# requests for a register map (evse.metering.regmap gives the codes).
#
# Word order: ABCD = high word first, CDAB = low word first; bytes within a
# word are always big-endian (Modbus). Integers are assembled by hand (no
# allocation beyond the result); float32 goes through a 4-byte scratch
# buffer and struct. "Not available" sentinels (all ones for unsigned
# types, the largest positive value for signed ones; NaN and infinities for
# floats) decode to None: the meter says it has no value.
import struct

from evse.metering.regmap import T_U16, T_I16, T_U32, T_I32, T_F32, T_U64, CDAB

_scratch = bytearray(4)


def words(t: int) -> int:
    """Registers a value of type t occupies."""
    if t == T_U16 or t == T_I16:
        return 1
    if t == T_U64:
        return 4
    return 2


def _w(buf, off: int, i: int) -> int:
    return (buf[off + 2 * i] << 8) | buf[off + 2 * i + 1]


def raw_value(buf, off: int, t: int, order: int):
    """The value of type t whose first register's bytes start at buf[off];
    None for a 'not available' sentinel."""
    if t == T_U16:
        v = _w(buf, off, 0)
        return None if v == 0xFFFF else v
    if t == T_I16:
        v = _w(buf, off, 0)
        if v == 0x7FFF:
            return None
        return v - 0x10000 if v & 0x8000 else v
    if t == T_U64:
        v = 0
        for i in range(4):
            v = (v << 16) | _w(buf, off, 3 - i if order == CDAB else i)
        return None if v == 0xFFFFFFFFFFFFFFFF else v
    if order == CDAB:
        hi = 1
        lo = 0
    else:
        hi = 0
        lo = 1
    if t == T_F32:
        s = _scratch
        s[0] = buf[off + 2 * hi]
        s[1] = buf[off + 2 * hi + 1]
        s[2] = buf[off + 2 * lo]
        s[3] = buf[off + 2 * lo + 1]
        f = struct.unpack_from(">f", s, 0)[0]
        if f - f != 0:        # NaN or an infinity
            return None
        return f
    v = (_w(buf, off, hi) << 16) | _w(buf, off, lo)
    if t == T_U32:
        return None if v == 0xFFFFFFFF else v
    # T_I32
    if v == 0x7FFFFFFF:
        return None
    return v - 0x100000000 if v & 0x80000000 else v


def value(buf, off: int, t: int, order: int, scale: float):
    """Engineering value (raw x scale) or None."""
    v = raw_value(buf, off, t, order)
    if v is None:
        return None
    return v * scale


def plan(regs: tuple, max_regs: int) -> list:
    """Read requests covering regs ((quantity, address, type, order, scale),
    ...): [(start, count, (reg, ...)), ...]. Registers at adjacent addresses
    share a request while it stays within max_regs; nothing in between two
    mapped registers is ever read (unmapped addresses may answer with an
    exception)."""
    srt = sorted(regs, key=lambda r: r[1])
    out = []   # type: list
    start = end = -1
    members = []   # type: list
    for r in srt:
        n = words(r[2])
        if n > max_regs:
            raise ValueError("register 0x%04X needs %d registers > %d" % (r[1], n, max_regs))
        if members and r[1] == end and r[1] + n - start <= max_regs:
            members.append(r)
            end = r[1] + n
            continue
        if r[1] < end:
            raise ValueError("registers overlap at 0x%04X" % r[1])
        if members:
            out.append((start, end - start, tuple(members)))
        start = r[1]
        end = start + n
        members = [r]
    if members:
        out.append((start, end - start, tuple(members)))
    return out
