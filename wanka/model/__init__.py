"""Stage 2, model: the typed, immutable cluster (types) and the builder that makes it from a
schema-valid document in parts, one thing each (build, builders), naming and numbering its parts.
"""
