"""Build the model from a schema-valid document.

Resolves every reference (models, rack types, planes, pod types, halls, rows, phases,
manifest keys) and expands the compact declarations: phases add pods, pods are made of
racks, racks hold nodes and switches, named in declaration order (`wanka.model.names`) and
numbered as they are built (ASNs and rails: `wanka.model.numbering`).

`build` is the order of the parts (`wanka.model.builders`), each building one thing from
the document and what the parts before it built; the cluster is made once, from all of
them, and is not changed after.

Problems found while building (unknown names, duplicate names, no room in a row) are
returned as findings; what cannot be resolved is left out so the rules can still check the
rest.
"""

from __future__ import annotations

from wanka.findings import Finding, unique
from wanka.language.loader import YMap
from wanka.model.builders.catalog import build_catalog
from wanka.model.builders.layout import build_layout
from wanka.model.builders.manifest import build_manifest, check_manifest_keys
from wanka.model.builders.networks import build_networks
from wanka.model.builders.phases import build_phases
from wanka.model.builders.pods import build_pods
from wanka.model.builders.problems import Problems
from wanka.model.builders.software import build_bmc_tls, build_credentials, build_software
from wanka.model.facility import build_facility
from wanka.model.names import check_names
from wanka.model.types import Cluster


def build(data: YMap, files: list[str]) -> tuple[Cluster, list[Finding]]:
    """The model of a schema-valid document, and the problems found building it."""
    spec = data["spec"]
    meta = data["metadata"]
    problems = Problems()
    catalog = build_catalog(spec=spec, problems=problems)
    networks = build_networks(spec=spec, catalog=catalog, problems=problems)
    layout = build_layout(spec=spec, problems=problems)
    manifest = build_manifest(spec=spec, problems=problems)
    phases = build_phases(spec=spec, problems=problems)
    software = build_software(spec=spec, phases=phases.phases, problems=problems)
    credentials = build_credentials(spec=spec)
    bmc_tls = build_bmc_tls(spec=spec)
    expansion = build_pods(
        spec=spec,
        cluster_name=meta["name"],
        catalog=catalog,
        networks=networks,
        layout=layout,
        manifest=manifest,
        phases=phases,
        problems=problems,
    )
    cluster = Cluster(
        name=meta["name"],
        labels=dict(meta.get("labels", {})),
        files=files,
        at=data.at,
        precision=spec.get("capacity", {}).get("precision", "fp16"),
        accelerators=catalog.accelerators,
        node_models=catalog.node_models,
        switch_models=catalog.switch_models,
        rack_types=catalog.rack_types,
        planes=networks.planes,
        loopbacks=networks.loopbacks,
        loopbacks_at=networks.loopbacks_at,
        links=networks.links,
        links_at=networks.links_at,
        bgp=networks.bgp,
        software=software,
        credentials=credentials,
        bmc_tls=bmc_tls,
        rows=layout.rows,
        between_halls_m=layout.between_halls_m,
        phases=phases.phases,
        node_facts=manifest.node_facts,
        switch_facts=manifest.switch_facts,
        facility=build_facility(spec, layout.halls, problems.findings),
        pods=expansion.pods,
        racks=expansion.racks,
        nodes=expansion.nodes,
        switches=expansion.switches,
        slots=expansion.slots,
        all_switches=expansion.all_switches,
        complete=not problems.incomplete,
    )
    check_manifest_keys(
        manifest=manifest,
        planes=networks.planes,
        nodes=cluster.nodes,
        switches=cluster.switches,
        problems=problems,
    )
    check_names(cluster, problems.findings)
    # a bad pod type is met once per pod built from it: report each place once
    return cluster, unique(problems.findings)
