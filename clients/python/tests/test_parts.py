"""The parts without a daemon: the SSE parser, and the default socket checked against edgectl's own code."""

from __future__ import annotations

import json
import subprocess

from conftest import ROOT

from edge_stack import default_socket_path
from edge_stack.sse import SseEvent, SseParser


def test_sse_events_split_anywhere_and_any_line_ending() -> None:
    stream = ": edged events\n\nevent: peer:lost\ndata: {\"a\":\r\ndata: 1}\r\n\r\nid: 7\nevent: x\ndata: y\r\rdata: plain\n\n"
    expected = [SseEvent("peer:lost", '{"a":\n1}'), SseEvent("x", "y", "7"), SseEvent("message", "plain", "7")]
    assert SseParser().push(stream) == expected
    for size in (1, 2, 3, 5):
        parser = SseParser()
        events = [e for i in range(0, len(stream), size) for e in parser.push(stream[i:i + size])]
        assert events == expected, f"chunks of {size}"


def test_the_default_socket_is_the_one_edgectl_picks() -> None:
    envs = [{}, {"EDGED_SOCKET": "/tmp/elsewhere.sock"}, {"XDG_RUNTIME_DIR": "/run/user/1000"},
            {"TMPDIR": "/var/tmp/", "EDGED_SOCKET": ""}]
    script = ("import { clientSocketPath } from './src/client/socket-path.ts';"
              "const envs = JSON.parse(process.argv[1]); console.log(JSON.stringify(envs.map(e => clientSocketPath(e))))")
    node = ROOT / "node_modules" / ".bin" / "node"
    out = subprocess.run([str(node), "--input-type=module", "-e", script, json.dumps(envs)], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=30).stdout
    assert [default_socket_path(e) for e in envs] == json.loads(out)
