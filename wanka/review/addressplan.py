"""Address plan of a plan: ASN blocks per phase, loopbacks, subnets per plane."""

from __future__ import annotations

from collections import Counter

from wanka.derive.bundle import Derived
from wanka.jsonfmt import Json
from wanka.review.capacity import Scope, in_scope, pct


def asn_ranges(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Per phase: the ASN block `asns_per_phase` sets aside and the ASNs its switches use."""
    sc = in_scope(d, sc)
    bgp = d.cluster.bgp
    out: list[Json] = []
    for ph in sc.phases:
        asns = sorted({s.asn for s in sc.switches if s.pod.phase is ph and s.asn is not None})
        row: Json = {"phase": ph.name}
        if bgp is not None:
            first = bgp.asn_base + ph.index * bgp.asns_per_phase
            row.update({"block_first": first, "block_last": first + bgp.asns_per_phase - 1})
        else:
            row.update({"block_first": None, "block_last": None})
        row.update(
            {
                "used": len(asns),
                "first": asns[0] if asns else None,
                "last": asns[-1] if asns else None,
                "switches": sum(1 for s in sc.switches if s.pod.phase is ph and s.asn is not None),
            }
        )
        out.append(row)
    return out


def loopbacks(d: Derived, sc: Scope | None = None) -> Json:
    """The loopback range and the router ids taken in scope."""
    sc = in_scope(d, sc)
    net = d.cluster.loopbacks
    ips = sorted(ip for name, ip in d.addressing.loopbacks.items() if name in sc.devices)
    return {
        "cidr": str(net) if net is not None else None,
        "size": net.num_addresses if net is not None else 0,
        "used": len(ips),
        "first": str(ips[0]) if ips else None,
        "last": str(ips[-1]) if ips else None,
        "use_pct": pct(len(ips), net.num_addresses) if net is not None else None,
    }


def addresses(d: Derived, sc: Scope | None = None) -> list[Json]:
    """Per plane: subnets, addresses used (hosts and gateways), addresses allocated in
    subnets, the plane's size, and every subnet with its use."""
    sc = in_scope(d, sc)
    a = d.addressing
    owners = sc.devices | {p.name for p in sc.pods}
    used: Counter[tuple[str, str]] = Counter()  # (plane, subnet owner) -> host addresses
    pod_of = {n.name: n.pod.name for n in sc.nodes}
    for (node, plane_name, _), sub in a.port_subnet.items():
        if node in pod_of:
            used[(plane_name, sub.owner)] += 1
    for node, plane_name in a.bonds:
        if node in pod_of:
            used[(plane_name, pod_of[node])] += 1
    oob = next((p.name for p in d.cluster.planes.values() if p.role == "oob" and p.fabric), None)
    if oob is not None:
        for node in a.bmcs:
            if node in pod_of:
                used[(oob, pod_of[node])] += 1
    out: list[Json] = []
    for plane in d.cluster.planes.values():
        if plane.cidr is None:
            continue
        subs = [s for s in a.subnets if s.plane == plane.name and s.owner in owners]
        hosts = sum(used[(plane.name, s.owner)] for s in subs)
        allocated = sum(s.network.num_addresses for s in subs)
        size = plane.cidr.num_addresses
        out.append(
            {
                "plane": plane.name,
                "role": plane.role,
                "cidr": str(plane.cidr),
                "subnets": len(subs),
                "hosts": hosts,
                "used": hosts + len(subs),
                "allocated": allocated,
                "size": size,
                "use_pct": pct(allocated, size),
                "fill_pct": pct(hosts + len(subs), allocated),
                "first": str(subs[0].network) if subs else None,
                "last": str(subs[-1].network) if subs else None,
                "networks": [
                    {
                        "owner": s.owner,
                        "network": str(s.network),
                        "gateway": str(s.gateway),
                        "hosts": used[(plane.name, s.owner)],
                        "size": s.network.num_addresses,
                    }
                    for s in subs
                ],
            }
        )
    return out
