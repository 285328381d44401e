# What the website sees of the station (manual 4.1): a narrow view, built by
# the station (Station.web_view) from the services the pages need. No page
# reaches the Station, its safety core or its OCPP client.
#
#   config clock log error_log authlist n      as named
#   random_bytes(n)                            the board's randomness (tokens)
#   status() / status_name(cid) / error        the status service's, the safety core's error code
#   avail / avail_scheduled / change_availability(cid, operative)
#   reboot_request / reset_accepted(kind) / reset(kind, local) / reset_blocker()
#   poke()                                     a change: the MCU loop looks at once


class StationView:
    def __init__(self, config, clock, random_bytes, log, error_log, authlist, port, status,
                 avail, maint, poke) -> None:
        self.config = config
        self.clock = clock
        self.random_bytes = random_bytes
        self.log = log
        self.error_log = error_log
        self.authlist = authlist
        self.n = len(avail.avail) - 1
        self._port = port
        self.status = status.status
        self.status_name = status.name
        self.avail = avail.avail
        self.avail_scheduled = avail.scheduled
        self.change_availability = avail.change
        self._maint = maint
        self.reset_accepted = maint.reset_accepted
        self.reset = maint.reset
        self.poke = poke

    @property
    def error(self) -> int:
        return self._port.error

    @property
    def reboot_request(self) -> str:
        return self._maint.reboot_request

    def reset_blocker(self):
        fw = self._maint._fw
        return fw.reset_blocker() if fw is not None else None

    def send_local_list(self, version: int, kind: str, entries: list) -> str:
        return self.authlist.send_local_list(version, kind, entries)
