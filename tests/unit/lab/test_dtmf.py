"""Lab callers: each key press gets its own RTP numbering; scenarios keep caller text plain."""

from __future__ import annotations

import struct

from ivr.lab.dtmf import renumber
from ivr.lab.sipp import CallScript, parse_keys, scenario


def capture(packets: int) -> bytes:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    records = b""
    for index in range(packets):
        ethernet = b"\x00" * 12 + b"\x08\x00"
        ip = bytes([0x45]) + b"\x00" * 19
        udp = b"\x00" * 6 + b"\xab\xcd"
        rtp = struct.pack("!BBHII", 0x80, 101, 7000 + index, 13280, 0xE05384E) + b"\x01\x0a\x00\x00"
        packet = ethernet + ip + udp + rtp
        records += struct.pack("<IIII", 0, 0, len(packet), len(packet)) + packet
    return header + records


def rtp_fields(data: bytes) -> list[tuple[int, int, int]]:
    out, offset = [], 24
    while offset < len(data):
        (length,) = struct.unpack("<I", data[offset + 8 : offset + 12])
        packet = data[offset + 16 : offset + 16 + length]
        sequence, timestamp = struct.unpack("!HI", packet[42 + 2 : 42 + 8])
        (checksum,) = struct.unpack("!H", packet[34 + 6 : 34 + 8])
        out.append((sequence, timestamp, checksum))
        offset += 16 + length
    return out


def test_renumbered_capture_continues_sequence_and_timestamp() -> None:
    fields = rtp_fields(renumber(capture(3), first_sequence=1050, timestamp=24000))
    assert fields == [(1050, 24000, 0), (1051, 24000, 0), (1052, 24000, 0)]


def test_keys_and_waits_are_parsed() -> None:
    assert parse_keys("1,w3,2#") == [("1", 0.0), ("2", 3.0), ("#", 0.0)]


def test_caller_name_cannot_break_the_scenario() -> None:
    xml = scenario(CallScript("100", caller_name='Bob [call_id] "x" ]]>'), [])
    assert "From: \"Bob call_id 'x' >\"" in xml
