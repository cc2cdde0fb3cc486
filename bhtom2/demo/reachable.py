"""Exit 0 when the real survey services answer on the network, 1 otherwise (used by the demo)."""
from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit

from bhtom2.settings_helpers import DEFAULT_URLS

PROBES = ("GAIA", "GAIA_DR3", "ZTF")


def reachable(timeout: float = 3.0) -> bool:
    for name in PROBES:
        parts = urlsplit(DEFAULT_URLS[name])
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.create_connection((parts.hostname, port), timeout=timeout):
                pass
        except OSError:
            return False
    return True


if __name__ == "__main__":
    sys.exit(0 if reachable() else 1)
