"""Stage 10, bring-up and verify: the Ansible run of a phase (run), through ansible-runner
(runner), with what the model expects of each host (expect) and the verification report
(report).
"""
