# Board boot: bring the network up, then run the station with the machine HAL.
import pins
from evse.hal.machine_hal import Board
from evse import main

main.run(Board(pins, pins.STATE_ROOT))
