"""The errors a program sees carry the control API's names, whichever way the API sent them."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT, Pair, run

import edge_stack
from edge_stack import (BadRequestError, ChannelClosedError, DaemonError, DaemonNotRunningError, EdgeClient, EdgeError,
                        InvalidSinkError, NotFoundError)
from edge_stack.errors import error_from, error_from_close

# A well-formed peer id of no daemon here.
NOBODY = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"


def test_unknown_peer_is_not_found(pair: Pair) -> None:
    async def main() -> None:
        async with EdgeClient(pair.a.socket) as edge:
            with pytest.raises(NotFoundError) as err:
                await edge.session(NOBODY)
            assert err.value.name == "NotFoundError" and err.value.status == 404
            assert NOBODY in err.value.message
            with pytest.raises(NotFoundError):
                await edge.peer(NOBODY)
            with pytest.raises(NotFoundError):
                await edge.send(NOBODY, "chat", "hello")

    run(main())


def test_a_channel_edged_refuses_raises_the_named_error(pair: Pair) -> None:
    async def main() -> None:
        async with EdgeClient(pair.a.socket) as edge:
            async with edge.channel(NOBODY, "chat") as channel:
                with pytest.raises(NotFoundError) as err:
                    await channel.receive(timeout=10)
                assert err.value.status == 404 and NOBODY in err.value.message
                # It stays refused: send raises the same error.
                with pytest.raises(NotFoundError):
                    await channel.send("hello")
            async with edge.channel(pair.b.peer_id, "_reserved") as channel:
                with pytest.raises(BadRequestError) as bad:
                    await channel.receive(timeout=10)
                assert bad.value.status == 400

    run(main())


def test_bad_requests_name_what_is_wrong(pair: Pair) -> None:
    async def main() -> None:
        async with EdgeClient(pair.a.socket) as edge:
            with pytest.raises(BadRequestError) as err:
                await edge.connect("not-a-peer-id")
            assert "peer" in err.value.message
            with pytest.raises(BadRequestError):
                await edge.send(pair.b.peer_id, "bad label!", "x")
            with pytest.raises(NotFoundError):
                await edge.watch(pair.b.peer_id, "no-such-source")
            with pytest.raises((InvalidSinkError, BadRequestError)) as sink:
                await edge.watch(pair.b.peer_id, "video", "nowhere:at-all")
            assert sink.value.status == 400
            with pytest.raises(NotFoundError):
                await edge.watch_info("no-such-watch")
            with pytest.raises(NotFoundError) as endpoint:
                await edge.request("GET", "/v1/nothing-here")
            assert "no such endpoint" in endpoint.value.message

    run(main())


def test_no_daemon_is_daemon_not_running() -> None:
    async def main() -> None:
        with tempfile.TemporaryDirectory() as dir:
            socket = str(Path(dir) / "edged.sock")
            async with EdgeClient(socket) as edge:
                with pytest.raises(DaemonNotRunningError) as err:
                    await edge.status()
                assert err.value.code == "ENOENT" and err.value.socket == socket
                assert str(err.value) == f"DaemonNotRunningError: edged is not running (socket {socket})"
                with pytest.raises(DaemonNotRunningError):
                    await edge.events().__anext__()
                with pytest.raises(DaemonNotRunningError):
                    await edge.channel(NOBODY, "chat").open()

    run(main())


def test_every_error_of_the_daemon_has_a_class() -> None:
    """src/util/errors.ts owns the names; this package mirrors them (add a class here when one is added there)."""
    source = (ROOT / "src" / "util" / "errors.ts").read_text()
    names = re.findall(r"^export class (\w+) extends EdgeError", source, re.MULTILINE)
    assert len(names) > 20
    missing = [n for n in names if not isinstance(getattr(edge_stack, n, None), type)]
    assert missing == []
    for name in names:
        assert issubclass(getattr(edge_stack, name), EdgeError)


def test_names_map_to_classes_and_unknown_names_survive() -> None:
    err = error_from("TooManyChannelsError", "full", 409)
    assert type(err) is edge_stack.TooManyChannelsError and err.name == "TooManyChannelsError" and err.status == 409
    timeout = error_from("TimeoutError", "slow", 504)
    assert isinstance(timeout, TimeoutError) and isinstance(timeout, EdgeError)
    unknown = error_from("FST_ERR_SOMETHING", "fastify said no", 415)
    assert type(unknown) is DaemonError and unknown.name == "FST_ERR_SOMETHING"
    refused = error_from_close(4409, "TooManyChannelsError: peer has 1024 channels")
    assert type(refused) is edge_stack.TooManyChannelsError and refused.status == 409
    write = error_from_close(1011, "MessageTooLargeError: message of 300000 bytes is over")
    assert type(write) is edge_stack.MessageTooLargeError and write.status is None
    slow = error_from_close(1008, "consumer too slow: 5000000 bytes unread")
    assert type(slow) is ChannelClosedError and slow.code == 1008
