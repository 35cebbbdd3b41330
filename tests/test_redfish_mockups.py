"""wanka.drivers.redfish against DMTF's own mockups, served on loopback file by file as
DMTF's Redfish-Mockup-Server serves them (`<path>/index.json` is `/redfish/v1/<path>`):
public-rackmount1 (a VLAN interface repeating its parent's MAC) and public-smartnic (the
NICs under `Chassis/.../NetworkAdapters`, reached from the system's NetworkInterfaces).
The files are in tests/fixtures/redfish-mockups/ (SOURCE.md: where from). A PATCH is
answered with a body the test gives: iLO 5's real 200 answer, and DMTF's Base registry
message for a value the service did not take. No root needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from wanka.drivers.redfish import BmcUnreachable, Client, RedfishError
from wanka.drivers.redfish_messages import clip

MOCKUPS = Path(__file__).parent / "fixtures" / "redfish-mockups"
SYSTEM = "/redfish/v1/Systems/437XR1138R2"


@dataclass
class Mockup:
    root: Path
    url: str = ""
    gets: list[str] = field(default_factory=list)
    patch_answer: tuple[int, Any] = (204, None)
    patches: list[tuple[str, Any]] = field(default_factory=list)


def _handler(m: Mockup) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?")[0].rstrip("/")
            m.gets.append(path)
            rel = path.removeprefix("/redfish/v1").strip("/")
            f = m.root / rel / "index.json"
            if not path.startswith("/redfish/v1") or not f.is_file():
                self._send(404, {"error": {"code": "Base.1.8.ResourceMissingAtURI"}})
                return
            self._send(200, json.loads(f.read_text(encoding="utf-8")))

        def do_PATCH(self) -> None:  # noqa: N802
            n = int(self.headers.get("Content-Length") or 0)
            m.patches.append((self.path, json.loads(self.rfile.read(n) or b"null")))
            self._send(*m.patch_answer)

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(name: str) -> Mockup:
        m = Mockup(MOCKUPS / name)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(m))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        m.url = f"http://127.0.0.1:{server.server_address[1]}"
        return m

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_a_vlan_repeating_its_parents_mac_lists_it_once(serve: Any) -> None:
    m = serve("public-rackmount1")
    with Client(m.url, poll=0.1) as c:
        inv = c.inventory()
    # VLAN1 repeats 12446A3B0411's MAC; 12446A3B8890's permanent MAC, not its current one
    assert inv["macs"] == ["12:44:6a:3b:04:11", "12:44:6a:3b:88:90", "aa:bb:cc:dd:ee:fe"]
    assert f"{SYSTEM}/EthernetInterfaces/VLAN1" in m.gets
    assert inv["serial"] == "437XR1138R2" and inv["system"] == SYSTEM


def test_a_smartnics_macs_come_from_its_chassis_network_adapters(serve: Any) -> None:
    m = serve("public-smartnic")
    with Client(m.url, "437XR1138R2", poll=0.1) as c:  # two systems: the host, the SoC
        inv = c.inventory()
    # four functions on two cards, each card's ports with the same permanent MACs
    assert inv["macs"] == ["a0:b0:c0:d0:e0:f0", "a1:b1:c1:d1:e1:f1"]
    read = {p for p in m.gets if "/NetworkAdapters/" in p}
    assert read == {
        f"/redfish/v1/Chassis/Card{i}/NetworkAdapters/Slot{i}/NetworkDeviceFunctions/{f}"
        for i in (1, 2)
        for f in ("SC2KP1F0", "SC2KP2F0")
    }


def test_ilo5s_200_with_a_reset_required_is_a_success_that_says_so(serve: Any) -> None:
    m = serve("public-rackmount1")
    body = json.loads((MOCKUPS / "ilo5-patch-200.json").read_text(encoding="utf-8"))
    m.patch_answer = (200, body)
    with Client(m.url, poll=0.1) as c:
        c.set_boot("Hdd")
        assert c.messages == ["iLO.2.14.SystemResetRequired"]
    assert m.patches == [(SYSTEM, {"Boot": {"BootSourceOverrideTarget": "Hdd",
                                            "BootSourceOverrideEnabled": "Once"}})]  # fmt: skip


def test_a_200_saying_a_value_was_not_taken_fails(serve: Any) -> None:
    """DSP0266: a PATCH the service applied in part answers 200 with the resource and a
    message per property it did not apply; the message is DMTF's Base registry's
    (Base.1.22.1 PropertyValueNotInList, its text with the arguments put in)."""
    m = serve("public-rackmount1")
    resource = json.loads(
        (MOCKUPS / "public-rackmount1/Systems/437XR1138R2/index.json").read_text()
    )
    resource["@Message.ExtendedInfo"] = [{
        "@odata.type": "#Message.v1_1_1.Message",
        "MessageId": "Base.1.22.PropertyValueNotInList",
        "Message": "The value 'UefiHttp' for the property BootSourceOverrideTarget is not in "
                   "the list of acceptable values.",
        "MessageArgs": ["UefiHttp", "BootSourceOverrideTarget"],
        "RelatedProperties": ["#/Boot/BootSourceOverrideTarget"],
        "MessageSeverity": "Warning",
        "Resolution": "Choose a value from the enumeration list that the implementation can "
                      "support and resubmit the request if the operation failed.",
    }]  # fmt: skip
    m.patch_answer = (200, resource)
    with Client(m.url, poll=0.1) as c, pytest.raises(RedfishError) as e:
        c.set_boot("Cd")
    said = str(e.value)
    assert said.startswith(f"PATCH {SYSTEM} on BMC {m.url}: 200, but the BMC did not apply ")
    assert "'UefiHttp' for the property BootSourceOverrideTarget is not in the list" in said
    assert said.endswith("[#/Boot/BootSourceOverrideTarget]")


def test_an_unreachable_bmcs_reason_is_cut_between_words() -> None:
    url = "http://127.0.0.1:9"  # discard: nothing listens there
    with pytest.raises(requests.ConnectionError) as raw:
        requests.get(url + "/redfish/v1/", timeout=2)
    full = " ".join(str(raw.value.args[0]).split())
    assert len(full) > 160  # requests' reason is long: it gets cut
    with pytest.raises(BmcUnreachable) as e:
        Client(url, poll=0.1, timeout=2).system()
    reason = str(e.value).split("cannot connect (", 1)[1].removesuffix(")")
    assert reason.endswith("...")
    kept = reason.removesuffix("...")
    assert full.startswith(kept) and full[len(kept)] == " " and len(kept) <= 160


def test_clip_cuts_between_words_and_marks_the_cut() -> None:
    text = "HTTPConnectionPool(host='10.0.0.5', port=443): Max retries exceeded with url"
    assert clip(text, 200) == text
    assert clip(text, 40) == "HTTPConnectionPool(host='10.0.0.5',..."
    assert clip(text, 30, tail=True) == "...Max retries exceeded with url"
    assert clip(text, 25, tail=True) == "...retries exceeded with url"  # a word begins there
    assert clip(text, 24, tail=True) == "...exceeded with url"
    assert clip(text, 39) == "HTTPConnectionPool(host='10.0.0.5',..."  # a word ends there
    assert clip("a  b\n c", 10) == "a b c"
