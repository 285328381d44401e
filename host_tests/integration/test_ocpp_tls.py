# The same OCPP session over wss:// (TLS, OCPP-J 7 / security profile 2 without
# the password part): the Central System with a throwaway certificate, the
# simulator trusting its CA through RootCertificate (a file in the state
# directory, as on the controller's flash).
import os
import ssl

import pytest

from ocpp_rig import TAG, rig_run


def _server_ctx(key, crt):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx


def _trust(rig, pem):
    with open(os.path.join(rig.state_dir, "root.cert"), "wb") as f:
        f.write(pem)


def test_session_over_wss(tmp_path, certs):
    key, crt, pem = certs["good"]

    async def body(rig):
        _trust(rig, pem)
        await rig.start()
        assert await rig.config("UseWebsocketSecure") == "true"
        boot = rig.payloads("BootNotification")
        assert len(boot) == 1 and boot[0]["chargePointVendor"]
        txid = await rig.card_start(1)
        await rig.advance(180)
        conf = await rig.call("GetConfiguration", key=["MeterValueSampleInterval"])
        assert conf["configurationKey"][0]["value"] == "60"
        await rig.op("rfid", reader=1, id=TAG)
        await rig.advance(1)
        acts = [r.action for r in rig.tx_calls()]
        assert acts == ["StartTransaction", "MeterValues", "MeterValues", "MeterValues", "StopTransaction"]
        stop = rig.payloads("StopTransaction")[0]
        assert stop["transactionId"] == txid and stop["reason"] == "Local"
        # the link drops and comes back over TLS again
        await rig.cs.disconnect(rig.cp)
        await rig.advance(5)
        await rig.cs.wait_connected(rig.cp)
        assert await rig.call("GetLocalListVersion") == {"listVersion": 0}
        assert len([c for c in rig.cs.connections if c[1] == "connect"]) == 2
    rig_run(tmp_path, body, scheme="wss", ssl_context=_server_ctx(key, crt),
            settings={"MeterValueSampleInterval": "60"})


def test_wss_with_an_untrusted_certificate_never_connects(tmp_path, certs):
    key, crt, _ = certs["good"]

    async def body(rig):
        _trust(rig, certs["other"][2])      # the CA of somebody else
        await rig.start(boot=False)
        await rig.advance(120)
        st = await rig.status()
        assert not st["ocpp"]["connected"] and not st["ocpp"]["registered"]
        assert rig.cs.connections == [] and rig.calls() == []
        # charging works without the Central System
        await rig.plug_ev(1, state="C")
        await rig.op("rfid", reader=1, id=TAG)
        await rig.advance(2)
        assert (await rig.connector(1))["status"] == "Charging"
    rig_run(tmp_path, body, scheme="wss", ssl_context=_server_ctx(key, crt))
