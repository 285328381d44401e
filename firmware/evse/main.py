# Board entry point: boards/<name>/main.py calls run(Board(pins, root)).
# Builds the configuration and the station on the board's HAL and runs it
# forever. A Reset (OCPP, website, sensor scenario, firmware update) is a
# real restart of the processor: the queued transaction messages are in the
# persistent journal, so they go out after the new BootNotification.
# boards/*/main.py runs the boot loader (evse.apploader.boot) before importing
# this module, so this may be the copy of an installed firmware slot.
from evse.aio import asyncio, sleep_ms

from evse.config.store import Config
from evse.station import Station

FLUSH_MS = 3000   # before a reset: time for queued messages to leave


async def serve(board, model: str, on_start=None) -> None:
    """Run one station until it asks for a reset, then reset the board."""
    try:
        cfg = Config(board.storage, model=model)
        # the Modbus energy meters are on the board's RS485 bus (evse.metering)
        station = Station(board, cfg, model, modbus=getattr(board, "rs485", None))
        await station.start()
    except Exception as e:
        # an installed firmware that cannot start: reset into the previous one
        # (evse.apploader); the built-in firmware's own failure goes through
        from evse import apploader
        if not apploader.failed(e):
            raise
        board.reset()
        return
    if on_start is not None:
        on_start(station)
    while not station.reboot_request:
        await sleep_ms(100)
    await station.stop_web()
    waited = 0
    # errata 3.36: StopTransaction before the reset; the journal keeps what
    # cannot leave in time
    while waited < FLUSH_MS and station.ocpp.online() and station.ocpp.queued():
        await sleep_ms(100)
        waited += 100
    await station.stop()
    board.reset()


def run(board, model=None) -> None:
    """model: "sscu" / "dscu"; default from the number of connectors."""
    if model is None:
        model = "sscu" if len(board.connectors) == 1 else "dscu"
    asyncio.run(serve(board, model))
