"""Stage 10, bring-up and verify: the Ansible run of a phase (run: one `Options` in, a
`RunResult` out, in named steps), prepared once (prepare: render, inventory, expectations;
`shared` for the runs of a Pulumi stack), through ansible-runner (runner), with what the
model expects of each host (expect), the typed results (results) and the verification
report (report).
"""
