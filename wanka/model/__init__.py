"""Stage 2, model: the typed, immutable cluster (types) and the builder that makes it from a
schema-valid document, naming and numbering its parts (build).
"""
