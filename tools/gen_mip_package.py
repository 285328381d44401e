"""Write firmware/package.json, the firmware as a micropython-lib style
package for `mip` (README, Boards), from boards/evse_manifest.py: one
relative url per module a board freezes, and the firmware's version.
host_tests/unit/test_mip_package.py fails when it is stale."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host_tests", "unit"))
sys.path.insert(0, os.path.join(ROOT, "firmware"))


def main() -> None:
    os.chdir(ROOT)
    from manifest_rig import Manifest
    from evse import VERSION
    frozen = sorted(Manifest().run("boards/evse_manifest.py").frozen)
    lines = ['{"version": %s,' % json.dumps(VERSION), ' "urls": [',
             ",\n".join('  ["%s", "%s"]' % (t, t) for t in frozen), " ]}"]
    text = "\n".join(lines) + "\n"
    json.loads(text)
    with open("firmware/package.json", "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
