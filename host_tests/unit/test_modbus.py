# Modbus RTU master (evse.metering.rtu), register decoding and request
# planning (evse.metering.decode), the register table (evse.metering.regmap).
# Both runtimes. Drivers, pulse meter and the station: test_modbus_meters.py.
from evse.metering import rtu, decode, regmap
from evse.metering.rtu import RtuMaster, crc16, build_read
from modbus_rig import Slave, Port, Clock, Owner, ref_crc, with_crc
from support import raises


# ---- CRC-16/MODBUS -------------------------------------------------------------------------
def test_crc_check_value_and_known_frames():
    assert crc16(b"123456789") == 0x4B37                  # the catalogue check value
    assert crc16(b"") == 0xFFFF
    # read input registers, unit 1, 0x0000, 2 registers: 01 04 00 00 00 02 71 CB
    f = bytes([1, 4, 0, 0, 0, 2])
    c = crc16(f)
    assert (c & 0xFF, c >> 8) == (0x71, 0xCB)
    # read holding registers, unit 1, 0x0000, 10 registers: ... C5 CD
    c = crc16(bytes([1, 3, 0, 0, 0, 10]))
    assert (c & 0xFF, c >> 8) == (0xC5, 0xCD)
    # a whole frame with its CRC checks to 0
    assert crc16(with_crc(b"\x11\x03\x00\x6b\x00\x03")) == 0


def test_crc_matches_bitwise_reference_and_ranges():
    data = bytes((i * 37 + 11) & 0xFF for i in range(300))
    assert crc16(data) == ref_crc(data)
    assert crc16(data, 5, 77) == ref_crc(data[5:77])
    # incremental: continue from a previous CRC
    assert crc16(data, 40, -1, crc16(data, 0, 40)) == ref_crc(data)


def test_build_read_frame():
    buf = bytearray(8)
    assert build_read(buf, 2, 4, 0x5B00, 0x12) == 8
    assert bytes(buf) == with_crc(bytes([2, 4, 0x5B, 0x00, 0x00, 0x12]))


# ---- the master ---------------------------------------------------------------------------------
def _master(slave=None, auto=True, **kw):
    slave = slave or Slave()
    port = Port(slave, auto)
    return slave, port, RtuMaster(port, **kw)


def test_read_ok_and_data():
    slave, port, m = _master()
    slave.put_words(1, 4, 0, [0x1234, 0xABCD])
    o = Owner()
    assert m.request(o, 1, 4, 0, 2, 0)
    assert m.busy()
    assert port.written == [with_crc(bytes([1, 4, 0, 0, 0, 2]))]
    assert m.poll(1) == rtu.OK
    assert o.results == [rtu.OK] and o.data == [b"\x12\x34\xab\xcd"]
    assert not m.busy()
    assert m.requests == 1 and m.replies == 1 and m.timeouts == 0


def test_one_request_at_a_time():
    slave, port, m = _master(auto=False)
    slave.put_words(1, 3, 0, [1])
    assert m.request(Owner(), 1, 3, 0, 1, 0)
    assert not m.request(Owner(), 1, 3, 0, 1, 0)
    assert len(port.written) == 1


def test_bad_requests_refused():
    _, _, m = _master()
    raises(ValueError, m.request, Owner(), 1, 6, 0, 1, 0)        # not a read
    raises(ValueError, m.request, Owner(), 1, 3, 0, 126, 0)      # > 125 registers
    raises(ValueError, m.request, Owner(), 0, 3, 0, 1, 0)        # broadcast
    raises(ValueError, m.request, Owner(), 1, 3, 0xFFFF, 2, 0)   # past the address space
    assert not m.busy()


