"""An incremental text/event-stream parser (the WHATWG EventSource rules that matter here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional


@dataclass(frozen=True)
class SseEvent:
    """One Server-Sent Event: ``type`` is the ``event:`` field ('message' when absent)."""

    type: str
    data: str
    id: Optional[str] = None


class SseParser:
    """Feed it decoded text in chunks of any size; ``push`` returns the events they complete.

    Lines end in \\n, \\r\\n or \\r; ``data:`` lines join with \\n; a blank line
    dispatches; lines starting with ':' are comments (edged's heartbeats).
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._after_cr = False
        self._type = ""
        self._data: List[str] = []
        self._id: Optional[str] = None

    def push(self, chunk: str) -> List[SseEvent]:
        text = self._buffer + chunk
        # A line that ended in \r may have its \n in this chunk: that \n ends nothing.
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        self._after_cr = False
        events: List[SseEvent] = []
        start = 0
        while True:
            ends = [i for i in (text.find("\n", start), text.find("\r", start)) if i != -1]
            if not ends:
                break
            end = min(ends)
            event = self._line(text[start:end])
            if event is not None:
                events.append(event)
            if text[end] == "\r" and end + 1 == len(text):
                self._after_cr = True
            start = end + (2 if text[end] == "\r" and text[end + 1:end + 2] == "\n" else 1)
        self._buffer = text[start:]
        return events

    def _line(self, line: str) -> Optional[SseEvent]:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._type = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> Optional[SseEvent]:
        event_type = self._type or "message"
        data = self._data
        self._type = ""
        self._data = []
        if not data:
            return None
        return SseEvent(event_type, "\n".join(data), self._id)
