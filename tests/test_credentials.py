"""Credential references are read one way: wanka/credentials.py (module_utils/wanka_credentials
for the Ansible modules).

- the rule itself, as a table: a reference, the environment and files -> the value or the
  error's words (which name the reference, never a value);
- every place that needs a secret follows it: the switch driver, the BMC commands, the Pulumi
  waves, the Ansible module wanka_redfish, the lab and bring-up's scrubber give the same value,
  and the same error for an unset variable, a missing file and a `{pulumi: KEY}`;
- nothing else reads one: an AST walk over wanka/ and playbooks/ fails on an environment read
  whose name is not a constant, a test of a reference's source against env or file, or a
  mapping reference's `env`/`file` key, outside the resolver (the few places that pass a
  reference on without reading it are listed, each with its reason).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import ansible_module
from wanka import credentials
from wanka.bringup import bmc
from wanka.bringup.bmc import BmcCommandError
from wanka.bringup.prepare import Prepared
from wanka.credentials import CredentialError, key_file, lookup, resolve
from wanka.derive.bundle import Derived
from wanka.drivers.switch import SwitchError, key_path, secret
from wanka.lab import switchssh
from wanka.model.types import Credential, SecretRef
from wanka.pipeline import open_cluster
from wanka.pulumi import waves
from wanka.pulumi.shards import shards

ROOT = Path(__file__).resolve().parent.parent
VAR = "WANKA_TEST_CREDENTIAL"
VALUE = "s3cret-Value"  # made for the test; must appear in no message


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(f"  {VALUE}\n", encoding="utf-8")
    return path


# -- the rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "env", "answer"),
    [
        ({"env": VAR}, VALUE, VALUE),
        ({"env": VAR}, None, f"x: environment variable {VAR} is not set"),
        ({"env": VAR}, "", f"x: environment variable {VAR} is not set"),
        (SecretRef(source="env", name=VAR), VALUE, VALUE),
        (SecretRef(source="pulumi", name="wanka:bmcPassword"), VALUE,
         "x: Pulumi config secret wanka:bmcPassword is read by Pulumi only"),
        ({"pulumi": "wanka:p"}, VALUE, "x: Pulumi config secret wanka:p is read by Pulumi only"),
        ({}, VALUE, "x: a reference is one of {env: NAME}, {file: PATH} or {pulumi: KEY}, "
                    "not a mapping with keys (none)"),
        ({"env": VAR, "file": "/p"}, VALUE, "not a mapping with keys env, file"),
        ({"vault": "kv/bmc"}, VALUE, "not a mapping with keys vault"),
        ("WANKA_BMC_PASSWORD", VALUE, "x: str is not a credential reference"),
    ],
)  # fmt: skip
def test_the_rule(ref: Any, env: str | None, answer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if env is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, env)
    if answer == VALUE:
        assert resolve(ref, "x") == VALUE
        assert lookup(ref) == VALUE
        return
    with pytest.raises(CredentialError) as e:
        resolve(ref, "x")
    assert answer in str(e.value)
    assert VALUE not in str(e.value)
    assert lookup(ref) is None


def test_a_file_reference(
    secret_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The value without the white space around it; `~` expanded; missing, unreadable, empty
    and binary files are errors naming the file."""
    assert resolve({"file": str(secret_file)}, "x") == VALUE
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve(SecretRef(source="file", name="~/password"), "x") == VALUE
    missing = tmp_path / "nope"
    with pytest.raises(CredentialError, match=f"^x: cannot read file {missing}: No such file"):
        resolve({"file": str(missing)}, "x")
    with pytest.raises(CredentialError, match=f"^x: cannot read file {tmp_path}: Is a directory"):
        resolve({"file": str(tmp_path)}, "x")
    (tmp_path / "empty").write_text("\n \n", encoding="utf-8")
    with pytest.raises(CredentialError, match=f"^x: file {tmp_path}/empty is empty$"):
        resolve({"file": str(tmp_path / "empty")}, "x")
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CredentialError, match="binary: not UTF-8 text$"):
        resolve({"file": str(tmp_path / "binary")}, "x")
    assert lookup({"file": str(missing)}) is None and lookup(None) is None


