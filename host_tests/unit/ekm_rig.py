# A fake EKM Omnimeter Pulse UL v.4 (EKM's own protocol) for the MeterType 10
# tests, both runtimes: answers request A ("/?" + 12-digit number + "00!"
# CR LF) with the 255-byte block A, built field by field in the order of
# EKM's client library (ekmmeters initFormatA), CRC computed bit by bit
# (independently of the firmware's table). Used with modbus_rig.Port (the
# HAL RS485 port in front of any peer with answer(frame) -> reply bytes).


def ref_ekm_crc(data) -> int:
    """EKM CRC: CRC-16 (reflected 0xA001, init 0xFFFF) bit by bit, then
    byte-swapped and masked with 0x7F7F."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    crc = (crc << 8) | (crc >> 8)
    return crc & 0x7F7F


def num(v: int, n: int) -> bytes:
    s = "%d" % v
    return ("0" * (n - len(s)) + s).encode()


class EkmReading:
    def __init__(self) -> None:
        self.kwh_raw = 1234567       # kWh_Tot digits (divided by 10^scale)
        self.scale = 1               # kWh_Scale: 0, 1 or 2
        self.volts_d = [2301, 2312, 2299]    # 0.1 V
        self.amps_d = [160, 701, 5]          # 0.1 A
        self.watts = [3680, 16200, 115]
        self.freq_c = 5001                   # 0.01 Hz

    def block_a(self, number: int) -> bytes:
        b = bytearray([0x02])                 # reserved 1
        b += b"\x10\x17"                      # Model (2, binary)
        b += b"\x15"                          # Firmware (1)
        b += num(number, 12)                  # Meter_Address
        b += num(self.kwh_raw, 8)             # kWh_Tot
        for v in (11, 22, 33, 44, 55, 66, 77, 88, 99, 100):
            b += num(v, 8)                    # Reactive_Energy_Tot .. Rev_kWh_Rst
        for v in self.volts_d:
            b += num(v, 4)
        for v in self.amps_d:
            b += num(v, 5)
        for v in self.watts:
            b += num(v, 7)
        b += num(sum(self.watts), 7)          # RMS_Watts_Tot
        b += b"C099L098C100"                  # Cos_Theta_Ln_1..3
        for v in (1, 2, 3, 6):
            b += num(v, 7)                    # Reactive_Pwr_Ln_1..3, _Tot
        b += num(self.freq_c, 4)              # Line_Freq
        for v in (7, 8, 9):
            b += num(v, 8)                    # Pulse_Cnt_1..3
        b += b"0"                             # State_Inputs
        b += b"1"                             # State_Watts_Dir
        b += b"1"                             # State_Out
        b += num(self.scale, 1)               # kWh_Scale
        b += b"00"                            # reserved 2
        b += b"26120419423005"                # Meter_Time (yymmddwhhmmss)
        b += b"00"                            # Request_Type
        b += b"0000"                          # reserved 4
        assert len(b) == 253, len(b)
        c = ref_ekm_crc(b[1:])
        b += bytes([(c >> 8) & 0xFF, c & 0xFF])  # the swapped CRC, high byte first
        return bytes(b)


class EkmPeer:
    def __init__(self) -> None:
        self.meters = {}             # meter number -> EkmReading
        self.requests = []           # meter numbers asked
        self.closes = 0              # close-session frames seen
        self.offline = set()
        self.corrupt = False         # a wrong CRC
        self.short = False           # only the first 100 bytes
        self.garble = False          # a letter in the kWh field (CRC made right)
        self.garbage = b""           # bytes before each reply

    def answer(self, frame: bytes) -> bytes:
        if frame == b"\x01\x42\x30\x03\x75":
            self.closes += 1
            return b""
        if len(frame) != 19 or frame[:2] != b"/?" or frame[14:] != b"00!\r\n":
            return b""
        number = int(frame[2:14].decode())
        self.requests.append(number)
        r = self.meters.get(number)
        if r is None or number in self.offline:
            return b""
        a = bytearray(r.block_a(number))
        if self.garble:
            a[18] = ord("x")
            c = ref_ekm_crc(a[1:253])
            a[253] = (c >> 8) & 0xFF
            a[254] = c & 0xFF
        if self.corrupt:
            a[20] ^= 0x01
        if self.short:
            a = a[:100]
        return self.garbage + bytes(a)
