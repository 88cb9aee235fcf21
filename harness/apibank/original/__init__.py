"""API-Bank's original, execution-based protocol (Li et al. 2023), reimplemented.

The predicted `[ApiName(key='value')]` call is parsed the way the original
evaluator parses it (every value a string), executed against our own
implementations of the API-Bank APIs initialised from `init_database/`, and
judged by each API's own correctness rule. See docs/apibank_original.md.
"""
