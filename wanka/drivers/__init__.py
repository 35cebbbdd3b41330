"""Stage 8, drivers: clients of real equipment shared by the lab, bring-up and the Pulumi providers
(redfish: a server's BMC).
"""
