# File transfer for GetDiagnostics and UpdateFirmware (OCPP 1.6 chapter 8):
# the entry points and the streams the FTP and HTTP clients share, over the
# HAL's net.open_connection(host, port, tls=, cadata=, server_hostname=) ->
# (reader, writer).
#
#   await upload(net, location, name, data, ...)
#       FTP: STOR <location dir>/<name>; HTTP(S): POST multipart/form-data, field "file"
#   await download(net, url, storage, name, ...) -> bytes received
#       FTP: RETR (checked against SIZE when the server has it); HTTP(S): GET with
#       Content-Length, chunked or read-to-close bodies, up to 3 redirects.
#       Streams into storage NAME.part in CHUNK pieces, then renames it to NAME:
#       the file never has to fit in RAM and NAME is either complete or absent.
#
# The pieces: evse.services.transferurl (parse_url -> Url), ftpclient (FTP,
# passive mode, binary), httpclient (HTTP/1.1), transferjob (the attempts of
# one request, OCPP retries/retryInterval). The FTP or HTTP client is
# imported on first use: an HTTP-only station never loads the FTP one.
#
# Errors: TransferError (protocol, status, size), ValueError (bad URL), OSError
# (network), asyncio.TimeoutError (no progress within timeout_s).
from evse.aio import asyncio

from evse.services.transferurl import parse_url

CHUNK = 2048               # bytes moved per read/write (one preallocated buffer)
DEFAULT_TIMEOUT_S = 30
DEFAULT_MAX_BYTES = 1048576


class TransferError(Exception):
    pass


# ---- streams ------------------------------------------------------------------------
class Conn:
    """One connection with a timeout on every wait."""

    def __init__(self, reader, writer, timeout_s) -> None:
        self.r = reader
        self.w = writer
        self.t = timeout_s
        self._into = hasattr(reader, "readinto")  # MicroPython streams: no copy

    async def line(self) -> bytes:
        return await asyncio.wait_for(self.r.readline(), self.t)

    async def readinto(self, mv) -> int:
        """Read at most len(mv) bytes into mv; 0 at end of stream."""
        if self._into:
            while True:
                n = await asyncio.wait_for(self.r.readinto(mv), self.t)
                if n is not None:   # None: TLS record not complete yet
                    return n
        data = await asyncio.wait_for(self.r.read(len(mv)), self.t)
        n = len(data)
        mv[:n] = data
        return n

    async def send(self, data) -> None:
        self.w.write(data)
        await asyncio.wait_for(self.w.drain(), self.t)

    async def send_all(self, data) -> None:
        mv = memoryview(data)
        for i in range(0, len(mv), CHUNK):
            await self.send(mv[i:i + CHUNK])

    async def close(self) -> None:
        try:
            self.w.close()
            await asyncio.wait_for(self.w.wait_closed(), 2)
        except Exception:  # already reset by the peer: nothing left to release
            pass


async def connect(net, host: str, port: int, tls: bool, cadata, timeout_s) -> Conn:
    r, w = await asyncio.wait_for(
        net.open_connection(host, port, tls=tls, cadata=cadata, server_hostname=host), timeout_s)
    return Conn(r, w, timeout_s)


class Sink:
    """Download target: one preallocated buffer, appended to storage when full."""

    def __init__(self, storage, name: str, feed, max_bytes: int) -> None:
        self.storage = storage
        self.name = name
        self.feed = feed
        self.max = max_bytes
        self.buf = memoryview(bytearray(CHUNK))
        self.fill = 0
        self.total = 0

    async def pump(self, readinto) -> None:
        """Move everything readinto(mv) yields (0 = end) into storage."""
        while True:
            n = await readinto(self.buf[self.fill:])
            if n == 0:
                break
            self.fill += n
            self.total += n
            if self.total > self.max:
                raise TransferError("file larger than %d bytes" % self.max)
            if self.fill == CHUNK:
                self.flush()
        self.flush()

    def flush(self) -> None:
        if self.fill:
            chunk = self.buf[:self.fill]
            if self.feed is not None:
                self.feed(chunk)
            self.storage.append(self.name, chunk)
            self.fill = 0


# ---- public entry points ----------------------------------------------------------------
async def upload(net, location: str, name: str, data, user=None, password=None, cadata=None,
                 timeout_s=DEFAULT_TIMEOUT_S) -> None:
    """Send `data` (bytes) as file `name` to `location` (a directory URL).
    user/password: FTP fallback credentials when the URL has none."""
    u = parse_url(location)
    if u.scheme == "ftp":
        from evse.services.ftpclient import store
        await store(net, u, name, data, user, password, timeout_s)
    else:
        from evse.services.httpclient import post_file
        await post_file(net, u, name, data, cadata, timeout_s)


async def download(net, url: str, storage, name: str, user=None, password=None, cadata=None,
                   timeout_s=DEFAULT_TIMEOUT_S, max_bytes=DEFAULT_MAX_BYTES, feed=None) -> int:
    """Fetch `url` into storage `name` (atomic: NAME.part then rename). feed(mv),
    if given, sees every chunk before it is stored (a streaming verifier); the
    memoryview is reused afterwards, so feed must copy what it keeps."""
    u = parse_url(url)
    part = name + ".part"
    storage.remove(part)
    sink = Sink(storage, part, feed, max_bytes)
    try:
        if u.scheme == "ftp":
            from evse.services.ftpclient import retr
            await retr(net, u, sink, user, password, timeout_s)
        else:
            from evse.services.httpclient import get
            await get(net, u, sink, cadata, timeout_s)
    except BaseException:
        storage.remove(part)
        raise
    if sink.total == 0:
        storage.write(part, b"")  # an empty file still exists afterwards
    storage.rename(part, name)
    return sink.total
