"""OCPP 1.6 security profile 1 (security whitepaper): HTTP Basic authentication
with the AuthorizationKey, a write-only key; a new key from the Central System
makes the station reconnect with it; SecurityProfile is only ever raised."""
from ocpp_rig import CP, rig_run

KEY1 = "0123456789abcdef0123"
KEY2 = "fedcba9876543210fedc"


def test_basic_auth_profile_1_and_key_rotation(tmp_path):
    async def body(rig):
        rig.cs.passwords = {CP: KEY1}
        await rig.start()
        assert (await rig.status())["ocpp"]["registered"] is True
        conf = await rig.call("GetConfiguration", key=["AuthorizationKey", "SecurityProfile"])
        items = {i["key"]: i for i in conf["configurationKey"]}
        assert "value" not in items["AuthorizationKey"]          # write-only
        assert items["SecurityProfile"]["value"] == "1"
        # lowering the profile is refused (A05.FR.01); a too-short key too
        assert (await rig.call("ChangeConfiguration", key="SecurityProfile", value="0"))["status"] == "Rejected"
        assert (await rig.call("ChangeConfiguration", key="AuthorizationKey", value="short"))["status"] == "Rejected"
        # profile 2 needs TLS with a root certificate: refused on ws://
        assert (await rig.call("ChangeConfiguration", key="SecurityProfile", value="2"))["status"] == "Rejected"
        # a new password: accepted, then the station reconnects with it (A01)
        def connects():
            return len([c for c in rig.cs.connections if c[0] == CP and c[1] == "connect"])
        n_conn = connects()
        rig.cs.passwords = {CP: KEY2}
        assert (await rig.call("ChangeConfiguration", key="AuthorizationKey", value=KEY2))["status"] == "Accepted"
        for _ in range(40):
            await rig.advance(1)
            if connects() > n_conn and rig.cs.connected(CP):
                break
        assert connects() > n_conn, (rig.cs.connections, '\n'.join((await rig.status())['ocpp']['log']))
        assert rig.cs.connected(CP)
        await rig.call("TriggerMessage", requestedMessage="Heartbeat")
        await rig.advance(1)
        await rig.wait_call("Heartbeat")
    rig_run(tmp_path, body, settings={"AuthorizationKey": KEY1, "SecurityProfile": "1"})


def test_wrong_key_never_gets_in(tmp_path):
    async def body(rig):
        rig.cs.passwords = {CP: KEY2}
        await rig.start(boot=False)
        for _ in range(5):
            await rig.advance(2)
        assert rig.cs.calls("BootNotification", CP) == []
        st = await rig.status()
        assert st["ocpp"]["connected"] is False
    rig_run(tmp_path, body, settings={"AuthorizationKey": KEY1, "SecurityProfile": "1"})
