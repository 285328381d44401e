# micro-evse: firmware of an AC smart charging controller (SSCU/DSCU).
# The package is frozen into the board image; the same modules run on CPython
# and on the MicroPython Unix port with the simulated HAL (evsesim.hal.sim).
VERSION = "0.1.0"

# The collector's pace (docs/memory.md "Fragmentation"), set before the
# rest of the package is imported: a collection after every heap/24 bytes
# allocated (4 KB of a 100 KB heap), not only when an allocation fails.
# Collected only when the heap is exhausted, the heap is allocated through
# from end to end between collections, and what survives (a module's
# functions, a stored record, a reading) is left strewn over all of it: a
# 104 KiB board heap with 20 KB free had no block of 881 bytes for the next
# MeterValues. Collected often, allocation stays in the low free blocks and
# what survives stays packed. CPython has no gc.threshold: nothing to do.
import gc
if hasattr(gc, "threshold"):
    gc.threshold((gc.mem_free() + gc.mem_alloc()) // 24)
del gc
