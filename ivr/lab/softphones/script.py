"""What a lab softphone does with each call it is offered, and the port each endpoint's
softphone listens on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Behaviour = Literal["answer", "no-answer", "busy", "reject"]
Audio = Literal["pcap", "echo", "none"]
AGENT_PORTS = {
    "agent1": 6001, "agent2": 6002, "agent3": 6003, "agent4": 6004, "partner": 6100,
    "customer": 6200, "supervisor1": 6010,
}  # fmt: skip


@dataclass(frozen=True)
class AgentScript:
    """What a lab softphone does with each call it is offered."""

    name: str
    port: int
    behaviour: Behaviour = "answer"
    ring_seconds: float = 1.0
    talk_seconds: float = 5.0
    wait_for_bye: bool = False
    audio: Audio = "pcap"
    calls: int | None = None
    record_from_to: bool = False

    @classmethod
    def of(cls, name: str, **options: Any) -> AgentScript:
        """The script for an endpoint of pjsip.conf (agent1..agent4, partner) on its port."""
        return cls(name=name, port=AGENT_PORTS[name], **options)
