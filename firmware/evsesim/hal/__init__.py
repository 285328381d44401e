# The simulated HAL: a Board for the simulator and the tests (evsesim.hal.sim),
# its I/O models, meters, RS485 bus, S0 output, event file and virtual clock.
