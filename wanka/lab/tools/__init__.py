"""Emulated device tools of a lab server: npu-smi, hccn_tool, nvme, lscpu and the Ascend
installers, one module each; `dispatch` is the entry point.

Every lab server (a network namespace) runs these in place of the real tools, through
wrappers on its PATH that exec `python -m wanka.lab.tools TOOL ARGS...`. They print the real
tools' formats (captures in the reference: `npu-smi info` of a 910B and a 910C board,
`-t board`, `-t health`, `-t topo`, hccn_tool one-liners, nvme-cli 1.x `nvme list`,
util-linux lscpu) with values from the server's hardware profile (`wanka.lab.profile`).
What they share (profile, state directory, installed versions, errors) is in `server`;
what hccn_tool does on the server's real interfaces is in `port`.

Exit codes: 0 on success; 1 on a failed operation; 2 on bad arguments (with a message
on stderr).
"""
