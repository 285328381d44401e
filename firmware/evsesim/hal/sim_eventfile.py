# The simulator's event log file (`evsesim.sim --events FILE`, evsesim.simevents):
# the one file outside the state directory the simulated board writes.


def open_events(path: str):
    """The log, truncated: one run, one picture."""
    return open(path, "w")
