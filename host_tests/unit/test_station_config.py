# Configuration changes while charging (ChangeConfiguration, the website)
# must not disturb a running charge: regression for a re-configure that
# restarted the PP measurement and dropped the contactor for a second.
from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.station import Station
from support import tmpdir


def build():
    board = SimBoard(1, tmpdir("stcfg"), True)
    cfg = Config(board.storage, model="sscu")
    cfg.change("TaglessCharging", "true")
    cfg = Config(board.storage, model="sscu")
    st = Station(board, cfg, "sscu")
    board.connectors[0].plug(32)
    board.connectors[0].set_ev("C", 16, 3, True)
    run(board, st, 2000, check=False)
    assert_charging(st)
    return board, st


def run(board, st, ms, check=True):
    while ms > 0:
        st.step()
        d = max(1, min(st.next_deadline_ms(), ms, 10))
        board.clock.advance_ms(d)
        ms -= d
        if check:
            assert_charging(st)
    st.step()


def assert_charging(st):
    c = st.connectors[0]
    assert c.contactor_closed and c.offered_da == 160, (c.contactor_closed, c.offered_da)


def test_changes_during_charging_keep_the_contactor_closed():
    board, st = build()
    for key, value in (("HeartBeatInterval", "300"), ("SafetyRelayEnabled", "false"),
                       ("UnlockConnectorOnEVSideDisconnect", "true"), ("MeterValueSampleInterval", "60"),
                       ("LEDIntensityDefault", "3")):
        assert st.config.change(key, value) in ("Accepted", "RebootRequired"), key
        st.step()
        assert_charging(st)
        run(board, st, 500)


def test_reboot_required_key_waits_for_reboot():
    board, st = build()
    assert st.config.change("MaxCurrentConnection", "13") == "RebootRequired"
    run(board, st, 500)
    assert st.connectors[0].offered_da == 160


def test_power_loss_stop_is_not_stamped_before_the_session():
    # a cut mid-transaction; the clock restarts unset (virtual: 2026-01-01
    # 00:00) before BootNotification: the PowerLoss stop must not predate
    # the session's last known moment
    board, st = build()
    run(board, st, 5 * 60 * 1000)
    alive = st.clock.now()
    board2 = SimBoard(1, board.storage.root, True)
    cfg = Config(board2.storage, model="sscu")
    st2 = Station(board2, cfg, "sscu")
    stops = [e for e in st2.journal.entries() if e[1] == "StopTransaction"]
    assert stops and stops[-1][4]["reason"] == "PowerLoss"
    from evse.clock import parse_iso8601
    assert parse_iso8601(stops[-1][4]["timestamp"]) >= alive - 60
