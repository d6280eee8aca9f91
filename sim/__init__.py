"""Pure, seeded models of the IOC's feeds: no I/O beyond reading packaged data.

Same profile, scenario and seed give the same events, byte for byte.
"""
