"""Chunk layout and checksums of transfer files. Pure (files in, hashes out).

A file of ``size`` bytes in chunks of ``chunk_bytes`` has ``ceil(size / chunk_bytes)``
chunks; chunk ``i`` starts at ``i * chunk_bytes`` and the last one holds the rest.
Every chunk carries its own SHA-256 and the whole file its SHA-256: a chunk counts only
when its checksum is acknowledged, the file only when the whole checksum matches.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

READ_BYTES = 1 << 20
_NAME = re.compile(
    r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}(?:/[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}){0,7}$"
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ChunkSpec:
    index: int
    offset: int
    size: int


def chunk_count(size_bytes: int, chunk_bytes: int) -> int:
    return -(-size_bytes // chunk_bytes) if size_bytes > 0 else 0


def layout(size_bytes: int, chunk_bytes: int) -> Iterator[ChunkSpec]:
    for index in range(chunk_count(size_bytes, chunk_bytes)):
        offset = index * chunk_bytes
        yield ChunkSpec(index, offset, min(chunk_bytes, size_bytes - offset))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def valid_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))


def valid_name(name: str) -> bool:
    """A file name on the node: relative, '/'-separated, no '..', no hidden parts."""
    return bool(_NAME.match(name)) and ".." not in name.split("/")


def hash_file(
    path: Path,
    chunk_bytes: int,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[str, list[str], int]:
    """(file SHA-256, one SHA-256 per chunk, size) in one read of the file."""
    whole = hashlib.sha256()
    per_chunk: list[str] = []
    size = 0
    with path.open("rb") as f:
        while True:
            block = f.read(chunk_bytes)
            if not block:
                break
            whole.update(block)
            per_chunk.append(hashlib.sha256(block).hexdigest())
            size += len(block)
            if progress is not None:
                progress(size)
    return whole.hexdigest(), per_chunk, size


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(READ_BYTES):
            h.update(block)
    return h.hexdigest()


def read_at(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(size)


def write_at(path: Path, offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset`` and make it durable before returning: an acknowledged
    chunk must survive a crash of the process that wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` when it stays inside ``root`` (no traversal, no symlink out)."""
    base = root.resolve()
    target = (base / relative).resolve()
    if target == base or base not in target.parents:
        return None
    return target
