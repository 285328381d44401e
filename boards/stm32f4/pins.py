# NUCLEO-F429ZI wiring of one SSCU-style connector (+ optional second for DSCU).
# Calibration: cp_k maps ADC u16 to pilot mV through the sense divider.
CONNECTORS = [
    {"cp_pwm": "A8", "cp_adc": "A0", "pp_adc": "A1", "lock_a": "E9", "lock_b": "E11",
     "lock_sw": "E13", "plug_sw": "E14", "relay": "G2", "relay_sense": "G3",
     "led_r": "B0", "led_g": "B1", "led_b": "B14", "cp_k": (24000, 65535, -12000),
     "pp_pullup_ohm": 1000},
]
STATION = {"ccid_test": "D0", "ccid_fault": "D1", "ext1": "F13", "ext2": "F14",
           "vmain_adc": "C0", "v3v3_adc": "C3", "vbuff_adc": "A3", "temp_adc": "F3",
           "buzzer": "D14"}
STATE_ROOT = "/flash/state"
# OCPP journal byte budget (log + compaction copy) on the flash FS
JOURNAL_BYTES = 32768
# Network (evse.hal.netif): the on-board Ethernet PHY, connection 1
# (PrimaryConnection / SecondaryConnection); network.LAN() takes no arguments.
# No WLAN on this board: connection 0 (mobile) is skipped.
LAN = {}
# The safety tick's timer (evse.hal.ticker, 10 ms): machine.Timer(-1), the
# port's soft timer (its callback is already scheduled; the ticker goes
# through micropython.schedule either way)
TICK_TIMER = -1
