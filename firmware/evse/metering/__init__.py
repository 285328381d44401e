# Energy meters of the connectors (manual 4.4 MeterType, MeterPulseCount):
#
#   rtu       Modbus RTU master, synchronous core: CRC-16/MODBUS, function
#             03/04 requests and replies in preallocated buffers, timeouts,
#             retries, exception replies, error counters
#   regmap    the register table per MeterType (generated from the gathered
#             register data by tools/gen_meter_map.py) and the refusals
#   decode    raw register words -> engineering values; request planning
#   modbus_meter  one meter at one Modbus address, polled through a shared
#             RtuMaster (several meters on one bus take turns)
#   pulse     S0 pulse meter (MeterType 3): counts pulses of a HAL input
#   factory   builds the meters the configuration asks for
#   refused   RefusedMeter, for a MeterType the firmware cannot read
#   shell     thin async shell: starts/stops the transport, and on the
#             virtual clock waits (real time, bounded) for a reply in flight
#
# Every meter offers what the built-in simulated meter (evsesim.hal.sim_meter)
# offers: ok(), energy_wh(), current_a(phase), current_da(phase) (deci-amps,
# an int), voltage_v(phase), power_w(),
# update(now_ms), next_deadline_ms(now_ms), set_fault(name, active),
# set_grid(volts), save(now_ms, final=False), persist(now_ms) (a reading is
# about to be reported: keep the register on storage at least that high);
# plus info() (why ok() is False, for the StatusNotification info field; ""
# while nothing failed yet) and has(measurand, phase).
