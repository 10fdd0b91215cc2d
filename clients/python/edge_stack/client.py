"""EdgeClient: edged's control API (HTTP/JSON, Server-Sent Events, WebSocket) over its unix socket."""

from __future__ import annotations

import asyncio
import base64
import codecs
import collections
import errno
import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Optional, Union
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from .channel import Channel, Message
from .errors import DaemonNotRunningError, EdgeError, ProtocolError, TimeoutError, error_from
from .socket_path import default_socket_path
from .sse import SseEvent, SseParser

#: How long a request may wait for its answer (seconds).
DEFAULT_TIMEOUT = 10.0
#: edged holds a send up to 15 s (WRITE_WAIT_MS) while the channel opens or reconnects: wait longer than that.
SEND_TIMEOUT = 20.0
#: POST /v1/watch waits up to 8 s for the watch to start, DELETE for a recording to be finalised.
WATCH_TIMEOUT = 15.0
#: Silence this long on an event stream (no event, no 15 s heartbeat) means edged hangs.
EVENTS_IDLE_TIMEOUT = 45.0
#: What ``watch`` decodes into when no sink is given: decode and count frames.
DEFAULT_SINK = "count"
#: The host part of the URLs; the unix socket decides where they go.
_BASE = "http://edged"
#: Socket errors that mean nobody (we may talk to) listens on the control socket.
_NOT_RUNNING = {"ENOENT", "ECONNREFUSED", "ENOTDIR", "ENOTSOCK", "EACCES", "EPERM"}

Json = Any


@dataclass(frozen=True)
class Event:
    """An event from /v1/events: ``type`` (``peer:discovered``, ``peer:updated``, ``peer:lost``,
    ``session:state``) and ``data``, its parsed JSON payload (the raw text if it is not JSON)."""

    type: str
    data: Json
    id: Optional[str] = None


@dataclass(frozen=True)
class ChannelMessage:
    """A message from /v1/messages: which peer sent it on which channel; ``data`` is ``str`` or ``bytes``."""

    peer: str
    channel: str
    data: Message


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _parse_json(text: str) -> Json:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _http_error(status: int, text: str) -> EdgeError:
    body = _parse_json(text)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("name"), str) and isinstance(error.get("message"), str):
        return error_from(error["name"], error["message"], status)
    return error_from(f"HTTP{status}", text.strip()[:500] or f"HTTP {status}", status)


def resolve_sink(sink: str) -> str:
    """``file:PATH`` is the caller's path: make it absolute here, edged runs elsewhere (as edgectl does)."""
    if sink.startswith("file:") and len(sink) > 5:
        return "file:" + os.path.abspath(sink[5:])
    return sink


class EventStream:
    """Server-Sent Events from edged as an async iterator; ends when edged closes the stream.

    ``async for event in stream`` (or ``async with stream`` to close it on leaving).
    Silence beyond ``idle_timeout`` (edged sends a heartbeat every 15 s) raises TimeoutError.
    """

    def __init__(self, client: "EdgeClient", path: str, convert: Callable[[SseEvent], Any], idle_timeout: float) -> None:
        self._client = client
        self._path = path
        self._convert = convert
        self._idle_timeout = idle_timeout
        self._response: Optional[aiohttp.ClientResponse] = None
        self._parser = SseParser()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: Deque[Any] = collections.deque()
        self._ended = False

    async def open(self) -> "EventStream":
        """Start following the stream (``__anext__`` does it if you do not)."""
        if self._response is None and not self._ended:
            self._response = await self._client._open_stream(self._path)
        return self

    async def __aenter__(self) -> "EventStream":
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> "EventStream":
        return self

    async def __anext__(self) -> Any:
        while not self._pending:
            if self._ended:
                raise StopAsyncIteration
            await self.open()
            assert self._response is not None
            try:
                chunk = await asyncio.wait_for(self._response.content.readany(), self._idle_timeout)
            except asyncio.TimeoutError:
                await self.aclose()
                raise TimeoutError(f"no event nor heartbeat on {self._path} for {self._idle_timeout} s (socket {self._client.socket})") from None
            except (ConnectionError, aiohttp.ClientError):
                # A daemon that dies mid-stream resets the connection: for a follower that is an end.
                chunk = b""
            if chunk == b"":
                await self.aclose()
                raise StopAsyncIteration
            for event in self._parser.push(self._decoder.decode(chunk)):
                converted = self._convert(event)
                if converted is not None:
                    self._pending.append(converted)
        return self._pending.popleft()

    async def aclose(self) -> None:
        """Stop following (idempotent)."""
        self._ended = True
        if self._response is not None:
            self._response.close()
            self._response = None


def _to_event(event: SseEvent) -> Event:
    data = _parse_json(event.data)
    return Event(event.type, event.data if data is None and event.data != "null" else data, event.id)


def _to_channel_message(event: SseEvent) -> Optional[ChannelMessage]:
    if event.type != "message":
        return None
    m = _parse_json(event.data)
    if not isinstance(m, dict) or not isinstance(m.get("peer"), str) or not isinstance(m.get("channel"), str):
        return None
    if isinstance(m.get("text"), str):
        return ChannelMessage(m["peer"], m["channel"], m["text"])
    if isinstance(m.get("base64"), str):
        return ChannelMessage(m["peer"], m["channel"], base64.b64decode(m["base64"]))
    return None


