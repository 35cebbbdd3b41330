"""Dynamic providers, pure Python: the physical state of a cluster as Pulumi resources.

Three resources, each a `pulumi.dynamic.Resource` with its provider, each in a module of its
own (`baremetal`, `switchconfig`, `bringupbatch`; `common` holds what they share). Their type
tokens read `pulumi-python:dynamic/wanka:BareMetalNode`, `.../wanka:SwitchConfig`,
`.../wanka:BringupBatch`:

- `BareMetalNode`: one server's BMC through Redfish (`wanka.drivers.redfish`, the client the lab and
  the Ansible `bmc` role use): power, boot source override, boot mode, BIOS attributes.
  `create` and `update` change only what differs, then wait for the power state; `read`
  reports what the BMC says (drift shows in `pulumi refresh`); `delete` powers the server
  off. A BMC that does not answer within `timeout` raises `BmcUnreachable` before anything
  is returned, so the engine records nothing (create) or keeps the old state (update).
- `SwitchConfig`: one switch's rendered frr.conf applied with `wanka.drivers.switch` (the
  client the fabric role uses) through a transport, `ssh` (real switches: the credential
  reference, a checked host key) or `netns` (the lab), by the applier of its OS: refused when
  vtysh cannot parse it, `frr-reload.py --test`'s diff, `--reload`, checked, and the previous
  configuration put back when the switch refuses a line or the check fails; `read` asks
  `--test` for the difference between the running configuration and the recorded one and,
  when there is one, reports the running configuration (drift).
- `BringupBatch`: the Ansible bring-up of a batch of nodes through `wanka.bringup.run.run_playbook`;
  the batches of one stack share one prepared run (`wanka.bringup.prepare.shared`, under
  `outDir/.prepared/`: the phase rendered once, not once a rack), each running its own nodes;
  replaced when its inputs change (nodes, software versions, cluster file), exporting the
  batch's verification summary; a failed bring-up raises, so it is retried on the next up.

The providers hold no state and no credentials (`serialize_as_secret_always = False`): they
are pickled by reference, module-level classes whose clients are built inside each method.
State recorded before the split names `wanka.pulumi.providers.<Provider>`: the names stay
importable from here, so such state still unpickles.
Credentials reach them as secret inputs (the BMC password) and leave as secret outputs.
"""

from __future__ import annotations

from wanka.pulumi.providers.baremetal import (
    BMC_ACCESS,
    BMC_STATE,
    BareMetalNode,
    BareMetalNodeProvider,
)
from wanka.pulumi.providers.bringupbatch import (
    BATCH_INPUTS,
    PREPARED,
    BringupBatch,
    BringupBatchProvider,
    _summary,
)
from wanka.pulumi.providers.common import UNKNOWN, ProviderError, changed
from wanka.pulumi.providers.switchconfig import (
    FRR_RELOAD,
    SwitchConfig,
    SwitchConfigProvider,
    config_diff,
)

__all__ = [
    "BATCH_INPUTS",
    "BMC_ACCESS",
    "BMC_STATE",
    "FRR_RELOAD",
    "PREPARED",
    "PROVIDERS",
    "UNKNOWN",
    "BareMetalNode",
    "BareMetalNodeProvider",
    "BringupBatch",
    "BringupBatchProvider",
    "ProviderError",
    "SwitchConfig",
    "SwitchConfigProvider",
    "_summary",
    "changed",
    "config_diff",
]

PROVIDERS = (BareMetalNodeProvider, SwitchConfigProvider, BringupBatchProvider)
