# The asyncio shell of the local management website: accepts connections,
# reads one bounded request (http.py), lets the App answer it and streams the
# answer back. Same code on CPython, the Unix port and a board
# (asyncio.start_server, as the simulator's control channel).
#
# Bounds, so that a misbehaving client cannot starve the station: at most
# MAX_CONN connections at once (more get 503), TIMEOUT_S to send a request
# and to take the answer, MAX_HEAD/MAX_BODY bytes per request (413), page
# bodies streamed in ~1 KB pieces rather than built whole.
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # type checking only
    from typing import Any  # TYPE_CHECKING only

from evse.web.http import HttpError, Response, MAX_HEAD, head_end, parse_head
from evse.aio import asyncio

MAX_CONN = 3
TIMEOUT_S = 10
_CHUNK = 512
_FLUSH = 1024
_DISCARD = 16384    # unread request bytes swallowed after a refusal (no RST)




async def read_request(reader):
    """One request from the stream -> Request (body read), None if the peer
    closed before sending anything; HttpError when refused."""
    buf = b""
    while True:
        end = head_end(buf)
        if end >= 0:
            break
        if len(buf) > MAX_HEAD:
            raise HttpError(413, "request head too large")
        chunk = await reader.read(_CHUNK)
        if not chunk:
            if not buf:
                return None
            raise HttpError(400, "connection closed inside the request head")
        buf += chunk
    req = parse_head(buf[:end])
    need = req.content_length()
    body = buf[end:end + need]
    while len(body) < need:
        chunk = await reader.read(min(_CHUNK, need - len(body)))
        if not chunk:
            raise HttpError(400, "body shorter than its Content-Length")
        body += chunk
    req.body = body
    return req


async def send(writer, resp, head_only: bool = False) -> None:
    body = resp.body
    if type(body) is str:
        body = body.encode()
    if type(body) is bytes:
        writer.write(resp.head(len(body)) + (b"" if head_only else body))
        await writer.drain()
        return
    writer.write(resp.head())
    if not head_only:
        parts = []
        size = 0
        for piece in body:
            parts.append(piece)
            size += len(piece)
            if size >= _FLUSH:
                writer.write("".join(parts).encode())
                parts = []
                size = 0
                await writer.drain()
        if parts:
            writer.write("".join(parts).encode())
    await writer.drain()


def _peer(writer) -> str:
    try:
        p = writer.get_extra_info("peername")
    except Exception:
        return ""
    if type(p) is tuple and p:
        return str(p[0])
    if type(p) in (bytes, bytearray) and len(p) >= 8 and p[0] == 2:   # Unix port: raw sockaddr_in
        return "%d.%d.%d.%d" % (p[4], p[5], p[6], p[7])
    return ""


class WebServer:
    def __init__(self, app, addr: tuple) -> None:
        self.app = app
        self.addr = addr
        self._srv = None    # type: Any
        self._open = []     # type: list  # writers of the connections being served
        self.stopped = False

    async def start(self) -> None:
        host, port = self.addr
        self._srv = await asyncio.start_server(self._client, host, port)

    async def stop(self) -> None:
        """A reset: stop listening, end every web session and close every open
        connection, each awaited (on MicroPython close() alone only marks a
        stream; wait_closed() closes the socket), so that nothing of the old
        station answers after this returns."""
        self.stopped = True
        self.app.auth.end_all()
        if self._srv is not None:
            self._srv.close()
            try:
                await self._srv.wait_closed()
            except AttributeError:
                pass
            self._srv = None
        for w in list(self._open):
            try:
                w.close()
                await asyncio.wait_for(w.wait_closed(), 1)
            except Exception:   # already gone, or a peer that does not answer
                pass
        self._open = []

    async def _client(self, reader, writer) -> None:
        aio = asyncio
        if self.stopped:        # accepted in the last moment of a reset
            writer.close()
            return
        self._open.append(writer)
        resp = None     # type: Any
        try:
            if len(self._open) > MAX_CONN:
                resp = Response(503, "busy, try again\n", "text/plain", "Retry-After: 1\r\n")
                await aio.wait_for(send(writer, resp), TIMEOUT_S)
                return
            req = None      # type: Any
            try:
                req = await aio.wait_for(read_request(reader), TIMEOUT_S)
            except HttpError as e:
                resp = self.app.error(None, e.status, e.reason)
            except aio.TimeoutError:
                resp = self.app.error(None, 408, "request not received in time")
            if req is not None:
                req.peer = _peer(writer)
                try:
                    resp = self.app.handle(req)
                except Exception as e:  # a bug must not kill the station
                    self._report(e)
                    resp = self.app.error(req, 500, "internal error")
            if resp is None:
                return      # closed without a request
            await aio.wait_for(send(writer, resp, req is not None and req.method == "HEAD"), TIMEOUT_S)
            if req is None:
                await aio.wait_for(self._discard(reader), 1)
        except Exception as e:  # peer gone, timeouts, a page failing mid-stream
            if not isinstance(e, (OSError, aio.TimeoutError)):
                self._report(e)
        finally:
            if writer in self._open:
                self._open.remove(writer)
            try:
                writer.close()
                await writer.wait_closed()
            except Exception:
                pass
            if resp is not None and resp.after is not None:
                resp.after()

    async def _discard(self, reader) -> None:
        # a refused request may still be arriving: read it away so that the
        # close does not reset the connection before the client reads the answer
        n = 0
        while n < _DISCARD:
            chunk = await reader.read(_CHUNK)
            if not chunk:
                return
            n += len(chunk)

    def _report(self, e) -> None:
        self.app.log("error %r" % (e,))
        if hasattr(sys, "print_exception"):
            sys.print_exception(e)  # type: ignore[attr-defined]


async def start(view, addr: tuple):
    """Start the website of `station` (its view, evse.web.view) on addr (host, port) -> the WebServer,
    or None when it cannot listen (the station runs on without it)."""
    from evse.web.app import App
    srv = WebServer(App(view), addr)
    try:
        await srv.start()
    except OSError as e:
        view.error_log.add("web: cannot listen on %s:%d (%r)" % (addr[0], addr[1], e))
        return None
    view.log.add("web: listening on %s:%d" % (addr[0], addr[1]))
    return srv
