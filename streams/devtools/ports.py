"""Free TCP ports on 127.0.0.1 for the processes the demo, the benchmarks and the tests start."""

from __future__ import annotations

import socket


def free_port(pairs: bool = False) -> int:
    """A free port (with ``pairs``, the next one is free too: Kafka's controller uses it)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not pairs:
            return port
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free pair of ports on 127.0.0.1")
