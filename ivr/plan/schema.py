"""The JSON Schema of a plan file, for editors (yaml-language-server) and other tools.

`dialplans/plan.schema.json` is this text; a unit test keeps the two equal.
"""

from __future__ import annotations

import json
from typing import Any

from ivr.plan.spec import PlanSpec

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def plan_schema() -> dict[str, Any]:
    """The schema of a plan file as a JSON-able mapping."""
    schema = PlanSpec.model_json_schema(by_alias=True)
    rest = {key: value for key, value in schema.items() if key != "title"}
    return {"$schema": DIALECT, "title": "shop-ivr dial plan", **rest}


def schema_text() -> str:
    """The schema as the text `ivr schema` prints and the repository ships."""
    return json.dumps(plan_schema(), indent=2, ensure_ascii=False) + "\n"
