# The simulator's driver: runs a Station (evse.station) from outside, as the
# world around a board would, without the station knowing it is simulated
# (docs/simulator.md, docs/architecture.md). On the virtual clock the station
# has no loop of its own: start() starts it without one, advance() moves
# virtual time from one deadline to the next, settle() lets the firmware see a
# change at the current instant, and a task steps the station when bytes
# arrive on the simulated RS485 bus. On the real clock the station runs its
# own MCU loop and settle() only wakes it. fault() and grid() inject the
# simulated faults and grid voltages (evsesim.hal.sim_io, the meters).
# Simulator only: never frozen into a board image (boards/sim_manifest.py).
from evse.aio import asyncio


def driven(station) -> bool:
    """The station is driven from outside: a virtual clock."""
    return bool(getattr(station.board, "virtual", False))


async def start(station) -> None:
    """Start the station; on the virtual clock without its MCU loop, plus
    the task that answers the RS485 bus (virtual time stands still while
    the peer expects an answer)."""
    virtual = driven(station)
    await station.start(not virtual)
    link = station.link
    bus = getattr(station.board, "rs485", None)
    if virtual and link is not None and hasattr(bus, "wait_data"):
        link.task = asyncio.create_task(_on_data(station, bus))    # stopped by mswiring.stop_io


async def _on_data(station, bus) -> None:
    while station.running:
        await bus.wait_data()
        if station.running:
            await settle(station)                   # the link answers in its step()


async def settle(station) -> None:
    """After a control op: let the firmware see the change now."""
    if driven(station):
        station.step()
        await station.ocpp.settle_io()
        await _link_io(station)
        station.step()
        await station.ocpp.settle_io()
    else:
        station.poke()
        await asyncio.sleep(0.05)


async def advance(station, ms: int) -> None:
    """Move virtual time by ms, jumping from one deadline to the next."""
    clock = station.clock
    remaining = ms
    while True:
        station.step()
        await station.ocpp.settle_io()
        await _link_io(station)
        if station.reboot_request:
            return
        if remaining <= 0:
            break
        d = max(1, min(station.next_deadline_ms(), remaining))
        clock.advance_ms(d)
        remaining -= d


async def _link_io(station) -> None:
    # the RS485 peer's answer comes over TCP in real time
    if station.link is not None:
        from evse.services import mswiring
        await mswiring.settle_io(station)
    # and the Modbus meters' replies (--modbus: RTU frames over TCP)
    if station._rtu is not None:
        from evse.metering import shell as meter_shell
        await meter_shell.settle_io(station)


def fault(station, name: str, active: bool) -> None:
    """Inject (or clear) a simulated fault (evsesim.hal.sim_io.ALL_FAULTS)."""
    if name.startswith("meter_"):
        for m in station.meters:
            m.set_fault(name, active)
        return
    if name == "reader_offline":
        station.cards.reader_fault(1, active)
        station.cards.reader_fault(2, active)
        return
    if name == "heartbeat":
        station.hb_fault = active
        return
    from evsesim.hal import sim_io
    if name in sim_io.STATION_FAULTS:
        station.board.io.set_fault(name, active)
        return
    if name not in sim_io.CONNECTOR_FAULTS:
        raise ValueError("unknown fault " + name)
    for cio in station.board.connectors:
        cio.set_fault(name, active)


def grid(station, volts: list) -> None:
    """The simulated grid voltages per phase, as the meters read them."""
    for m in station.meters:
        m.set_grid(volts)
