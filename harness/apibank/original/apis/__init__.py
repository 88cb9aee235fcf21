"""Our implementations of the API-Bank Level-1/2 APIs, by original class name.

Only names in REGISTRY can ever be executed; a predicted name is a plain
dictionary key, never an import or attribute lookup.
"""

from harness.apibank.original import toolsearcher  # noqa: E402,F401  (registers ToolSearcher)
from harness.apibank.original.apis import account, agenda, health, home, info, meeting  # noqa: F401  (registration)
from harness.apibank.original.apis.base import REGISTRY, Api, specs

__all__ = ["REGISTRY", "Api", "specs"]
