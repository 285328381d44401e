# Board boot: give the board its network interfaces (evse.hal.netif; the
# station brings them up, evse.services.network), then run the station with
# the machine HAL.
import pins
from evse import apploader
# the installed firmware slot first on sys.path (else the frozen one): docs/firmware-update.md
apploader.boot(pins.STATE_ROOT, ("evse.hal.machine_hal", "evse.main"))
from evse.hal.machine_hal import Board
from evse.hal import netif
from evse import main

board = Board(pins, pins.STATE_ROOT)
# the OCPP journal's byte budget (log + compaction copy, evse/ocpp/journal.py)
board.journal_bytes = getattr(pins, "JOURNAL_BYTES", 32768)
netif.attach(board, pins)
main.run(board)
