"""Stage 3, derive: everything that follows from the model — topology, ipam, addresses, cabling,
routing and hccn data — bundled as `Derived` (bundle).
"""
