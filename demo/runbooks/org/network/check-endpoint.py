"""Check that a TCP endpoint answers.

Opens a TCP connection to a host and port from the worker that runs the job,
the way an on-premises health check does, and reports how long the handshake
took. Fails with a clear exception when the endpoint does not answer — try it
with a closed port to see a failed job.

Args:
    Host: host name or IP address to connect to.
    Port: TCP port (1 to 65535).
    TimeoutSeconds: how long to wait for the connection.
"""
import socket
import time


def main(Host: str = "127.0.0.1", Port: int = 8080, TimeoutSeconds: int = 3):
    if not 1 <= Port <= 65535:
        raise ValueError(f"Port must be between 1 and 65535, got {Port}")
    print(f"VERBOSE: connecting to {Host}:{Port} with a {TimeoutSeconds}s timeout")
    started = time.monotonic()
    try:
        with socket.create_connection((Host, Port), timeout=TimeoutSeconds):
            pass
    except OSError as e:
        raise ConnectionError(f"{Host}:{Port} did not answer: {e.strerror or e}") from None
    print(f"{Host}:{Port} answered in {(time.monotonic() - started) * 1000:.1f} ms")
