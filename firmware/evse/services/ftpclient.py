# A small FTP client (RFC 959, passive mode, binary) for the file transfers
# (evse.services.transfer): store() for GetDiagnostics, retr() for
# UpdateFirmware. Loaded on first use.
# Credentials: those in the URL; where the URL has none, the caller's fallback
# (the FTPUserName / FTPPassword keys, manual 4.4); "anonymous" if both are empty.
# The data connection goes to the control connection's host with the port of the
# PASV (or EPSV) reply: the address inside a PASV reply is ignored (NAT, FTP bounce).
from evse.aio import asyncio

from evse.services.transfer import Conn, Sink, TransferError, connect
from evse.services.transferurl import Url, join_path


def _clean(s: str) -> str:
    if "\r" in s or "\n" in s:
        raise ValueError("line break in FTP argument")
    return s


def _credentials(u: Url, user, password):
    usr = u.user if u.user is not None else (user or "")
    pw = u.password if u.password is not None else (password or "")
    if not usr:
        usr = "anonymous"
        if not pw:
            pw = "evse@"
    return _clean(usr), _clean(pw)


def _pasv_port(text: str) -> int:
    """'227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)' -> port, -1 if unreadable."""
    i = text.find("(")
    s = text[i + 1:] if i >= 0 else text[4:]
    j = 0
    while j < len(s) and s[j] not in "0123456789":
        j += 1
    k = j
    while k < len(s) and s[k] in "0123456789,":
        k += 1
    parts = s[j:k].split(",")
    if len(parts) != 6:
        return -1
    try:
        return int(parts[4]) * 256 + int(parts[5])
    except ValueError:
        return -1


def _epsv_port(text: str) -> int:
    """'229 Entering Extended Passive Mode (|||6446|)' -> port, -1 if unreadable."""
    i = text.find("(")
    if i < 0 or i + 1 >= len(text):
        return -1
    d = text[i + 1]
    parts = text[i + 1:].split(d)
    if len(parts) < 5:
        return -1
    try:
        return int(parts[3])
    except ValueError:
        return -1


class _Ftp:
    def __init__(self, net, u: Url, timeout_s) -> None:
        self.net = net
        self.u = u
        self.t = timeout_s
        self.c: "Conn | None" = None

    async def login(self, user: str, password: str) -> None:
        self.c = await connect(self.net, self.u.host, self.u.port, False, None, self.t)
        code, _ = await self.reply()
        while 100 <= code < 200:       # 120: ready in n minutes
            code, _ = await self.reply()
        if code != 220:
            raise TransferError("FTP greeting %d" % code)
        code, _ = await self.cmd("USER " + user)
        if code == 331:
            code, _ = await self.cmd("PASS " + password)
        if code not in (230, 202):
            raise TransferError("FTP login refused (%d)" % code)
        code, _ = await self.cmd("TYPE I")
        if code != 200:
            raise TransferError("FTP TYPE I refused (%d)" % code)

    async def reply(self):
        """-> (code, first line); multi-line replies are read to their end."""
        c = self.c
        first = await self._line(c)
        code = first[:3]
        if len(first) > 3 and first[3] == "-":
            end = code + " "
            while True:
                ln = await self._line(c)
                if ln.startswith(end) or ln == code:
                    break
        return int(code), first

    async def _line(self, c) -> str:
        b = await c.line()
        if not b:
            raise TransferError("FTP connection closed")
        s = b.decode().rstrip("\r\n")
        if len(s) < 3 or not ("0" <= s[0] <= "9" and "0" <= s[1] <= "9" and "0" <= s[2] <= "9"):
            raise TransferError("bad FTP reply")
        return s

    async def cmd(self, line: str):
        assert self.c is not None
        await self.c.send((line + "\r\n").encode())
        return await self.reply()

    async def passive(self) -> Conn:
        code, text = await self.cmd("PASV")
        port = _pasv_port(text) if code == 227 else -1
        if port <= 0:
            code, text = await self.cmd("EPSV")
            port = _epsv_port(text) if code == 229 else -1
        if port <= 0:
            raise TransferError("FTP passive mode refused")
        return await connect(self.net, self.u.host, port, False, None, self.t)

    async def quit(self) -> None:
        c = self.c
        if c is None:
            return
        try:
            await c.send(b"QUIT\r\n")
            await asyncio.wait_for(c.r.readline(), 2)
        except Exception:  # the transfer result is known already
            pass
        await c.close()


async def store(net, u: Url, name: str, data, user, password, timeout_s) -> None:
    usr, pw = _credentials(u, user, password)
    path = join_path(u.ftp_path(), _clean(name))
    f = _Ftp(net, u, timeout_s)
    try:
        await f.login(usr, pw)
        d = await f.passive()
        try:
            code, _ = await f.cmd("STOR " + path)
            if code not in (125, 150):
                raise TransferError("FTP STOR refused (%d)" % code)
            await d.send_all(data)
        finally:
            await d.close()
        code, _ = await f.reply()
        if code not in (226, 250):
            raise TransferError("FTP upload failed (%d)" % code)
    finally:
        await f.quit()


async def retr(net, u: Url, sink: Sink, user, password, timeout_s) -> None:
    usr, pw = _credentials(u, user, password)
    path = u.ftp_path()
    if not path or path.endswith("/"):
        raise ValueError("FTP URL names no file")
    f = _Ftp(net, u, timeout_s)
    try:
        await f.login(usr, pw)
        size = -1
        code, text = await f.cmd("SIZE " + path)
        if code == 213:
            try:
                size = int(text[4:].strip())
            except ValueError:
                size = -1
        if size > sink.max:
            raise TransferError("file larger than %d bytes" % sink.max)
        d = await f.passive()
        try:
            code, _ = await f.cmd("RETR " + path)
            if code not in (125, 150):
                raise TransferError("FTP RETR refused (%d)" % code)
            await sink.pump(d.readinto)
        finally:
            await d.close()
        code, _ = await f.reply()
        if code not in (226, 250):
            raise TransferError("FTP download failed (%d)" % code)
        if size >= 0 and sink.total != size:
            raise TransferError("FTP download truncated (%d of %d)" % (sink.total, size))
    finally:
        await f.quit()

