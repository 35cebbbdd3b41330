"""`wanka report`: the pages hold exactly the model's racks and devices, open in headless
Chromium without a console error or a network request, and are deterministic.

Chromium (Debian's `chromium`, installed by `make deps`) is driven over the DevTools protocol:
the test reads every console message, exception, log entry and request of a page load, and
counts the drawn racks and devices in the browser's own DOM.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import websocket
from conftest import ROOT, run_wanka

from wanka.derive.bundle import Derived
from wanka.pipeline import check, derive
from wanka.review import htmlreport, svg
from wanka.review.plan import build_plan

LAB = ROOT / "examples/lab-mini/cluster.yaml"
SZ = ROOT / "examples/shenzhen-14000p/cluster.yaml"
CHROMIUM = "/usr/bin/chromium"


# ---- reading the pages -------------------------------------------------------------------------


class Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def elements(path: Path) -> list[tuple[str, dict[str, str]]]:
    p = Elements()
    p.feed(path.read_text(encoding="utf-8"))
    return p.tags


def drawn(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """(rack names, {device name: attributes}) of the rack elevations on a page."""
    tags = elements(path)
    racks = [a["data-rack"] for t, a in tags if t == "svg" and "data-rack" in a]
    devices = {a["data-device"]: a for t, a in tags if "data-device" in a}
    return racks, devices


# ---- headless Chromium over the DevTools protocol --------------------------------------------


class Browser:
    """One headless Chromium; `load(url)` returns what a page load reported."""

    def __init__(self) -> None:
        assert Path(CHROMIUM).exists(), (
            "Debian's chromium is needed (apt-get install chromium, or `make deps`)"
        )
        self.profile = tempfile.mkdtemp(prefix="wanka-chromium-")
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self.ws = self._connect()
        except BaseException:
            self._stop()  # never leave a browser running behind a failed start
            raise
        self.next_id = 0
        for method in ("Runtime.enable", "Log.enable", "Network.enable", "Page.enable"):
            self.call(method)

    def _connect(self) -> websocket.WebSocket:
        """The DevTools websocket of Chromium's page, straight to loopback (no proxy from the
        environment: websocket-client would honour http_proxy)."""
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lines = port_file.read_text().splitlines() if port_file.exists() else []
            if len(lines) >= 2:
                break
            assert self.proc.poll() is None, f"chromium exited with {self.proc.returncode}"
            time.sleep(0.05)
        else:
            raise AssertionError("chromium did not open its DevTools port in 30 s")
        port = int(lines[0])
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        pages: list[dict[str, Any]] = []
        while not pages and time.monotonic() < deadline:
            with direct.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                pages = [t for t in json.load(r) if t["type"] == "page"]
            time.sleep(0 if pages else 0.1)
        assert pages, "chromium has no page to drive"
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        return websocket.create_connection(
            pages[0]["webSocketDebuggerUrl"], timeout=30, suppress_origin=True, socket=sock
        )

    def send(self, method: str, **params: Any) -> int:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def call(self, method: str, events: list[dict[str, Any]] | None = None, **params: Any) -> Any:
        """Send a command and wait for its answer, keeping the events that come first."""
        want = self.send(method, **params)
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == want:
                assert "error" not in msg, msg
                return msg.get("result")
            if events is not None and "method" in msg:
                events.append(msg)

    def load(self, url: str) -> tuple[list[str], list[str]]:
        """Open `url`; (problems: console errors and warnings, exceptions, error log entries;
        URLs requested)."""
        events: list[dict[str, Any]] = []
        self.call("Page.navigate", events, url=url)
        while not any(e["method"] == "Page.loadEventFired" for e in events):
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                events.append(msg)
        # messages logged right after the load event (late errors) still count
        self.call("Runtime.evaluate", events, expression="1")
        problems, requests = [], []
        for e in events:
            m, p = e["method"], e["params"]
            if m == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning", "assert"):
                problems.append(f"console.{p['type']}: {p['args']}")
            elif m == "Runtime.exceptionThrown":
                problems.append(f"exception: {p['exceptionDetails']}")
            elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                problems.append(f"log {p['entry']['level']}: {p['entry']['text']}")
            elif m == "Network.requestWillBeSent":
                requests.append(p["request"]["url"])
            elif m == "Network.loadingFailed":
                problems.append(f"failed to load: {p.get('errorText')}")
        return problems, requests

    def count(self, selector: str) -> int:
        result = self.call(
            "Runtime.evaluate",
            expression=f"document.querySelectorAll({json.dumps(selector)}).length",
            returnByValue=True,
        )
        return int(result["result"]["value"])

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self._stop()

    def _stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    try:
        yield b
    finally:
        b.close()


# ---- the reports -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab() -> Derived:
    return derive(check(str(LAB)))


@pytest.fixture(scope="module")
def sz() -> Derived:
    return derive(check(str(SZ)))


@pytest.fixture(scope="module")
def lab_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lab") / "report"
    r = run_wanka("report", str(LAB), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wanka report: wrote 1 page to {out}"), r.stdout
    return out


@pytest.fixture(scope="module")
def sz_report(tmp_path_factory: pytest.TempPathFactory, sz: Derived) -> Path:
    out = tmp_path_factory.mktemp("sz") / "report"
    assert htmlreport.write(sz, out) == len(sz.cluster.pods) + 2  # and index, facility
    return out


def test_lab_index_draws_every_rack_and_device(lab_report: Path, lab: Derived) -> None:
    c = lab.cluster
    assert sorted(p.name for p in lab_report.iterdir()) == ["index.html"]  # small: one page
    racks, devices = drawn(lab_report / "index.html")
    assert racks == [r.name for r in c.racks]
    switches = {n: a for n, a in devices.items() if a["data-kind"] == "switch"}
    nodes = {n: a for n, a in devices.items() if a["data-kind"] == "node"}
    assert sorted(switches) == sorted(s.name for s in c.switches)
    assert sorted(nodes) == sorted(n.name for n in c.nodes)
    for s in c.switches:
        a = switches[s.name]
        assert (a["data-role"], a["data-plane"], a["data-tier"]) == (s.tier, s.plane.name, s.tier)
        assert (int(a["data-unit"]), int(a["data-units"])) == (s.unit, s.model.rack_units)
    for n in c.nodes:
        a = nodes[n.name]
        assert a["data-role"] == n.model.role
        assert (int(a["data-unit"]), int(a["data-units"])) == (n.unit, n.model.rack_units)


def test_lab_fabric_counts_the_cabling(lab_report: Path, lab: Derived) -> None:
    tags = elements(lab_report / "index.html")
    planes = [a["data-plane"] for t, a in tags if t == "svg" and "data-plane" in a]
    assert planes == ["param", "mgmt", "oob"]
    links = Counter(a["data-links"] for t, a in tags if "data-links" in a)
    counts = {a["data-links"]: int(a["data-count"]) for t, a in tags if "data-links" in a}
    tier = {s.name: s.tier for s in lab.cluster.switches}
    expected = Counter(
        f"{tier.get(cb.a.device, 'nodes')}-{tier[cb.b.device]}" for cb in lab.cabling.cables
    )
    # nodes-leaf on three planes, leaf-spine on the parameter plane
    assert links == Counter({"nodes-leaf": 3, "leaf-spine": 1})
    assert counts["leaf-spine"] == expected["leaf-spine"] == 8
    total_node_links = sum(
        int(a["data-count"]) for t, a in tags if a.get("data-links") == "nodes-leaf"
    )
    assert total_node_links == expected["nodes-leaf"]
    phases = {a["data-phase"]: a["data-meets-target"] for t, a in tags if "data-phase" in a}
    assert phases == {"p1": "true", "p2": "true"}


def test_shenzhen_index_aggregates_pods_and_each_pod_page_draws_its_racks(
    sz_report: Path, sz: Derived
) -> None:
    c = sz.cluster
    racks, devices = drawn(sz_report / "index.html")
    assert racks == [] and devices == {}  # 856 racks: aggregated by pod on the index
    tags = elements(sz_report / "index.html")
    tiles = {a["data-pod"]: int(a["data-racks"]) for t, a in tags if "data-pod" in a}
    assert tiles == {p.name: len(p.racks) for p in c.pods}
    links = [a["href"] for t, a in tags if t == "a" and a.get("href", "").startswith("pod-")]
    # each pod is linked twice, from its tile and from the table of pods, to an existing page
    assert Counter(links) == Counter({f"pod-{p.name}.html": 2 for p in c.pods})
    assert all((sz_report / href).is_file() for href in links)

    excluded = {
        name
        for page in sz_report.glob("pod-*.html")
        for name, a in drawn(page)[1].items()
        if a.get("data-excluded") == "true"
    }
    assert excluded == {n.name for n in c.nodes if n.excluded} != set()

    pod = next(p for p in c.pods if p.name == "sz1-p1-pod01")
    racks, devices = drawn(sz_report / "pod-sz1-p1-pod01.html")
    assert racks == [r.name for r in pod.racks]
    assert sorted(n for n, a in devices.items() if a["data-kind"] == "switch") == sorted(
        s.name for s in pod.switches
    )
    assert sorted(n for n, a in devices.items() if a["data-kind"] == "node") == sorted(
        n.name for n in pod.nodes
    )
    supernodes = {n: int(a["data-supernode"]) for n, a in devices.items() if "data-supernode" in a}
    assert supernodes == {n.name: n.supernode + 1 for n in pod.nodes if n.supernode is not None}
    assert len(set(supernodes.values())) == 1  # 48 servers, one 384-card supernode


def test_no_network_reference(lab_report: Path, sz_report: Path) -> None:
    pages = [*lab_report.glob("*.html"), *sz_report.glob("*.html")]
    assert len(pages) > 50
    for page in pages:
        text = page.read_text(encoding="utf-8")
        refs = re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?([^"')\s>]+)""", text)
        assert not [r for r in refs if re.match(r"[a-z][a-z0-9+.-]*:", r) and r != "data:,"]
        # the only absolute URL is the SVG namespace name, which is not fetched
        assert set(re.findall(r"https?://[^\s\"'<>)]+", text)) == {"http://www.w3.org/2000/svg"}
        assert "<script" not in text


