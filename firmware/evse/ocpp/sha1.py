# SHA-1 (FIPS 180-4) in plain Python, used only for the WebSocket opening
# handshake (Sec-WebSocket-Accept) on MicroPython builds whose hashlib has no
# sha1 (ports built without SSL). Speed does not matter: one 60-byte input per
# connection. Words are kept below 2**32 with explicit masks; on MicroPython
# values above 2**30 become long ints, which is fine for a handshake.
import struct

_M = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & _M


def sha1(data: bytes) -> bytes:
    """SHA-1 digest (20 bytes) of data."""
    n = len(data)
    msg = bytes(data) + b"\x80" + bytes((55 - n) % 64) + struct.pack(">Q", n * 8)
    h0 = 0x67452301
    h1 = 0xEFCDAB89
    h2 = 0x98BADCFE
    h3 = 0x10325476
    h4 = 0xC3D2E1F0
    w = [0] * 80
    for off in range(0, len(msg), 64):
        w[0:16] = list(struct.unpack(">16I", msg[off:off + 64]))
        for i in range(16, 80):
            w[i] = _rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1)
        a, b, c, d, e = h0, h1, h2, h3, h4
        for i in range(80):
            if i < 20:
                f = (b & c) | (~b & d)
                k = 0x5A827999
            elif i < 40:
                f = b ^ c ^ d
                k = 0x6ED9EBA1
            elif i < 60:
                f = (b & c) | (b & d) | (c & d)
                k = 0x8F1BBCDC
            else:
                f = b ^ c ^ d
                k = 0xCA62C1D6
            t = (_rotl(a, 5) + (f & _M) + e + k + w[i]) & _M
            e = d
            d = c
            c = _rotl(b, 30)
            b = a
            a = t
        h0 = (h0 + a) & _M
        h1 = (h1 + b) & _M
        h2 = (h2 + c) & _M
        h3 = (h3 + d) & _M
        h4 = (h4 + e) & _M
    return struct.pack(">5I", h0, h1, h2, h3, h4)
