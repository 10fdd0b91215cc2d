"""Two real edged daemons on loopback (as test/helpers/edged-process.ts starts them), shared by the tests."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[3]
EDGED = ROOT / "bin" / "edged"
# The package from the source tree, whether or not it is installed.
sys.path.insert(0, str(ROOT / "clients" / "python"))

from edge_stack import EdgeClient  # noqa: E402

START_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 8.0

# A small live test pattern: cheap to encode and decode on a busy machine.
VIDEO = {"kind": "video", "codec": "h264", "pipeline": "videotestsrc is-live=true pattern=ball",
         "width": 320, "height": 240, "fps": 30, "bitrate": 500}


@dataclass
class Edged:
    name: str
    dir: Path
    socket: str
    proc: subprocess.Popen
    peer_id: str = ""

    def output(self) -> str:
        try:
            return (self.dir / "edged.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _config(dir: Path, name: str, over: Dict[str, Any]) -> Dict[str, Any]:
    config: Dict[str, Any] = {
        "stateDir": str(dir / "state"),
        "control": {"socket": str(dir / "edged.sock")},
        "swarm": {"name": f"pyclient-{os.getpid()}", "nodeName": name, "listen": ["/ip4/127.0.0.1/tcp/0"], "mdns": False,
                  "announceIntervalMs": 500, "peerExpiryMs": 3000},
        "rtc": {"bindAddress": "127.0.0.1"},
        "media": {"sources": {"video": VIDEO}},
        "web": {"enabled": False},
        "log": {"level": "info"},
    }
    for key, value in over.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) and isinstance(config.get(key), dict) else value
    return config


async def _status(socket: str) -> Dict[str, Any]:
    async with EdgeClient(socket, timeout=2) as edge:
        return await edge.status()


def start_edged(name: str, **over: Any) -> Edged:
    """Run bin/edged --config FILE on a temp dir of its own; wait until its control socket answers."""
    dir = Path(tempfile.mkdtemp(prefix=f"edged-py-{name}-"))
    config_file = dir / "edged.yaml"
    # YAML is a superset of JSON.
    config_file.write_text(json.dumps(_config(dir, name, over)))
    log = open(dir / "edged.log", "wb")
    proc = subprocess.Popen([str(EDGED), "--config", str(config_file)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    log.close()
    edged = Edged(name, dir, str(dir / "edged.sock"), proc)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"edged {name} exited during start ({proc.returncode}):\n{edged.output()}")
        if time.monotonic() > deadline:
            edged.stop()
            raise RuntimeError(f"edged {name} did not answer on {edged.socket} in time:\n{edged.output()}")
        try:
            edged.peer_id = asyncio.run(_status(edged.socket))["peerId"]
            return edged
        except Exception:
            time.sleep(0.1)


async def wait_until(what: str, check, timeout: float = 15.0, every: float = 0.1) -> Any:
    """Poll the coroutine function ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Optional[BaseException] = None
    while True:
        try:
            value = await check()
            if value:
                return value
        except Exception as err:  # noqa: BLE001 (kept for the message)
            last = err
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {last!r}" if last else ""))
        await asyncio.sleep(every)


async def connected(edge: EdgeClient, peer: str) -> bool:
    sessions = (await edge.sessions())["sessions"]
    return any(s["peer"] == peer and s["state"] == "connected" for s in sessions)


@dataclass
class Pair:
    a: Edged
    b: Edged


@pytest.fixture(scope="session")
def pair() -> Iterator[Pair]:
    """Daemons A and B, B bootstrapped from A, with a connected session."""
    started: List[Edged] = []
    try:
        a = start_edged("alpha")
        started.append(a)
        address = asyncio.run(_status(a.socket))["addresses"][0]
        b = start_edged("bravo", swarm={"bootstrap": [address]})
        started.append(b)

        async def mesh() -> None:
            async with EdgeClient(a.socket) as on_a, EdgeClient(b.socket) as on_b:
                await wait_until("A and B connected", lambda: _both(on_a, on_b, a, b), CONNECT_TIMEOUT_S)

        asyncio.run(mesh())
        yield Pair(a, b)
    finally:
        for d in started:
            d.stop()
        for d in started:
            shutil.rmtree(d.dir, ignore_errors=True)


async def _both(on_a: EdgeClient, on_b: EdgeClient, a: Edged, b: Edged) -> bool:
    return await connected(on_a, b.peer_id) and await connected(on_b, a.peer_id)


def run(coro) -> Any:
    """Run one test's coroutine (no pytest-asyncio needed)."""
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.fixture()
def env_for() -> Iterator[Any]:
    """The environment for a program that should find daemon `d`'s socket by itself."""
    def make(d: Edged) -> Dict[str, str]:
        return {**os.environ, "EDGED_SOCKET": d.socket, "PYTHONPATH": str(ROOT / "clients" / "python")}
    yield make