def test_pages_open_in_chromium_without_errors(
    browser: Browser, lab_report: Path, sz_report: Path, lab: Derived, sz: Derived
) -> None:
    pod = sz.cluster.pods[5]
    cases = [
        (lab_report / "index.html", len(lab.cluster.racks), len(lab.cluster.switches)),
        (sz_report / "index.html", 0, 0),
        (sz_report / f"pod-{pod.name}.html", len(pod.racks), len(pod.switches)),
    ]
    for page, racks, switches in cases:
        url = page.as_uri()
        problems, requests = browser.load(url)
        assert problems == [], f"{page.name}: {problems}"
        assert requests == [url], f"{page.name} requested more than itself: {requests}"
        # the browser parsed the inline SVG into the same elements
        assert browser.count("svg[data-rack]") == racks
        assert browser.count('[data-device][data-kind="switch"]') == switches
    # the facility page: per hall a stacked bar (IT, liquid and air overhead) against its IT
    # capacity, and its liquid and air heat against its usable cooling
    page = sz_report / "facility.html"
    url = page.as_uri()
    problems, requests = browser.load(url)
    assert problems == [] and requests == [url], (problems, requests)
    halls = sz.cluster.facility.halls if sz.cluster.facility else {}
    assert browser.count('svg[data-chart="facility"]') == 1
    assert browser.count("svg [data-hall]") == len(halls) == 2
    for seg in ("it", "liquid-overhead", "air-overhead"):
        assert browser.count(f'[data-hall] rect[data-segment="{seg}"]') == 2
    for cap in ("it", "liquid", "air"):
        assert browser.count(f'[data-hall] line[data-capacity="{cap}"]') == 2
    assert browser.count("caption") == 3  # halls, per phase and hall, tariffs
    # the index links to it
    browser.load((sz_report / "index.html").as_uri())
    assert browser.count('nav a[href="facility.html"]') == 1


