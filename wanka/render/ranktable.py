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

super_device_id and super_pod_id are hardware ids: a real SuperPoD reports each die's SDID
(and its Super Pod ID) in `npu-smi info -t spod-info`, and HCCL links dies by them (a wrong
SDID: "wait socket establish timeout"). The tables bring-up writes after verify take them
from what verify read on every server (`hardware`: its `spod-info` results). Rendered
before any hardware answered (`wanka render`), a table is a plan: super_device_id is then
(server index in its supernode) x (devices per server) + device id and super_pod_id the
supernode index in the pod, placeholders a job must not use.

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


Hardware = dict[str, dict[int, tuple[int, int]]]  # node -> device -> (SDID, Super Pod ID)


def rank_tables(
    d: Derived, *, only: set[str] | None = None, hardware: Hardware | None = None
) -> dict[str, Table]:
    """Relative output path -> rank table, for every pod with NPU servers; A3 ids from
    `hardware` when given (an A3 server it has no ids of is left out)."""
    out: dict[str, Table] = {}
    for pod in d.cluster.pods:
        servers = [n for n in pod.nodes if is_npu_server(d.cluster, n)]
        if not servers:
            continue
        gen = _pod_generation(pod, servers)
        listed = [n for n in servers if not n.excluded and (only is None or n.name in only)]
        if gen == "A3" and hardware is not None:
            listed = [n for n in listed if n.name in hardware]
        base = f"hccl/{pod.phase.name}/{pod.name}"
        if gen == "A2":
            if listed:
                out[f"{base}.json"] = _table_v10(d, listed)
            continue
        ids = hardware if hardware is not None else _planned_ids(d, servers)
        if listed:
            out[f"{base}.json"] = _table_v12(d, listed, ids)
        for sn in sorted({_supernode(n) for n in servers}):
            members = [n for n in listed if _supernode(n) == sn]
            if members:
                out[f"{base}-sn{sn + 1:02d}.json"] = _table_v12(d, members, ids)
    return out


def job_table(d: Derived, servers: list[Node], hardware: Hardware | None = None) -> Table:
    """One table over `servers` (of one generation), whatever their pods and supernodes:
    a job's table. A3: one super_pod_list entry per SuperPoD, ids from `hardware` (every A3
    server must have them: ValueError names the first that has none)."""
    gens = {generation(n) for n in servers}
    if len(gens) != 1:
        raise ValueError(f"a job's servers mix NPU generations {sorted(map(str, gens))}")
    if gens == {"A2"}:
        return _table_v10(d, servers)
    ids = hardware if hardware is not None else _planned_ids(d, servers)
    missing = [n.name for n in servers if n.name not in ids]
    if missing:
        raise ValueError(f"no spod-info ids of {missing[0]} (verify it first)")
    return _table_v12(d, servers, ids)


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


def _planned_ids(d: Derived, servers: list[Node]) -> Hardware:
    """The placeholder ids of a table rendered before the hardware answered (see the module
    docstring)."""
    seen: dict[int, int] = {}
    out: Hardware = {}
    for n in servers:
        sn = _supernode(n)
        index = seen.get(sn, 0)
        seen[sn] = index + 1
        count = len(npu_addresses(d, n))
        out[n.name] = {dev: (index * count + dev, sn) for dev in range(count)}
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


def _table_v12(d: Derived, servers: list[Node], ids: Hardware) -> Table:
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
                    "super_device_id": str(ids[n.name][device][0]),
                    "rank_id": str(rank),
                }
            )
            rank += 1
        server_list.append({"server_id": host, "host_ip": host, "device": devices})
        pod_id = next(iter(ids[n.name].values()))[1]
        super_pods.setdefault(pod_id, []).append({"server_id": host})
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
