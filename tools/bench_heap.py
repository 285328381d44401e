# Heap held by the OCPP layer (client, operations registry, journal, WebSocket buffers)
# while idle and while charging, on the Unix port:
#   MICROPYPATH=.frozen:firmware micropython tools/bench_heap.py
# The station is built on the simulated board with a virtual clock. The OCPP
# layer's share is measured by building a second one beside it (gc.mem_alloc
# delta after full collections), then adding the messages an hour of charging
# offline queues (a session's Start plus sampled and clock-aligned MeterValues).
# The journal keeps only metadata per queued message in RAM (the payload is
# read back from flash when sent): ~110 bytes each on the 64-bit Unix port.
import gc

mem_alloc = getattr(gc, "mem_alloc")  # MicroPython only
import os

from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.ocpp.client import OcppClient
from evse.ocpp.operations import Operations
from evse.ocpp.journal import Journal
from evse.ocpp.ws import WSClient
from evse.station import Station

D = "/tmp/evse-bench-heap"
try:
    for n in os.listdir(D):
        os.remove(D + "/" + n)
except OSError:
    pass
board = SimBoard(2, D, True)
cfg = Config(board.storage, model="dscu")
cfg.change("TaglessCharging", "true")
cfg = Config(board.storage, model="dscu")
st = Station(board, cfg, "dscu")
board.connectors[0].plug(32)
board.connectors[0].set_ev("C", 16, 3, True)
for _ in range(300):
    st.step()
    board.clock.advance_ms(10)
for _ in range(200):
    board.clock.advance_ms(18000)
    st.step()
queued = st.journal.entries()
gc.collect()
gc.collect()
a = mem_alloc()
j = Journal(board.storage, name="benchjournal", max_queued=1000)
oc = OcppClient(cfg, board, j)
ops = oc.operations = Operations(oc, st.n)
for svc in (cfg, st.availability, st.tx, st.cards, st.energy, st.maint, st.status_report, st.metering,
            st.authlist, st.cache):
    ops.register(svc)
oc.ws = WSClient()
gc.collect()
b = mem_alloc()
for e in queued:
    j.push(e[1], e[4], e[2])
gc.collect()
c = mem_alloc()
print("OCPP layer idle:     %6d bytes (client, operations registry, empty journal, WebSocket with 1 KiB buffers each way)" % (b - a))
print("OCPP layer charging: %6d bytes (+ %d queued transaction messages: %d bytes, %d per message; payloads stay on flash)"
      % (c - a, len(queued), c - b, (c - b) // max(1, len(queued))))
print("whole station:       %6d bytes heap in use (bytecode of non-frozen modules included)" % a)
