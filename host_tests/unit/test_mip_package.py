# firmware/package.json: the firmware as a micropython-lib style package, so
# that `mip.install("github:OWNER/REPO/firmware")` (or `mpremote mip install`)
# copies the evse package onto a board's filesystem (docs/firmware-update.md,
# mip). Its urls are relative to the package.json, so the same file works from
# any fork or branch; they must be exactly the modules a board freezes
# (boards/evse_manifest.py), and its version the firmware's.
import json

from manifest_rig import Manifest
from support import cpython_only


def package() -> dict:
    with open("firmware/package.json") as f:
        return json.load(f)


def test_the_mip_package_lists_every_board_module_and_nothing_else():
    urls = package()["urls"]
    frozen = sorted(Manifest().run("boards/evse_manifest.py").frozen)
    assert sorted(t for t, _ in urls) == frozen
    # each target is fetched from the file of the same path beside package.json
    assert [u for t, u in urls if t != u] == []


def test_the_mip_package_has_the_firmware_version():
    from evse import VERSION
    assert package()["version"] == VERSION


@cpython_only
def test_every_url_of_the_mip_package_is_a_file_of_the_repository():
    import os
    missing = [u for _, u in package()["urls"] if not os.path.isfile("firmware/" + u)]
    assert missing == []
