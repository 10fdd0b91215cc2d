"""A peer's data channel as a local program sees it: the WebSocket /v1/channels/:peer/:label."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Optional, Union

import aiohttp

from .errors import ChannelClosedError, EdgeError, ProtocolError, TimeoutError, error_from_close

if TYPE_CHECKING:
    from .client import EdgeClient

#: A channel message: text stays ``str``, binary stays ``bytes``.
Message = Union[str, bytes]

#: Largest message edged takes on the WebSocket (CONTROL_WS_MAX_PAYLOAD); data channels cap lower (256 KiB by default).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

#: Closes that end a channel in order (normal closure, edged stopping): iteration just ends.
_ORDERLY_CLOSES = (1000, 1001)


class Channel:
    """A data channel with a peer: ``send`` and ``receive`` text (``str``) or binary (``bytes``).

    Use it as an async context manager (``async with client.channel(peer, "chat") as chat``),
    or ``await channel.open()`` and ``await channel.close()``. ``async for message in channel``
    receives until the channel closes.

    Backpressure is the WebSocket's: ``send`` returns once the message is written,
    waiting (for drain) while edged does not read, which it does not while a reliable
    channel's buffers are full or the receiving program is slow. Messages you do not
    ``receive`` stay unread in the socket, and edged slows the sender down in turn.

    A channel edged refuses (no connected session with the peer, a bad label, too
    many channels) raises the named error (``NotFoundError``, ``BadRequestError``,
    ``TooManyChannelsError``) from ``receive``, and from ``send`` once the refusal
    has arrived. A channel the session has not opened yet is opened on demand
    with the given reliability.
    """

    def __init__(self, client: "EdgeClient", peer: str, label: str, path: str) -> None:
        self.peer = peer
        self.label = label
        self._client = client
        self._path = path
        self._ws: Optional[aiohttp.ClientWebSocketResponse] = None
        self._error: Optional[EdgeError] = None
        self._closed_by_us = False

    async def open(self) -> "Channel":
        """Open the WebSocket (once; later calls do nothing)."""
        if self._ws is None:
            self._ws = await self._client._websocket(self._path, MAX_MESSAGE_BYTES)
        return self

    async def __aenter__(self) -> "Channel":
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, message: Message) -> None:
        """Send one message: ``str`` as a text frame, ``bytes`` as a binary one."""
        ws = self._open_ws()
        try:
            if isinstance(message, str):
                await ws.send_str(message)
            else:
                await ws.send_bytes(bytes(message))
        except (ConnectionError, aiohttp.ClientError) as err:
            raise self._closed() from err

    async def receive(self, timeout: Optional[float] = None) -> Message:
        """The next message (``str`` or ``bytes``); waits up to ``timeout`` seconds (None: forever)."""
        ws = self._open_ws()
        try:
            msg = await ws.receive(timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no message on channel {self.label} of {self.peer} within {timeout} s") from None
        if msg.type == aiohttp.WSMsgType.TEXT:
            return msg.data
        if msg.type == aiohttp.WSMsgType.BINARY:
            return bytes(msg.data)
        if msg.type == aiohttp.WSMsgType.CLOSE:
            self._error = error_from_close(int(msg.data), msg.extra or "")
        if msg.type == aiohttp.WSMsgType.ERROR:
            self._error = ProtocolError(f"channel {self.label} of {self.peer}: {msg.data}")
        raise self._closed()

    def __aiter__(self) -> "Channel":
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.receive()
        except ChannelClosedError as err:
            if self._closed_by_us or err.code in _ORDERLY_CLOSES:
                raise StopAsyncIteration from None
            raise

    async def close(self) -> None:
        """Close the WebSocket (idempotent). The data channel itself stays open for other programs."""
        self._closed_by_us = True
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()

    @property
    def closed(self) -> bool:
        return self._ws is not None and self._ws.closed

    def _open_ws(self) -> aiohttp.ClientWebSocketResponse:
        if self._error is not None:
            raise self._error
        if self._ws is None:
            raise ProtocolError(f"channel {self.label} of {self.peer} is not open: use `async with` or open()")
        return self._ws

    def _closed(self) -> EdgeError:
        if self._error is None:
            ws = self._ws
            self._error = ChannelClosedError((ws.close_code or 1006) if ws is not None else 1006, "closed by this program" if self._closed_by_us else "")
        return self._error
