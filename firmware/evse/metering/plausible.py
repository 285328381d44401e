# The plausibility rule for energy register readings (docs/metering.md
# "Implausible energy readings"), shared by the meter drivers that read a
# register they do not count themselves (evse.metering.modbus_meter, the
# simulator's built-in meter): a reading is rejected when it is negative or
# absurd, lower than the last accepted one (a register never goes
# backwards), or higher than the installation can have delivered since it.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[no-redef]
        return x

MAX_REGISTER_WH = 1000000000000     # 1 TWh: above it a reading is a glitch
JUMP_MARGIN = 1.5                   # x the installation's maximum power
JUMP_SLACK_WH = 20
GLITCH_RETRIES = const(2)           # a rejected value is read again this often


def plausible(e: int, last: int, dt_ms: int, max_w, res_wh: int) -> bool:
    """e: the new reading (Wh); last: the last accepted one (-1: none, the
    first reading ever); dt_ms: ms since it was accepted (-1: no bound on
    the jump); max_w: the installation's maximum power in W (None: no
    bound); res_wh: Wh per step of the register."""
    if e < 0 or e > MAX_REGISTER_WH:
        return False
    if last < 0:
        return True                  # nothing to compare with
    if e < last:
        return False                 # a register never goes backwards
    if dt_ms >= 0 and max_w is not None:
        allowed = (max_w * JUMP_MARGIN * dt_ms // 3600000 + 2 * res_wh
                   + JUMP_SLACK_WH + last // 4194304)   # + float32 resolution
        if e - last > allowed:
            return False
    return True
