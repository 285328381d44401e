# The simulator, frozen on purpose: the board set (evse_manifest.py) plus the
# modules only the simulator imports (evse.sim, evse.simctl, evse.simdrive,
# evse.simevents, evse.fleet, evse.simlink, evse.hal.simclock and the simulated
# HAL, evse.hal.sim*).
# No board module imports one of these (host_tests/unit/test_layering.py). For an image of the Unix port
# running the simulator, or an emulator build that runs tools/board_selftest.py:
#   include("$(PORT_DIR)/variants/manifest.py")
#   include("/path/to/micro-evse/boards/sim_manifest.py")
# A board image never includes this (boards/README.md).
include("evse_manifest.py")
package("evse", base_path="../firmware", opt=2, files=[
    "sim.py", "simctl.py", "hal/sim.py", "hal/sim_io.py", "hal/sim_meter.py",
    "hal/sim_rs485.py", "hal/sim_s0.py", "simevents.py", "hal/sim_eventfile.py", "fleet.py",
    "simlink.py", "simdrive.py", "hal/simclock.py",
])
