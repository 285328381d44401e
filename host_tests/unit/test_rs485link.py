# RS485 link framing (evse.services.rs485link): CRC-16/MODBUS, frame layout,
# any chunking (byte by byte), garbage and resynchronisation, bad CRC,
# oversize, expiry of a truncated frame, no allocation on the hot paths.
import support

from evse.services import rs485link as L


class Sink:
    def __init__(self) -> None:
        self.frames = []

    def __call__(self, addr, payload, n) -> None:
        self.frames.append((addr, bytes(payload[:n])))


def dec():
    s = Sink()
    return L.Decoder(s), s


def test_crc16_modbus_check_values():
    assert L.crc16(b"123456789") == 0x4B37        # CRC-16/MODBUS check value
    # Modbus RTU "read 10 holding registers of device 1": 01 03 00 00 00 0A C5 CD
    c = L.crc16(bytes([1, 3, 0, 0, 0, 10]))
    assert (c & 0xFF, c >> 8) == (0xC5, 0xCD)
    assert L.crc16(b"xx123456789yy", 2, 11) == 0x4B37
    assert L.crc16(b"") == 0xFFFF


def test_frame_layout():
    f = L.encode(2, b"\x01\x07")
    assert f[0] == 0x7E and f[1] == 2 and f[2] == 2 and f[3:5] == b"\x01\x07"
    c = L.crc16(f, 0, 5)
    assert f[5] == c & 0xFF and f[6] == c >> 8
    assert len(f) == 2 + L.OVERHEAD
    buf = bytearray(L.MAX_FRAME)
    buf[L.HEADER:L.HEADER + 3] = b"abc"
    n = L.frame_into(buf, 0x82, 3)
    assert bytes(buf[:n]) == L.encode(0x82, b"abc")
    support.raises(ValueError, L.frame_into, bytearray(300), 2, L.MAX_PAYLOAD + 1)


def test_roundtrip_in_one_chunk_and_byte_by_byte():
    frames = [L.encode(2, b"\x01\x05"), L.encode(0x82, bytes(range(40))),
              L.encode(2, b""), L.encode(2, b"\x7e" * 10)]     # SOF bytes inside a payload
    stream = b"".join(frames)
    d, s = dec()
    d.feed(stream)
    assert s.frames == [(2, b"\x01\x05"), (0x82, bytes(range(40))), (2, b""), (2, b"\x7e" * 10)]
    d2, s2 = dec()
    for b in stream:
        d2.feed(bytes([b]))
    assert s2.frames == s.frames
    assert d2.frames == 4 and d2.crc_errors == 0 and d2.garbage == 0


def test_feed_takes_a_length_and_a_memoryview():
    f = L.encode(2, b"\x01\x09")
    buf = bytearray(64)
    buf[0:len(f)] = f
    d, s = dec()
    d.feed(memoryview(buf), len(f))
    assert s.frames == [(2, b"\x01\x09")]


def test_max_payload_and_oversize():
    big = bytes(i & 0xFF for i in range(L.MAX_PAYLOAD))
    d, s = dec()
    d.feed(L.encode(2, big))
    assert s.frames == [(2, big)]
    # LEN above the limit: dropped and counted, the next frame still comes through
    bad = bytes([0x7E, 2, L.MAX_PAYLOAD + 1]) + bytes(10)
    d.feed(bad + L.encode(2, b"\x01\x01"))
    assert d.oversize == 1
    assert s.frames[-1] == (2, b"\x01\x01") and len(s.frames) == 2
    # a decoder with a smaller limit refuses what the default one takes
    small = L.Decoder(Sink(), 8)
    small.feed(L.encode(2, bytes(9)))
    assert small.oversize == 1 and small.frames == 0


def test_bad_crc_is_dropped_and_counted():
    f = bytearray(L.encode(2, b"\x01\x03"))
    f[-1] ^= 0x55
    d, s = dec()
    d.feed(bytes(f) + L.encode(2, b"\x01\x04"))
    assert d.crc_errors == 1
    assert s.frames == [(2, b"\x01\x04")]
    # a flipped payload bit as well
    g = bytearray(L.encode(2, b"\x01\x05"))
    g[3] ^= 0x01
    d.feed(bytes(g))
    assert d.crc_errors == 2 and len(s.frames) == 1


