# The station simulator (a package of its own, outside the product): the
# command line and control channel (sim, simctl), the driver that steps a
# Station from outside (simdrive), link faults (simlink), the event log
# (simevents), fleets (fleet) and the simulated HAL (hal/). It imports the
# evse package; nothing in evse imports it, and no board image freezes it
# (boards/sim_manifest.py; docs/simulator.md).
