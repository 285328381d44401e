# RFID master/slave wiring (docs/rs485-master-slave.md): the Station as the
# link cores (evse.services.masterslave, msmaster, msslave) see it (StationUnit), attach() that
# builds the link the configuration asks for, and the thin async shell
# (start_io / stop_io; settle_io for whoever drives a virtual clock).
# evse.station calls: attach(...) at boot, link.poll()/next_deadline_ms()
# in step(), link.card() for a card at the reader, and start_io/stop_io from
# start()/stop(); the simulator's driver (evsesim.simdrive) calls settle_io.
from evse.services.masterslave import (MASTER, SLAVE, F_USABLE, F_EV_WAITING, F_AUTHORIZED,
                                       F_TX)
from evse.services.session import IDLE, AUTHORIZED, TX
from evse.aio import asyncio


try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

# the configuration keys this module owns (one owner each; a const: compiled
# away where unused, docs/architecture.md)
_CONFIG_KEYS = const(("RFIDMasterSlaveEnabled", "RFIDMasterSlaveID"))


# ---- the station as the link sees it ------------------------------------------------------
class StationUnit:
    """The station's sessions, cards and status as the link cores see them
    (tests use fakes with the same methods)."""

    def __init__(self, role: int, config, sessions, cards, authorizer, status, indicators, log) -> None:
        self.role = role
        self.config = config
        self.sessions = sessions
        self.cards = cards
        self.authorizer = authorizer
        self.status = status            # services/statusreport.py
        self.indicators = indicators
        self.log = log

    def connectors(self) -> int:
        return len(self.sessions)

    def conn_flags(self, i: int) -> int:
        s = self.sessions[i]
        f = 0
        if s.state == TX:
            f |= F_TX
        elif s.state == AUTHORIZED:
            f |= F_AUTHORIZED
        if s.plug_wait:
            f |= F_EV_WAITING
        if (s.state == IDLE and s.connector_enabled()
                and self.status.name(i + 1) not in ("Faulted", "Unavailable")):
            f |= F_USABLE
        return f

    def conn_status(self, i: int) -> int:
        return self.status.derive(i)

    def conn_tag(self, i: int) -> str:
        s = self.sessions[i]
        return s.id_tag if s.owns_tag(s.id_tag) else ""

    def conn_parent(self, i: int) -> str:
        s = self.sessions[i]
        return s.parent_id_tag if s.owns_tag(s.id_tag) else ""

    def reader_ok(self, reader: int) -> bool:
        c = self.cards
        return reader == 1 and c.reader_enabled(1) and not c.reader_failure()

    def present(self, tag: str, reader: int) -> dict:
        return self.cards.present(reader, tag)

    def parent_of(self, tag: str) -> str:
        loc = self.authorizer.local(tag)
        return loc[1] if loc is not None else ""

    def tag_ignored(self, tag: str) -> bool:
        for s in self.sessions:
            if s.tag_ignored(tag):
                return True
        return False

    def start_delay_ms(self) -> int:
        return self.config.get("StartTransactionDelay") * 1000

    def result(self, res: dict) -> None:
        self.indicators.card_result(res)                   # feedback at this reader

    def link_changed(self, up: bool) -> None:
        st = self
        if self.role == SLAVE:
            st.cards.reader_fault(1, not up)        # no master: no card source
        st.log.add("rs485 link to the %s %s" % ("slave" if self.role == MASTER else "master",
                                                 "up" if up else "lost"))


class NullBus:
    """No RS485 port on this board: nothing is ever heard."""

    def write(self, buf) -> int:
        return len(buf)

    def readinto(self, buf) -> int:
        return 0

    def any(self) -> int:
        return 0


def attach(cfg, board, sessions, cards, authorizer, status, indicators, log, error_log):
    """The link the configuration asks for (MasterLink / SlaveLink), or None.
    The board's RS485 port is board.rs485 (None: a NullBus, logged)."""
    try:
        enabled = cfg.get("RFIDMasterSlaveEnabled")
        role = cfg.get("RFIDMasterSlaveID")
    except (KeyError, ValueError):
        return None
    if not enabled or role not in (MASTER, SLAVE):
        return None
    bus = getattr(board, "rs485", None)
    if bus is None:
        bus = NullBus()
        error_log.add("RFIDMasterSlaveEnabled: this board has no RS485 port")
    unit = StationUnit(role, cfg, sessions, cards, authorizer, status, indicators, log)
    if role == MASTER:     # a unit loads its own side of the link only
        from evse.services.msmaster import MasterLink
        return MasterLink(bus, unit)
    from evse.services.msslave import SlaveLink
    link = SlaveLink(bus, unit)
    # the CardRouter's late outcomes (Authorize.conf) of bus cards go back too
    prev = cards.on_result

    def late(res):
        link.card_late(res)
        if prev is not None:
            prev(res)
    cards.on_result = late
    return link


# ---- thin async shell (simulator) ------------------------------------------------------------
async def start_io(station) -> None:
    """Start the board's RS485 port if it needs it (the simulator's TCP bus;
    once per process: a rebooted station finds it running). A station
    driven from outside (evsesim.simdrive) is run by its driver when bytes
    arrive (link.task, stopped by stop_io)."""
    bus = getattr(station.board, "rs485", None)
    if bus is not None and hasattr(bus, "start"):
        await bus.start()


async def stop_io(station) -> None:
    """The station stops (shutdown, or a reboot: a new Station on the same
    board follows). The bus is the board's wiring and stays up."""
    link = station.link
    if link is not None and link.task is not None:
        try:
            link.task.cancel()
        except Exception:
            pass
        link.task = None


async def settle_io(station, max_ms: int = 1000) -> None:
    """For whoever drives a virtual clock (evsesim.simdrive): wait (real time,
    bounded) for the reply to the request in flight, so that virtual time
    does not run past an answer on its way over TCP. A reply that does not
    come in max_ms is left to the link's virtual-time timeout."""
    link = station.link
    if link is None:
        return
    bus = link.bus
    aio = asyncio
    waited = 0
    spins = 0
    clock = station.clock
    while link.awaiting():
        if hasattr(bus, "connected") and not bus.connected():
            break                                   # nobody on the bus
        link.poll(clock.ticks_ms())
        if not link.awaiting():
            break
        if waited >= max_ms:
            link.waited = True
            break
        if spins < 50:
            spins += 1
            await aio.sleep(0)                      # the peer usually answers within
        else:                                       # a few loop turns on loopback
            await aio.sleep(0.002)
            waited += 2
