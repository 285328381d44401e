# WebSocket frame codec (evse.ocpp.wsframe Encoder/Decoder), accept key (evse.ocpp.wshandshake), SHA-1.
import struct

from evse.ocpp import wsframe, wshandshake
from evse.ocpp.sha1 import sha1 as sha1_fallback


def sframe(op, payload=b"", fin=True, rsv=0, mask=None, length=None):
    """A server frame (unmasked unless mask is given)."""
    if type(payload) is str:
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv | op
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask is not None:
        mk = struct.pack(">I", mask)
        payload = bytes(payload[i] ^ mk[i & 3] for i in range(len(payload)))
        head += mk
    return head + payload


def unmask(frame):
    """(fin, opcode, payload) of one client frame; asserts it is masked."""
    frame = bytes(frame)
    assert frame[1] & 0x80, "client frames must be masked"
    n = frame[1] & 0x7F
    off = 2
    if n == 126:
        n = struct.unpack(">H", frame[2:4])[0]
        off = 4
    elif n == 127:
        n = struct.unpack(">Q", frame[2:10])[0]
        off = 10
    mk = frame[off:off + 4]
    data = frame[off + 4:]
    assert len(data) == n
    return bool(frame[0] & 0x80), frame[0] & 0x0F, bytes(data[i] ^ mk[i & 3] for i in range(n))


def feed_all(dec, data):
    """Feed everything; return the list of (event, bytes(payload))."""
    out = []
    mv = memoryview(data)
    off = 0
    while off < len(data):
        off += dec.feed(mv[off:])
        if dec.event:
            out.append((dec.event, bytes(dec.payload) if dec.event != wsframe.ERROR else None))
            if dec.event == wsframe.ERROR:
                break
    return out


def feed_bytewise(dec, data):
    out = []
    for i in range(len(data)):
        used = dec.feed(data[i:i + 1])
        if dec.event:
            out.append((dec.event, bytes(dec.payload) if dec.event != wsframe.ERROR else None))
            if dec.event == wsframe.ERROR:
                break
        else:
            assert used == 1
    return out


# ------------------------------------------------------------- accept key, sha1

