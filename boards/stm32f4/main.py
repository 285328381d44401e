# Board boot: give the board its network interfaces (evse.hal.netif; the
# station brings them up, evse.services.network), then run the station with
# the machine HAL.
import pins
from evse.hal.machine_hal import Board
from evse.hal import netif
from evse import main

board = Board(pins, pins.STATE_ROOT)
netif.attach(board, pins)
main.run(board)
