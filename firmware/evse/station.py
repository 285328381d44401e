# The station: wires the safety core (one iocu.Connector per socket), the MCU
# services (sessions, authorization, metering, indicators, OCPP) and the clock.
# Synchronous core (step / next_deadline_ms) with a thin async shell (start,
# advance, settle) so the simulator can run it in real or virtual time.
try:
    import asyncio
except ImportError:  # pragma: no cover
    import uasyncio as asyncio  # type: ignore

from evse.clock import iso8601
from evse.iocu import status as cstatus
from evse.iocu.connector import Connector
from evse.iocu.events import EventRing
from evse.iocu import errors
from evse.services.session import Session, TX, AUTHORIZED, FINISHING
from evse.ticks import ticks_diff

TICK_MS = 10          # safety core period on a board (ARCHITECTURE.md)
IDLE_MAX_MS = 60000   # longest virtual jump when nothing is scheduled


class NullSink:
    """Transaction sink used until the OCPP layer is attached."""

    def __init__(self) -> None:
        self.next_ref = 1

    def tx_started(self, s) -> None:
        s.tx_ref = self.next_ref
        self.next_ref += 1

    def tx_stopped(self, s, reason: str) -> None:
        pass


class Station:
    def __init__(self, board, config, model: str, modbus=None) -> None:
        self.board = board
        self.config = config
        self.model = model
        self.clock = board.clock
        self.events = EventRing(64)
        self._ev = bytearray(0)
        n = len(board.connectors)
        self.connectors = []
        for i in range(n):
            c = Connector(i, board.connectors[i], self.events)
            self.connectors.append(c)
        self.meters = self._make_meters(modbus)
        self.sink = NullSink()
        self.sessions = [Session(i, self.connectors[i], config, self.clock, self, self.meters[i])
                         for i in range(n)]
        self.status_codes = [-1] * n       # last derived status per connector
        self.status_listeners = []         # fn(connector_id, status_name, error_code, info, vendor)
        self.ocpp = None
        self.indicators = None
        try:
            from evse.services.indicators import Indicators
            self.indicators = Indicators(config, board.connectors, board.io, model=model)
        except ImportError:
            pass
        self.auth = None
        self.running = False
        self._task = None
        self.apply_config()
        config.subscribe(self._on_config)

    # ---- configuration ----------------------------------------------------------
    def _make_meters(self, modbus):
        from evse.hal.sim_meter import SimMeter
        return [SimMeter(self.board.connectors[i], self.clock) for i in range(len(self.board.connectors))]

    def apply_config(self) -> None:
        g = self.config.get
        for i, c in enumerate(self.connectors):
            n = i + 1
            c.configure(
                max_current_a=g("MaxCurrentConnection"),
                flex_cable=g("Connector%dFlexCable" % n) if n <= 2 else True,
                actuator=g("FlexConnectorWithActuator"),
                three_stage=g("3StageServo"),
                inversed=g("InversedServo"),
                safety_relay=g("SafetyRelayEnabled"),
                helper_no=g("RelayHelperContactNormallyOpen"),
                unlock_on_ev_disconnect=g("UnlockConnectorOnEVSideDisconnect"),
                ccid=(i == 0 and g("ExternalSensor1Type") == 8),
            )
            enabled = g("Connector%dEnabled" % n) if n <= 2 else True
            c.set_operative(bool(enabled))

    def _on_config(self, key: str) -> None:
        self.apply_config()

    # ---- transaction sink (replaced by the OCPP layer) ----------------------------
    def tx_started(self, session) -> None:
        self.sink.tx_started(session)

    def tx_stopped(self, session, reason: str) -> None:
        self.sink.tx_stopped(session, reason)

    # ---- the synchronous core ---------------------------------------------------
    def step(self) -> None:
        now = self.clock.ticks_ms()
        for c in self.connectors:
            c.tick(now)
        for m in self.meters:
            m.update(now)
        for s in self.sessions:
            s.step(now)
        self._drain_events()
        self._update_status()
        if self.indicators is not None:
            self.indicators.tick(now)

    def next_deadline_ms(self) -> int:
        now = self.clock.ticks_ms()
        best = IDLE_MAX_MS
        for c in self.connectors:
            d = c.next_deadline_ms(now)
            if 0 <= d < best:
                best = d
        for s in self.sessions:
            d = s.next_deadline_ms(now)
            if 0 <= d < best:
                best = d
        for m in self.meters:
            d = m.next_deadline_ms(now)
            if 0 <= d < best:
                best = d
        if self.indicators is not None:
            d = self.indicators.next_deadline_ms(now)
            if 0 <= d < best:
                best = d
        if self.ocpp is not None:
            d = self.ocpp.next_deadline_ms(now)
            if 0 <= d < best:
                best = d
        return best

    def _drain_events(self) -> None:
        # events are consumed through status derivation; the ring is emptied
        # here so it never overflows (the OCPP layer reads what it needs).
        while self.events.pop() >= 0:
            pass

    def derive_status(self, i: int) -> int:
        c = self.connectors[i]
        s = self.sessions[i]
        return cstatus.derive(c, s.state == TX, s.state == AUTHORIZED or s.plug_wait,
                              s.state == FINISHING, s.reservation_id is not None)

    def _update_status(self) -> None:
        for i in range(len(self.connectors)):
            code = self.derive_status(i)
            if code != self.status_codes[i]:
                self.status_codes[i] = code
                name = cstatus.NAMES[code]
                err = self.connectors[i].error
                ocpp_code, vendor, info = errors.ocpp_fields(err)
                for fn in self.status_listeners:
                    fn(i + 1, name, ocpp_code, info, vendor)
                if self.indicators is not None:
                    self.indicators.set_status(i, name, self.sessions[i].state == AUTHORIZED)

    # ---- the async shell -----------------------------------------------------------
    async def start(self) -> None:
        self.running = True
        self.step()
        if not self.board.virtual:
            self._task = asyncio.create_task(self._run_real())
        if self.ocpp is not None:
            await self.ocpp.start()

    async def stop(self) -> None:
        self.running = False
        if self.ocpp is not None:
            await self.ocpp.stop()

    async def _run_real(self) -> None:
        while self.running:
            self.step()
            d = self.next_deadline_ms()
            await asyncio.sleep_ms(max(1, min(d, TICK_MS))) if hasattr(asyncio, "sleep_ms") \
                else await asyncio.sleep(max(1, min(d, TICK_MS)) / 1000)

    async def settle(self) -> None:
        """After a control op: let the firmware see the change at the current time."""
        if self.board.virtual:
            self.step()
            await asyncio.sleep(0)
            self.step()
        else:
            await asyncio.sleep(0.05)

    async def advance(self, ms: int) -> None:
        """Move virtual time by ms, jumping from one deadline to the next."""
        clock = self.clock
        remaining = ms
        while True:
            self.step()
            if self.ocpp is not None:
                await self.ocpp.settle_io()
            else:
                await asyncio.sleep(0)
            if remaining <= 0:
                break
            d = self.next_deadline_ms()
            d = max(1, min(d, remaining))
            clock.advance_ms(d)
            remaining -= d

    # ---- inputs from the simulator / readers ----------------------------------------
    def rfid(self, reader: int, tag: str) -> dict:
        if self.auth is None:
            return {"result": "ignored"}
        return self.auth.card(reader, tag)

    def sim_fault(self, name: str, active: bool) -> None:
        if name.startswith("meter_"):
            for m in self.meters:
                m.set_fault(name, active)
            return
        if name == "reader_offline":
            if self.auth is None:
                raise ValueError("no reader")
            self.auth.reader_fault(active)
            return
        if name == "heartbeat":
            for c in self.connectors:
                c.set_heartbeat_fault(active)
            return
        if name in ("ccid_trip", "ccid_selftest_fail"):
            self.board.io.set_fault(name, active)
            return
        for cio in self.board.connectors:
            cio.set_fault(name, active)

    def sim_grid(self, volts: list) -> None:
        for m in self.meters:
            m.set_grid(volts)

    # ---- status for the simulator ---------------------------------------------------
    def status(self) -> dict:
        conns = []
        for i, c in enumerate(self.connectors):
            s = self.sessions[i]
            m = self.meters[i]
            code = self.derive_status(i)
            ocpp_code, vendor, info = errors.ocpp_fields(c.error)
            led = self.indicators.led_state(i) if self.indicators is not None else None
            conns.append({
                "id": i + 1, "status": cstatus.NAMES[code], "error_code": ocpp_code,
                "vendor_error": vendor, "pilot": c.pilot_name(),
                "duty": c.duty_permille / 10, "offered_a": c.offered_da / 10,
                "contactor": bool(c.contactor_closed), "locked": bool(c.locked),
                "transaction_id": s.transaction_id if s.state == TX else None,
                "id_tag": s.id_tag if s.state in (TX, AUTHORIZED) else None,
                "energy_wh": round(m.energy_wh(), 1),
                "current_a": [round(m.current_a(p), 1) for p in range(3)],
                "led": led,
            })
        oc = self.ocpp
        return {
            "time": iso8601(self.clock.now()), "model": self.model,
            "ocpp": {"connected": bool(oc and oc.connected), "registered": bool(oc and oc.registered),
                     "queued": oc.queued() if oc else 0},
            "connectors": conns,
        }
