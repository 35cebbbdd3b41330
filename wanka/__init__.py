"""wanka: infrastructure as code for 10,000-card AI training clusters.

One package per stage, in the order data flows; a module imports only from its own
stage or an earlier one (docs/architecture.md, tests/test_architecture.py):
language (strict YAML, includes, schema) -> model -> derive -> rules (validate)
-> pipeline (the one way in) -> review (plan, diff, report) -> render -> drivers
-> lab -> bringup -> pulumi -> cli. The small shared leaves sit at the top.
"""

__version__ = "0.1.0"
