# The board entry point (evse.main) on the simulated board: it runs the
# station until a reset is requested, then resets the board.
import sys

if sys.implementation.name == "micropython" and ".frozen" not in sys.path:
    sys.path.append(".frozen")
import asyncio

from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse import main
from support import tmpdir


class ResettableBoard(SimBoard):
    def __init__(self, *a) -> None:
        super().__init__(*a)
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1


def test_runs_until_reset_then_resets_the_board():
    board = ResettableBoard(1, tmpdir("main"), False)
    cfg = Config(board.storage, model="sscu")
    cfg.change("OfflineMode", "true")
    seen = []

    def started(station):
        seen.append(station)
        station.maint.reset("Soft")

    asyncio.run(main.serve(board, "sscu", started))
    assert board.resets == 1
    assert seen and seen[0].reboot_request == "Soft"
