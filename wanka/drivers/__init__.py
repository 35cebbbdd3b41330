"""Stage 8, drivers: clients of real equipment (redfish: a server's BMC), used by the
bring-up's Ansible bmc module (on the controller), `wanka lab power` and the Pulumi providers.
"""
