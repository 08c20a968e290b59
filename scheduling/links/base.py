"""The link to a spacecraft during a contact: what a station adapter implements. Pure.

A ``LinkDriver`` opens a ``LinkSession`` for a contact. The session moves one chunk at a
time in each direction, and both directions may be used at once from two threads (the
uplink and the downlink are separate carriers with their own rates):

- ``send_chunk`` transmits an upload chunk with its SHA-256 and returns the node's
  acknowledgement: ``ok`` when the node received data matching the checksum (and stored
  it), with the checksum it computed;
- ``receive_chunk`` asks the node for a chunk of a file it holds and returns the frame:
  the data as received and the SHA-256 the node sent with it (the ground checks one
  against the other);
- ``verify_upload`` asks the node for the SHA-256 of an uploaded file as it has it.

Calls block for as long as the radio takes. Failures are ``LinkError``s: ``ChunkLost``
(no acknowledgement or frame in time: send it again), ``LinkDown`` (no link right now:
an outage, before acquisition or after LOS), ``RemoteError`` (the node refuses: no such
file, no room; sending again will not help).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Direction = Literal["up", "down"]


class LinkError(Exception):
    """Base of every link failure (the one exception type of this external system)."""


class LinkDown(LinkError):
    """The link is not up now (outage, not yet acquired, after LOS)."""


class ChunkLost(LinkError):
    """A frame or its acknowledgement did not arrive in time."""


class RemoteError(LinkError):
    """The node refused the request; retrying the same request will not help."""


@dataclass(frozen=True, slots=True)
class LinkRequest:
    contact_id: int
    spacecraft: str
    station: str
    start_s: float
    end_s: float
    up_bytes_per_s: float
    down_bytes_per_s: float


@dataclass(frozen=True, slots=True)
class UpChunk:
    transfer_id: int
    name: str
    index: int
    offset: int
    data: bytes
    sha256: str
    file_size: int


@dataclass(frozen=True, slots=True)
class DownRequest:
    transfer_id: int
    name: str
    index: int
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class Ack:
    ok: bool
    sha256: str  # what the node computed over what it received
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Frame:
    data: bytes
    sha256: str  # what the node sent with the data


class LinkSession(Protocol):
    def send_chunk(self, chunk: UpChunk) -> Ack: ...

    def receive_chunk(self, request: DownRequest) -> Frame: ...

    def verify_upload(self, *, transfer_id: int, name: str, size: int, sha256: str) -> str: ...

    def stats(self) -> dict[str, float]: ...

    def close(self) -> None: ...


class LinkDriver(Protocol):
    def open(self, request: LinkRequest) -> LinkSession: ...