def test_partial_reads_byte_by_byte():
    slave, port, m = _master(auto=False)
    slave.put_words(1, 4, 0x48, [0x4499, 0x5000])
    o = Owner()
    m.request(o, 1, 4, 0x48, 2, 0)
    n = len(port.later)
    assert n == 9
    for i in range(n - 1):
        port.arrive(1)
        assert m.poll(10 + i) == rtu.PENDING
    port.arrive(1)
    assert m.poll(50) == rtu.OK
    assert o.data == [b"\x44\x99\x50\x00"]


def test_timeout_retries_then_reports():
    slave, port, m = _master(timeout_ms=100, retries=2, char_us=0)
    slave.offline.add(1)
    o = Owner()
    m.request(o, 1, 4, 0, 2, 0)
    assert m.next_deadline_ms(0) == 100
    assert m.poll(99) == rtu.PENDING
    assert m.poll(100) == rtu.PENDING          # retry 1
    assert m.poll(200) == rtu.PENDING          # retry 2
    assert m.poll(299) == rtu.PENDING and o.results == []
    assert m.poll(300) == rtu.TIMEOUT
    assert o.results == [rtu.TIMEOUT]
    assert m.timeouts == 3 and m.resends == 2 and m.requests == 3
    assert len(port.written) == 3 and not m.busy() and m.next_deadline_ms(300) == -1


def test_timeout_grows_with_reply_length():
    slave, _, m = _master(timeout_ms=100, char_us=1000)
    slave.offline.add(1)
    m.request(Owner(), 1, 4, 0, 100, 0)
    # 205 reply bytes + 8 request bytes at 1 ms each: complete (with the
    # slave's 3.5 characters of turnaround) at 217 ms, a timeout at 313 ms
    assert m.next_deadline_ms(0) == 217
    assert m.poll(217) == rtu.PENDING and m.next_deadline_ms(217) == 100 + 213 - 217


def test_crc_error_counted_retried_and_reported():
    slave, port, m = _master(retries=1)
    slave.put_words(1, 4, 0, [7])
    slave.corrupt = True
    o = Owner()
    m.request(o, 1, 4, 0, 1, 0)
    q = m.silence_ms                           # 3.5 characters of 11 bits at 9600, rounded up, + 1
    assert q == 6
    assert m.poll(1) == rtu.PENDING            # retried after the silence
    assert len(port.written) == 1 and m.busy() and m.next_deadline_ms(1) == q
    assert m.poll(q) == rtu.PENDING and len(port.written) == 1
    assert m.poll(1 + q) == rtu.PENDING and len(port.written) == 2
    assert m.poll(2 + q) == rtu.CRC
    assert o.results == [rtu.CRC] and m.crc_errors == 2 and m.resends == 1
    # a good answer to the retry wins
    slave.corrupt = False
    o = Owner()
    m.request(o, 1, 4, 0, 1, 20)
    assert m.poll(21) == rtu.OK


def test_crc_error_then_good_retry():
    slave, port, m = _master(retries=2)
    slave.put_words(1, 4, 0, [7])
    slave.corrupt = True
    o = Owner()
    m.request(o, 1, 4, 0, 1, 0)
    slave.corrupt = False
    assert m.poll(1) == rtu.PENDING            # bad frame: sent again after the silence
    assert m.poll(1 + m.silence_ms) == rtu.PENDING
    assert m.poll(2 + m.silence_ms) == rtu.OK and o.data == [b"\x00\x07"]
    assert m.crc_errors == 1


def test_exception_response():
    slave, port, m = _master()
    slave.put_words(1, 4, 0, [1, 2])
    o = Owner()
    m.request(o, 1, 4, 0, 3, 0)                # address 2 is not there
    assert m.poll(1) == rtu.EXCEPTION
    assert m.exception_code == 2 and m.exceptions == 1 and m.resends == 0
    assert o.results == [rtu.EXCEPTION]
    # illegal function from a unit that has no input registers
    slave.put_words(3, 3, 0, [1])
    m.request(o, 3, 4, 0, 1, 20)
    assert m.poll(21) == rtu.EXCEPTION and m.exception_code == 2
    slave.exception = 4                        # slave device failure
    m.request(o, 1, 4, 0, 1, 40)
    assert m.poll(41) == rtu.EXCEPTION and m.exception_code == 4


