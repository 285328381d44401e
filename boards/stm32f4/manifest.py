# Freeze the firmware package and this board's boot files into the image.
metadata(description="micro-evse smart charging controller", version="0.1.0")
include("$(PORT_DIR)/boards/manifest.py")
package("evse", base_path="$(MPY_DIR)/../micro-evse/firmware", opt=2)
module("pins.py", base_path=".")
module("main.py", base_path=".")
