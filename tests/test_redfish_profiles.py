"""wanka.drivers.redfish against the vendor profiles of the lab (wanka.lab.vendorbmc): the DMTF
mockup, Huawei iBMC and AMI MegaRAC, each served on loopback from its captured resources
(wanka/lab/bmc_profiles/*.json, `_source` in each), and against a TLS BMC with a self-signed
certificate. No root needed; each BMC runs in a thread of the test.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wanka.drivers.redfish import BmcCertificate, Client, RedfishError
from wanka.lab import vendorbmc
from wanka.lab.vendorbmc import Bmc

AUTH = ("Administrator", "s3cret-Passw0rd")
PROFILES = vendorbmc.PROFILES
SYSTEM = {"dmtf": "/redfish/v1/Systems/437XR1138R2", "ibmc": "/redfish/v1/Systems/1",
          "ami": "/redfish/v1/Systems/Self"}  # fmt: skip
SETTINGS = {"dmtf": "/Bios/Settings", "ibmc": "/Bios/Settings", "ami": "/Bios/SD"}


@pytest.fixture(params=PROFILES)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Bmc, str]]:
    bmc = Bmc(request.param, name="n1", serial="SN-0001", macs=["02:00:00:00:01:01"],
              delay=0.3, auth=AUTH)  # fmt: skip
    server, thread, url = vendorbmc.serve(bmc)
    try:
        yield bmc, url
    finally:
        server.shutdown()
        thread.join(timeout=5)


def client(url: str, **kw: object) -> Client:
    return Client(url, auth=AUTH, poll=0.1, **kw)  # type: ignore[arg-type]


def patches(bmc: Bmc) -> list[tuple[str, dict[str, str], Any]]:
    return [(p, h, b) for m, p, h, b in bmc.requests if m == "PATCH"]


def test_discovery_follows_the_links(served: tuple[Bmc, str]) -> None:
    bmc, url = served
    with client(url) as c:
        assert c.system_path == SYSTEM[bmc.profile]  # from /redfish/v1/Systems, no id given
        assert c.bios_settings()["path"] == SYSTEM[bmc.profile] + SETTINGS[bmc.profile]
        inv = c.inventory()
        assert inv["serial"] == "SN-0001" and inv["macs"] == ["02:00:00:00:01:01"]
        assert c.auth_mode == "session"
    assert Client(url, SYSTEM[bmc.profile].rsplit("/", 1)[-1], auth=AUTH).system()["Name"] == "n1"
    with pytest.raises(RedfishError, match="no system 'nope'"):
        Client(url, "nope", auth=AUTH).system()


def test_power_lands_after_the_delay(served: tuple[Bmc, str]) -> None:
    _, url = served
    with client(url) as c:
        assert c.power_state() == "Off"
        assert c.set_power(True) is True
        assert c.power_state() == "Off"  # not yet
        assert c.wait_power("On", 5, poll=0.1)
        assert c.set_power(True) is False
        assert c.set_power(False) is True
        assert c.wait_power("Off", 5, poll=0.1)


def test_boot_once_is_used_by_one_boot_only(served: tuple[Bmc, str]) -> None:
    bmc, url = served
    with client(url) as c:
        c.set_boot("Pxe")
        assert c.boot()["target"] == "Pxe" and c.boot()["enabled"] == "Once"
        sent = patches(bmc)[-1]
        assert sent[0] == SYSTEM[bmc.profile]
        assert sent[2] == {"Boot": {"BootSourceOverrideTarget": "Pxe",
                                    "BootSourceOverrideEnabled": "Once"}}  # fmt: skip
        if bmc.profile != "dmtf":  # every PATCH carries the ETag of what it changes
            assert sent[1]["If-Match"].strip('W/"')
        c.set_power(True)
        assert c.wait_power("On", 5, poll=0.1)
        assert c.boot() == {**c.boot(), "target": "None", "enabled": "Disabled"}  # not Continuous
        c.set_boot("Pxe")
        c.set_boot("None")  # clearing sends Disabled
        assert c.boot()["enabled"] == "Disabled"
        assert patches(bmc)[-1][2]["Boot"]["BootSourceOverrideEnabled"] == "Disabled"
        assert c.boot()["target"] == "None"
        if (
            "BootSourceOverrideTarget@Redfish.AllowableValues"
            in bmc.res[SYSTEM[bmc.profile]]["Boot"]
        ):
            n = len(patches(bmc))
            with pytest.raises(RedfishError, match="UefiHttp is not offered"):
                c.set_boot("UefiHttp")
            assert len(patches(bmc)) == n  # checked before sending


def test_bios_pending_until_the_reset_and_idempotent(served: tuple[Bmc, str]) -> None:
    bmc, url = served
    name, before, after = bmc.spec["bios_attribute"]
    with client(url) as c:
        assert c.bios()[name] == before
        assert c.set_bios({name: after}) == {name: after}
        assert c.bios()[name] == before  # staged, not in effect
        assert c.bios_pending()[name] == after
        n = len(patches(bmc))
        assert c.set_bios({name: after}) == {}  # pending already: a second run sends nothing
        assert len(patches(bmc)) == n
        c.set_power(True)
        assert c.wait_power("On", 5, poll=0.1)
        assert c.bios()[name] == after and name not in c.bios_pending()
        assert c.set_bios({name: after}) == {}
        with pytest.raises(RedfishError, match="BIOS has no attribute NoSuchThing"):
            c.set_bios({"NoSuchThing": "x"})


def test_bios_apply_now_restarts_a_running_server(served: tuple[Bmc, str]) -> None:
    bmc, url = served
    name, before, after = bmc.spec["bios_attribute"]
    with client(url) as c:
        c.set_power(True)
        assert c.wait_power("On", 5, poll=0.1)
        c.set_bios({name: after}, apply="now")
        resets = [p for m, p, _, _ in bmc.requests if m == "POST" and p.endswith("Reset")]
        assert len(resets) == 2  # on, then the restart
        assert c.wait_power("On", 5, poll=0.1)
        deadline = time.monotonic() + 5
        while c.bios()[name] != after and time.monotonic() < deadline:
            time.sleep(0.1)
        assert c.bios()[name] == after


@pytest.mark.parametrize("profile", ["ibmc", "ami"])
def test_stale_etag_is_read_again_once(profile: str) -> None:
    bmc = Bmc(profile, auth=AUTH, delay=0.1)
    server, thread, url = vendorbmc.serve(bmc)
    try:
        with client(url) as c:
            bmc.faults["stale_etag"] = 1
            c.set_boot("Pxe")  # 412, re-read, retry: succeeds
            assert c.boot()["target"] == "Pxe"
            sent = patches(bmc)
            assert len(sent) == 2 and sent[0][1]["If-Match"] != sent[1][1]["If-Match"]
            bmc.faults["stale_etag"] = 2
            with pytest.raises(RedfishError, match="412 .*ETag is stale"):
                c.set_boot("Hdd")
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_missing_if_match_is_refused_with_a_hint() -> None:
    """A BMC that wants If-Match but gave no ETag to send: the 428 is surfaced, with a hint."""
    bmc = Bmc("ami", auth=AUTH)
    bmc.faults["no_etag"] = True
    server, thread, url = vendorbmc.serve(bmc)
    try:
        with client(url) as c, pytest.raises(RedfishError) as err:
            c.set_boot("Pxe")
        assert "428 The request did not provide the required precondition" in str(err.value)
        assert "gave no ETag" in str(err.value)
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_session_expiry_busy_and_tasks(served: tuple[Bmc, str]) -> None:
    bmc, url = served
    name, _, after = bmc.spec["bios_attribute"]
    with client(url) as c:
        c.power_state()
        bmc.faults["expire_sessions"] = True
        assert c.power_state() == "Off"  # 401, a new session, the same request again
        logins = [p for m, p, _, _ in bmc.requests if m == "POST" and p.endswith("Sessions")]
        assert len(logins) == 2
        bmc.faults["busy"] = 2
        started = time.monotonic()
        assert c.power_state() == "Off"  # two 503s, each after its Retry-After: 1
        assert time.monotonic() - started >= 2
        bmc.faults["busy"] = 2  # a new client: the service root waits too
        assert client(url).power_state() == "Off" and not bmc.faults["busy"]
        bmc.faults["task_seconds"] = 1.5
        started = time.monotonic()
        c.set_bios({name: after})
        assert time.monotonic() - started >= 1.5  # the task monitor was followed to its end
        assert c.bios_pending()[name] == after
    deletes = [p for m, p, _, _ in bmc.requests if m == "DELETE"]
    assert len(deletes) == 1 and not bmc.sessions.get(deletes[0].rsplit("/", 1)[-1])


def test_sessions_fall_back_to_basic_and_bad_credentials(served: tuple[Bmc, str]) -> None:
    bmc, url = served
    with pytest.raises(RedfishError, match="refused the credentials") as err:
        Client(url, auth=("Administrator", "wrong-pass")).power_state()
    assert "wrong-pass" not in str(err.value) and "wrong-pass" not in repr(err.value)
    if bmc.profile == "ami":  # it answers Basic too: with no session service, Basic is used
        del bmc.res["/redfish/v1/"]["Links"]
        bmc.res["/redfish/v1/SessionService"]["Sessions"]["@odata.id"] = "/nowhere"
        bmc.res["/redfish/v1/"].pop("SessionService")
        c = client(url)
        assert c.power_state() == "Off" and c.auth_mode == "basic"


def _self_signed(where: Path, name: str) -> tuple[str, str]:
    cert, key = where / f"{name}.crt", where / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_tls_self_signed_refused_unless_its_ca_is_given(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "bmc")
    other, _ = _self_signed(tmp_path, "other")
    bmc = Bmc("ibmc", auth=AUTH)
    server, thread, url = vendorbmc.serve(bmc, tls=(cert, key))
    try:
        with pytest.raises(BmcCertificate, match="certificate is not trusted.*CA bundle"):
            Client(url, auth=AUTH).power_state()
        with pytest.raises(BmcCertificate):
            Client(url, auth=AUTH, verify=other).power_state()
        assert Client(url, auth=AUTH, verify=cert).power_state() == "Off"
        assert Client(url, auth=AUTH, verify=False).power_state() == "Off"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_pulumi_node_boots_pxe_once_and_clears_with_disabled() -> None:
    from wanka.pulumi.providers import BareMetalNodeProvider

    bmc = Bmc("ibmc", auth=AUTH, delay=0.3)
    server, thread, url = vendorbmc.serve(bmc)
    props = {"node": "n1", "url": url, "system": "", "username": AUTH[0], "password": AUTH[1],
             "timeout": 5.0, "powerTimeout": 10.0, "verify": True, "power": "On",
             "bootTarget": "Pxe", "bootMode": "UEFI", "bios": {"TurboMode": "Disabled"},
             "applied": None}  # fmt: skip
    p = BareMetalNodeProvider()
    try:
        outs = p.create(dict(props)).outs
        assert outs["applied"] == ["bios", "bootMode", "bootTarget", "power"]
        boot = [b["Boot"] for _, _, b in patches(bmc) if "Boot" in b]
        assert boot == [{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once",
                         "BootSourceOverrideMode": "UEFI"}]  # fmt: skip
        # the power-on was the boot: it used the override and applied the BIOS change
        assert bmc.res["/redfish/v1/Systems/1"]["Boot"]["BootSourceOverrideEnabled"] == "Disabled"
        assert bmc.res["/redfish/v1/Systems/1/Bios"]["Attributes"]["TurboMode"] == "Disabled"
        read = p.read("n1", outs).outs
        assert read == outs  # a used Once override is not drift
        assert p.diff("n1", read, dict(props)).changes is False
        n = len(patches(bmc))
        again = p.update("n1", read, {**props, "power": "On"}).outs
        assert again["applied"] == [] and len(patches(bmc)) == n  # nothing re-sent
        assert p.update("n1", again, {**props, "bootTarget": "None"}).outs["applied"] == []
        with client(url) as c:
            c.set_boot("Pxe")  # armed again (by hand): clearing it sends Disabled
        cleared = p.update("n1", again, {**props, "bootTarget": "None"}).outs
        assert cleared["applied"] == ["bootTarget"]
        assert patches(bmc)[-1][2]["Boot"]["BootSourceOverrideEnabled"] == "Disabled"
    finally:
        server.shutdown()
        thread.join(timeout=5)


RUN_MODULE = "from tests import ansible_module; ansible_module.load('wanka_redfish').main()"


def _module(args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run the Ansible module as Ansible does on the controller: its args in a JSON file, its
    module_utils importable (tests/ansible_module.py, as AnsiballZ ships them)."""
    import json
    import os
    import sys
    import tempfile

    root = Path(__file__).resolve().parents[1]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
    try:
        out = subprocess.run(
            [sys.executable, "-c", RUN_MODULE, f.name],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, **env, "PYTHONPATH": str(root)},
        )  # fmt: skip
    finally:
        os.unlink(f.name)
    assert AUTH[1] not in out.stdout + out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_ansible_module_tls_options_and_boot_once(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "bmc")
    bmc = Bmc("ibmc", auth=AUTH, delay=0.2)
    server, thread, url = vendorbmc.serve(bmc, tls=(cert, key))
    env = {"WANKA_TEST_BMC_PASSWORD": AUTH[1]}
    base = {"url": url, "username": AUTH[0], "credential": {"env": "WANKA_TEST_BMC_PASSWORD"}}
    try:
        refused = _module({**base, "boot": "Pxe"}, env)
        assert refused.get("failed") and "certificate is not trusted" in refused["msg"]
        assert refused["checks"][0]["check"] == "bmc"
        done = _module({**base, "boot": "Pxe", "ca_bundle": cert}, env)
        assert done["changed"] is True and done["actions"] == ["boot Pxe"]
        assert bmc.res["/redfish/v1/Systems/1"]["Boot"]["BootSourceOverrideEnabled"] == "Once"
        again = _module({**base, "boot": "Pxe", "insecure": True}, env)
        assert again["changed"] is False  # idempotent; insecure only because it says so
        bios = _module({**base, "bios": {"TurboMode": "Disabled"}, "ca_bundle": cert}, env)
        assert bios["actions"] == ["bios TurboMode (next-boot)"]
        pending = _module({**base, "bios": {"TurboMode": "Disabled"}, "ca_bundle": cert}, env)
        assert pending["changed"] is False  # pending for the next boot: nothing sent again
        wrong = _module({**base, "serial": "2102311TYBN0J3000999", "ca_bundle": cert}, env)
        assert wrong.get("failed") and wrong["checks"][0]["check"] == "identity"
        assert "reports serial 2102311TYBN0J3000293, the manifest says" in wrong["msg"]
        right = _module({**base, "serial": "2102311TYBN0J3000293", "ca_bundle": cert}, env)
        assert not right.get("failed") and right["changed"] is False
    finally:
        server.shutdown()
        thread.join(timeout=5)