def test_a_request_waits_for_the_silence_after_a_reply():
    # RTU: 3.5 characters of silence between frames (at 9600 baud 8N1, 3.65 ms)
    slave, port, m = _master(char_us=1042)
    slave.put_words(1, 4, 0, [1])
    assert m.silence_ms == 5
    m.request(Owner(), 1, 4, 0, 1, 100)
    assert m.poll(101) == rtu.OK
    o = Owner()
    assert m.request(o, 1, 4, 0, 1, 101)       # accepted, but not on the wire yet
    assert len(port.written) == 1 and m.busy() and m.next_deadline_ms(102) == 4
    assert m.poll(105) == rtu.PENDING and len(port.written) == 1
    assert m.poll(106) == rtu.PENDING and len(port.written) == 2
    assert m.poll(107) == rtu.OK and o.results == [rtu.OK]
    # after a silent line (a timeout) a request goes out at once
    slave.offline.add(1)
    m.request(Owner(), 1, 4, 0, 1, 200)
    assert len(port.written) == 3


def test_exception_in_pieces_and_with_bad_crc():
    slave, port, m = _master(auto=False, retries=0)
    slave.exception = 6
    o = Owner()
    m.request(o, 1, 3, 0, 1, 0)
    port.arrive(2)
    assert m.poll(1) == rtu.PENDING
    port.arrive()
    assert m.poll(2) == rtu.EXCEPTION and m.exception_code == 6
    slave.corrupt = True
    m.request(o, 1, 3, 0, 1, 10)
    port.arrive()
    assert m.poll(11) == rtu.CRC


def test_garbage_and_other_units_dropped():
    slave, port, m = _master()
    slave.put_words(5, 4, 0x10, [0xBEEF])
    slave.garbage = b"\x00\xff\x7e\x03\x05\x03\x02"   # noise, another frame's start
    o = Owner()
    m.request(o, 5, 4, 0x10, 1, 0)
    assert m.poll(1) == rtu.OK and o.data == [b"\xbe\xef"]
    assert m.dropped == len(slave.garbage)


def test_wrong_byte_count_is_not_a_reply():
    slave, port, m = _master(timeout_ms=50, retries=0, char_us=0)
    o = Owner()
    m.request(o, 1, 4, 0, 2, 0)
    port.rx = bytearray(with_crc(bytes([1, 4, 2, 0, 1])))   # 1 register, 2 asked
    assert m.poll(1) == rtu.PENDING
    assert m.poll(60) == rtu.TIMEOUT and m.dropped >= 1


def test_stale_bytes_flushed_before_a_request():
    slave, port, m = _master()
    slave.put_words(1, 4, 0, [9])
    port.inject(with_crc(bytes([1, 4, 2, 0, 8])))           # a late reply of earlier
    o = Owner()
    m.request(o, 1, 4, 0, 1, 0)
    assert m.poll(1) == rtu.OK and o.data == [b"\x00\x09"]


def test_unlinked_port_writes_again_when_linked():
    from modbus_rig import LinkedPort
    slave = Slave()
    slave.put_words(1, 4, 0, [3])
    port = LinkedPort(slave)
    port.up = False
    m = RtuMaster(port, timeout_ms=100, char_us=0)
    o = Owner()
    m.request(o, 1, 4, 0, 1, 0)
    assert m.poll(10) == rtu.PENDING
    port.up = True
    assert m.poll(20) == rtu.OK and m.requests == 1 and m.resends == 0
    assert len(port.written) == 2


def test_abort_forgets_the_request():
    slave, port, m = _master(auto=False)
    o = Owner()
    m.request(o, 1, 4, 0, 1, 0)
    m.abort()
    assert not m.busy() and m.poll(10000) == rtu.PENDING and o.results == []


