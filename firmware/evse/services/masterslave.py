# RFID master/slave: two single-socket controllers sharing one RFID reader
# over the RS485 bus (manual 4.4 RFIDMasterSlaveEnabled, RFIDMasterSlaveID:
# 1 = master, the unit with the reader; 2 = slave). docs/rs485-master-slave.md
# has the full protocol; evse.services.rs485link the framing.
#
# Synchronous cores, no asyncio, no clock of their own:
#   MasterLink(bus, unit) (evse.services.msmaster) / SlaveLink(bus, unit)
#   (evse.services.msslave), on Link, the common part below:
#     poll(now_ms)            read the bus, handle frames, timeouts, polls
#     feed(data, n)           frames from bytes (poll() does this from the bus)
#     next_deadline_ms(now)   when poll() next has something to do (-1 never)
#     card(reader, tag, now)  a card at this unit's reader (station.rfid)
#     busy() / awaiting()     an exchange is in flight / and worth waiting for
#     info()                  counters and state for the simulator's status
# bus: the HAL's RS485 port (evse/hal/__init__.py): write(buf), readinto(buf)
#   -> n, any() -> int. unit: the station as the link sees it
#   (evse.services.mswiring.StationUnit, which lists the methods, or a fake
#   in tests). mswiring also builds the link from the configuration
#   (attach) and holds the simulator's async shell.
#
# Messages (payload = TYPE SEQ ...; requests ADDR = slave address 2, replies
# ADDR = 0x82; SEQ 1..255 per request, kept by retries):
#   POLL   0x01 SEQ                          master -> slave, every POLL_MS
#   STATUS 0x81 SEQ N {FLAGS CODE TL TAG PL PARENT}*N CSEQ CRES CCONN
#          per slave connector: F_* flags, evse.iocu.status code, the id tag
#          and parent id tag of its session (UTF-8, TL/PL bytes, 0 = none);
#          then the latest card (CSEQ) and its outcome so far (RES_*) and
#          connector: how a "pending" card ended.
#   CARD   0x02 SEQ TL TAG                   master -> slave: present this card
#   RESULT 0x82 SEQ RES CONN                 RES_* outcome at once, connector
# A reply is accepted only with the SEQ of the request in flight. The slave
# answers a repeated CARD (same SEQ and tag within DEDUP_MS: its RESULT was
# lost) from its memory instead of presenting the card twice.
#
# Timing: a request without reply for REPLY_MS is sent again, RETRIES times;
# then the exchange failed. LOST_EXCHANGES failed exchanges in a row: the
# master calls the slave offline, routes every card locally and keeps
# polling. The slave with no valid frame from the master for
# (LOST_POLLS + 1) * POLL_MS (N = 5 missed polls) has no card source: it
# reports ReaderFailure on connector 0 (its reader 1 is the bus, marked
# faulted) until the master is heard again. Timeouts count the station's
# clock, virtual or real.
#
# Routing (master, card at its reader), first match wins; "owns" = the
# card's tag (case-insensitive) is the session's tag, then by parent tag:
#   1. a local session owns the card               -> local (it stops there)
#   2. a slave session owns the card               -> slave
#   3. a local / slave session of the card's group -> local / slave
#   4. the slave has an EV waiting for authorization and the master has not
#                                                  -> slave
#   5. the local connector is free (idle, operative) -> local
#   6. the slave's connector is free               -> slave
#   7. otherwise                                   -> local (refuses it)
# With the slave offline, or the card still ignored (StartTransactionDelay
# after it stopped a slave session), cards never go to the slave. Each card
# with the slave online is routed on a fresh STATUS (a POLL at once), so the
# answer to station.rfid() is "pending" and the outcome comes through
# unit.result() (feedback at the master's reader).
#
# A bus card the slave's CardRouter answers "pending" (Authorize.req) ends
# with the router's next late outcome (CardRouter.on_result, hooked by
# attach()); the slave has no reader, so only a RemoteStartTransaction
# answered late at the same moment could be mistaken for it (feedback only).
#
# Allocation: steady-state polling allocates nothing on MicroPython (frames
# in preallocated buffers; the per-frame methods are kept short because the
# VM puts a call's state on the heap above a few words). Cards allocate.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only, never at run time
    from typing import Any  # TYPE_CHECKING only

from evse.services import rs485link as L

MASTER = 1          # RFIDMasterSlaveID
SLAVE = 2
SLAVE_ADDR = 2      # the slave's link address

POLL_MS = 1000
REPLY_MS = 250
RETRIES = 2
LOST_EXCHANGES = 3
LOST_POLLS = 5
DEDUP_MS = 3000

