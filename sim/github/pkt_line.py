"""Just enough of git's pkt-line format to read what a push asks for and to word its refusal.

A push request starts with pkt-lines `old new ref` (the first one followed by NUL and the
client's capabilities) and a flush; its answer is a report (`unpack ok`, `ok ref`, `ng ref why`),
wrapped in side-band channel 1 when the client asked for side-band(-64k).
"""

from __future__ import annotations

from dataclasses import dataclass

FLUSH = b"0000"
MAX_SIDEBAND_DATA = 65515  # 65520-byte packets minus the length and the band byte
HOOK_DECLINED = b"pre-receive hook declined"


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


def encode(payload: bytes) -> bytes:
    return f"{len(payload) + 4:04x}".encode() + payload


def split_packets(data: bytes) -> tuple[list[bytes | None], bytes]:
    """The complete packets in `data` (None for a flush or other special packet) and what is left."""
    packets: list[bytes | None] = []
    pos = 0
    while pos + 4 <= len(data):
        try:
            length = int(data[pos : pos + 4], 16)
        except ValueError:
            break
        if length < 4:
            packets.append(None)
            pos += 4
            continue
        if pos + length > len(data):
            break
        packets.append(data[pos + 4 : pos + length])
        pos += length
    return packets, data[pos:]


def read_push_commands(prefix: bytes) -> tuple[list[RefUpdate], set[str]] | None:
    """The ref updates and capabilities at the start of a receive-pack request; None if incomplete."""
    packets, _ = split_packets(prefix)
    updates: list[RefUpdate] = []
    capabilities: set[str] = set()
    for packet in packets:
        if packet is None:
            return updates, capabilities
        line, _, caps = packet.rstrip(b"\n").partition(b"\0")
        if caps:
            capabilities |= set(caps.decode(errors="replace").split())
        parts = line.decode(errors="replace").split(" ")
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return None


def _reword(report: bytes, reason: bytes) -> bytes:
    """The report with every `ng <ref> pre-receive hook declined` given `reason` instead."""
    packets, rest = split_packets(report)
    out = []
    for packet in packets:
        if packet is None:
            out.append(FLUSH)
            continue
        if packet.startswith(b"ng ") and packet.rstrip(b"\n").endswith(HOOK_DECLINED):
            ref = packet[3:].rstrip(b"\n")[: -len(HOOK_DECLINED)].rstrip(b" ")
            packet = b"ng " + ref + b" " + reason + b"\n"
        out.append(encode(packet))
    return b"".join(out) + rest


def reword_refusal(response: bytes, reason: str, sideband: bool) -> bytes:
    """Put GitHub's reason into a receive-pack response whose pre-receive hook declined the push."""
    text = reason.encode()
    if not sideband:
        return _reword(response, text)
    packets, rest = split_packets(response)
    progress: list[bytes] = []
    report = b""
    for packet in packets:
        if packet is None:
            continue
        if packet[:1] == b"\x01":
            report += packet[1:]
        else:
            progress.append(encode(packet))
    report = _reword(report, text)
    chunks = [
        encode(b"\x01" + report[i : i + MAX_SIDEBAND_DATA]) for i in range(0, len(report), MAX_SIDEBAND_DATA)
    ]
    return b"".join(progress) + b"".join(chunks) + FLUSH + rest