def test_garbage_between_frames_is_skipped():
    d, s = dec()
    d.feed(b"\x00\x01\xff hello " + L.encode(2, b"\x01\x06") + b"\x13\x37" + L.encode(0x82, b"\x81"))
    assert s.frames == [(2, b"\x01\x06"), (0x82, b"\x81")]
    assert d.garbage == 12                        # 10 before, 2 between
    assert d.crc_errors == 0


def test_resync_finds_a_frame_inside_a_truncated_one():
    # a sender stopped mid-frame (LEN promised 20 bytes); the next real frame
    # is swallowed as its payload, fails the CRC, and is found by the rescan
    real = L.encode(2, b"\x01\x2a")
    d, s = dec()
    d.feed(bytes([0x7E, 2, 20, 1, 2, 3]) + real + bytes(20 - 3 - len(real) + 2))
    assert (2, b"\x01\x2a") in s.frames
    assert d.crc_errors == 1


def test_resync_byte_by_byte_with_sof_in_garbage():
    real = L.encode(2, b"\x02\x05\x03ABC")
    stream = b"\x7e\x7e\x02\x7e" + bytes([0x7E, 2, 30]) + real + bytes(40) + real
    d, s = dec()
    for b in stream:
        d.feed(bytes([b]), now=0)
    # "7E 02 7E" announced 126 bytes: that candidate swallows the rest until
    # the sender's silence (GAP_MS) drops it; the rescan then finds both
    d.expire(L.GAP_MS)
    assert s.frames.count((2, b"\x02\x05\x03ABC")) == 2


def test_address_zero_and_double_sof_restart_the_frame():
    d, s = dec()
    d.feed(bytes([0x7E, 0]) + L.encode(2, b"\x01\x01"))
    d.feed(bytes([0x7E]) + L.encode(2, b"\x01\x02"))
    assert s.frames == [(2, b"\x01\x01"), (2, b"\x01\x02")]


def test_truncated_frame_expires_after_the_gap():
    d, s = dec()
    d.feed(bytes([0x7E, 2, 5, 1]), now=1000)
    assert d.partial()
    assert d.gap_deadline_ms(1000) == L.GAP_MS
    assert not d.expire(1000 + L.GAP_MS - 1)
    assert d.expire(1000 + L.GAP_MS)
    assert not d.partial() and d.dropped_partial == 1
    assert d.gap_deadline_ms(5000) == -1
    d.feed(L.encode(2, b"\x01\x09"), now=2000)
    assert s.frames == [(2, b"\x01\x09")]


def test_expire_across_tick_wrap():
    d, s = dec()
    t = 0x3FFFFFFF - 10
    d.feed(bytes([0x7E, 2]), now=t)
    assert not d.expire((t + 50) & 0x3FFFFFFF)
    assert d.expire((t + L.GAP_MS) & 0x3FFFFFFF)


def test_random_chunking_and_noise_never_lose_clean_frames():
    import random
    random.seed(7)
    frames = [L.encode(2 if i % 2 else 0x82, bytes([i & 0xFF]) * (i % 17)) for i in range(60)]
    parts = []
    for f in frames:
        noise = bytes(random.getrandbits(8) for _ in range(random.getrandbits(3)))
        parts.append(noise.replace(b"\x7e", b"\x00"))    # noise without SOF: no lost frame
        parts.append(f)
    stream = b"".join(parts)
    d, s = dec()
    i = 0
    while i < len(stream):
        k = 1 + random.getrandbits(4)
        d.feed(stream[i:i + k])
        i += k
    assert len(s.frames) == 60
    assert d.crc_errors == 0


def test_decoding_and_framing_allocate_nothing():
    if not support.IS_MICROPYTHON:
        return                                    # gc.mem_alloc is MicroPython's
    import gc
    got = [0]

    def on_frame(addr, payload, n):
        got[0] += 1
    d = L.Decoder(on_frame)
    stream = bytearray(L.encode(2, b"\x01\x05\x03ABC") * 4 + b"\x00\x7e\x02\x03\x01")
    buf = bytearray(L.MAX_FRAME)
    d.feed(stream)                                # warm up
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(20):
        d.feed(stream, len(stream), 0)
        d.expire(1000)
        buf[3] = 1
        buf[4] = 2
        L.frame_into(buf, 2, 2)
    assert gc.mem_alloc() - before == 0
    assert got[0] >= 80
