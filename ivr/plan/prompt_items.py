"""What a prompt item may be: sound:NAME, say:TEXT, opening:SCHEDULE or a named prompt.

How items turn into what the PBX plays is ivr/plan/prompts.py.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import BeforeValidator, Field

from ivr.plan.fields import NODE_NAME, as_list

# Prompt names end up in PBX media URIs and file paths: a strict set, no way out of the folder.
SOUND_NAME = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
SAY_LIMIT = 300


def _check_media(item: str) -> str:
    kind, sep, rest = item.partition(":")
    if sep and kind == "sound":
        if not SOUND_NAME.match(rest):
            raise ValueError(
                f"sound name '{rest}' may only hold letters, digits, '-', '_' and '/' between "
                "names (no '..', no leading '/')"
            )
        return item
    if sep and kind == "say":
        text = rest.strip()
        if not text:
            raise ValueError("say: needs the text to speak, for example say:Hello")
        if len(text) > SAY_LIMIT:
            raise ValueError(f"say: text is {len(text)} characters; keep it under {SAY_LIMIT}")
        if any(unicodedata.category(ch) == "Cc" for ch in text):
            raise ValueError("say: text holds control characters; write it on one line")
        return f"say:{text}"
    if sep and kind == "opening":
        if not NODE_NAME.match(rest):
            raise ValueError("opening: needs a schedule's name, for example opening:shop_hours")
        return item
    raise ValueError(
        f"prompt '{item}' is not understood; write sound:NAME (an Asterisk sound, "
        "for example sound:hello), say:TEXT (text to speech) or opening:SCHEDULE "
        "(when that schedule next opens)"
    )


def _check_prompt(item: str) -> str:
    if NODE_NAME.match(item):
        return item  # a key of `prompts:`; checks/prompts.py makes sure it exists
    kind, sep, _ = item.partition(":")
    if sep and kind in ("sound", "say", "opening"):
        return _check_media(item)
    raise ValueError(
        f"prompt '{item}' is not understood; write sound:NAME (an Asterisk sound, "
        "for example sound:hello), say:TEXT (text to speech) or the name of an entry in prompts:"
    )


Prompt = Annotated[str, BeforeValidator(lambda v: _check_prompt(v) if isinstance(v, str) else v)]
Prompts = Annotated[list[Prompt], BeforeValidator(as_list, json_schema_input_type=str | list[str])]
Media = Annotated[str, BeforeValidator(lambda v: _check_media(v) if isinstance(v, str) else v)]
MediaList = Annotated[
    list[Media],
    BeforeValidator(as_list, json_schema_input_type=str | list[str]),
    Field(min_length=1),
]
