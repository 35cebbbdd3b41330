"""What `wanka lab up` prepares so the lab's servers can be powered on and reached.

- SSH (`<lab>/ssh/`): the lab's client key pair `id_ed25519` (mode 0600, never printed;
  removed by `down` with the lab directory), `authorized_keys` (that key, plus the public
  half of the cluster file's SSH credential when it is a `{file: PATH}` reference to an
  existing key), `known_hosts` (every server's host key at its management address).
- Per server (`<lab>/nodes/<node>/`): its ed25519 host key, `sshd_config` (listens on the
  management address only, keys only), the hardware profile (`profile.base.json` healthy,
  `profile.json` with the faults applied), the model's `meminfo` and `cpuinfo`.
- `<lab>/packages/`: a stand-in for each installer package the cluster names (driver per
  architecture, firmware, CANN toolkit and kernels), run on a server as `./NAME.run
  --full|--upgrade|--install`; a driver's stand-in carries the firmware range its software
  set gives it, as a real driver package carries its own (`write_packages` adds those of a
  changed model, as an operator adds the new .run files).
- The jump host: a namespace `<prefix>-jump` with, per management subnet, a veth into the
  management switch's bridge holding the subnet's gateway address (no device of the model
  holds it), like an operator's bastion. SSH from this machine goes through it
  (`wanka.lab.jump` as ProxyCommand): nothing of the lab is routed from this machine's own
  network, so labs with the same addresses run side by side.
- `<lab>/access.json`: how to reach all of it (wanka.lab.access).
"""

from __future__ import annotations

import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

from wanka.derive.bundle import Derived
from wanka.derive.routing import gateway_ifname, port_key
from wanka.lab import nodes, proc
from wanka.lab.access import Access, Server, Ssh, Switch
from wanka.lab.profile import node_profile
from wanka.lab.state import State

JUMP = "jump"  # the jump host's namespace: <prefix>-jump
JUMP_DEVICE = "(jump host)"  # its entry in the state's namespace -> device map
MEMORY_SHARE = 0.985  # MemTotal of a real server: what the firmware and kernel leave


class ProvisionError(Exception):
    pass


def keygen(path: Path, comment: str) -> str:
    """An ed25519 key pair at `path` (private, 0600) and `path.pub`; returns the public line."""
    if not path.exists():
        cmd = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]
        proc.run(cmd, error=ProvisionError)
    return path.with_suffix(".pub").read_text(encoding="utf-8").strip()


def _public_of(key: Path) -> str | None:
    pub = key.with_name(key.name + ".pub")
    if pub.is_file():
        return pub.read_text(encoding="utf-8").strip()
    r = proc.run(["ssh-keygen", "-y", "-f", str(key)], check=False)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def management_plane(d: Derived) -> str | None:
    return next((p.name for p in d.cluster.planes.values() if p.role == "management"), None)


def management_addresses(d: Derived) -> dict[str, str]:
    plane = management_plane(d)
    return {name: str(addr) for (name, pl), addr in d.addressing.bonds.items() if pl == plane}


def access_links(d: Derived) -> list[dict[str, Any]]:
    """Per management subnet: the jump host's end (`mgmtN`, the gateway address) and the
    switch end (`uplink-jump`, into the bridge of the switch the servers' first management
    port is cabled to)."""
    plane = management_plane(d)
    if plane is None:
        return []
    first: dict[str, tuple[str, str]] = {}  # node -> (port, switch)
    for c in d.cabling.cables:
        if c.plane != plane:
            continue
        cur = first.get(c.a.device)
        if cur is None or port_key(c.a.ifname) < port_key(cur[0]):
            first[c.a.device] = (c.a.ifname, c.b.device)
    links: list[dict[str, Any]] = []
    seen: set[str] = set()
    mtu = d.cluster.planes[plane].mtu
    for sub in d.addressing.subnets:
        if sub.plane != plane or str(sub.network) in seen:
            continue
        switch = next(
            (
                first[n][1]
                for (n, pl), addr in d.addressing.bonds.items()
                if pl == plane and addr in sub.network and n in first
            ),
            None,
        )
        if switch is None:
            continue
        seen.add(str(sub.network))
        links.append(
            {
                "ifname": f"mgmt{len(links)}",
                "switch": switch,
                "switch_ifname": "uplink-jump",
                "bridge": gateway_ifname(plane, None),
                "address": str(IPv4Interface(f"{sub.gateway}/{sub.network.prefixlen}")),
                "network": str(sub.network),
                "mtu": mtu,
            }
        )
    return links


