"""BFCL function docs -> JSON-Schema tools, as BFCL's FC handlers build them (`convert_to_tool`).

BFCL docs use Gorilla types (`dict`, `float`, `tuple`, Java/JS types...);
native tool calling wants JSON Schema. The mapping and its quirks follow
`convert_to_tool` with `GORILLA_TO_OPENAPI`: unknown types become `string`,
`float` params gain `format: float` and a sentence in their description,
nested types are mapped two levels deep, and the parameters object gets
`type: object`. Styles: "openai" wraps each doc as
`{"type": "function", "function": doc}` (OpenAI chat completions, vLLM, HF
chat templates); "oss" returns the bare docs (BFCL's OSSMODEL style).
BFCL also renames `a.b` to `a_b` for these styles (OpenAI rejects dots);
`rename_dots=False` keeps names as they are so decoded calls need no mapping back.
"""

from __future__ import annotations

import copy
import re
from typing import Any

GORILLA_TO_JSON_SCHEMA: dict[str, str] = {
    "integer": "integer",
    "number": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "dict": "object",
    "object": "object",
    "tuple": "array",
    "any": "string",
    "byte": "integer",
    "short": "integer",
    "long": "integer",
    "double": "number",
    "char": "string",
    "ArrayList": "array",
    "Array": "array",
    "HashMap": "object",
    "Hashtable": "object",
    "Queue": "array",
    "Stack": "array",
    "Any": "string",
    "String": "string",
    "Bigint": "integer",
}

STYLES = ("openai", "oss")


def _cast_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """Map each property's type in place, recursing like BFCL (objects, lists, lists of lists/objects)."""
    mapping = GORILLA_TO_JSON_SCHEMA
    for prop in properties.values():
        if "type" not in prop:
            prop["type"] = "string"
        else:
            gorilla_type = prop["type"]
            if gorilla_type == "float":
                prop["format"] = "float"
                prop["description"] += " This is a float type value."
            prop["type"] = mapping.get(gorilla_type, "string") if isinstance(gorilla_type, str) else "string"
        if prop["type"] in ("array", "object"):
            if "properties" in prop:
                prop["properties"] = _cast_properties(prop["properties"])
            elif "items" in prop:
                items = prop["items"]
                items["type"] = mapping[items["type"]]
                if items["type"] == "array" and "items" in items:
                    items["items"]["type"] = mapping[items["items"]["type"]]
                elif items["type"] == "object" and "properties" in items:
                    items["properties"] = _cast_properties(items["properties"])
    return properties


def to_tools(functions: list[dict[str, Any]], style: str = "openai", *, rename_dots: bool = True) -> list[dict[str, Any]]:
    """Convert BFCL function docs (not mutated) into tools for native function calling."""
    if style not in STYLES:
        raise ValueError(f"unknown tool style {style!r}; expected one of {', '.join(STYLES)}")
    tools = []
    for doc in copy.deepcopy(functions):
        if rename_dots and "." in doc["name"]:
            doc["name"] = re.sub(r"\.", "_", doc["name"])
        doc["parameters"]["type"] = "object"
        doc["parameters"]["properties"] = _cast_properties(doc["parameters"]["properties"])
        tools.append({"type": "function", "function": doc} if style == "openai" else doc)
    return tools


def tool_name_map(functions: list[dict[str, Any]]) -> dict[str, str]:
    """Renamed tool name -> original BFCL name, for docs whose names contain dots."""
    return {re.sub(r"\.", "_", f["name"]): f["name"] for f in functions if "." in f["name"]}
