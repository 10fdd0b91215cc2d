"""edge_stack.EdgeClient against two real daemons: requests, channels, events, watches."""

from __future__ import annotations

import asyncio
import shutil
import time

from conftest import Pair, run, start_edged, wait_until

from edge_stack import ChannelMessage, EdgeClient, Event


def test_status_peers_and_sessions(pair: Pair) -> None:
    async def main() -> None:
        async with EdgeClient(pair.a.socket) as edge:
            status = await edge.status()
            assert status["peerId"] == pair.a.peer_id
            assert status["name"] == "alpha"
            assert {"addresses", "swarm", "stack", "version"} <= status.keys()
            peers = (await edge.peers())["peers"]
            assert [p["name"] for p in peers if p["peerId"] == pair.b.peer_id] == ["bravo"]
            assert (await edge.peer(pair.b.peer_id))["name"] == "bravo"
            sessions = (await edge.sessions())["sessions"]
            assert any(s["peer"] == pair.b.peer_id and s["state"] == "connected" for s in sessions)
            assert (await edge.session(pair.b.peer_id))["state"] == "connected"
            assert any(s["name"] == "video" for s in (await edge.sources())["local"])

    run(main())


def test_messages_round_trip_both_ways_text_and_binary(pair: Pair) -> None:
    count = 500

    async def main() -> None:
        async with EdgeClient(pair.a.socket) as on_a, EdgeClient(pair.b.socket) as on_b:
            async with on_a.channel(pair.b.peer_id, "py-chat") as at_a, on_b.channel(pair.a.peer_id, "py-chat") as at_b:
                async def receive(channel, n):
                    return [await channel.receive(timeout=30) for _ in range(n)]

                got_at_b = asyncio.create_task(receive(at_b, count + 1))
                got_at_a = asyncio.create_task(receive(at_a, count + 1))
                for i in range(count):
                    await at_a.send(f"a→b {i}")
                    await at_b.send(f"b→a {i}")
                await at_a.send(bytes([0, 1, 2, 255]))
                await at_b.send(b"\x00binary")
                at_b_messages, at_a_messages = await asyncio.gather(got_at_b, got_at_a)
                assert at_b_messages == [f"a→b {i}" for i in range(count)] + [bytes([0, 1, 2, 255])]
                assert at_a_messages == [f"b→a {i}" for i in range(count)] + [b"\x00binary"]
                assert isinstance(at_b_messages[-1], bytes) and isinstance(at_b_messages[0], str)
            session = await on_a.session(pair.b.peer_id)
            stats = next(c for c in session["channels"] if c["label"] == "py-chat")
            assert stats["messagesSent"] >= count + 1

    run(main())


def test_send_by_post_reaches_the_messages_stream(pair: Pair) -> None:
    async def main() -> None:
        async with EdgeClient(pair.a.socket) as on_a, EdgeClient(pair.b.socket) as on_b:
            async with on_a.messages("py-post") as stream:
                sent = await on_b.send(pair.a.peer_id, "py-post", "hello by POST")
                assert sent == {"peer": pair.a.peer_id, "channel": "py-post", "bytes": 13}
                await on_b.send(pair.a.peer_id, "py-post", b"\x01\x02")
                first = await asyncio.wait_for(stream.__anext__(), 20)
                second = await asyncio.wait_for(stream.__anext__(), 20)
                assert first == ChannelMessage(pair.b.peer_id, "py-post", "hello by POST")
                assert second == ChannelMessage(pair.b.peer_id, "py-post", b"\x01\x02")

    run(main())


def test_events_arrive_as_a_peer_comes_and_goes(pair: Pair) -> None:
    address = run(_address(pair.a.socket))
    events: list = []

    async def follow(seen: asyncio.Event, charlie: list) -> None:
        async with EdgeClient(pair.a.socket) as edge:
            async for event in edge.events():
                assert isinstance(event, Event)
                events.append(event)
                if charlie and event.type == "session:state" and event.data["peer"] == charlie[0] \
                        and event.data["state"] == "connected":
                    seen.set()
                if charlie and event.type == "peer:lost" and event.data["peerId"] == charlie[0]:
                    return

    async def main() -> None:
        seen = asyncio.Event()
        charlie_id: list = []
        follower = asyncio.create_task(follow(seen, charlie_id))
        await asyncio.sleep(0.5)  # the stream is open before C starts
        c = await asyncio.to_thread(start_edged, "charlie", swarm={"bootstrap": [address]})
        try:
            charlie_id.append(c.peer_id)
            await asyncio.wait_for(seen.wait(), 30)
        finally:
            await asyncio.to_thread(c.stop)
            shutil.rmtree(c.dir, ignore_errors=True)
        await asyncio.wait_for(follower, 20)

        return charlie_id[0]

    charlie = run(main())
    about_charlie = {e.type for e in events if e.data.get("peerId", e.data.get("peer")) == charlie}
    assert {"peer:discovered", "session:state", "peer:lost"} <= about_charlie