def _meminfo(memory_gb: float) -> str:
    total = int(memory_gb * 1024 * 1024 * MEMORY_SHARE)
    free = int(total * 0.97)
    real = Path("/proc/meminfo").read_text().splitlines()
    out = []
    for line in real:
        key = line.split(":", 1)[0]
        if key == "MemTotal":
            out.append(f"MemTotal:       {total:>8} kB")
        elif key == "MemFree":
            out.append(f"MemFree:        {free:>8} kB")
        elif key == "MemAvailable":
            out.append(f"MemAvailable:   {free:>8} kB")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _cpuinfo(cpu: dict[str, Any]) -> str:
    sockets, cores = int(cpu["sockets"]), int(cpu["cores_per_socket"])
    blocks = []
    for i in range(sockets * cores):
        if cpu["arch"] == "aarch64":  # an ARM kernel's format: no model name
            blocks.append(
                f"processor\t: {i}\nBogoMIPS\t: 200.00\n"
                "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp\n"
                "CPU implementer\t: 0x48\nCPU architecture: 8\nCPU variant\t: 0x1\n"
                "CPU part\t: 0xd01\nCPU revision\t: 0\n"
            )
        else:
            blocks.append(
                f"processor\t: {i}\nvendor_id\t: HygonGenuine\ncpu family\t: 24\n"
                f"model name\t: {cpu['model']}\nphysical id\t: {i // cores}\n"
                f"siblings\t: {cores}\ncore id\t\t: {i % cores}\ncpu cores\t: {cores}\n"
            )
    return "\n".join(blocks) + "\n"


SSHD_CONFIG = """# wanka lab: sshd of {node} (management address only, keys only)
ListenAddress {address}:22
HostKey {where}/ssh_host_ed25519_key
PidFile {where}/sshd.pid
AuthorizedKeysFile {lab}/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
MaxStartups 200:30:400
MaxSessions 64
Subsystem sftp internal-sftp
"""

PACKAGE = """#!/bin/sh
# wanka lab: stand-in for the installer package {name} (wanka.lab.tools install {kind})
. /etc/wanka-lab/env
exec "$WANKA_LAB_PYTHON" -m wanka.lab.tools install {kind}{args} --package "$(basename "$0")" "$@"
"""


def packages(d: Derived) -> dict[str, str]:
    """Package file name -> installer kind and its own arguments ("driver --fw-range
    MIN,MAX", "firmware", "cann", "kernels")."""
    out: dict[str, str] = {}
    for sw in d.cluster.software.all_sets:
        fw = f" --fw-range {sw.firmware_min},{sw.firmware_max}"
        driver = "driver" + (fw if sw.firmware_min and sw.firmware_max else "")
        out.update({name: driver for name in sw.driver_packages.values()})
        out.update({name: "cann" for name in sw.cann_packages.values()})
        out.update({name: "kernels" for name in sw.kernels_packages.values()})
        if sw.firmware_package:
            out[sw.firmware_package] = "firmware"
    return out


def proxy_command(jump: str) -> str:
    """The ssh ProxyCommand that connects through the lab's jump host (needs root)."""
    return f"{sys.executable} -m wanka.lab.jump {jump} %h %p"


def prepare(d: Derived, state: State, ssh_key: Path | None, jump: str) -> Access:
    """Write keys, server files and installer stand-ins; return the lab's access without the
    BMC URL (known once the BMC listens)."""
    if shutil.which("ssh-keygen") is None or not Path(nodes.SSHD).exists():
        raise ProvisionError("sshd or ssh-keygen not found: install openssh-server")
    lab = Path(state.lab_dir)
    ssh = _lab_keys(d, lab, ssh_key)
    addresses = management_addresses(d)
    servers = [n for n in d.cluster.nodes if n.name in addresses and n.model.cards]
    with ThreadPoolExecutor(max_workers=8) as pool:
        host_keys = dict(
            pool.map(lambda node: _server_files(d, lab, node, addresses[node.name]), servers)
        )
    (ssh / "known_hosts").write_text(
        "".join(f"{addresses[n]} {' '.join(k.split()[:2])}\n" for n, k in host_keys.items()),
        encoding="utf-8",
    )
    return _access(d, state, ssh, jump, [n.name for n in servers], write_packages(d, lab))


