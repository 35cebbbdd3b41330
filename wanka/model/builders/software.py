"""What the nodes run and log in with: the OS images, the NPU software sets, the mirror
(spec.software), and the credentials with the BMCs' TLS settings (spec.credentials).

Only the references to phases can fail here (an NPU set's `phases`: REF-UNRESOLVED);
credentials are references to where secrets live, never their values.
"""

from __future__ import annotations

from wanka.findings import Mark
from wanka.language.loader import YMap
from wanka.model.builders.problems import Problems, at, items
from wanka.model.software import DEFAULT_SET, Mirror, NpuSoftware, OsImage, Software, package_family
from wanka.model.types import BmcTls, Credential, Phase, SecretRef


def build_software(*, spec: YMap, phases: list[Phase], problems: Problems) -> Software:
    sw = spec.get("software", {})
    os_ = sw.get("os", {})
    npu = sw.get("npu")
    known = {p.name for p in phases}
    sets = []
    for name, s in items(sw.get("npu_sets")):
        one = _npu_set(name, s, at(sw["npu_sets"], name))
        for phase, where in zip(one.phases or (), one.phase_marks, strict=True):
            if phase not in known:
                problems.unresolved("phase", phase, known, where, f"in npu_sets.{name}.phases")
        sets.append(one)
    oses = sw.get("oses", {})
    return Software(
        os=_os(None, os_, at(sw, "os")) if os_ else None,
        oses={key: _os(key, o, at(oses, key)) for key, o in items(oses)},
        npu=_npu_set(DEFAULT_SET, npu, at(sw, "npu")) if npu else None,
        sets=tuple(sets),
        mirror=_mirror(sw["mirror"], at(sw, "mirror")) if sw.get("mirror") else None,
    )


def _mirror(mirror: YMap, where: Mark) -> Mirror:
    repos = mirror.get("repositories") or {}
    url_at = {
        f"repositories.{fam}.{arch}": at(arches, arch, value=True)
        for fam, arches in repos.items()
        for arch in arches
    }
    if "ascend" in mirror:
        url_at["ascend"] = at(mirror, "ascend", value=True)
    sha = mirror.get("sha256") or {}
    return Mirror(
        repositories={fam: dict(arches) for fam, arches in repos.items()},
        ascend=mirror.get("ascend"),
        sha256={name: str(v).lower() for name, v in sha.items()},
        at=where,
        repositories_at=at(mirror, "repositories") if repos else None,
        url_at=url_at,
        sha256_at={name: at(sha, name) for name in sha},
    )


def _os(key: str | None, o: YMap, where: Mark) -> OsImage:
    name, version = str(o["name"]), str(o["version"])
    stated = o.get("family")
    return OsImage(
        key=key,
        name=name,
        version=version,
        family=stated or package_family(name),
        stated_family=stated is not None,
        at=where,
    )


def _npu_set(name: str, npu: YMap, where: Mark) -> NpuSoftware:
    drv = npu.get("driver", {})
    fw = npu.get("firmware", {})
    cann = npu.get("cann", {})
    rng = drv.get("firmware_range", {})
    phases = npu.get("phases")
    return NpuSoftware(
        name=name,
        generation=npu.get("generation"),
        phases=tuple(phases) if phases is not None else None,
        phase_marks=tuple(phases.item_at) if phases is not None else (),
        driver_version=drv.get("version"),
        firmware_min=rng.get("min"),
        firmware_max=rng.get("max"),
        driver_packages=dict(drv.get("packages", {})),
        firmware_version=fw.get("version"),
        firmware_package=fw.get("package"),
        cann_version=cann.get("version"),
        cann_packages=dict(cann.get("packages", {})),
        kernels_packages=dict(cann.get("kernels", {})),
        at=at(npu, "driver") if drv else where,
        firmware_at=at(fw, "version", value=True) if fw else None,
        range_at=at(drv, "firmware_range") if rng else None,
        cann_at=at(npu, "cann") if cann else None,
        key_at=where,
    )


def build_credentials(*, spec: YMap) -> dict[str, Credential]:
    """The logins by name: each a username and where its password or key lives."""
    out = {}
    for name, c in items(spec.get("credentials")):
        if name == "bmc_tls":  # not a login: see build_bmc_tls()
            continue
        refs = {}
        for field_ in ("password", "private_key"):
            if field_ in c:
                ((src, val),) = c[field_].items()
                refs[field_] = SecretRef(source=src, name=val)
        out[name] = Credential(
            username=c["username"],
            password=refs.get("password"),
            private_key=refs.get("private_key"),
        )
    return out


def build_bmc_tls(*, spec: YMap) -> BmcTls | None:
    """credentials.bmc_tls: the CA bundle of the BMCs' certificates and the nodes whose
    certificates are not checked, each with where it is named."""
    tls = (spec.get("credentials") or {}).get("bmc_tls")
    if not isinstance(tls, dict):
        return None
    names = tls.get("insecure") or []
    marks = getattr(names, "item_at", None) or [at(tls, "insecure", value=True)] * len(names)
    return BmcTls(
        ca=tls.get("ca"),
        insecure={str(n): marks[i] for i, n in enumerate(names)},
        at=at(spec["credentials"], "bmc_tls"),
    )
