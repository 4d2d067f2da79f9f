"""What lab phones send and receive, as audio: tone captures for SIPp to play, and a loopback
sniffer that keeps the RTP each phone receives, decoded, to find tones in.

SIPp plays a pcap's RTP as it is (`play_pcap_audio`), so a phone that "says" a tone plays a
capture of G.711 A-law packets made here. What a phone hears is the RTP Asterisk sends to its
media port; the sniffer reads loopback with an AF_PACKET socket (root, as the lab is) and keeps
each packet's payload and arrival time by destination port.
"""

from __future__ import annotations

import math
import socket
import struct
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

RATE = 8000
PACKET_SAMPLES = 160  # 20 ms per RTP packet
PCMA = 8
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # loopback shows each packet twice: sent and received


def alaw_byte(sample: int) -> int:
    """One 16-bit linear sample as G.711 A-law (ITU-T G.711, as Sun's g711.c)."""
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    for segment, end in enumerate((0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)):
        if value <= end:
            low = (value >> 1) if segment < 2 else (value >> segment)
            return ((segment << 4) | (low & 0x0F)) ^ mask
    return 0x7F ^ mask


def alaw_sample(byte: int) -> int:
    """One A-law byte as a 16-bit linear sample."""
    byte ^= 0x55
    value = (byte & 0x0F) << 4
    segment = (byte & 0x70) >> 4
    if segment == 0:
        value += 8
    else:
        value = (value + 0x108) << (segment - 1)
    return value if byte & 0x80 else -value


_DECODE = [alaw_sample(b) for b in range(256)]


def tone_pcap(path: Path, frequency: float, seconds: float, level: float = 0.25) -> Path:
    """A pcap of RTP (A-law, 20 ms packets) carrying a sine of `frequency` Hz for SIPp."""
    ssrc = int(frequency * 1000) & 0xFFFFFFFF
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    phase = 2 * math.pi * frequency / RATE
    for index in range(int(seconds * 1000 / 20)):
        start = index * PACKET_SAMPLES
        payload = bytes(
            alaw_byte(int(level * 32767 * math.sin(phase * (start + n))))
            for n in range(PACKET_SAMPLES)
        )
        rtp = struct.pack("!BBHII", 0x80, PCMA, index & 0xFFFF, start, ssrc) + payload
        udp = struct.pack("!HHHH", 4000, 6000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index & 0xFFFF, 0, 64, 17, 0,
                         socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))  # fmt: skip
        frame = b"\0" * 12 + b"\x08\x00" + ip + udp
        seconds, micros = divmod(index * 20_000, 1_000_000)
        out += struct.pack("<IIII", seconds, micros, len(frame), len(frame))
        out += frame
    path.write_bytes(bytes(out))
    return path


def tone_level(samples: list[int], frequency: float) -> float:
    """The amplitude (0..1 of full scale) of `frequency` in `samples` (Goertzel)."""
    if not samples:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * frequency / RATE)
    before = earlier = 0.0
    for sample in samples:
        before, earlier = sample + coefficient * before - earlier, before
    power = before * before + earlier * earlier - coefficient * before * earlier
    return 2 * math.sqrt(max(power, 0.0)) / len(samples) / 32768


@dataclass
class Heard:
    """RTP payloads received on one port, in order: (arrival time, RTP sequence, payload)."""

    packets: list[tuple[float, int, bytes]] = field(default_factory=list)

    def samples(self, start: float, end: float) -> list[int]:
        """The audio that arrived between `start` and `end`, as linear samples."""
        return [_DECODE[b] for at, _, data in self.packets if start <= at < end for b in data]

    def level(self, frequency: float, start: float, end: float) -> float:
        """The tone's median amplitude over 0.4 s stretches between `start` and `end` (a
        stretch is steady; a change in the mix between two never cancels the tone out)."""
        samples = self.samples(start, end)
        step = RATE * 2 // 5
        levels = sorted(
            tone_level(samples[i : i + step], frequency)
            for i in range(0, len(samples) - step + 1, step)
        )
        return levels[len(levels) // 2] if levels else 0.0


class RtpSniffer:
    """Keeps the RTP (A-law) sent to `ports` on loopback, by port, while it runs."""

    def __init__(self, ports: Collection[int]) -> None:
        self.heard: dict[int, Heard] = {port: Heard() for port in ports}
        self._stop = threading.Event()
        self._socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self._socket.bind(("lo", 0))
        self._socket.settimeout(0.2)
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> RtpSniffer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                frame, address = self._socket.recvfrom(2048)
            except TimeoutError:
                continue
            if address[2] == PACKET_OUTGOING or len(frame) < 14 + 20 + 8 + 12:
                continue
            ip = frame[14:]
            if ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            udp = ip[(ip[0] & 0x0F) * 4 :]
            (port,) = struct.unpack("!H", udp[2:4])
            heard = self.heard.get(port)
            rtp = udp[8:]
            if heard is None or len(rtp) < 12 or rtp[1] & 0x7F != PCMA:
                continue
            (sequence,) = struct.unpack("!H", rtp[2:4])
            heard.packets.append((time.time(), sequence, bytes(rtp[12:])))
