"""Stage 8, drivers: clients of real equipment (redfish: a server's BMC; switch: a switch's
configuration over SSH), used by the bring-up's Ansible modules (on the controller),
`wanka lab power`, the lab's tests and the Pulumi providers.
"""
