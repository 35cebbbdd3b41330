"""Stage 11, Pulumi stacks for a cluster: pure-Python dynamic providers and the program that builds
them.

- `providers`: the dynamic providers and their resources, `BareMetalNode` (a server's BMC
  through Redfish), `SwitchConfig` (a switch's rendered frr.conf) and `BringupBatch` (the
  Ansible bring-up of a rack's nodes);
- `shards`: which stacks a phase needs (one per phase, or a fabric stack and one per pod
  when a phase holds more resources than a stack should) and their `Pulumi.<stack>.yaml`;
- `stack`: the program, run by `stacks/__main__.py` under `pulumi up` and by `preview`
  under the SDK's mocks;
- `preview`: `wanka plan --pulumi`, the resources of every stack computed with mocks.

Only `providers` is imported by the Pulumi runtime's dynamic-provider host (it unpickles the
providers by reference): it must stay importable without the rest of the pipeline loaded.
"""
