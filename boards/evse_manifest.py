# The evse package as a board freezes it (boards/*/manifest.py include this):
# every module a board imports at run time, the lazily loaded services too
# (docs/memory.md), and none of the simulator's (boards/sim_manifest.py adds
# those). Paths are relative to firmware/evse; relative paths in a manifest
# are relative to the manifest file. host_tests/unit/test_manifests.py walks
# the imports from boards/*/main.py and fails when this list is not exactly
# what they reach (a new module must be added here).
package("evse", base_path="../firmware", opt=2, files=[
    "__init__.py", "aio.py", "apploader.py", "callerror.py", "clock.py", "config/__init__.py", "errhelp.py",
    "config/keys.py", "config/store.py", "config/values.py", "hal/__init__.py",
    "hal/fsstore.py", "hal/machine_hal.py", "hal/net.py", "hal/netif.py", "hal/register.py",
    "hal/slotfs.py", "hal/ticker.py", "iocu/__init__.py", "iocu/ccid.py", "iocu/connector.py",
    "iocu/contactor.py", "iocu/debounce.py", "iocu/errors.py", "iocu/events.py",
    "iocu/link.py", "iocu/lock.py", "iocu/pilot.py", "iocu/port.py", "iocu/pwm.py", "iocu/station.py",
    "iocu/status.py", "main.py", "metering/__init__.py", "metering/decode.py",
    "metering/ekm.py", "metering/factory.py", "metering/modbus_meter.py", "metering/plausible.py",
    "metering/pulse.py", "metering/refused.py", "metering/regmap.py", "metering/rtu.py",
    "metering/shell.py",
    "ocpp/__init__.py", "ocpp/client.py", "ocpp/operations.py", "ocpp/jbudget.py",
    "ocpp/journal.py", "ocpp/rpc.py", "ocpp/schema.py", "ocpp/sha1.py", "ocpp/ws.py",
    "ocpp/wsframe.py", "ocpp/wshandshake.py", "services/__init__.py", "services/auth.py",
    "services/authlist.py", "services/availability.py", "services/cards.py", "services/conditions.py",
    "services/diagnostics.py", "services/energy.py", "services/firmware.py", "services/ftpclient.py",
    "services/fwbundle.py", "services/gridvoltage.py", "services/httpclient.py",
    "services/indicators.py", "services/loadbalance.py", "services/log.py", "services/maintenance.py",
    "services/masterslave.py", "services/metering.py", "services/msmaster.py",
    "services/msslave.py", "services/mswiring.py", "services/network.py",
    "services/overcurrent.py", "services/reservations.py", "services/rs485link.py",
    "services/sensors.py", "services/session.py", "services/smartcharging.py", "services/statusreport.py",
    "services/smartprofile.py", "services/smartschedule.py", "services/transfer.py",
    "services/transactions.py", "services/transferjob.py", "services/transferurl.py",
    "services/warnings.py", "station.py", "mcu.py",
    "ticks.py", "web/__init__.py", "web/api.py", "web/app.py", "web/auth.py", "web/cfgview.py",
    "web/appjs.py", "web/http.py", "web/keyhelp.py", "web/listedit.py", "web/markup.py", "web/pages.py",
    "web/server.py", "web/view.py",
])
