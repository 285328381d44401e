# micro-evse: firmware of an AC smart charging controller (SSCU/DSCU).
# The package is frozen into the board image; the same modules run on CPython
# and on the MicroPython Unix port with the simulated HAL (evsesim.hal.sim).
VERSION = "0.1.0"
