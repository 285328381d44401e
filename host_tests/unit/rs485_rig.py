# Test doubles for the RS485 link (evse.services.rs485link, masterslave): an
# in-memory bus with the HAL port's signatures, and a fake unit (the station
# as the link sees it). Plain state-recording classes, both runtimes.
from evse.services import masterslave as M
from evse.services import msmaster, msslave


class MemBus:
    """One node's RS485 port on an in-memory bus. pair() joins two; `cut`
    loses what this node writes; `tamper(data) -> data` alters it."""

    def __init__(self) -> None:
        self.rx = bytearray()
        self.peer = None
        self.written = []
        self.cut = False
        self.tamper = None

    def write(self, buf) -> int:
        data = bytes(buf)
        self.written.append(data)
        if self.peer is not None and not self.cut:
            if self.tamper is not None:
                data = self.tamper(data)
            self.peer.rx.extend(data)
        return len(buf)

    def readinto(self, buf) -> int:
        n = min(len(buf), len(self.rx))
        if n:
            buf[0:n] = self.rx[0:n]
            self.rx[0:n] = b""
        return n

    def any(self) -> int:
        return len(self.rx)


def pair():
    a = MemBus()
    b = MemBus()
    a.peer = b
    b.peer = a
    return a, b


class FakeUnit:
    """One connector per entry of `flags`; present() answers from `answers`
    (tag -> result dict), default accepted on connector 1."""

    def __init__(self, n: int = 1) -> None:
        self.flags = [M.F_USABLE] * n
        self.tags = [""] * n
        self.parents = [""] * n
        self.codes = [0] * n
        self.answers = {}
        self.known_parents = {}
        self.ignored = []
        self.delay_ms = 4000
        self.reader_up = True
        self.presented = []
        self.results = []
        self.links = []

    def connectors(self) -> int:
        return len(self.flags)

    def conn_flags(self, i: int) -> int:
        return self.flags[i]

    def conn_status(self, i: int) -> int:
        return self.codes[i]

    def conn_tag(self, i: int) -> str:
        return self.tags[i]

    def conn_parent(self, i: int) -> str:
        return self.parents[i]

    def reader_ok(self, reader: int) -> bool:
        return reader == 1 and self.reader_up

    def present(self, tag: str, reader: int) -> dict:
        self.presented.append(tag)
        if not self.reader_ok(reader):
            return {"result": "ignored", "connector": 0, "reason": "reader disabled"}
        return dict(self.answers.get(tag, {"result": "accepted", "connector": 1}))

    def parent_of(self, tag: str) -> str:
        return self.known_parents.get(tag, "")

    def tag_ignored(self, tag: str) -> bool:
        return tag in self.ignored

    def start_delay_ms(self) -> int:
        return self.delay_ms

    def result(self, res: dict) -> None:
        self.results.append(res)

    def link_changed(self, up: bool) -> None:
        self.links.append(up)


def rig(**kw):
    """A master and a slave core with fake units on an in-memory bus."""
    mb, sb = pair()
    mu = FakeUnit()
    su = FakeUnit()
    m = msmaster.MasterLink(mb, mu, **kw)
    s = msslave.SlaveLink(sb, su)
    return m, s, mu, su, mb, sb


def run(m, s, now: int, rounds: int = 4) -> None:
    """Let frames cross the bus at one instant: poll both sides in turn."""
    for _ in range(rounds):
        m.poll(now)
        s.poll(now)
    m.poll(now)
