"""`wanka lab`: the emulated cluster on one machine (namespaces, veth, FRR, lldpd)."""
