# cpython-only (runs a generator script)
# firmware/evse/metering/regmap.py is generated from ../shared/data/meter_registers.json
# by tools/gen_meter_map.py: a stale table fails here.
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_register_map_is_generated_from_the_data():
    src = os.path.join(os.path.dirname(ROOT), "shared", "data", "meter_registers.json")
    if not os.path.exists(src):
        # a checkout without shared/ beside it cannot regenerate: the table
        # must then at least import and hold the mapped types
        from evse.metering import regmap
        assert regmap
        return
    r = subprocess.run([sys.executable, "tools/gen_meter_map.py", "--check"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
