# The simulator's state directory (evse.hal.fsstore, Storage.sync): a board's
# storage flushes (commits) every write; the simulator's host directory is not
# fsynced unless --fsync on, and a restart on the same directory (a power cut:
# SIGKILL, then a new process) still finds every write (docs/simulator.md).
from evse.hal import fsstore
from evse.hal.fsstore import Storage
from evsesim.hal.sim import SimBoard
from support import raises, tmpdir


class _Syncs:
    """Counts the fsyncs fsstore asks for (files and directories)."""

    def __enter__(self):
        self.n = 0
        self.saved = (fsstore._fsync, fsstore._fsync_dir)

        def count(*a):
            self.n += 1
        fsstore._fsync = count
        fsstore._fsync_dir = count
        return self

    def __exit__(self, *exc):
        fsstore._fsync, fsstore._fsync_dir = self.saved
        return False


def _writes(st):
    st.write("cfg", b"{}")
    st.append("journal", b"P 1\n")
    st.append("journal", b"A 1\n")
    st.write_chunks("copy", [b"a", b"b"])


def test_a_boards_storage_syncs_every_write():
    with _Syncs() as s:
        _writes(Storage(tmpdir("sync")))
    assert s.n == 6          # file and directory for write and write_chunks, each append


def test_the_simulators_writes_survive_a_restart_without_fsync():
    d = tmpdir("nosync")
    board = SimBoard(1, d, True)
    assert board.storage.sync is False
    with _Syncs() as s:
        _writes(board.storage)
    assert s.n == 0
    again = Storage(d)                       # the restarted process
    assert again.read("journal") == b"P 1\nA 1\n"
    assert again.read("cfg") == b"{}" and again.read("copy") == b"ab"


def test_sim_fsync_option():
    from evsesim import sim
    assert sim.parse_args([])["fsync"] == "off"
    assert sim.parse_args(["--fsync", "on"])["fsync"] == "on"
    raises(sim.UsageError, sim.parse_args, ["--fsync", "yes"])