MSG_POLL = 0x01
MSG_CARD = 0x02
MSG_STATUS = 0x81
MSG_RESULT = 0x82

RES_IGNORED = 0
RES_ACCEPTED = 1
RES_REJECTED = 2
RES_STOPPED = 3
RES_PENDING = 4
RESULT_NAMES = ("ignored", "accepted", "rejected", "stopped", "pending")

F_USABLE = 1        # idle, operative, not Faulted/Unavailable: may take a card
F_EV_WAITING = 2    # EV plugged in, waiting for authorization (plug_wait)
F_AUTHORIZED = 4    # a tag is authorized, waiting for the EV
F_TX = 8            # a transaction is running

ROUTE_LOCAL = 0
ROUTE_SLAVE = 1

MAX_CONN = 2
MAX_TAG = 40        # bytes of a tag (IdToken: 20 characters) in UTF-8


def outcome(result: str, connector: int = 0, **extra) -> dict:
    d = {"result": result, "connector": connector}
    for k in extra:
        d[k] = extra[k]
    return d


def result_code(name) -> int:
    for i in range(len(RESULT_NAMES)):
        if RESULT_NAMES[i] == name:
            return i
    return RES_IGNORED


def put_str(buf, off: int, s: str) -> int:
    """TL + UTF-8 bytes of s (at most MAX_TAG) at buf[off]; -> next offset.
    ASCII (every real IdToken) goes without allocating."""
    n = len(s)
    ascii_only = n <= MAX_TAG
    if ascii_only:
        for i in range(n):
            if ord(s[i]) > 127:
                ascii_only = False
                break
    if ascii_only:
        buf[off] = n
        for i in range(n):
            buf[off + 1 + i] = ord(s[i])
        return off + 1 + n
    b = s.encode()[:MAX_TAG]
    buf[off] = len(b)
    buf[off + 1:off + 1 + len(b)] = b
    return off + 1 + len(b)


def tag_key(s: str) -> str:
    return s.upper()


def take_str(p, n: int, off: int, dst, lens, i: int) -> int:
    """Copy a TL-prefixed string at p[off] into dst (no allocation) -> next
    offset, -1 if malformed."""
    if off >= n:
        return -1
    ln = p[off]
    if ln > MAX_TAG or off + 1 + ln > n:
        return -1
    for k in range(ln):
        dst[k] = p[off + 1 + k]
    lens[i] = ln
    return off + 1 + ln


def read_str(bufs, lens, i: int) -> str:
    ln = lens[i]
    if not ln:
        return ""
    try:
        return bytes(bufs[i][:ln]).decode()
    except UnicodeError:
        return ""



# ---- the common part -----------------------------------------------------------------------
class Link:
    role = ""

    def __init__(self, bus, unit, addr: int) -> None:
        self.bus = bus
        self.unit = unit
        self.addr = addr
        self.dec = L.Decoder(self._on_frame, L.MAX_PAYLOAD)
        self._tx = bytearray(L.MAX_FRAME)
        self._txv = memoryview(self._tx)
        self._wn = 0
        self._wmv = self._txv[:0]
        self._rx = bytearray(64)
        self._now = 0
        self._started = False
        self.sent = 0               # frames written
        self.stray = 0              # well-formed frames not expected here
        self.echoes = 0             # our own frames heard back
        self.task = None            # the async shell's task (simulator, virtual clock)
        # () -> bool: the energy meters' exchange is on this (shared) bus
        # (evse.metering: RtuMaster / EkmMaster.busy); the master link then
        # neither reads (the bytes are the meter's reply) nor sends
        self.others_busy = None     # type: Any
        self.yielded = 0            # polls that left the bus to the meters

    def feed(self, data, n: int = -1) -> None:
        self.dec.feed(data, n, self._now)

    def _read(self) -> None:
        bus = self.bus
        rx = self._rx
        while bus.any():
            n = bus.readinto(rx)
            if not n:
                break
            self.dec.feed(rx, n, self._now)

    def _write(self, n: int) -> None:
        self.sent += 1
        if n != self._wn:              # steady state repeats one length: no allocation
            self._wn = n
            self._wmv = self._txv[:n]
        self.bus.write(self._wmv)

    def _counters(self) -> dict:
        d = self.dec
        return {"frames": d.frames, "crc_errors": d.crc_errors, "oversize": d.oversize,
                "dropped_partial": d.dropped_partial, "garbage": d.garbage,
                "sent": self.sent, "stray": self.stray, "echoes": self.echoes}

    def _on_frame(self, addr: int, p, n: int) -> None:
        raise NotImplementedError

    def card_late(self, res: dict) -> None:
        pass


