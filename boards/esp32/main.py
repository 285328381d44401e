# Board boot: bring the network up, then run the station with the machine HAL.
import pins
from evse import apploader
# the installed firmware slot first on sys.path (else the frozen one): docs/firmware-update.md
apploader.boot(pins.STATE_ROOT, ("evse.hal.machine_hal", "evse.main"))
from evse.hal.machine_hal import Board
from evse import main

main.run(Board(pins, pins.STATE_ROOT))
