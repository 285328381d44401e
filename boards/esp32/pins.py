# ESP32-WROOM DevKitC wiring of one or two connectors.
CONNECTORS = [
    {"cp_pwm": 25, "cp_adc": 36, "pp_adc": 39, "lock_a": 26, "lock_b": 27,
     "lock_sw": 14, "plug_sw": 12, "relay": 13, "relay_sense": 15,
     "led_r": 16, "led_g": 17, "led_b": 18, "cp_k": (24000, 65535, -12000),
     "pp_pullup_ohm": 1000},
]
STATION = {"ccid_test": 4, "ccid_fault": 5, "ext1": 32, "ext2": 33,
           "vmain_adc": 34, "v3v3_adc": 35, "temp_adc": 2, "buzzer": 19}
STATE_ROOT = "/state"
# OCPP journal byte budget (log + compaction copy) on the flash FS
JOURNAL_BYTES = 131072
# Network (evse.hal.netif): the WLAN station is connection 0 (PrimaryConnection,
# NetworkWLANSSID / NetworkWLANPassword). A board with an Ethernet PHY adds it
# as connection 1 with network.LAN's arguments, e.g. (Olimex ESP32-POE):
#   import machine, network
#   LAN = {"mdc": machine.Pin(23), "mdio": machine.Pin(18), "phy_type": network.PHY_LAN8720,
#          "phy_addr": 0, "power": machine.Pin(12)}
# WLAN = False turns the WLAN station off.
# The safety tick's timer (evse.hal.ticker, 10 ms): hardware timer 0 (group 0);
# the ESP32 port has no virtual timer (-1)
TICK_TIMER = 0