def test_the_browser_check_catches_errors(browser: Browser, tmp_path: Path) -> None:
    """The harness itself can fail: a console error, a script error and a missing image."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body>"
        '<img src="missing.png"><script>console.error("boom"); undefinedThing();</script>'
        "</body></html>",
        encoding="utf-8",
    )
    problems, requests = browser.load(page.as_uri())
    text = "\n".join(problems)
    assert "console.error" in text and "boom" in text
    assert "exception" in text and "undefinedThing" in text
    assert (tmp_path / "missing.png").as_uri() in requests


def test_deterministic_and_atomic(lab: Derived, lab_report: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    out.mkdir()
    (out / "stale.html").write_text("old", encoding="utf-8")
    assert htmlreport.write(lab, out) == 1
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]  # replaced, not merged
    assert (out / "index.html").read_bytes() == (lab_report / "index.html").read_bytes()


def test_split_into_pod_pages_and_phase(lab: Derived, tmp_path: Path) -> None:
    out = tmp_path / "split"
    assert htmlreport.write(lab, out, phase="p2", inline_racks=1) == 2
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "pod-lab-p2-pod01.html"]
    racks, _ = drawn(out / "pod-lab-p2-pod01.html")
    assert racks == [r.name for r in lab.cluster.racks if r.pod.phase.name == "p2"]
    tags = elements(out / "index.html")
    assert [a["data-phase"] for t, a in tags if "data-phase" in a] == ["p2"]
    # phase 2's leaves uplink to phase 1's spines: drawn as reached, with the links
    boxes = {a["data-tier-box"]: int(a["data-switches"]) for t, a in tags if "data-tier-box" in a}
    assert boxes["spine"] == 2
    links = {a["data-links"]: int(a["data-count"]) for t, a in tags if "data-links" in a}
    assert links["leaf-spine"] == 4  # the p2 leaf's 4 uplinks
    assert "spine switches of other phases" in (out / "index.html").read_text(encoding="utf-8")


def test_cli_phase_and_bad_input(tmp_path: Path) -> None:
    h = run_wanka("report", "--help")
    assert h.returncode == 0
    assert f"more than {htmlreport.INLINE_RACKS} racks" in " ".join(h.stdout.split())

    out = tmp_path / "r"
    r = run_wanka("report", str(LAB), "--out", str(out), "--phase", "p9")
    assert r.returncode == 2
    assert "unknown phase 'p9' (phases: p1, p2)" in r.stderr
    assert not out.exists()

    r = run_wanka("report", str(tmp_path / "missing.yaml"), "--out", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert not out.exists()


def test_invalid_cluster_gets_a_findings_report(
    tmp_path: Path, lab_text: str, browser: Browser
) -> None:
    bad = tmp_path / "cluster.yaml"
    bad.write_text(lab_text.replace("rack: lc-60\n", "rack: lc-06\n", 1), encoding="utf-8")
    out = tmp_path / "r"
    r = run_wanka("report", str(bad), "--out", str(out))
    assert r.returncode == 1
    assert "error[REF-UNRESOLVED]" in r.stderr and "Traceback" not in r.stderr
    assert f"wrote its 1 finding(s) to {out}/index.html" in r.stderr
    text = (out / "index.html").read_text(encoding="utf-8")
    line = lab_text[: lab_text.index("rack: lc-60\n")].count("\n") + 1
    assert f"{bad}:{line}:" in text and "REF-UNRESOLVED" in text
    assert "data-rack" not in text and "data-plane" not in text  # no drawing of a broken model
    assert "1 error, 0 warnings" in text
    problems, requests = browser.load((out / "index.html").as_uri())
    assert problems == [] and requests == [(out / "index.html").as_uri()]


def test_rack_elevation_geometry_and_headroom_colours(lab: Derived) -> None:
    """Unit 1 at the bottom of the frame, higher units above; a bar turns red over capacity."""
    rows = {r["name"]: r for r in build_plan(lab)["racks"]}
    rack = lab.cluster.racks[1]  # two 4U servers at U1 and U5
    drawing = svg.rack(rack, rows[rack.name])
    frame = re.search(r'y="([\d.]+)" width="\d+" height="([\d.]+)" class="frame"', drawing)
    assert frame is not None
    frame_y, frame_h = float(frame.group(1)), float(frame.group(2))
    tops = {}
    for n in rack.nodes:
        m = re.search(rf'data-device="{n.name}".*?<rect x="[\d.]+" y="([\d.]+)"', drawing)
        assert m is not None
        tops[n.unit] = float(m.group(1))
    assert tops[1] == frame_y + frame_h - 4 * svg.UNIT_H + 0.5  # bottom four units
    assert tops[5] == tops[1] - 4 * svg.UNIT_H  # the next server right above it

    def fill(drawing: str, bar: str) -> str:
        m = re.search(rf'data-bar="{bar}">.*?</g>', drawing)
        assert m is not None
        return re.findall(r'fill="(#[0-9a-f]{6})"', m.group(0))[-1]

    assert fill(drawing, "power") == svg.OK
    over = dict(rows[rack.name], nominal_kw=rows[rack.name]["feed_kw"] * 1.2)
    assert fill(svg.rack(rack, over), "power") == svg.OVER
    tight = dict(rows[rack.name], liquid_kw=rows[rack.name]["liquid_capacity_kw"] * 0.9)
    assert fill(svg.rack(rack, tight), "liquid") == svg.TIGHT


def test_facility_bars_stack_to_the_facility_power(sz: Derived) -> None:
    """Each hall's segments (IT, liquid and air overhead) add up to its facility power, drawn
    on one kW scale with its IT capacity; heat over the usable cooling is drawn red."""
    halls = build_plan(sz)["capacity"]["facility"]["halls"]
    p = Elements()
    p.feed(svg.facility(halls))
    hall, widths, kws, caps = "", dict[str, float](), dict[str, float](), dict[str, float]()
    for tag, a in p.tags:
        if tag == "g" and "data-hall" in a:
            hall = a["data-hall"]
        elif tag == "rect" and "data-segment" in a:
            widths[hall] = widths.get(hall, 0.0) + float(a["width"])
            kws[hall] = kws.get(hall, 0.0) + float(a["data-kw"])
        elif tag == "line" and a.get("data-capacity") == "it":
            caps[hall] = float(a["x1"])
    top = max(max(float(h["facility_kw"]), float(h["it_capacity_kw"])) for h in halls)
    top = max([top] + [float(h[k]["installed_kw"]) for h in halls for k in ("liquid", "air")])
    for h in halls:
        name = h["hall"]
        assert kws[name] == pytest.approx(h["facility_kw"], abs=0.05)
        assert widths[name] == pytest.approx(680 * h["facility_kw"] / top, abs=0.3)
        assert caps[name] == pytest.approx(64 + 680 * h["it_capacity_kw"] / top, abs=0.1)
    over = dict(halls[0], liquid_kw=float(halls[0]["liquid"]["usable_kw"]) + 1)
    drawn_over = svg.facility([over])
    assert f'fill="{svg.OVER}" data-heat="liquid"' in drawn_over
    assert f'fill="{svg.OVER}" data-heat="air"' not in drawn_over
