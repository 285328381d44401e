# Runs the unit suite (host_tests/unit/test_*.py) inside the MicroPython Unix
# port: the same files pytest runs on CPython. Plain `def test_*()` functions;
# a file whose first line is "# cpython-only" and tests wrapped with
# support.cpython_only are counted as skipped. Prints "N passed, N failed, N skipped"
# and exits 1 on any failure or when nothing passed.
#
#   MICROPYPATH=firmware:host_tests/unit micropython tools/mp_test_runner.py [files...]
import os
import sys

if ".frozen" not in sys.path:  # MICROPYPATH replaces the default path
    sys.path.append(".frozen")

UNIT = "host_tests/unit"


def test_files(argv):
    if argv:
        return argv
    return sorted(UNIT + "/" + n for n in os.listdir(UNIT) if n.startswith("test_") and n.endswith(".py"))


def count_tests(path):
    n = 0
    with open(path) as f:
        for line in f:
            if line.startswith("def test_"):
                n += 1
    return n


def main():
    import support

    passed = failed = skipped = 0
    failures = []
    for path in test_files(sys.argv[1:]):
        with open(path) as f:
            first = f.readline()
        if first.startswith("# cpython-only"):
            skipped += count_tests(path)
            continue
        modname = path.rsplit("/", 1)[-1][:-3]
        try:
            mod = __import__(modname)
        except Exception as e:
            failed += 1
            failures.append((path, "import", e))
            sys.print_exception(e)
            continue
        names = sorted(n for n in dir(mod) if n.startswith("test_"))
        for name in names:
            fn = getattr(mod, name)
            if not callable(fn):
                continue
            try:
                fn()
                passed += 1
            except support.Skip:
                skipped += 1
            except Exception as e:
                failed += 1
                failures.append((path, name, e))
                print("FAIL %s::%s" % (path, name))
                sys.print_exception(e)  # type: ignore[attr-defined]
    for path, name, err in failures:
        print("FAILED %s::%s - %r" % (path, name, err))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed or passed == 0:
        sys.exit(1)


main()
