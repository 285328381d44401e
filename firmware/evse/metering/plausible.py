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
JUMP_SLACK_WH = const(20)
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
    jump = e - last
    base = 2 * res_wh + JUMP_SLACK_WH + last // 4194304   # + float32 resolution
    if jump <= base:
        return True                  # the usual case: integers only, no allocation
    if dt_ms >= 0 and max_w is not None:
        # x 1.5 (the margin) of the most the installation delivers in dt_ms,
        # rounded up to whole seconds; integer arithmetic (a board's float is
        # single precision and a heap object)
        if jump > base + max_w * 3 // 2 * (dt_ms // 1000 + 1) // 3600:
            return False
    return True


def read_floor(storage, name: str) -> int:
    """The last reported energy reading a meter driver kept on storage (Wh),
    -1 when none or unreadable: a reading below it is never reported again
    (after a restart the register must not seem to go backwards)."""
    if storage is None:
        return -1
    raw = storage.read(name)
    try:
        return int(raw.decode()) if raw else -1
    except (ValueError, UnicodeError):
        return -1
