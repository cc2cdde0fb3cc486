"""Replay handler: KMT-2018-BLG-0003's ``pysis.tar.gz`` packed from the real pySIS files.

No public copy of the archive itself was found; its members are the event's
real pySIS files (``tests/fixtures/kmtnet/KB180003``, see PROVENANCE.md),
packed here the way the server names them (``KMT<site><field>_<band>.pysis``
at the top level), deterministically (fixed times and owners).
"""
from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

EVENT_DIR = Path(__file__).parent / "fixtures" / "kmtnet" / "KB180003"


def pysis_archive_bytes(directory: Path = EVENT_DIR) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path in sorted(directory.glob("KMT*_?.pysis")):
            data = path.read_bytes()
            info = tarfile.TarInfo(path.name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def pysis_archive(method: str, path: str, query: dict, body: bytes):
    return 200, {"Content-Type": "application/x-gzip"}, pysis_archive_bytes()
