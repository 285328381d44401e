# TCP (+TLS) client streams for CPython and MicroPython (Unix port and boards
# with a network stack): the `board.net` of the HAL. Both runtimes get asyncio
# (reader, writer) streams from asyncio.open_connection; only the TLS context
# differs:
#   CPython      ssl.create_default_context(cadata=...) (system CAs when no
#                cadata), hostname checked against server_hostname or host
#   MicroPython  ssl.SSLContext(PROTOCOL_TLS_CLIENT) + CERT_REQUIRED +
#                load_verify_locations(cadata=...) (mbedTLS; PEM or DER).
#                There is no system CA store: without cadata, TLS is refused
#                unless the Net was built with verify=False (bench use only).
# Security profile 2 (TLS + basic auth) needs the CA of the Central System
# certificate as cadata; the hostname check is mbedTLS's, on server_hostname.
import sys

from evse.aio import asyncio


_MICROPYTHON = sys.implementation.name == "micropython"


def _der_certs(cadata) -> list:
    """PEM (str/bytes, one or more certificates) or DER bytes -> [DER, ...].
    MicroPython's mbedTLS build parses DER only."""
    if type(cadata) is str:
        cadata = cadata.encode()
    if b"-----BEGIN" not in cadata:
        return [bytes(cadata)]
    import binascii
    out = []
    body = []  # type: list
    inside = False
    for line in cadata.split(b"\n"):
        line = line.strip()
        if line.startswith(b"-----BEGIN CERTIFICATE"):
            body = []
            inside = True
        elif line.startswith(b"-----END"):
            if inside:
                out.append(binascii.a2b_base64(b"".join(body)))
            inside = False
        elif inside and line:
            body.append(line)
    if not out:
        raise ValueError("no certificate in cadata")
    return out


class Net:
    def __init__(self, verify: bool = True) -> None:
        self.verify = verify

    def tls_context(self, cadata=None):
        """An ssl context for a client connection (see module comment)."""
        import ssl
        if _MICROPYTHON:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if cadata:
                for der in _der_certs(cadata):
                    ctx.load_verify_locations(cadata=der)
                ctx.verify_mode = ssl.CERT_REQUIRED  # the default is CERT_NONE
            elif self.verify:
                raise ValueError("TLS needs cadata (no CA store on MicroPython)")
            else:
                ctx.verify_mode = ssl.CERT_NONE
            return ctx
        if cadata and type(cadata) is bytes and cadata.lstrip().startswith(b"-----"):
            cadata = cadata.decode()  # CPython takes PEM as str, DER as bytes
        ctx = ssl.create_default_context(cadata=cadata) if cadata else ssl.create_default_context()
        if not self.verify and not cadata:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    async def open_connection(self, host: str, port: int, tls: bool = False, cadata=None,
                              server_hostname=None):
        """-> (reader, writer) asyncio streams. OSError when unreachable,
        ssl errors (OSError/ValueError on MicroPython) when TLS fails."""
        aio = asyncio
        if not tls:
            rw = await aio.open_connection(host, port)
        else:
            ctx = self.tls_context(cadata)
            if _MICROPYTHON:
                # the TLS stream's socket has no setsockopt: the option goes
                # on the TCP socket as open_connection wraps it
                ctx = _NodelayTLS(ctx)
            rw = await aio.open_connection(host, port, ssl=ctx,
                                           server_hostname=server_hostname or host)
            if _MICROPYTHON:
                return rw
        _nodelay(rw[1])
        return rw


class _NodelayTLS:
    """An ssl context for MicroPython's asyncio.open_connection, which calls
    ctx.wrap_socket(tcp_socket, server_hostname=..., ...): TCP_NODELAY is set
    on the TCP socket before it is wrapped. .nodelay tells whether it was."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.nodelay = False

    def wrap_socket(self, sock, **kw):
        self.nodelay = _setopt(sock)
        return self.ctx.wrap_socket(sock, **kw)


# TCP_NODELAY: OCPP frames are small and each waits for its answer; Nagle's
# algorithm would hold a frame back until the previous one's ACK. Feature-
# detected: MicroPython's socket module (the Unix port's included) may lack
# the names IPPROTO_TCP/TCP_NODELAY (their standard values are used then), and
# its TLS stream wraps a socket without setsockopt, so for TLS the option is
# set on the TCP socket before it is wrapped (_NodelayTLS). CPython's TLS
# transport reports its TCP socket (get_extra_info("socket")).


def _nodelay(writer) -> bool:
    """Set TCP_NODELAY on the socket under an asyncio StreamWriter; False
    when this platform cannot."""
    sock = None
    get = getattr(writer, "get_extra_info", None)
    if get is not None:
        try:
            sock = get("socket")     # CPython
        except Exception:
            sock = None
    if sock is None:
        sock = getattr(writer, "s", None)  # MicroPython's Stream
    return _setopt(sock)


def _setopt(sock) -> bool:
    """TCP_NODELAY on a socket object; False when it has no setsockopt."""
    try:
        import socket
    except ImportError:
        return False
    # the values are the same on Linux, the BSDs and lwIP (ESP32, STM32):
    # MicroPython's socket modules that lack the names still take them
    level = getattr(socket, "IPPROTO_TCP", 6)
    opt = getattr(socket, "TCP_NODELAY", 1)
    setopt = getattr(sock, "setsockopt", None)
    if setopt is None:
        return False
    try:
        setopt(level, opt, 1)
        return True
    except (OSError, AttributeError, TypeError, ValueError):
        return False