def test_accept_key_rfc6455_example():
    # RFC 6455 section 1.3 (and OCPP-J 3.2 prints the same pair)
    assert wshandshake.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_sha1_fallback_vectors():
    assert sha1_fallback(b"abc") == bytes.fromhex("a9993e364706816aba3e25717850c26c9cd0d89d")
    assert sha1_fallback(b"") == bytes.fromhex("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    m = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    assert sha1_fallback(m) == bytes.fromhex("84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    for n in (55, 56, 63, 64, 65, 200):
        assert sha1_fallback(b"x" * n) == wshandshake.sha1(b"x" * n)


# ------------------------------------------------------------- encoder

def test_encode_small_text_masked():
    enc = wsframe.Encoder(1024)
    f = enc.frame(wsframe.OP_TEXT, b"Hello", 0x37FA213D)
    # RFC 6455 5.7: a single-frame masked text message
    assert bytes(f) == bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    assert unmask(f) == (True, wsframe.OP_TEXT, b"Hello")


def test_encode_lengths_16_and_64_bit():
    enc = wsframe.Encoder(70000)
    for n in (0, 1, 3, 125, 126, 127, 1000, 65535, 65536, 70000):
        data = bytes(i & 0xFF for i in range(n))
        f = enc.frame(wsframe.OP_BINARY, data, 0x01020304)
        fin, op, got = unmask(f)
        assert fin and op == wsframe.OP_BINARY and got == data, n


def test_encode_reuses_one_buffer():
    enc = wsframe.Encoder(256)
    a = enc.frame(wsframe.OP_TEXT, b"one", 1)
    buf_id = id(enc._buf)
    enc.frame(wsframe.OP_TEXT, b"two", 2)
    assert id(enc._buf) == buf_id
    assert len(a) == 2 + 4 + 3


def test_encode_fragment_and_control():
    enc = wsframe.Encoder(256)
    fin, op, p = unmask(enc.frame(wsframe.OP_TEXT, b"ab", 5, fin=False))
    assert not fin and op == wsframe.OP_TEXT and p == b"ab"
    fin, op, p = unmask(enc.frame(wsframe.OP_PING, b"x" * 125, 7))
    assert fin and op == wsframe.OP_PING and p == b"x" * 125


def test_encode_refuses_oversize():
    enc = wsframe.Encoder(100)
    try:
        enc.frame(wsframe.OP_TEXT, b"x" * 101, 1)
        assert False
    except ValueError:
        pass
    try:
        enc.frame(wsframe.OP_PING, b"x" * 126, 1)
        assert False
    except ValueError:
        pass


def test_close_payload():
    assert wsframe.close_payload(1000) == b"\x03\xe8"
    assert wsframe.close_payload(1001, "bye") == b"\x03\xe9bye"
    assert wsframe.close_payload(1005) == b""


# ------------------------------------------------------------- decoder

def test_decode_single_text():
    dec = wsframe.Decoder(1024)
    assert feed_all(dec, sframe(wsframe.OP_TEXT, "hi")) == [(wsframe.OP_TEXT, b"hi")]


def test_decode_two_messages_in_one_chunk():
    dec = wsframe.Decoder(1024)
    data = sframe(wsframe.OP_TEXT, "a") + sframe(wsframe.OP_TEXT, "bc")
    n = dec.feed(data)
    assert n == 3 and dec.event == wsframe.OP_TEXT and bytes(dec.payload) == b"a"
    n2 = dec.feed(data[n:])
    assert n2 == 4 and dec.event == wsframe.OP_TEXT and bytes(dec.payload) == b"bc"
    assert dec.feed(b"") == 0 and dec.event == 0


def test_decode_byte_by_byte_all_length_forms():
    for n in (0, 5, 125, 126, 300, 65535, 65536):
        dec = wsframe.Decoder(70000)
        data = bytes(i & 0x7F for i in range(n))
        assert feed_bytewise(dec, sframe(wsframe.OP_TEXT, data)) == [(wsframe.OP_TEXT, data)], n


def test_decode_fragmented_with_interleaved_ping():
    dec = wsframe.Decoder(1024)
    data = (sframe(wsframe.OP_TEXT, "Hel", fin=False) + sframe(wsframe.OP_PING, "p1")
            + sframe(wsframe.OP_CONT, "", fin=False) + sframe(wsframe.OP_CONT, "lo"))
    want = [(wsframe.OP_PING, b"p1"), (wsframe.OP_TEXT, b"Hello")]
    assert feed_all(dec, data) == want
    dec = wsframe.Decoder(1024)
    assert feed_bytewise(dec, data) == want


def test_decode_pong_and_empty_ping():
    dec = wsframe.Decoder(64)
    assert feed_all(dec, sframe(wsframe.OP_PONG, "x") + sframe(wsframe.OP_PING)) == [
        (wsframe.OP_PONG, b"x"), (wsframe.OP_PING, b"")]


def test_decode_close_with_code_and_reason():
    dec = wsframe.Decoder(64)
    ev = feed_all(dec, sframe(wsframe.OP_CLOSE, b"\x03\xe9going"))
    assert ev == [(wsframe.OP_CLOSE, b"\x03\xe9going")]
    assert dec.close_code == 1001 and dec.close_reason == "going"


def test_decode_close_without_code():
    dec = wsframe.Decoder(64)
    assert feed_all(dec, sframe(wsframe.OP_CLOSE))[0][0] == wsframe.OP_CLOSE
    assert dec.close_code == 1005


def _error(data, max_size=1024):
    dec = wsframe.Decoder(max_size)
    ev = feed_all(dec, data)
    assert ev and ev[-1][0] == wsframe.ERROR, ev
    # after an error nothing more is consumed
    assert dec.feed(sframe(wsframe.OP_TEXT, "x")) == 0 and dec.event == 0
    return dec.error


def test_decode_protocol_errors():
    assert _error(sframe(wsframe.OP_TEXT, "x", mask=0x11223344)) == 1002       # masked by server
    assert _error(sframe(wsframe.OP_TEXT, "x", rsv=0x40)) == 1002              # RSV1 w/o extension
    assert _error(sframe(3, "x")) == 1002                                 # reserved data opcode
    assert _error(sframe(0xB, "x")) == 1002                               # reserved control opcode
    assert _error(sframe(wsframe.OP_CONT, "x")) == 1002                        # continuation w/o start
    assert _error(sframe(wsframe.OP_TEXT, "a", fin=False) + sframe(wsframe.OP_TEXT, "b")) == 1002
    assert _error(sframe(wsframe.OP_PING, "x", fin=False)) == 1002             # fragmented control
    assert _error(sframe(wsframe.OP_PING, b"x" * 126)) == 1002                 # control > 125
    assert _error(sframe(wsframe.OP_CLOSE, b"\x03")) == 1002                   # 1-byte close
    assert _error(sframe(wsframe.OP_CLOSE, b"\x03\xed")) == 1002               # 1005 on the wire
    assert _error(sframe(wsframe.OP_CLOSE, b"\x03\xe8\xff")) == 1007           # reason not UTF-8
    bad_len = bytes([0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1])               # 64-bit MSB set
    assert _error(bad_len) == 1002


def test_decode_oversize_refused_from_header():
    # a header announcing 2**31 bytes: refused after 10 header bytes, 1009,
    # and the decoder's buffer stays the one allocated at construction
    dec = wsframe.Decoder(16384)
    head = bytes([0x81, 127]) + struct.pack(">Q", 1 << 31)
    n = dec.feed(head + b"xxxx")
    assert n == 10 and dec.event == wsframe.ERROR and dec.error == 1009
    assert dec.msgbuf is dec._small and len(dec.msgbuf) == wsframe.FRAME_SIZE
    dec = wsframe.Decoder(16384)
    head = bytes([0x81, 127]) + struct.pack(">Q", 1 << 40)
    assert dec.feed(head) == 10 and dec.error == 1009
    dec = wsframe.Decoder(1000)
    assert dec.feed(sframe(wsframe.OP_TEXT, b"x" * 1001)) == 4 and dec.error == 1009
    assert _error(sframe(wsframe.OP_TEXT, b"x" * 1000), 999) == 1009


def test_decode_fragmented_total_oversize():
    dec = wsframe.Decoder(100)
    data = sframe(wsframe.OP_TEXT, b"a" * 60, fin=False) + sframe(wsframe.OP_CONT, b"b" * 41)
    ev = feed_all(dec, data)
    assert ev == [(wsframe.ERROR, None)] and dec.error == 1009
    dec = wsframe.Decoder(100)
    data = sframe(wsframe.OP_TEXT, b"a" * 60, fin=False) + sframe(wsframe.OP_CONT, b"b" * 40)
    assert feed_all(dec, data) == [(wsframe.OP_TEXT, b"a" * 60 + b"b" * 40)]


def test_decode_exact_max_size_and_reuse():
    dec = wsframe.Decoder(300)
    for k in range(3):
        data = bytes([65 + k]) * 300
        assert feed_all(dec, sframe(wsframe.OP_TEXT, data)) == [(wsframe.OP_TEXT, data)]


def test_decode_oversize_allocates_nothing_big():
    import gc
    dec = wsframe.Decoder(16384)
    head = bytes([0x81, 127]) + struct.pack(">Q", 50000000)
    gc.collect()
    if hasattr(gc, "mem_alloc"):  # MicroPython
        before = gc.mem_alloc()
        dec.feed(head)
        assert gc.mem_alloc() - before < 4096
    else:
        dec.feed(head)
    assert dec.error == 1009


# ------------------------------------------------------------- large messages

BIG = bytes(48 + (i * 7) % 64 for i in range(10240))    # 10 KiB of text


def test_decode_large_single_frame_in_a_buffer_of_its_own():
    # a message longer than the preallocated 1 KiB arrives in a buffer of
    # its exact size, allocated from its header, dropped at the next feed
    dec = wsframe.Decoder(16384)
    small = dec.msgbuf
    assert feed_all(dec, sframe(wsframe.OP_TEXT, BIG)) == [(wsframe.OP_TEXT, BIG)]
    assert dec.msgbuf is not small and len(dec.msgbuf) == len(BIG)
    assert feed_all(dec, sframe(wsframe.OP_TEXT, "hi")) == [(wsframe.OP_TEXT, b"hi")]
    assert dec.msgbuf is small
    dec.feed(sframe(wsframe.OP_TEXT, BIG))
    dec.release()
    assert dec.msgbuf is small and bytes(dec.payload) == b""


def test_decode_large_fragmented_with_control_frames_between():
    dec = wsframe.Decoder(16384)
    parts = [BIG[i:i + 1500] for i in range(0, len(BIG), 1500)]
    data = sframe(wsframe.OP_TEXT, parts[0], fin=False)
    for k, p in enumerate(parts[1:]):
        data += sframe(wsframe.OP_PING if k % 2 else wsframe.OP_PONG, "c%d" % k)
        data += sframe(wsframe.OP_CONT, p, fin=k == len(parts) - 2)
    ev = feed_all(dec, data)
    assert ev[-1] == (wsframe.OP_TEXT, BIG)
    assert [e for e, _ in ev[:-1]] == [wsframe.OP_PONG if k % 2 == 0 else wsframe.OP_PING
                                       for k in range(len(parts) - 1)]
    assert len(dec.msgbuf) <= 2 * len(BIG)
    assert feed_bytewise(wsframe.Decoder(16384), data) == ev


def test_decode_large_fragmented_oversize_and_bad_sequences():
    # 16 KiB in all is the limit: the fragment that passes it gets 1009
    frag = b"y" * 2000
    data = sframe(wsframe.OP_TEXT, frag, fin=False)
    for _ in range(7):
        data += sframe(wsframe.OP_CONT, frag, fin=False)
    assert feed_all(wsframe.Decoder(16384), data + sframe(wsframe.OP_CONT, b"y" * 384)) == [
        (wsframe.OP_TEXT, frag * 8 + b"y" * 384)]
    assert _error(data + sframe(wsframe.OP_CONT, b"y" * 385), 16384) == 1009
    # a new data frame inside a fragmented message, a continuation after
    # its end: 1002
    assert _error(sframe(wsframe.OP_TEXT, BIG[:5000], fin=False) + sframe(wsframe.OP_TEXT, BIG[5000:]), 16384) == 1002
    assert _error(sframe(wsframe.OP_TEXT, BIG[:5000], fin=False) + sframe(wsframe.OP_BINARY, b"z"), 16384) == 1002
    assert _error(sframe(wsframe.OP_TEXT, BIG[:5000], fin=False) + sframe(wsframe.OP_CONT, BIG[5000:])
                  + sframe(wsframe.OP_CONT, b"more"), 16384) == 1002


def test_decode_large_message_memory_is_given_back():
    import gc
    if not hasattr(gc, "mem_alloc"):  # MicroPython only
        return
    dec = wsframe.Decoder(16384)
    data = sframe(wsframe.OP_TEXT, BIG)
    gc.collect()
    before = gc.mem_alloc()
    dec.feed(data)
    assert dec.event == wsframe.OP_TEXT and gc.mem_alloc() - before >= len(BIG)
    dec.release()
    gc.collect()
    assert gc.mem_alloc() - before < 1024
