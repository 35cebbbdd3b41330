"""Stage 1, language: the cluster file as text — strict YAML with positions (loader), YAML
syntax errors in plain words with an excerpt (syntax), includes (document), the JSON Schema
(schema), did-you-mean hints (positions), files at a git revision (gitrev).
"""