async def _address(socket: str) -> str:
    async with EdgeClient(socket) as edge:
        return (await edge.status())["addresses"][0]


def test_a_watch_counts_frames(pair: Pair) -> None:
    async def main() -> None:
        async with EdgeClient(pair.a.socket) as edge:
            watch = await edge.watch(pair.b.peer_id, "video")
            assert watch["sink"] == "count" and watch["state"] == "active"
            try:
                info = await wait_until("30 decoded frames", lambda: _decoded(edge, watch["id"], 30), 20)
                assert info["stats"]["framesDecoded"] >= 30
                assert watch["id"] in [w["id"] for w in (await edge.watches())["watches"]]
            finally:
                await edge.unwatch(watch["id"])
            assert watch["id"] not in [w["id"] for w in (await edge.watches())["watches"]]

    run(main())


async def _decoded(edge: EdgeClient, watch_id: str, frames: int):
    info = await edge.watch_info(watch_id)
    return info if info["stats"]["framesDecoded"] >= frames else None


def test_send_waits_while_the_receiver_does_not_read(pair: Pair) -> None:
    """The WebSocket's backpressure, end to end: a program that does not read stops the sender."""
    size = 16 * 1024
    total = 2048  # 32 MiB: far more than the buffers on the way hold

    async def main() -> None:
        async with EdgeClient(pair.a.socket) as on_a, EdgeClient(pair.b.socket) as on_b:
            async with on_b.channel(pair.a.peer_id, "py-bulk") as at_b, on_a.channel(pair.b.peer_id, "py-bulk") as at_a:
                sent = 0

                async def sender() -> None:
                    nonlocal sent
                    for i in range(total):
                        await at_a.send(i.to_bytes(4, "big") * (size // 4))
                        sent += 1

                task = asyncio.create_task(sender())
                # B reads nothing: the sender must stall (no progress for 2 s) well before the end.
                last, still = -1, time.monotonic()
                while time.monotonic() - still < 2:
                    await asyncio.sleep(0.1)
                    if sent != last:
                        last, still = sent, time.monotonic()
                    assert not task.done(), f"all {total} messages ({total * size >> 20} MiB) went out with nobody reading"
                stalled_at = sent
                assert stalled_at * size < 24 * 1024 * 1024
                # Reading again lets it finish, and nothing was lost or reordered.
                for i in range(total):
                    message = await at_b.receive(timeout=30)
                    assert message == i.to_bytes(4, "big") * (size // 4), f"message {i}"
                await asyncio.wait_for(task, 30)
                print(f"sender stalled after {stalled_at} messages ({stalled_at * size / 2**20:.1f} MiB)")

    run(main())


def test_reliability_options_open_a_lossy_channel(pair: Pair) -> None:
    async def main() -> None:
        async with EdgeClient(pair.a.socket) as on_a, EdgeClient(pair.b.socket) as on_b:
            async with on_b.channel(pair.a.peer_id, "py-lossy", ordered=False, max_retransmits=0) as at_b:
                # Wait for B's channel at A before A attaches: a program attaching first would open a reliable one.
                opened = await wait_until("py-lossy open at A", lambda: _open_channel(on_a, pair.b.peer_id, "py-lossy"), 15)
                assert opened["ordered"] is False and opened["maxRetransmits"] == 0
                async with on_a.channel(pair.b.peer_id, "py-lossy") as at_a:
                    await at_b.send("lossy hello")
                    assert await at_a.receive(timeout=15) == "lossy hello"

    run(main())


async def _open_channel(edge: EdgeClient, peer: str, label: str):
    session = await edge.session(peer)
    return next((c for c in session["channels"] if c["label"] == label and c["open"]), None)
