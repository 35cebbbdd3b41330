"""HCCL rank tables: which NPU device of which server holds which rank of a job.

Tables are written per pod, as `hccl/<phase>/<pod>.json`; A3 pods also get one per
supernode, `hccl/<phase>/<pod>-snNN.json` (NN = supernode index in the pod + 1), so a
job can span one SuperPoD or the whole pod. Pods without NPU servers have none.

  A2 pods: version 1.0.
  A3 pods: version 1.2, which adds per server `host_ip`, per device `super_device_id`
           and the top-level `super_pod_list` (one entry per supernode, `super_pod_id`
           = the supernode index in the pod). The optional `hardware_type` is left out:
           the model does not know the string HCCL expects there.

Every value is a string. Servers come in model order (rack, then unit), devices by
device id; rank_id runs 0..N-1 over each table and server_count is the number of
servers listed. `server_id` and `host_ip` are the server's address on its management
plane; `device_ip` is its device's address on its parameter plane, the one hccn.conf sets
(both read `wanka.derive.hccn.npu_addresses`). A cluster with several parameter planes
(one per phase or generation) has each pod's servers on theirs.

super_device_id = (server index in its supernode) x (devices per server) + device id,
the server index counting every server of the supernode in model order, excluded or
not: unique within a supernode and stable when servers drop out of a table. (Real
SuperPoDs report a hardware SDID in `npu-smi info -t spod-info`; a bring-up step that
reads it may replace this value.)

Excluded nodes (manifest `exclude`) are never listed; with `only`, neither are nodes
outside that set (bring-up re-renders the tables with the nodes that passed
verification). Rank ids stay contiguous; a table left with no server is not written.
"""

from __future__ import annotations

from wanka import jsonfmt
from wanka.derive.bundle import Derived
from wanka.derive.hccn import (
    generation,
    is_npu_server,
    management_address,
    npu_addresses,
)
from wanka.jsonfmt import Json
from wanka.model.types import Node, Pod

Table = Json  # one rank table, as JSON

VERSIONS = {"A2": "1.0", "A3": "1.2"}


def rank_tables(d: Derived, *, only: set[str] | None = None) -> dict[str, Table]:
    """Relative output path -> rank table, for every pod with NPU servers."""
    out: dict[str, Table] = {}
    for pod in d.cluster.pods:
        servers = [n for n in pod.nodes if is_npu_server(d.cluster, n)]
        if not servers:
            continue
        gen = _pod_generation(pod, servers)
        listed = [n for n in servers if not n.excluded and (only is None or n.name in only)]
        base = f"hccl/{pod.phase.name}/{pod.name}"
        if gen == "A2":
            if listed:
                out[f"{base}.json"] = _table_v10(d, listed)
            continue
        sdid_base = _super_device_bases(d, servers)
        if listed:
            out[f"{base}.json"] = _table_v12(d, listed, sdid_base)
        for sn in sorted({_supernode(n) for n in servers}):
            members = [n for n in listed if _supernode(n) == sn]
            if members:
                out[f"{base}-sn{sn + 1:02d}.json"] = _table_v12(d, members, sdid_base)
    return out


def dumps(table: Table) -> str:
    """The file text: indented, one device per line, keys in the order they were built."""
    return jsonfmt.dumps(table)


def _pod_generation(pod: Pod, servers: list[Node]) -> str:
    gens = {generation(n) for n in servers}
    if len(gens) != 1:
        raise ValueError(f"pod '{pod.name}' mixes NPU generations {sorted(gens)}")
    gen = gens.pop()
    if gen not in VERSIONS:
        raise ValueError(f"pod '{pod.name}': no rank table format for generation {gen}")
    return gen


def _supernode(node: Node) -> int:
    return node.supernode if node.supernode is not None else 0


def _super_device_bases(d: Derived, servers: list[Node]) -> dict[str, int]:
    """Server name -> first super_device_id of the server (see the module docstring)."""
    seen: dict[int, int] = {}
    out: dict[str, int] = {}
    for n in servers:
        sn = _supernode(n)
        index = seen.get(sn, 0)
        seen[sn] = index + 1
        out[n.name] = index * len(npu_addresses(d, n))
    return out


def _host_address(d: Derived, node: Node) -> str:
    ip = management_address(d, node)
    if ip is None:  # NPU-MGMT refuses such a server
        raise ValueError(f"{node.name} has no management-plane address for its rank table")
    return str(ip)


def _table_v10(d: Derived, servers: list[Node]) -> Table:
    rank = 0
    server_list = []
    for n in servers:
        devices = []
        for device, ip, _ in npu_addresses(d, n):
            devices.append({"device_id": str(device), "device_ip": str(ip), "rank_id": str(rank)})
            rank += 1
        server_list.append(
            {"server_id": _host_address(d, n), "host_nic_ip": "reserve", "device": devices}
        )
    return {
        "version": VERSIONS["A2"],
        "server_count": str(len(server_list)),
        "status": "completed",
        "server_list": server_list,
    }


def _table_v12(d: Derived, servers: list[Node], sdid_base: dict[str, int]) -> Table:
    rank = 0
    server_list = []
    super_pods: dict[int, list[dict[str, str]]] = {}
    for n in servers:
        host = _host_address(d, n)
        devices = []
        for device, ip, _ in npu_addresses(d, n):
            devices.append(
                {
                    "device_id": str(device),
                    "device_ip": str(ip),
                    "super_device_id": str(sdid_base[n.name] + device),
                    "rank_id": str(rank),
                }
            )
            rank += 1
        server_list.append({"server_id": host, "host_ip": host, "device": devices})
        super_pods.setdefault(_supernode(n), []).append({"server_id": host})
    return {
        "version": VERSIONS["A3"],
        "server_count": str(len(server_list)),
        "status": "completed",
        "server_list": server_list,
        "super_pod_list": [
            {"super_pod_id": str(sn), "server_list": members}
            for sn, members in sorted(super_pods.items())
        ],
    }