def test_a_key_file(secret_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private key is a path ssh reads: `{file: PATH}` or `{env: NAME}` holding it, naming an
    existing file; the path an environment variable holds is not shown (it is its value)."""
    assert key_file({"file": str(secret_file)}, "k") == str(secret_file)
    monkeypatch.setenv(VAR, str(secret_file))
    assert key_file(SecretRef(source="env", name=VAR), "k") == str(secret_file)
    with pytest.raises(CredentialError, match=f"^k: key file {tmp_path}/nope does not exist$"):
        key_file({"file": str(tmp_path / "nope")}, "k")
    monkeypatch.setenv(VAR, str(tmp_path / "hidden-path"))
    with pytest.raises(CredentialError) as e:
        key_file({"env": VAR}, "k")
    assert str(e.value) == f"k: key file named by environment variable {VAR} does not exist"
    monkeypatch.delenv(VAR)
    with pytest.raises(CredentialError, match=f"environment variable {VAR} is not set"):
        key_file({"env": VAR}, "k")
    with pytest.raises(CredentialError, match="a private key is a file"):
        key_file({"pulumi": "wanka:key"}, "k")
    with pytest.raises(SwitchError, match=f"^sw1: key file {tmp_path}/nope does not exist$"):
        key_path({"file": str(tmp_path / "nope")}, "sw1")  # the switch driver's, the same


def test_describe() -> None:
    assert credentials.describe({"env": "A"}) == "environment variable A"
    assert credentials.describe(SecretRef(source="file", name="/p")) == "file /p"
    assert credentials.describe({"pulumi": "wanka:k"}) == "Pulumi config secret wanka:k"


def test_module_utils_is_the_resolver() -> None:
    """What Ansible ships to the modules is wanka/credentials.py (a link; in the wheel a copy)."""
    shipped = ROOT / "playbooks/module_utils/wanka_credentials.py"
    assert shipped.read_bytes() == (ROOT / "wanka/credentials.py").read_bytes()
    assert "from ansible.module_utils.wanka_credentials import" in (
        ROOT / "playbooks/library/wanka_redfish.py"
    ).read_text(encoding="utf-8")


# -- every place follows it ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def mini() -> Derived:
    return open_cluster(str(ROOT / "examples/lab-mini/cluster.yaml"))


def _with(d: Derived, kind: str, ref: SecretRef) -> Derived:
    """`d` with the `kind` credential's password at `ref`."""
    creds = dict(d.cluster.credentials)
    creds[kind] = Credential(username="admin", password=ref, private_key=None)
    return dataclasses.replace(d, cluster=dataclasses.replace(d.cluster, credentials=creds))


class FakeModule:
    """What wanka_redfish.resolve uses of AnsibleModule: params, and fail_json ending the task."""

    def __init__(self) -> None:
        self.params = {"username": "admin"}

    def fail_json(self, **kw: Any) -> None:
        raise SystemExit(kw["msg"])


def _switch_driver(ref: SecretRef) -> str:
    try:
        return str(secret({ref.source: ref.name}, "sw1: switch credential (password)"))
    except SwitchError as e:
        raise CredentialError(str(e)) from None


def _bmc_commands(d: Derived, ref: SecretRef) -> str:
    try:
        got = bmc.credentials(_with(d, "bmc", ref), use=True)
    except BmcCommandError as e:
        raise CredentialError(str(e)) from None
    assert got is not None
    return got[1]


def _pulumi_waves(d: Derived, ref: SecretRef) -> str:
    d = _with(d, "bmc", ref)
    pod = next(s for s in shards(d) if s.nodes)
    return waves.stack_config(d, pod, "cluster.yaml", {})["wanka:bmcPassword"]


def _ansible_module(ref: SecretRef) -> str:
    module = ansible_module.load("wanka_redfish")
    try:
        got = module.resolve(FakeModule(), {ref.source: ref.name})
    except SystemExit as e:
        raise CredentialError(str(e.code).removeprefix("bmc: ")) from None
    return str(got[1])


def _places(d: Derived) -> Iterator[tuple[str, Callable[[SecretRef], str]]]:
    yield "drivers.switch", _switch_driver
    yield "bringup.bmc", lambda ref: _bmc_commands(d, ref)
    yield "pulumi.waves", lambda ref: _pulumi_waves(d, ref)
    yield "wanka_redfish", _ansible_module


@pytest.mark.parametrize(
    "place", ["drivers.switch", "bringup.bmc", "pulumi.waves", "wanka_redfish"]
)
def test_every_place_reads_a_reference_one_way(
    place: str, mini: Derived, secret_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = dict(_places(mini))[place]
    monkeypatch.setenv(VAR, VALUE)
    assert read(SecretRef(source="env", name=VAR)) == VALUE
    assert read(SecretRef(source="file", name=str(secret_file))) == VALUE
    monkeypatch.delenv(VAR)
    cases = {
        SecretRef(source="env", name=VAR): f"environment variable {VAR} is not set",
        SecretRef(source="file", name=str(tmp_path / "nope")): f"cannot read file {tmp_path}/nope",
    }
    for ref, words in cases.items():
        with pytest.raises(CredentialError) as e:
            read(ref)
        assert words in str(e.value) and VALUE not in str(e.value), (place, str(e.value))
        assert "password" in str(e.value).split(words)[0].lower(), place  # says what it is for


def test_the_pulumi_waves_leave_a_pulumi_reference_to_the_stack(mini: Derived) -> None:
    d = _with(mini, "bmc", SecretRef(source="pulumi", name="wanka:bmcPassword"))
    pod = next(s for s in shards(d) if s.nodes)
    assert "wanka:bmcPassword" not in waves.stack_config(d, pod, "cluster.yaml", {})


def test_the_lab_and_the_scrubber_take_a_missing_secret_as_none(
    mini: Derived, secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VAR, VALUE)
    assert switchssh._password(_with(mini, "switch", SecretRef(source="env", name=VAR))) == VALUE
    file_ref = SecretRef(source="file", name=str(secret_file))
    assert switchssh._password(_with(mini, "switch", file_ref)) == VALUE
    refs = (("env", VAR, True), ("file", str(secret_file), True), ("file", "/etc/hostname", False))
    assert _prepared(refs).secret_values() == [VALUE, VALUE]  # a key file's content is not read
    monkeypatch.delenv(VAR)
    assert switchssh._password(_with(mini, "switch", SecretRef(source="env", name=VAR))) is None
    assert _prepared(refs[:1]).secret_values() == []


def _prepared(refs: tuple[tuple[str, str, bool], ...]) -> Prepared:
    return Prepared(
        render=ROOT, inventory=ROOT, cluster="c.yaml", phase=None, playbook="bringup", batch="1",
        max_fail_percent=0, kinds={}, nodes=(), references=refs,
    )  # fmt: skip


# -- nothing else reads one ---------------------------------------------------------------------

RESOLVER = "wanka/credentials.py"
# (file, function): why it may look at a reference's source without reading the secret
PASSES_ON = {
    ("wanka/bringup/prepare.py", "_ssh_group_vars"):
        "hands a {file: PATH} key's path to Ansible as ansible_ssh_private_key_file; ssh reads it",
    ("wanka/bringup/run.py", "_scrub"):
        "blanks ansible-runner's copy of the environment (artifacts/command's `env` key)",
}  # fmt: skip


def _is_constant_name(node: ast.expr) -> bool:
    """A variable name fixed in the code: "PATH", or a constant such as LIMIT_ENV."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    return isinstance(node, ast.Name) and node.id.isupper()


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _secret_key(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in ("env", "file")


def _reference_like(node: ast.expr) -> bool:
    """An expression named as a reference (`ref`, `cred.password`, `spec["credential"]`): the
    `file` key of other mappings (a finding's) is no credential."""
    text = ast.unparse(node).lower()
    return any(w in text for w in ("ref", "cred", "secret", "password", "key"))


def credential_reads(tree: ast.AST) -> Iterator[tuple[int, str, str]]:
    """(line, function, what) of every place in `tree` that reads a reference itself."""
    stack: list[tuple[ast.AST, str]] = [(tree, "<module>")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            where = node.name
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call) and node.args and not _is_constant_name(node.args[0]):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "getenv":
                yield line, where, "os.getenv of a name from data"
            if isinstance(f, ast.Attribute) and f.attr == "get" and _is_environ(f.value):
                yield line, where, "os.environ.get of a name from data"
        if (
            isinstance(node, ast.Subscript)
            and _is_environ(node.value)
            and not _is_constant_name(node.slice)
        ):
            yield line, where, "os.environ[...] of a name from data"
        if (
            isinstance(node, ast.Subscript)
            and _secret_key(node.slice)
            and _reference_like(node.value)
        ):
            yield line, where, f"a reference's [{ast.unparse(node.slice)}]"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and _secret_key(node.args[0])
            and _reference_like(node.func.value)
        ):
            yield line, where, f"a reference's .get({ast.unparse(node.args[0])})"
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            keys = [
                e
                for s in sides
                for e in (s.elts if isinstance(s, ast.Tuple | ast.List | ast.Set) else [s])
            ]
            if any(_secret_key(k) for k in keys) and (
                any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
                or any(isinstance(s, ast.Attribute) and s.attr == "source" for s in sides)
            ):
                yield line, where, f"a test of a reference's source: {ast.unparse(node)}"
        stack.extend((child, where) for child in ast.iter_child_nodes(node))


def _sources() -> list[Path]:
    files = [*(ROOT / "wanka").rglob("*.py"), *(ROOT / "playbooks").rglob("*.py")]
    return sorted(p for p in files if not p.is_symlink())  # module_utils links: the leaves


def test_no_module_but_the_resolver_reads_a_reference() -> None:
    found, allowed = [], set()
    for path in _sources():
        rel = str(path.relative_to(ROOT))
        if rel == RESOLVER:
            continue
        for line, where, what in credential_reads(ast.parse(path.read_text(encoding="utf-8"))):
            if (rel, where) in PASSES_ON:
                allowed.add((rel, where))
            else:
                found.append(f"{rel}:{line} ({where}): {what}: use wanka.credentials")
    assert found == []
    assert allowed == set(PASSES_ON), "a listed exception reads no reference now: unlist it"


@pytest.mark.parametrize(
    "code",
    [
        "def f(ref):\n    return os.environ.get(ref.name)\n",
        "def f(ref):\n    return os.getenv(str(ref['x']))\n",
        "def f(name):\n    return os.environ[name]\n",
        "def f(ref):\n    if ref.source == 'file':\n        return open(ref.name).read()\n",
        "def f(ref):\n    return ref['env']\n",
        "def f(ref):\n    if 'file' in ref:\n        return 1\n",
        "def f(spec):\n    return spec['credential'].get('file')\n",
        "def f(ref):\n    return ref.source in ('env', 'file')\n",
    ],
)
def test_the_walk_catches_a_reference_read_by_hand(code: str) -> None:
    """The check can fail: each way the seven places used to read a reference is caught."""
    assert [w for _, w, _ in credential_reads(ast.parse(code))] == ["f"]


def test_the_walk_lets_constant_names_and_other_keys_be() -> None:
    code = (
        "LIMIT = 'X'\n"
        "def f(d):\n"
        "    a = os.environ.get('PULUMI_BACKEND_URL'), os.environ['PATH'], os.getenv(LIMIT)\n"
        "    return a, d['name'], d.get('bmc'), d['file'], ref.source == 'pulumi'\n"
    )
    assert list(credential_reads(ast.parse(code))) == []
