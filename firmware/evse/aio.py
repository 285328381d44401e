# The one place the firmware imports asyncio: `from evse.aio import asyncio`,
# and sleep_ms(int): MicroPython's asyncio.sleep_ms reuses one generator, where
# sleep(ms / 1000) would allocate a float on every call (docs/design-notes.md);
# CPython has no sleep_ms.
# MicroPython before 1.21 names it uasyncio. Where no asyncio is on sys.path
# at all (the Unix port with MICROPYPATH set without ".frozen", as in the
# unit test runner) `asyncio` is None: the synchronous cores (frame codec,
# transfer URL parsing, bundle checks...) still import and run; only the
# coroutines need it, and they look it up when they run.
try:
    import asyncio
except ImportError:
    try:  # MicroPython before 1.21
        import uasyncio as asyncio  # type: ignore[no-redef]
    except ImportError:
        asyncio = None  # type: ignore[assignment]


async def _sleep_float(ms: int) -> None:
    await asyncio.sleep(ms / 1000)

sleep_ms = getattr(asyncio, "sleep_ms", _sleep_float)
