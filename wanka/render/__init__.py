"""Stage 7, render: the generated files — inventory, frr.conf, hccn.conf, rank tables — and the
tree of them written by `wanka render` (files).
"""
