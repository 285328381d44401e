# The simulator, frozen on purpose: the board set (evse_manifest.py) plus the
# simulator's own package, evsesim (command line, control channel, driver,
# link faults, event log, fleets and the simulated HAL, evsesim.hal).
# No module of evse imports it (host_tests/unit/test_layering.py). For an image of the Unix port
# running the simulator, or an emulator build that runs tools/board_selftest.py:
#   include("$(PORT_DIR)/variants/manifest.py")
#   include("/path/to/micro-evse/boards/sim_manifest.py")
# A board image never includes this (boards/README.md).
include("evse_manifest.py")
package("evsesim", base_path="../firmware", opt=2, files=[
    "__init__.py", "sim.py", "simctl.py", "simdrive.py", "simevents.py", "simlink.py", "fleet.py",
    "hal/__init__.py", "hal/sim.py", "hal/simclock.py", "hal/sim_io.py", "hal/sim_meter.py",
    "hal/sim_rs485.py", "hal/sim_s0.py", "hal/sim_eventfile.py",
])
