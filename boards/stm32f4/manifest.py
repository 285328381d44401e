# Freeze the firmware package (no simulator modules) and this board's boot
# files into the image.
# Relative paths are relative to this file (the manifest tool runs it from
# its own folder), so the checkout can live anywhere; the port's own manifest
# brings asyncio and the port's bundled modules.
metadata(description="micro-evse smart charging controller", version="0.1.0")
include("$(PORT_DIR)/boards/manifest.py")
include("../evse_manifest.py")     # the evse package without the simulator
module("pins.py")
module("main.py")
