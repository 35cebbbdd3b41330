"""The strict YAML loader: YAML 1.2 scalars, positions, duplicates, aliases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from wanka.findings import Excerpt, Finding, InputError, Mark
from wanka.language.loader import YMap, YSeq, load_text, resolve_plain

# YAML 1.2 core schema: what a plain scalar becomes (YAML 1.1 would differ on most of these)
SCALARS = [
    ("no", "no"),
    ("yes", "yes"),
    ("on", "on"),
    ("off", "off"),
    ("y", "y"),
    ("true", True),
    ("False", False),
    ("~", None),
    ("null", None),
    ("", None),
    ("42", 42),
    ("-7", -7),
    ("0o17", 15),
    ("0x1f", 31),
    ("1_000", "1_000"),
    ("7.5", 7.5),
    ("1e3", 1000.0),
    ("010", 10),
    ("2024-01-01", "2024-01-01"),
    ("24.1.rc3", "24.1.rc3"),
    ("7.5.0.1.129", "7.5.0.1.129"),
    ("10.0.0.0/16", "10.0.0.0/16"),
    ("02:00:00:01:01:01", "02:00:00:01:01:01"),
    ("1:30", "1:30"),
]


@pytest.mark.parametrize(("text", "value"), SCALARS)
def test_plain_scalars_follow_yaml_1_2(text: str, value: object) -> None:
    got = resolve_plain(text)
    assert got == value and type(got) is type(value)


def test_quoted_scalars_stay_strings() -> None:
    doc = load_text("a: '1'\nb: \"true\"\nc: !!str 5\nd: !!float 3\n", "f.yaml")
    assert doc == {"a": "1", "b": "true", "c": "5", "d": 3.0}


def test_every_key_and_value_keeps_its_position() -> None:
    doc = load_text("top:\n  list:\n    - x\n    - {k: v}\n  n: 3\n", "f.yaml")
    assert isinstance(doc, YMap)
    assert doc.key_at["top"] == Mark("f.yaml", 1, 1)
    top = doc["top"]
    assert top.key_at["n"] == Mark("f.yaml", 5, 3)
    assert top.value_at["n"] == Mark("f.yaml", 5, 6)
    seq = top["list"]
    assert isinstance(seq, YSeq)
    assert seq.item_at == [Mark("f.yaml", 3, 7), Mark("f.yaml", 4, 7)]
    assert seq[1].value_at["k"] == Mark("f.yaml", 4, 11)


def findings_of(text: str) -> list[tuple[str, int | None]]:
    with pytest.raises(InputError) as e:
        load_text(text, "f.yaml")
    return [(f.rule, f.mark.line if f.mark else None) for f in e.value.findings]


def test_all_duplicate_keys_are_reported_at_once() -> None:
    got = findings_of("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert got == [("YAML-DUPLICATE-KEY", 4), ("YAML-DUPLICATE-KEY", 5)]


def test_duplicate_key_message_names_the_first_line() -> None:
    with pytest.raises(InputError) as e:
        load_text("mtu: 1\nmtu: 2\n", "f.yaml")
    assert "first written at line 1" in e.value.findings[0].message


def test_aliases_share_one_value_and_cost_their_size() -> None:
    doc = load_text("a: &x {k: [1, 2]}\nb: *x\n", "f.yaml")
    assert doc["a"] is doc["b"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("1: x\n", "YAML-KEY"),
        ("? [a]\n: x\n", "YAML-KEY"),
        ("a: !!python/object/apply:os.system [true]\n", "YAML-TAG"),
        ("a: !custom x\n", "YAML-TAG"),
        ("a: !!int x\n", "YAML-TAG"),
        ("a: .inf\n", "YAML-VALUE"),
        ("a: *nowhere\n", "YAML-ALIAS"),
        ("a: &a [1, *a]\n", "YAML-ALIAS"),
        ("a: 1\n---\nb: 2\n", "YAML-MULTI-DOC"),
        ("a: [1, 2\n", "YAML-SYNTAX"),
        ("# nothing\n", "YAML-EMPTY"),
        ("[" * 65 + "]" * 65, "YAML-DEPTH"),
    ],
)
def test_refused_constructs(text: str, rule: str) -> None:
    assert findings_of(text)[-1][0] == rule


def test_depth_limit_is_not_off_by_one() -> None:
    assert load_text("[" * 64 + "]" * 64, "f.yaml") is not None


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    assert findings_of("\n".join(lines) + "\n")[-1][0] == "YAML-ALIAS-LIMIT"


def test_a_few_aliases_are_fine() -> None:
    doc = load_text("base: &b {x: 1}\nlist: [*b, *b, *b]\n", "f.yaml")
    assert len(doc["list"]) == 3


def test_libyaml_nesting_limit_is_our_depth_finding() -> None:
    # libyaml's scanner reads ahead on `[[[...` and refuses the nesting itself, before our
    # depth check sees an event; the finding is the same YAML-DEPTH, at libyaml's position
    with pytest.raises(InputError) as e:
        load_text("[" * 10_000 + "]" * 10_000, "f.yaml")
    (f,) = e.value.findings
    assert (f.rule, f.message) == ("YAML-DEPTH", "nesting deeper than 64 levels")
    assert f.mark is not None and f.mark.file == "f.yaml" and f.mark.line == 1
    assert f.hint == "a cluster file needs far fewer levels; is this the right file?"


@pytest.mark.parametrize(
    "error_type", [yaml.scanner.ScannerError, yaml.parser.ParserError], ids=["scanner", "parser"]
)
def test_any_yaml_nesting_error_is_our_depth_finding(
    error_type: type[yaml.MarkedYAMLError], monkeypatch: pytest.MonkeyPatch
) -> None:
    # whichever PyYAML release raises it, and from which stage, the rule id stays ours
    at = yaml.Mark("f.yaml", 0, 2, 6, None, None)

    def parse(*_args: object, **_kwargs: object) -> Iterator[object]:
        yield yaml.StreamStartEvent()
        raise error_type("while parsing", at, "exceeded maximum nesting depth", at)

    monkeypatch.setattr(yaml, "parse", parse)
    with pytest.raises(InputError) as e:
        load_text("a: 1\n", "f.yaml")
    (f,) = e.value.findings
    assert (f.rule, f.mark) == ("YAML-DEPTH", Mark("f.yaml", 3, 7))
    assert f.message == "nesting deeper than 64 levels"


# ---- YAML syntax errors in plain words, with an excerpt ---------------------------------------


def syntax_error(text: str) -> Finding:
    with pytest.raises(InputError) as e:
        load_text(text, "f.yaml")
    (f,) = e.value.findings
    assert f.rule == "YAML-SYNTAX" and not e.value.unreadable
    return f


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("metadata:\n\tname: lab\n", (2, 1)),  # a tab as the indentation
        ("metadata:\n  \tname: lab\n", (2, 3)),  # after spaces: the tab's own column
        ("a:\n  b: 1\n\t\n", (3, 1)),  # a tab on a line of its own (another libyaml message)
        ("a:\n\t- 1\n", (2, 1)),
    ],
)
def test_a_tab_in_the_indentation_is_named(text: str, at: tuple[int, int]) -> None:
    f = syntax_error(text)
    assert f.message == f"a tab at column {at[1]}: YAML indents with spaces, never tabs"
    assert f.hint == "replace the tab with spaces"
    assert f.mark is not None and (f.mark.line, f.mark.col) == at
    assert f.excerpt is not None and f.excerpt.lines[-1][0] == at[0]


def test_a_tab_inside_a_value_is_fine() -> None:
    assert load_text("a:\n  b:\t1\n", "f.yaml") == {"a": {"b": 1}}


def test_a_key_indented_less_than_its_siblings() -> None:
    f = syntax_error("spec:\n  racks:\n    units: 42\n   power_kw: 60\n")
    assert f.mark == Mark("f.yaml", 4, 4)
    assert f.message == (
        "this line's indentation does not match the keys above it (it starts at column 4; "
        "the mapping from line 2 has its keys at column 3, line 3 starts at column 5)"
    )
    assert f.hint is not None and "indentation" in f.hint and "spaces" in f.hint
    assert f.excerpt is not None
    assert f.excerpt.render() == [
        "  3 |     units: 42",
        "  4 |    power_kw: 60",
        "    |    ^",
    ]


def test_a_list_item_indented_unlike_the_items_above() -> None:
    f = syntax_error("phases:\n  - name: p1\n    status: live\n   target: 10\n")
    assert f.mark == Mark("f.yaml", 4, 4)
    assert "does not match the list items above it" in f.message
    assert "the list from line 2 has its items at column 3" in f.message


def test_a_key_among_list_items() -> None:
    f = syntax_error("a:\n  - 1\n  x: 2\n")
    assert f.mark == Mark("f.yaml", 3, 3)
    assert f.message == "this line is not a list item, but the list from line 2 has its items here"
    assert f.hint == "start it with '- ', or indent it under the item it belongs to"


def test_a_key_indented_under_a_key_with_a_value() -> None:
    f = syntax_error("a:\n  b: 1\n    c: 2\n")
    assert f.mark == Mark("f.yaml", 3, 5)
    assert f.message == "this line is indented deeper than line 2, whose key already has a value"


def test_a_value_holding_colon_space_must_be_quoted() -> None:
    f = syntax_error("description: ratio: 4\n")
    assert f.message == "a value holds ': ': YAML reads it as a second key on the line"
    assert f.hint is not None and "quote" in f.hint


def test_a_line_with_no_colon_is_pointed_at() -> None:
    f = syntax_error("a:\n  b: 1\n  c\n  d: 2\n")
    assert f.mark == Mark("f.yaml", 3, 3)  # the line itself, not the one libyaml stopped on
    assert "no ':'" in f.message


def test_other_syntax_errors_keep_libyamls_words_and_get_an_excerpt() -> None:
    f = syntax_error("a: [1, 2\nb: 3\n")
    assert f.message.startswith("did not find expected ',' or ']'")
    assert f.excerpt is not None and f.excerpt.lines == ((2, "b: 3"),)


def test_a_line_naming_a_secret_is_never_excerpted() -> None:
    f = syntax_error("credentials:\n  bmc:\n    password: hunter2: x\n")
    assert f.mark is not None and f.mark.line == 3
    assert f.excerpt is None


def test_a_secret_line_above_is_left_out_of_the_excerpt() -> None:
    f = syntax_error("bmc:\n  password: hunter2\n   user: x\n")
    assert f.mark == Mark("f.yaml", 3, 4)
    assert f.excerpt is not None and f.excerpt.lines == ((3, "   user: x"),)
    assert "hunter2" not in "\n".join(f.excerpt.render())


def test_the_caret_stays_under_its_character() -> None:
    # a tab shows as four spaces (four carets under a tab); a wide character takes two columns
    tab = Excerpt(lines=((7, "\tname: x"),), col=1)
    assert tab.render() == ["  7 |     name: x", "    | ^^^^"]
    wide = Excerpt(lines=((12, "d: 万卡 x: y"),), col=7)  # the x: 3 + 4 + 1 columns before it
    assert wide.render() == ["  12 | d: 万卡 x: y", "     |         ^"]


def test_an_empty_file_is_unreadable_input() -> None:
    for text in ("", "# only\n# comments\n", "\n\n"):
        with pytest.raises(InputError) as e:
            load_text(text, "f.yaml")
        assert e.value.unreadable, repr(text)
        assert [f.rule for f in e.value.findings] == ["YAML-EMPTY"]


def test_a_key_with_no_colon_above_a_key_is_pointed_at() -> None:
    # libyaml reads `role management` and the next line as one value and stops at its ':'
    f = syntax_error("plane:\n  role management\n  description: x\n")
    assert f.mark == Mark("f.yaml", 2, 3)
    assert f.message == "this line is in a mapping but has no ':' after its key"


def test_an_indented_first_key_is_an_indentation_error() -> None:
    f = syntax_error("  apiVersion: wanka/v1\nkind: Cluster\n")
    assert f.mark == Mark("f.yaml", 2, 1)
    assert f.message == (
        "this line's indentation does not match the lines above it "
        "(it starts at column 1, line 1 at column 3)"
    )