def test_stats():
    _, _, m = _master()
    s = m.stats()
    assert s["requests"] == 0 and set(s) >= {"timeouts", "crc_errors", "exceptions", "dropped"}


# ---- decoding ------------------------------------------------------------------------------------
def _dec(words, t, order, scale=1.0):
    buf = bytearray()
    for w in words:
        buf.append(w >> 8)
        buf.append(w & 0xFF)
    return decode.value(buf, 0, t, order, scale)


def test_decode_types_and_word_order():
    A, C = regmap.ABCD, regmap.CDAB
    assert _dec([0x1234], regmap.T_U16, A) == 0x1234
    assert _dec([0xFFFE], regmap.T_I16, A) == -2
    assert _dec([0x0001, 0x2345], regmap.T_U32, A) == 0x12345
    assert _dec([0x2345, 0x0001], regmap.T_U32, C) == 0x12345
    assert _dec([0xFFFF, 0xFFFE], regmap.T_I32, A) == -2
    assert _dec([0xFFFE, 0xFFFF], regmap.T_I32, C) == -2
    assert abs(_dec([0x4366, 0x1999], regmap.T_F32, A, 1.0) - 230.1) < 1e-4
    assert abs(_dec([0x1999, 0x4366], regmap.T_F32, C) - 230.1) < 1e-4
    assert _dec([0, 0, 0x0001, 0x0000], regmap.T_U64, A) == 0x10000
    assert _dec([0x0000, 0x0001, 0, 0], regmap.T_U64, C) == 0x10000
    assert _dec([0x0000, 0x0064], regmap.T_I32, A, 0.1) == 10.0
    assert _dec([0, 12345], regmap.T_U32, A, 100.0) == 1234500.0


def test_decode_not_available_sentinels():
    A = regmap.ABCD
    assert _dec([0xFFFF], regmap.T_U16, A) is None
    assert _dec([0x7FFF], regmap.T_I16, A) is None
    assert _dec([0xFFFF, 0xFFFF], regmap.T_U32, A) is None
    assert _dec([0x7FFF, 0xFFFF], regmap.T_I32, A) is None
    assert _dec([0xFFFF] * 4, regmap.T_U64, A) is None
    assert _dec([0x7FC0, 0x0000], regmap.T_F32, A) is None       # NaN
    assert _dec([0x7F80, 0x0000], regmap.T_F32, A) is None       # +inf
    assert _dec([0x8000, 0x0000], regmap.T_I32, A) == -0x80000000


# ---- request planning ---------------------------------------------------------------------------
def _spans(blocks):
    return [(b[0], b[1]) for b in blocks]


def test_plan_merges_adjacent_registers_only():
    Q, T, A = regmap, regmap.T_F32, regmap.ABCD
    regs = ((Q.Q_E, 0x48, T, A, 1.0), (Q.Q_V1, 0, T, A, 1.0), (Q.Q_V2, 2, T, A, 1.0),
            (Q.Q_HZ, 0x46, T, A, 1.0), (Q.Q_P, 0x34, T, A, 1.0))
    blocks = decode.plan(regs, 80)
    assert _spans(blocks) == [(0, 4), (0x34, 2), (0x46, 4)]
    assert [r[0] for r in blocks[2][2]] == [Q.Q_HZ, Q.Q_E]


def test_plan_splits_at_max_registers():
    Q, A = regmap, regmap.ABCD
    regs = tuple((Q.Q_I1, a, regmap.T_U32, A, 1.0) for a in range(0, 20, 2))
    blocks = decode.plan(regs, 6)
    assert _spans(blocks) == [(0, 6), (6, 6), (12, 6), (18, 2)]
    assert all(b[1] <= 6 for b in blocks)
    assert sum(len(b[2]) for b in blocks) == 10
    # a value never straddles two requests
    blocks = decode.plan(regs, 5)
    assert _spans(blocks) == [(0, 4), (4, 4), (8, 4), (12, 4), (16, 4)]
    raises(ValueError, decode.plan, ((Q.Q_E, 0, regmap.T_U64, A, 1.0),), 3)
    raises(ValueError, decode.plan, ((Q.Q_E, 0, regmap.T_U32, A, 1.0), (Q.Q_P, 1, regmap.T_U16, A, 1.0)), 10)


