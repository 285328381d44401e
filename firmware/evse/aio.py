# The one place the firmware imports asyncio: `from evse.aio import asyncio`.
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
