# Thin async shell of the Modbus meters: the synchronous core (RtuMaster,
# ModbusMeter) runs in the station's step(); this only starts and stops a
# transport that needs tasks (the simulator's TCP connection carrying RTU
# frames; a board's UART needs none), and, for whoever drives a virtual
# clock (evsesim.simdrive, settle_io), waits in
# real time (bounded) for the replies in flight: virtual time stands still
# while the peer answers over TCP, and must not run past an answer on its
# way. A reply that does not come in max_ms, or a transport with nobody
# connected, is left to the master's timeout in virtual time.
from evse.aio import asyncio

from evse.metering.factory import master_of


def _own_port(station, master) -> bool:
    # a board's RS485 port shared with the RFID master/slave link is
    # started and stopped by that link's shell (evse.services.masterslave)
    return master.port is not getattr(station.board, "rs485", None)


async def start_io(station) -> None:
    master = master_of(station.meters)
    if master is not None and _own_port(station, master) and hasattr(master.port, "start"):
        await master.port.start()


async def stop_io(station) -> None:
    master = master_of(station.meters)
    if master is None:
        return
    master.abort()
    if _own_port(station, master) and hasattr(master.port, "stop"):
        await master.port.stop()


async def settle_io(station, max_ms: int = 1000) -> None:
    """For whoever drives a virtual clock (evsesim.simdrive): run the meters'
    exchanges that can complete now."""
    master = master_of(station.meters)
    if master is None:
        return
    port = master.port
    clock = station.clock
    waited = 0
    while master.awaiting():            # (a request waiting for the RTU silence needs virtual time)
        if hasattr(port, "connected") and not port.connected():
            return                      # nobody answers: the timeout runs in virtual time
        now = clock.ticks_ms()
        for m in station.meters:
            if getattr(m, "master", None) is master:
                m.update(now)           # takes the reply, sends the cycle's next request
        if not master.awaiting() or waited >= max_ms:
            return
        await asyncio.sleep(0.002)
        waited += 2
