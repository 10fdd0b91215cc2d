"""Edge Stack client: drive the local edged from Python programs (asyncio).

    import asyncio
    from edge_stack import EdgeClient

    async def main():
        async with EdgeClient() as edge:
            print((await edge.status())["peerId"])

    asyncio.run(main())

Everything edgectl does is here: status, peers, sessions, channels (send and
receive, text or binary, with backpressure), events, watches. Errors are
EdgeError subclasses named as the control API names them.
"""

from .channel import MAX_MESSAGE_BYTES, Channel, Message
from .client import DEFAULT_SINK, ChannelMessage, EdgeClient, Event, EventStream
from .errors import *  # noqa: F401,F403 (one class per API error name)
from .errors import ChannelClosedError, DaemonError, DaemonNotRunningError, EdgeError, ERRORS_BY_NAME, error_from
from .socket_path import SYSTEM_SOCKET, default_socket_path

__version__ = "0.1.0"

__all__ = [
    "EdgeClient", "Channel", "ChannelMessage", "Event", "EventStream", "Message", "DEFAULT_SINK", "MAX_MESSAGE_BYTES",
    "EdgeError", "DaemonError", "DaemonNotRunningError", "ChannelClosedError", "ERRORS_BY_NAME", "error_from",
    "SYSTEM_SOCKET", "default_socket_path",
    *ERRORS_BY_NAME,
]