class EdgeClient:
    """edged's control API for programs on the robot, over the daemon's unix socket.

    ``socket`` defaults to the one edgectl uses: $EDGED_SOCKET, else the user's own
    daemon's, else the system daemon's (/run/edged/edged.sock). Use it as an async
    context manager, or call ``close()`` when done. Methods return the API's JSON
    bodies as dicts (see the Control API table in the README); failures raise an
    EdgeError named as the API names it (``NotFoundError``, ``ConflictError``, ...),
    ``DaemonNotRunningError`` when nobody answers on the socket.
    """

    def __init__(self, socket: Optional[str] = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.socket = socket if socket is not None else default_socket_path()
        self.timeout = timeout
        self._session: Optional[aiohttp.ClientSession] = None

    async def __aenter__(self) -> "EdgeClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections to edged (idempotent); open channels and streams end too."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- requests ---------------------------------------------------------

    async def request(self, method: str, path: str, body: Json = None, *, timeout: Optional[float] = None) -> Json:
        """Any control API call: a JSON body in, the parsed JSON answer out (None for an empty one)."""
        what = f"{method} {path}"
        limit = self.timeout if timeout is None else timeout
        headers = {"accept": "application/json"}
        data = None
        if body is not None:
            headers["content-type"] = "application/json"
            data = json.dumps(body)
        try:
            async with self._http().request(method, self._url(path), data=data, headers=headers,
                                            timeout=aiohttp.ClientTimeout(total=limit)) as res:
                status = res.status
                text = await res.text()
        except (OSError, aiohttp.ClientError, asyncio.TimeoutError) as err:
            raise self._connection_error(err, what, limit) from err
        if status >= 400:
            raise _http_error(status, text)
        if text == "":
            return None
        parsed = _parse_json(text)
        if parsed is None and text.strip() != "null":
            raise ProtocolError(f"edged sent invalid JSON for {what}")
        return parsed

    async def status(self) -> Dict[str, Any]:
        """This daemon: peerId, name, version, swarm, stack, addresses, web, peers, sessions."""
        return await self.request("GET", "/v1/status")

    async def peers(self) -> Dict[str, Any]:
        """The swarm's other daemons: ``{"peers": [{"peerId", "name", "sources", "connected", ...}]}``."""
        return await self.request("GET", "/v1/peers")

    async def peer(self, peer: str) -> Dict[str, Any]:
        """One peer from its presence record (NotFoundError if unknown)."""
        return await self.request("GET", f"/v1/peers/{_q(peer)}")

    async def sessions(self) -> Dict[str, Any]:
        """Every session: ``{"sessions": [{"peer", "state", "profile", "pair", "rttMs", "channels", "tracks", ...}],
        "browsers": [{"id", "kind", "source", "state", "tracks", ...}]}`` (browsers: the web listener's WHEP/WHIP sessions)."""
        return await self.request("GET", "/v1/sessions")

    async def session(self, peer: str) -> Dict[str, Any]:
        """One peer's session (NotFoundError when there is none)."""
        return await self.request("GET", f"/v1/sessions/{_q(peer)}")

    async def connect(self, peer: str) -> Dict[str, Any]:
        """Ask for a session with the peer; returns at once (202), before it is connected."""
        return await self.request("POST", "/v1/sessions", {"peer": peer})

    async def disconnect(self, peer: str) -> None:
        """End the session with the peer; it stays down until connected again."""
        await self.request("DELETE", f"/v1/sessions/{_q(peer)}")

    async def send(self, peer: str, channel: str, message: Message, *, ordered: Optional[bool] = None,
                   max_retransmits: Optional[int] = None, max_packet_life_time: Optional[int] = None) -> Dict[str, Any]:
        """One message on a peer's channel by POST (``str`` as text, ``bytes`` as binary); for many, use ``channel()``.

        edged opens the channel if needed, lossy with ``ordered=False`` and
        ``max_retransmits`` or ``max_packet_life_time`` (ms). Returns ``{"peer", "channel", "bytes"}``.
        """
        body = {"text": message} if isinstance(message, str) else {"base64": base64.b64encode(bytes(message)).decode("ascii")}
        path = f"/v1/channels/{_q(peer)}/{_q(channel)}{_channel_query(ordered, max_retransmits, max_packet_life_time)}"
        return await self.request("POST", path, body, timeout=SEND_TIMEOUT)

    async def sources(self) -> Dict[str, Any]:
        """This daemon's sources (``local``, with ``encoders``), the swarm's (``remote``), and who watches ours (``viewers``)."""
        return await self.request("GET", "/v1/sources")

    async def watch(self, peer: str, source: str, sink: str = DEFAULT_SINK) -> Dict[str, Any]:
        """Watch a peer's source; returns the watch (``id``, ``state``, ``stats``) once it is active.

        ``sink``: ``count`` (decode and count frames), ``file:PATH`` (record; .mkv, .webm, .mp4)
        or ``rtp://HOST:PORT`` (re-expose as RTP for a local program).
        """
        return await self.request("POST", "/v1/watch", {"peer": peer, "source": source, "sink": resolve_sink(sink)}, timeout=WATCH_TIMEOUT)

    async def watch_info(self, watch_id: str) -> Dict[str, Any]:
        """One watch with its stats: packets, frames, framesDecoded, fps, lost, bitrateKbps, ..."""
        return await self.request("GET", f"/v1/watch/{_q(watch_id)}")

    async def watches(self) -> Dict[str, Any]:
        """Every watch of this daemon: ``{"watches": [...]}``."""
        return await self.request("GET", "/v1/watch")

    async def unwatch(self, watch_id: str) -> None:
        """Stop a watch; a ``file:`` recording is finalised before this returns."""
        await self.request("DELETE", f"/v1/watch/{_q(watch_id)}", timeout=WATCH_TIMEOUT)

    # --- streams ----------------------------------------------------------

    def events(self, *, idle_timeout: float = EVENTS_IDLE_TIMEOUT) -> EventStream:
        """The daemon's events as an async iterator of ``Event``; it ends when edged stops.

        ``async for event in client.events(): print(event.type, event.data)``
        """
        return EventStream(self, "/v1/events", _to_event, idle_timeout)

    def messages(self, channel: str = "control", *, idle_timeout: float = EVENTS_IDLE_TIMEOUT) -> EventStream:
        """Every peer's messages on the channel with this label, as ``ChannelMessage``s (as ``edgectl listen``)."""
        return EventStream(self, f"/v1/messages?channel={_q(channel)}", _to_channel_message, idle_timeout)

    def channel(self, peer: str, label: str, *, ordered: Optional[bool] = None, max_retransmits: Optional[int] = None,
                max_packet_life_time: Optional[int] = None) -> Channel:
        """A peer's data channel to send and receive on: ``async with client.channel(peer, "chat") as chat``.

        A channel not open yet is opened on demand: reliable and ordered, or lossy with
        ``ordered=False`` and ``max_retransmits`` or ``max_packet_life_time`` (ms).
        """
        path = f"/v1/channels/{_q(peer)}/{_q(label)}{_channel_query(ordered, max_retransmits, max_packet_life_time)}"
        return Channel(self, peer, label, path)

    # --- internals --------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=self.socket))
        return self._session

    def _url(self, path: str) -> URL:
        return URL(_BASE + path, encoded=True)

    def _connection_error(self, err: BaseException, what: str, limit: Optional[float]) -> EdgeError:
        if isinstance(err, EdgeError):
            return err
        if isinstance(err, asyncio.TimeoutError):
            return TimeoutError(f"edged did not answer {what} within {limit} s (socket {self.socket})")
        os_error = getattr(err, "os_error", err)
        code = errno.errorcode.get(getattr(os_error, "errno", None) or 0, "")
        if isinstance(err, (aiohttp.ClientConnectorError, OSError)) and code in _NOT_RUNNING:
            return DaemonNotRunningError(self.socket, code)
        return ProtocolError(f"connection to edged failed during {what} (socket {self.socket}): {err}")

    async def _open_stream(self, path: str) -> aiohttp.ClientResponse:
        what = f"GET {path}"
        try:
            # The answer's headers come at once; the stream itself has no time limit (EventStream watches for silence).
            res = await asyncio.wait_for(self._http().get(self._url(path), headers={"accept": "text/event-stream"},
                                                          timeout=aiohttp.ClientTimeout(total=None)), self.timeout)
        except (OSError, aiohttp.ClientError, asyncio.TimeoutError) as err:
            raise self._connection_error(err, what, self.timeout) from err
        if res.status != 200:
            text = await res.text()
            res.close()
            if res.status >= 400:
                raise _http_error(res.status, text)
            raise ProtocolError(f"unexpected HTTP {res.status} for {what}")
        return res

    async def _websocket(self, path: str, max_message: int) -> aiohttp.ClientWebSocketResponse:
        what = f"WebSocket {path}"
        try:
            return await self._http().ws_connect(self._url(path), max_msg_size=max_message, timeout=self.timeout)
        except aiohttp.WSServerHandshakeError as err:
            # edged refuses before the upgrade only what any request is refused for (a browser Origin, ...).
            raise error_from(f"HTTP{err.status}", f"edged refused {what}: HTTP {err.status} {err.message}", err.status) from err
        except (OSError, aiohttp.ClientError, asyncio.TimeoutError) as err:
            raise self._connection_error(err, what, self.timeout) from err


def _channel_query(ordered: Optional[bool], max_retransmits: Optional[int], max_packet_life_time: Optional[int]) -> str:
    query: Dict[str, Union[str, int]] = {}
    if ordered is False:
        query["ordered"] = "false"
    if max_retransmits is not None:
        query["maxRetransmits"] = max_retransmits
    if max_packet_life_time is not None:
        query["maxPacketLifeTime"] = max_packet_life_time
    return "?" + urlencode(query) if query else ""
