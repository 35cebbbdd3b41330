"""Render: write everything derived from the model into an output directory.

    DIR/plan.json                      the plan (as `wanka plan --format json`)
    DIR/cabling.csv                    one row per cable end pair
    DIR/ansible/inventory.yml          static inventory (see inventory.py)
    DIR/ansible/group_vars/all/*.yml   cluster, network, software, credentials (references)
    DIR/ansible/group_vars/npu_sw_<set>/software.yml   an npu_sets entry's software
    DIR/mirror/<family>-<arch>.repo|.sources   the local mirror's OS repository (dnf, APT)
    DIR/fabric/<switch>/frr.conf       Debian/FRR routed switch: FRR's configuration
    DIR/fabric/<switch>/daemons        ... and /etc/frr/daemons (bgpd, bfdd on)
    DIR/fabric/<switch>/config_db.json SONiC routed switch: ports, interfaces, QoS (CONFIG_DB)
    DIR/fabric/<switch>/bgpd.conf      ... and bgpd's configuration (split routing mode)
    DIR/fabric/<switch>/vrp.cfg        Huawei VRP routed switch: its configuration (replace)
    DIR/nodes/<host>/network.json      host network configuration (bonds, addresses, routes)
    DIR/nodes/<host>/NetworkManager/wanka-<ifname>.nmconnection   ... as NetworkManager keyfiles
                                       (openEuler, Kylin)
    DIR/nodes/<host>/netplan/90-wanka.yaml                         ... as netplan (Ubuntu)
    DIR/nodes/<server>/hccn.conf       NPU RoCE addressing (/etc/hccn.conf)
    DIR/hccl/<phase>/<pod>[-snNN].json HCCL rank tables

Output is deterministic (a re-render is byte-identical) and atomic: files are
written into a temporary sibling directory which then replaces DIR in one
rename; if anything fails, DIR is left as it was.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator

import yaml

from wanka import jsonfmt
from wanka.derive import hccn, routing
from wanka.derive.bundle import Derived
from wanka.outdir import write_tree
from wanka.render import frr, hostnet, inventory, mirror, ranktable, sonic, vrp
from wanka.render import hccn as hccn_render
from wanka.review import plan

try:  # libyaml's emitter: the inventory of a 50,000-card cluster is large
    from yaml import CSafeDumper as Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as Dumper  # type: ignore[assignment]

CABLING_COLUMNS = (
    "cable_id",
    "plane",
    "a_device",
    "a_port",
    "a_ifname",
    "b_device",
    "b_port",
    "b_ifname",
    "speed",
    "media",
    "length_m",
    "breakout",
)


def dump_yaml(data: object) -> str:
    return yaml.dump(
        data, Dumper=Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=120
    )


def files(d: Derived, phase: str | None = None) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every rendered file, in a stable order."""
    c = d.cluster
    if phase is not None:
        c.require_phase(phase)
    nodes = [n for n in c.nodes if phase is None or n.pod.phase.name == phase]
    switches = [s for s in c.switches if phase is None or s.pod.phase.name == phase]
    names = {n.name for n in nodes} | {s.name for s in switches}

    yield "plan.json", jsonfmt.dumps(plan.build_plan(d, phase))
    yield "cabling.csv", cabling_csv(d, names if phase is not None else None)
    yield "ansible/inventory.yml", dump_yaml(inventory.inventory(d, nodes, switches))
    for topic, doc in inventory.group_vars(d).items():
        yield f"ansible/group_vars/all/{topic}.yml", dump_yaml(doc)
    for name, doc in inventory.set_group_vars(d).items():
        yield f"ansible/group_vars/{name}/software.yml", dump_yaml(doc)
    for _family, _arch, path, text in mirror.repo_files(c):  # the local mirror's OS repository
        yield path, text

    configs = routing.switch_routing(d)
    for sw in switches:
        r = configs.get(sw.name)
        if r is None:
            continue
        if r.os == "sonic":
            yield f"fabric/{sw.name}/bgpd.conf", sonic.render_bgpd(r)
            yield f"fabric/{sw.name}/config_db.json", sonic.dumps(sonic.config_db(r))
        elif r.os == "vrp":
            yield f"fabric/{sw.name}/vrp.cfg", vrp.render_vrp(r, sw.model.max_frame)
        else:
            yield f"fabric/{sw.name}/daemons", frr.render_daemons(r)
            yield f"fabric/{sw.name}/frr.conf", frr.render_frr(r)
    for node in nodes:
        net = inventory.node_network(d, node)
        yield f"nodes/{node.name}/network.json", jsonfmt.dumps(net)
        for rel, text in hostnet.host_files(net):
            yield f"nodes/{node.name}/{rel}", text
        if node.model.accelerator is not None:
            devices = hccn.hccn_devices(d, node)
            if devices:
                yield (
                    f"nodes/{node.name}/hccn.conf",
                    hccn_render.render_hccn(devices, node.model.accelerator.generation),
                )
    for path, table in sorted(ranktable.rank_tables(d).items()):
        if phase is None or path.split("/")[1] == phase:
            yield path, ranktable.dumps(table)


def cabling_csv(d: Derived, only: set[str] | None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CABLING_COLUMNS)
    for c in d.cabling.cables:
        if only is not None and c.a.device not in only and c.b.device not in only:
            continue
        w.writerow(
            (
                c.id,
                c.plane,
                c.a.device,
                c.a.port,
                c.a.ifname,
                c.b.device,
                c.b.port,
                c.b.ifname,
                f"{c.speed}G",
                c.media,
                c.length_m,
                c.breakout or "",
            )
        )
    return buf.getvalue()


def write(
    d: Derived,
    out: str | os.PathLike[str],
    phase: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Render into `out` atomically; return the number of files written."""
    return write_tree(files(d, phase), out, progress)
