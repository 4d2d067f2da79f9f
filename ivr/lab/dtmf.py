"""RFC 4733 key presses for SIPp: the captures SIPp ships, renumbered for each press.

SIPp replays a capture's RTP as it is, and every shipped capture has its own fixed sequence
numbers and timestamp; a second key whose capture carries an older sequence number is dropped
by Asterisk as a late packet. Each press therefore gets a copy whose RTP sequence numbers and
timestamp continue from the press before it.
"""

from __future__ import annotations

import struct
from pathlib import Path

PCAP_HEADER = 24
RECORD_HEADER = 16
ETHERNET = 1
LINUX_SLL = 113
NAMES = {"*": "star", "#": "pound"}


def capture_name(key: str) -> str:
    """The file name of SIPp's capture for `key`."""
    return f"dtmf_2833_{NAMES.get(key, key)}.pcap"


def renumber(capture: bytes, first_sequence: int, timestamp: int) -> bytes:
    """A copy of a pcap of one RTP event with new sequence numbers (from `first_sequence`)."""
    (link,) = struct.unpack("<I", capture[20:24])
    if link not in (ETHERNET, LINUX_SLL):
        raise ValueError(f"unsupported capture link type {link}")
    link_size = 14 if link == ETHERNET else 16
    out = bytearray(capture[:PCAP_HEADER])
    offset, index = PCAP_HEADER, 0
    while offset + RECORD_HEADER <= len(capture):
        (length,) = struct.unpack("<I", capture[offset + 8 : offset + 12])
        packet = bytearray(capture[offset + RECORD_HEADER : offset + RECORD_HEADER + length])
        udp = link_size + (packet[link_size] & 0x0F) * 4
        rtp = udp + 8
        struct.pack_into("!HI", packet, rtp + 2, (first_sequence + index) & 0xFFFF, timestamp)
        struct.pack_into("!H", packet, udp + 6, 0)  # no UDP checksum (allowed on IPv4)
        out += capture[offset : offset + RECORD_HEADER] + packet
        offset += RECORD_HEADER + length
        index += 1
    return bytes(out)


def write_presses(source: Path, target: Path, stem: str, keys: list[str]) -> list[str]:
    """Write one renumbered capture per press into `target`; returns their file names."""
    names = []
    for index, key in enumerate(keys):
        data = renumber(
            (source / capture_name(key)).read_bytes(),
            first_sequence=1000 + index * 50,
            timestamp=8000 + index * 16000,
        )
        name = f"{stem}-key{index}.pcap"
        (target / name).write_bytes(data)
        names.append(name)
    return names