def _lab_keys(d: Derived, lab: Path, ssh_key: Path | None) -> Path:
    """The lab's own key pair and the servers' authorized_keys (it, and `ssh_key`'s public
    half when given), in `<lab>/ssh`, which is returned."""
    ssh = lab / "ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    authorized = [keygen(ssh / "id_ed25519", f"wanka-lab-{d.cluster.name}")]
    if ssh_key is not None:
        pub = _public_of(ssh_key.expanduser())
        if pub is None:
            raise ProvisionError(f"cannot read the public key of {ssh_key}")
        authorized.append(pub)
    (ssh / "authorized_keys").write_text("\n".join(authorized) + "\n", encoding="utf-8")
    return ssh


def _server_files(d: Derived, lab: Path, node: Any, address: str) -> tuple[str, str]:
    """A server's directory: host key, sshd_config, hardware profile, meminfo and cpuinfo.
    Returns (node name, public host key)."""
    where = nodes.node_dir(lab, node.name)
    where.mkdir(parents=True, exist_ok=True)
    pub = keygen(where / "ssh_host_ed25519_key", node.name)
    (where / "sshd_config").write_text(
        SSHD_CONFIG.format(node=node.name, address=address, where=where, lab=lab),
        encoding="utf-8",
    )
    base = node_profile(d, node)
    text = json.dumps(base, indent=1, sort_keys=True) + "\n"
    (where / "profile.base.json").write_text(text, encoding="utf-8")
    if not (where / "profile.json").exists():
        (where / "profile.json").write_text(text, encoding="utf-8")
    (where / "meminfo").write_text(_meminfo(node.model.memory_gb), encoding="utf-8")
    (where / "cpuinfo").write_text(_cpuinfo(base["cpu"]), encoding="utf-8")
    return node.name, pub


def write_packages(d: Derived, lab: Path) -> Path:
    """`<lab>/packages`: a stand-in for every installer package the cluster names (those
    already there stay: the packages of an earlier software set)."""
    pkgdir = lab / "packages"
    pkgdir.mkdir(exist_ok=True)
    for name, spec in packages(d).items():
        kind, _, args = spec.partition(" ")
        path = pkgdir / name
        text = PACKAGE.format(name=name, kind=kind, args=f" {args}" if args else "")
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
    return pkgdir


def _access(
    d: Derived, state: State, ssh: Path, jump: str, servers: list[str], pkgdir: Path
) -> Access:
    """The lab's access without the BMC URL: the ssh options; each server's address, BMC
    system, namespace and lldpd socket; each switch's namespace and FRR vty directory; the
    packages."""
    from wanka.lab.bmc import system_uuid

    addresses = management_addresses(d)
    ns_of = state.device_ns()
    key, known = str(ssh / "id_ed25519"), str(ssh / "known_hosts")
    return Access(
        cluster=d.cluster.name,
        ssh=Ssh(
            user="root",
            private_key=key,
            known_hosts=known,
            jump_namespace=jump,
            proxy_command=proxy_command(jump),
            options=(
                "-i",
                key,
                "-o",
                f"UserKnownHostsFile={known}",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"ProxyCommand={proxy_command(jump)}",
            ),
        ),  # fmt: skip
        bmc_url=None,
        nodes={
            n: Server(
                address=addresses[n],
                system=system_uuid(d.cluster.name, n),
                namespace=ns_of[n],
                lldp_socket=state.lldp.get(ns_of[n]),
            )
            for n in servers
        },
        switches={
            s.name: Switch(namespace=ns_of[s.name], vty=state.frr.get(ns_of[s.name]))
            for s in d.cluster.switches
        },
        packages=str(pkgdir),
    )
