# TCP_NODELAY on the OCPP socket (evse.hal.net): set where the platform has
# it, silently skipped where it does not (MicroPython's socket module may
# lack the constants; a TLS stream may wrap a socket without setsockopt).
from evse.hal import net


class Sock:
    def __init__(self):
        self.opts = []

    def setsockopt(self, level, opt, value):
        self.opts.append((level, opt, value))


class MpStream:                 # MicroPython's asyncio Stream: .s is the socket
    def __init__(self, s):
        self.s = s


class TlsStream:                # a socket object without setsockopt
    s = object()


def test_nodelay_is_set_when_the_socket_module_has_it_and_skipped_otherwise():
    import socket
    s = Sock()
    ok = net._nodelay(MpStream(s))
    assert ok is True
    # the names where the module has them, else their standard values (6, 1)
    assert s.opts == [(getattr(socket, "IPPROTO_TCP", 6), getattr(socket, "TCP_NODELAY", 1), 1)]
    assert net._nodelay(TlsStream()) is False
    assert net._nodelay(object()) is False
