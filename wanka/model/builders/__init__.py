"""The parts of the model builder (`wanka.model.build`), one a module, each building one thing.

`build` calls them in this order, each taking what the earlier ones made:
`catalog` (the models of accelerators, nodes, switches and racks), `networks` (the
planes, loopbacks and BGP numbering), `layout` (halls and rows), `manifest` (the facts
pinned per node and switch), `phases`, `software` (the OS images, NPU sets, mirror and
credentials), then `pods` (each placed in a row, numbered in slot order) whose racks,
nodes and switches `racks` fills in. `problems` is what they report to: findings, and
whether a part of the cluster could not be built.
"""
