# Manual 8.2 ResetFailure: "a remote reset request will be rejected during the
# time the new software version is starting up and has evaluated correct
# functioning of itself". A station booting a firmware on trial (installed,
# not yet confirmed by an accepted BootNotification) refuses Reset, local
# reboots too, and says why on connector 0; once confirmed it resets.
import json

from evse.config.store import Config
from evsesim.hal.sim import SimBoard
from evse.services import firmware as fw
from evse.station import Station
from support import tmpdir
from test_firmware import good_bundle


def trial_station():
    board = SimBoard(1, tmpdir("resetfail"), True)
    board.storage.write("app-a.jsonl", good_bundle("1.2.0"))
    board.storage.write(fw.POINTER, json.dumps(
        {"slot": "a", "version": "1.2.0", "prev": "", "prev_version": "", "state": "trial",
         "boots": 0, "report": ""}).encode())
    st = Station(board, Config(board.storage, model="sscu"), "sscu")
    st.step()
    return board, st


def reset_failures(st):
    return [i[1] for i in st.ocpp.queue
            if i[0] == "StatusNotification" and i[1]["errorCode"] == "ResetFailure"]


def test_reset_refused_while_new_firmware_starts_up_then_accepted():
    board, st = trial_station()
    assert st.config.get("FirmwareVersionMCU") == "1.2.0"
    assert st.maint.reset_accepted("Hard") == "Rejected"
    rf = reset_failures(st)
    assert len(rf) == 1 and rf[0]["connectorId"] == 0 and rf[0]["info"] == "new firmware starting up"
    assert not st.reboot_request
    assert st.maint.reset("Soft", local=True) is False          # website / sensor HardReset
    assert not st.reboot_request and len(reset_failures(st)) == 2
    st.maint.on_registered()                                    # BootNotification Accepted: confirmed
    assert st.maint.reset_accepted("Hard") == "Accepted"
    st.maint.reset("Hard")
    assert st.reboot_request == "Hard" and len(reset_failures(st)) == 2


def test_reset_accepted_on_a_confirmed_firmware():
    board = SimBoard(1, tmpdir("resetok"), True)
    st = Station(board, Config(board.storage, model="sscu"), "sscu")
    st.step()
    assert st.maint.reset_accepted("Soft") == "Accepted" and reset_failures(st) == []
