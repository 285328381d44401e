# Helpers shared by the unit tests on CPython (pytest) and on the MicroPython
# Unix port (tools/mp_test_runner.py). Plain functions only: no fixtures.
import os
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"


class Skip(Exception):
    pass


def cpython_only(fn):
    """Mark a test that needs CPython-only tooling (hypothesis, freezegun...).
    The Unix-port runner counts it as skipped."""
    if not IS_MICROPYTHON:
        return fn

    def skipped():
        raise Skip("cpython-only")

    return skipped


def raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised" % exc.__name__)


_counter = [0]
try:
    _PID = os.getpid()
except AttributeError:  # MicroPython Unix port has no getpid
    import random
    _PID = random.getrandbits(30)


def tmpdir(tag="t"):
    """A fresh empty directory under /tmp (both runtimes)."""
    _counter[0] += 1
    base = "/tmp/evse-test-%d-%s-%d" % (_PID, tag, _counter[0])
    rmtree(base)
    os.mkdir(base)
    return base


def rmtree(path):
    try:
        entries = os.listdir(path)
    except OSError:
        try:
            os.remove(path)
        except OSError:
            pass
        return
    for e in entries:
        rmtree(path + "/" + e)
    try:
        os.rmdir(path)
    except OSError:
        pass


def walk_py(d):
    """The .py files under folder d (paths with "/"), on CPython and MicroPython
    (no os.walk there)."""
    out = []
    for n in os.listdir(d):
        p = d + "/" + n
        if n == "__pycache__":
            continue
        try:
            os.listdir(p)
            out.extend(walk_py(p))
        except OSError:
            if n.endswith(".py"):
                out.append(p)
    return out


class DictConfig:
    """A configuration fake over a dict (self.values): get, and set that
    tells the listeners subscribe() registered, as evse.config.store does."""

    def __init__(self, values: dict) -> None:
        self.values = values
        self.listeners = []     # type: list

    def get(self, name):
        return self.values[name]          # KeyError on a misspelt key

    def subscribe(self, fn, keys=None) -> None:
        self.listeners.append((fn, keys))

    def set(self, name, value) -> None:
        self.values[name] = value
        for fn, keys in self.listeners:
            if keys is None or name in keys:
                fn(name)
