"""Stage 12, command line: the parser and one module per command group."""
