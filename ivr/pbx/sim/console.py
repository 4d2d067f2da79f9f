"""The simulated PBX of `ivr try`: it tells the person at the terminal what the caller hears."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ivr.calls.commands import PbxCommand, Play, Transfer
from ivr.clock import VirtualClock
from ivr.pbx.sim.pbx import SimPbx


class ConsolePbx(SimPbx):
    """SimPbx that writes each prompt as it plays: `say:` text where known, else the sound."""

    def __init__(
        self,
        clock: VirtualClock,
        write: Callable[[str], None],
        texts: Mapping[str, str],
        prompt_seconds: float = 2.0,
    ) -> None:
        super().__init__(clock, prompt_seconds)
        self.write = write
        self.texts = texts
        self.started = clock.now()

    def send(self, command: PbxCommand) -> None:
        """Tell what happens, then do as the simulated PBX does."""
        call = self.calls.get(command.call_id)
        if call is not None and not call.ended_by:
            match command:
                case Play(media=media):
                    for item in media:
                        self.say(
                            f'hears "{self.texts[item]}"' if item in self.texts else f"hears {item}"
                        )
                case Transfer(endpoint=endpoint):
                    self.say(f"PBX transfers the call to {endpoint}")
        super().send(command)

    def say(self, text: str) -> None:
        """One line, stamped with the virtual time since the session began."""
        self.write(f"{self.clock.now() - self.started:7.1f}s  {text}")
