"""The control socket a client uses when it is given none: the one edgectl picks."""

from __future__ import annotations

import os
from typing import Mapping, Optional

#: The system daemon's socket, which members of the edged group may use.
SYSTEM_SOCKET = "/run/edged/edged.sock"


def daemon_socket_path(env: Mapping[str, str]) -> str:
    """Where edged puts its socket by default: /run/edged as root, the user's runtime dir otherwise."""
    if env.get("EDGED_SOCKET"):
        return env["EDGED_SOCKET"]
    if os.getuid() == 0:
        return SYSTEM_SOCKET
    # Node's os.tmpdir(), as edged computes it.
    tmp = (env.get("TMPDIR") or env.get("TMP") or env.get("TEMP") or "/tmp").rstrip("/") or "/"
    runtime = env["XDG_RUNTIME_DIR"] if "XDG_RUNTIME_DIR" in env else os.path.join(tmp, f"edged-{os.getuid()}")
    return os.path.join(runtime, "edged", "edged.sock")


def default_socket_path(env: Optional[Mapping[str, str]] = None) -> str:
    """$EDGED_SOCKET if set, else the user's own daemon's socket, else (when there is none) the system daemon's."""
    env = os.environ if env is None else env
    own = daemon_socket_path(env)
    if env.get("EDGED_SOCKET"):
        return own
    return SYSTEM_SOCKET if not os.path.exists(own) and os.path.exists(SYSTEM_SOCKET) else own
