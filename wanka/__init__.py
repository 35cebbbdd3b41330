"""wanka: infrastructure as code for 10,000-card AI training clusters.

Pipeline (each a module, data flows one way):
load (loader, document) -> validate (schema, rules) -> model (build, model)
-> derive (topology, ipam, ...) -> render -> execute.
"""

__version__ = "0.1.0"
