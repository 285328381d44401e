# Storage on a file system (flash FS on a board, --state-dir in the simulator).
# Every write is atomic: data goes to NAME.tmp, is flushed, then renamed over
# NAME (os.rename replaces atomically on POSIX and on littlefs/FAT in MicroPython).
# A leftover .tmp after a power cut is ignored and cleaned on start.
#
# sync (class default True): flush every write before it returns. On a board
# flush() commits the file (littlefs/FAT; close() would too); on CPython it is
# followed by os.fsync, and on the MicroPython Unix port flush() itself is an
# fsync. The simulator clears it on its host directory unless --fsync on: a
# write(2) is then in the host kernel when the call returns, which is all a
# simulated power cut (kill -9, then a restart on the same directory) needs;
# only a crash of the host itself would lose it (docs/simulator.md).
import os


def _exists(path: str) -> bool:
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class Storage:
    sync = True

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/") or "/"
        self._mkdirs(self.root)
        for n in self._ls():
            if n.endswith(".tmp"):
                try:
                    os.remove(self._p(n))
                except OSError:
                    pass

    def _mkdirs(self, path: str) -> None:
        cur = ""
        for part in path.split("/"):
            if not part:
                cur = "/" if cur == "" else cur
                continue
            cur = part if cur == "" else (cur + part if cur.endswith("/") else cur + "/" + part)
            if not _exists(cur):
                os.mkdir(cur)

    def _p(self, name: str) -> str:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError("bad storage name")
        return self.root + "/" + name

    def _ls(self) -> list:
        return [e for e in os.listdir(self.root)]

    def read(self, name: str):
        try:
            with open(self._p(name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def read_at(self, name: str, offset: int, length: int):
        """Up to `length` bytes of NAME from byte `offset` (b"" at or past the
        end), allocating only those; None if NAME is missing or unreadable."""
        if offset < 0 or length < 0:
            return None
        try:
            with open(self._p(name), "rb") as f:
                f.seek(offset)
                return f.read(length)
        except OSError:
            return None

    def write(self, name: str, data) -> None:
        path = self._p(name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            if self.sync:
                f.flush()
                _fsync(f)
        os.rename(tmp, path)
        if self.sync:
            _fsync_dir(self.root)

    def write_chunks(self, name: str, chunks) -> int:
        """Atomic write of an iterable of byte chunks (temp + rename), so a
        large file never has to be one string in RAM. Returns the size."""
        path = self._p(name)
        tmp = path + ".tmp"
        n = 0
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
                n += len(c)
            if self.sync:
                f.flush()
                _fsync(f)
        os.rename(tmp, path)
        if self.sync:
            _fsync_dir(self.root)
        return n

    def append(self, name: str, data) -> None:
        with open(self._p(name), "ab") as f:
            f.write(data)
            if self.sync:
                f.flush()
                _fsync(f)

    def rename(self, src: str, dst: str) -> None:
        """Atomically replace dst with src (streamed downloads: append to
        NAME.part, then rename). OSError if src does not exist."""
        os.rename(self._p(src), self._p(dst))
        if self.sync:
            _fsync_dir(self.root)

    def remove(self, name: str) -> None:
        try:
            os.remove(self._p(name))
        except OSError:
            pass

    def names(self) -> list:
        return [n for n in self._ls() if not n.endswith(".tmp")]


def _fsync(f) -> None:
    # CPython: flush to disk so kill -9 / power cut keeps what was acknowledged.
    # MicroPython has no os.fsync; flush() reaches the block device there.
    fs = getattr(os, "fsync", None)
    if fs is not None:
        try:
            fs(f.fileno())
        except (OSError, AttributeError):
            pass


def _fsync_dir(root: str) -> None:
    fs = getattr(os, "fsync", None)
    if fs is None or not hasattr(os, "O_RDONLY"):
        return
    try:
        fd = os.open(root, os.O_RDONLY)  # type: ignore[attr-defined]
        try:
            fs(fd)
        finally:
            os.close(fd)  # type: ignore[attr-defined]
    except (OSError, AttributeError):
        pass
