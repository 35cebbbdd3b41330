"""Stage 9, lab: the emulated cluster on one machine (`wanka lab`: namespaces, veth, FRR, lldpd,
BMCs, servers and their tools).
"""
