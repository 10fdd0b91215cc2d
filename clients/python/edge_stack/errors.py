"""Errors of the Edge Stack client.

Every error the control API sends has a ``name`` (``{"error": {"name", "message"}}``,
or ``Name: message`` in a channel's WebSocket close reason). The client raises the
class of that name, so programs catch ``edge_stack.NotFoundError`` rather than
matching message text; ``err.name`` is the API's name, ``err.status`` its HTTP
status (``None`` for errors raised here in the client). The classes mirror
``src/util/errors.ts`` (a test checks that none is missing). A name this client
does not know comes as ``DaemonError`` with that ``name``.
"""

from __future__ import annotations

import builtins
import re
from typing import Dict, Optional, Type


class EdgeError(Exception):
    """Base of every Edge Stack error."""

    def __init__(self, message: str, *, status: Optional[int] = None, name: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.name = name or type(self).__name__

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class DaemonError(EdgeError):
    """edged answered with an error whose name this client has no class for."""


class DaemonNotRunningError(EdgeError):
    """Nobody (we may talk to) answers on the control socket: missing, refused, or not allowed."""

    def __init__(self, socket: str, code: str) -> None:
        if code in ("EACCES", "EPERM"):
            message = f"permission denied on socket {socket} (are you in the edged group?)"
        else:
            message = f"edged is not running (socket {socket})"
        super().__init__(message)
        self.socket = socket
        self.code = code


class ChannelClosedError(EdgeError):
    """The channel's WebSocket closed: edged stopping (1001), this program too slow (1008), ..."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"channel closed ({code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


# The errors of src/util/errors.ts, one class per name.
class BadRequestError(EdgeError):
    """A request with a bad body, query or name (400); the message names what is wrong."""


class NotFoundError(EdgeError):
    """No such peer, session, source, watch or endpoint (404)."""


class ConflictError(EdgeError):
    """Not possible in the current state, or not with this peer's stack profile (409)."""


class ForbiddenError(EdgeError):
    """Refused: requests from browsers are not taken on the control socket (403)."""


class UnauthorizedError(EdgeError):
    """A web listener request without the right bearer token (401)."""


class TimeoutError(EdgeError, builtins.TimeoutError):
    """edged (or the peer behind it) did not answer in time; also a builtin TimeoutError."""


class ProtocolError(EdgeError):
    """An answer that does not follow the protocol (invalid JSON, a broken stream)."""


class ConfigError(EdgeError):
    """A config file with unknown keys or bad values (POST /v1/reload); nothing changed."""


class SocketInUseError(EdgeError):
    """Another edged already answers on the control socket."""


class SwarmKeyError(EdgeError):
    """The private-swarm key file (swarm.key) is missing or malformed."""


class SwarmListenError(EdgeError):
    """libp2p could not listen on swarm.listen."""


class WebListenError(EdgeError):
    """The web listener could not bind web.listen."""


class StreamClosedError(EdgeError):
    """edged ended a stream (it is stopping or restarting)."""


class InvalidSignalError(EdgeError):
    """A malformed or out-of-place offer, answer or candidate."""


class MessageTooLargeError(EdgeError):
    """A message over the channel's max message size (413); split it."""


class ChannelNotOpenError(EdgeError):
    """The data channel is not open (not yet, or no longer) (409)."""


class SessionClosedError(EdgeError):
    """The peer session is closed (409)."""


class UnsupportedProfileError(EdgeError):
    """A stack profile the transport cannot run (400)."""


class NotifyError(EdgeError):
    """A message to the service manager (sd_notify) could not be delivered."""


class MissingElementError(EdgeError):
    """A GStreamer element is not installed (501); the message names the Debian package."""


class PipelineError(EdgeError):
    """A GStreamer pipeline failed; the message ends with its stderr."""


class PipelineStartTimeoutError(EdgeError):
    """A GStreamer pipeline did not start in time (504)."""


class InvalidSinkError(EdgeError):
    """A watch sink that is not count, file:PATH, rtp://HOST:PORT or display (400)."""


class NoDisplayError(EdgeError):
    """The display sink was asked for where there is no display (409)."""


class FileExistsError(EdgeError, builtins.FileExistsError):
    """A file edged would write exists already (409)."""


class SourceFailedError(EdgeError):
    """A peer's source could not start or stopped for good while watched (502)."""


class WatchEndedError(EdgeError):
    """The peer ended a watch (410)."""


class BadSdpError(EdgeError):
    """A WHEP/WHIP offer that is not usable SDP (400)."""


class UnsupportedMediaTypeError(EdgeError):
    """A WHEP/WHIP body that is not application/sdp (415)."""


class TooManyChannelsError(EdgeError):
    """The peer has as many channel labels with this daemon as it may (409)."""


class TooManySessionsError(EdgeError):
    """The web listener serves as many browser sessions as it may (503)."""


class InternalError(EdgeError):
    """edged failed on something it did not expect (500); its log has the details."""


class FoxgloveListenError(EdgeError):
    """foxglove.listen could not be listened on (address in use, not an address of this host) (500)."""


class UnsupportedCodecError(EdgeError):
    """An in-process consumer (Foxglove, MCAP) asked for a source in a codec it cannot take (it takes H.264 video) (400)."""


class ChannelOpenError(EdgeError):
    """libdatachannel refused a new data channel (e.g. "Too many DataChannels": the session's SCTP streams are used up) (503)."""


class TooManyLabelsError(EdgeError):
    """One client (a control-socket connection, a browser session) has created as many channel labels as it may (429)."""


class PipelineNotRunningError(EdgeError):
    """A running pipeline was asked to change (bit rate, format, key frame, stats) while none runs: it is starting, restarting or stopped (409)."""


class PipelineCommandError(EdgeError):
    """A running pipeline refused a command (no such element or property, a bad value); ``reason`` is the pipeline host's own error name (409)."""


class PipelineCommandTimeoutError(EdgeError):
    """A running pipeline did not answer a command in time (504)."""


class BitrateNotAdjustableError(EdgeError):
    """A source's encoder has no bit-rate property it changes while running (or it is not a known encoder) (409)."""


class VideoFormatUnsupportedError(EdgeError):
    """A source cannot produce the resolution or frame rate asked for (its pipeline cannot convert to it), or is not video (409)."""


class KadStreamTooLargeError(EdgeError):
    """An inbound kad-dht stream carried more than edged's limit (a peer's error, logged; not an API answer)."""


class DhtRecordRefusedError(EdgeError):
    """A DHT record put, refused: edged reads no DHT records, so it stores none for others (a peer's error, logged)."""


ERRORS_BY_NAME: Dict[str, Type[EdgeError]] = {
    cls.__name__: cls
    for cls in (
        BadRequestError, NotFoundError, ConflictError, ForbiddenError, UnauthorizedError, TimeoutError,
        ProtocolError, ConfigError, SocketInUseError, SwarmKeyError, SwarmListenError, WebListenError,
        StreamClosedError, InvalidSignalError, MessageTooLargeError, ChannelNotOpenError, SessionClosedError,
        UnsupportedProfileError, NotifyError, MissingElementError, PipelineError, PipelineStartTimeoutError,
        InvalidSinkError, NoDisplayError, FileExistsError, SourceFailedError, WatchEndedError, BadSdpError,
        UnsupportedMediaTypeError, TooManyChannelsError, TooManySessionsError, InternalError,
        FoxgloveListenError, UnsupportedCodecError, ChannelOpenError, TooManyLabelsError, PipelineNotRunningError, PipelineCommandError, PipelineCommandTimeoutError, BitrateNotAdjustableError, VideoFormatUnsupportedError,
        KadStreamTooLargeError, DhtRecordRefusedError,
    )
}

# `Name: message`, as edged puts an error in a WebSocket close reason.
_NAMED_REASON = re.compile(r"^([A-Z][A-Za-z0-9]*): (.*)$", re.DOTALL)


def error_from(name: str, message: str, status: Optional[int] = None) -> EdgeError:
    """The error of the API's ``name``: its own class, else DaemonError carrying the name."""
    cls = ERRORS_BY_NAME.get(name)
    if cls is None:
        return DaemonError(message, status=status, name=name)
    return cls(message, status=status)


def error_from_close(code: int, reason: str) -> EdgeError:
    """Why a channel's WebSocket closed: a named error when edged gave one, else ChannelClosedError."""
    named = _NAMED_REASON.match(reason)
    if named is None:
        return ChannelClosedError(code, reason)
    # A refusal to open is 4000 + the HTTP status; other closes carry no status.
    status = code - 4000 if 4000 <= code < 5000 else None
    return error_from(named.group(1), named.group(2), status)

__all__ = [
    "EdgeError", "DaemonError", "DaemonNotRunningError", "ChannelClosedError", "ERRORS_BY_NAME",
    "error_from", "error_from_close", *ERRORS_BY_NAME,
]