def test_plan_of_every_supported_type_respects_its_limit():
    for entry in regmap.METERS:
        t, name, fc, mx, regs = entry
        blocks = decode.plan(regs, mx)
        assert fc in (3, 4), name
        assert all(1 <= b[1] <= mx for b in blocks), name
        assert sum(len(b[2]) for b in blocks) == len(regs), name
        assert any(r[0] == regmap.Q_E for r in regs), name       # energy is always mapped
    # EM24: at most 6 registers per request -> the voltages fill one exactly
    em24 = regmap.spec(2)
    assert _spans(decode.plan(em24[4], em24[3]))[0] == (0, 6)


# ---- the register table ----------------------------------------------------------------------------
def test_table_supported_and_refused_types():
    supported = sorted(m[0] for m in regmap.METERS)
    assert supported == [1, 2, 4, 5, 6, 13, 14]
    refused = sorted(t for t, _ in regmap.REFUSED)
    assert refused == [3, 7, 8, 9, 10, 11, 12, 15, 16]
    assert sorted(supported + refused) == list(range(1, 17))    # every MeterType decided
    assert regmap.refusal(7) == "MeterType 7: no register map"
    assert regmap.refusal(10) == "MeterType 10: EKM v4 protocol, not Modbus"
    assert regmap.refusal(12) == "MeterType 12: no energy register in the public map"
    assert regmap.refusal(4) == "" and regmap.spec(7) is None
    assert regmap.refusal(99) == "MeterType 99: unknown"
    for t, _ in regmap.REFUSED:
        assert len(regmap.refusal(t)) <= 50                       # StatusNotification info


def test_table_facts_per_type():
    def reg(t, q):
        for r in regmap.spec(t)[4]:
            if r[0] == q:
                return r[1:]
        return None
    Q = regmap
    # ABB B23: function 3, ABCD, uint64 energy in 0.01 kWh
    assert regmap.spec(1)[2] == 3 and regmap.spec(1)[3] == 125
    assert reg(1, Q.Q_E) == (0x5000, Q.T_U64, Q.ABCD, 10.0)
    assert reg(1, Q.Q_I1) == (0x5B0C, Q.T_U32, Q.ABCD, 0.01)
    # EM24: input registers, CDAB int32, 0.1 kWh total at 0x3E, 6 per request
    assert regmap.spec(2)[2:4] == (4, 6)
    assert reg(2, Q.Q_E) == (0x3E, Q.T_I32, Q.CDAB, 100.0)
    assert reg(2, Q.Q_I1) == (0x0C, Q.T_I32, Q.CDAB, 0.001)
    # SDM630: float32 ABCD, kWh, 80 per request
    assert regmap.spec(4)[2:4] == (4, 80)
    assert reg(4, Q.Q_E) == (0x48, Q.T_F32, Q.ABCD, 1000.0)
    assert reg(4, Q.Q_P) == (0x34, Q.T_F32, Q.ABCD, 1.0)
    # EM340: 50 per request, import total at 0x34
    assert regmap.spec(5)[3] == 50 and reg(5, Q.Q_E) == (0x34, Q.T_I32, Q.CDAB, 100.0)
    # EM111 and SDM230: single phase
    assert reg(13, Q.Q_I2) is None and reg(13, Q.Q_E) == (0x10, Q.T_I32, Q.CDAB, 100.0)
    assert reg(14, Q.Q_V2) is None and reg(14, Q.Q_I1) == (0x06, Q.T_F32, Q.ABCD, 1.0)
