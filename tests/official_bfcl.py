"""Import bfcl-eval's official decoders and checkers for agreement tests only.

Recipe A of ../shared/docs/bfcl.md: the package is installed with --no-deps,
so its model registry (which imports every vendor SDK) is replaced by a stub
whose entries all have `underscore_to_dot=False`. `BFCL_PROJECT_ROOT` points
at a temp dir because importing bfcl_eval creates folders under it.
Project code must never import this module.
"""

from __future__ import annotations

import os
import sys
import tempfile
import types
from dataclasses import dataclass
from functools import cache


@dataclass
class _Cfg:
    underscore_to_dot: bool = False


class _Map(dict):
    def __missing__(self, key):
        return _Cfg()


@cache
def official() -> types.SimpleNamespace:
    """Return the official functions, importing them once per process."""
    os.environ.setdefault("BFCL_PROJECT_ROOT", tempfile.mkdtemp(prefix="bfcl_root_"))
    stub = types.ModuleType("bfcl_eval.constants.model_config")
    stub.MODEL_CONFIG_MAPPING = _Map()
    sys.modules.setdefault("bfcl_eval.constants.model_config", stub)

    from bfcl_eval.constants.enums import Language, ReturnFormat
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
    from bfcl_eval.model_handler.utils import (
        default_decode_ast_prompting,
        default_decode_execute_prompting,
        system_prompt_pre_processing_chat_model,
    )
    from bfcl_eval.utils import is_empty_output, load_dataset_entry, load_ground_truth_entry

    return types.SimpleNamespace(
        Language=Language,
        ReturnFormat=ReturnFormat,
        ast_checker=ast_checker,
        multi_turn_checker=multi_turn_checker,
        decode_ast=default_decode_ast_prompting,
        decode_execute=default_decode_execute_prompting,
        system_prompt=system_prompt_pre_processing_chat_model,
        is_empty_output=is_empty_output,
        load_dataset_entry=load_dataset_entry,
        load_ground_truth_entry=load_ground_truth_entry,
    )
