"""`--model-args`, `--gen-kwargs`, `--chat-template-kwargs`: parsed as lm-eval parses them, applied by every
backend that declares a key, refused in one line by any other."""

from __future__ import annotations

import pytest

from harness.backends import backend_class
from harness.backends.base import GenParams
from harness.backends.hf_sampling import active_options, generate_kwargs
from harness.backends.passthrough import gen_params, parse_options
from harness.cli.eval import parse_eval_args
from harness.records import Prompt
from harness.types import UserError


def test_key_value_syntax_as_lm_eval():
    assert parse_options("trust_remote_code=True,revision=main,max_length=4096,temp=0.5,x=none", "--m") == {
        "trust_remote_code": True, "revision": "main", "max_length": 4096, "temp": 0.5, "x": None}
    assert parse_options("until=['\\n\\n', 'Q:'],top_k=20", "--g") == {"until": ["\n\n", "Q:"], "top_k": 20}
    assert parse_options('stop="a,b",seed="3"', "--g") == {"stop": "a,b", "seed": "3"}  # quotes keep text
    assert parse_options('{"enable_thinking": false, "k": [1, 2]}', "--c") == {"enable_thinking": False, "k": [1, 2]}
    assert parse_options({"a": 1}, "--c") == {"a": 1} and parse_options(None, "--c") == {} == parse_options("", "--c")
    with pytest.raises(UserError, match="--model-args: expected key=value, got 'oops'"):
        parse_options("a=1,oops", "--model-args")
    with pytest.raises(UserError, match="'ids={1, 2}' is not a JSON value"):
        parse_options("ids={1, 2}", "--gen-kwargs")
    with pytest.raises(UserError, match="not a JSON object"):
        parse_options("{nope", "--gen-kwargs")


def test_keys_each_backend_refuses_are_one_line_errors_naming_them():
    cases = [
        ("hf", ["--model-args", "quantization=awq"], "--model-args quantization: the hf backend cannot honour it"),
        ("vllm", ["--model-args", "attn_implementation=eager"], "--model-args attn_implementation: the vllm backend"),
        ("openai", ["--model-args", "revision=main"], "--model-args revision: the openai backend cannot honour it"),
        ("llamacpp", ["--model-args", "trust_remote_code=true"], "--model-args trust_remote_code: the llamacpp"),
        ("hf", ["--gen-kwargs", "frequency_penalty=0.5"], "--gen-kwargs frequency_penalty: the hf backend"),
        ("openai", ["--gen-kwargs", "no_repeat_ngram_size=3"], "--gen-kwargs no_repeat_ngram_size: the openai"),
        ("llamacpp", ["--chat-template-kwargs", "enable_thinking=false"], "--chat-template-kwargs: the llamacpp"),
        ("llamacpp", ["--model-args", "enable_thinking=false"], "--chat-template-kwargs: the llamacpp"),
        ("openai", ["--gen-kwargs", "top_k=20", "--standard-params-only"], "--gen-kwargs top_k: not an OpenAI API"),
    ]
    for backend, argv, message in cases:
        with pytest.raises(UserError) as exc:
            parse_eval_args(["--backend", backend, *argv])
        assert str(exc.value).startswith(message) and "\n" not in str(exc.value), (backend, argv, str(exc.value))


def test_each_backend_honours_its_keys():
    ok = {
        "hf": "trust_remote_code=true,revision=main,attn_implementation=sdpa,tokenizer=other,low_cpu_mem_usage=true",
        "vllm": "trust_remote_code=true,quantization=awq,gpu_memory_utilization=0.8,enforce_eager=true",
        "llamacpp": "n_ctx=8192,n_gpu_layers=0,chat_format=chatml",
        "openai": "",
    }
    gen = {"hf": "top_k=20,min_p=0.05,repetition_penalty=1.1,no_repeat_ngram_size=3",
           "vllm": "top_k=20,min_p=0.05,repetition_penalty=1.1,presence_penalty=0.5,stop_token_ids=[1]",
           "llamacpp": "top_k=20,min_p=0.05,repetition_penalty=1.1,frequency_penalty=0.5",
           "openai": "top_k=20,min_p=0.05,repetition_penalty=1.1,frequency_penalty=0.5,presence_penalty=0.5"}
    for name in ok:
        local = ["--base-url", "http://127.0.0.1:8000/v1"] if name == "openai" else []  # not api.openai.com
        args = parse_eval_args(["--backend", name, *local, "--model-args", ok[name], "--gen-kwargs", gen[name]])
        assert args.model_args == parse_options(ok[name], "") and args.gen_kwargs == parse_options(gen[name], "")
        assert backend_class(name).requested(args)["gen_kwargs"] == args.gen_kwargs


def test_keys_naming_flags_set_the_flags_and_contradictions_are_refused():
    args = parse_eval_args(["--model-args", "dtype=bfloat16,device=cpu,enable_thinking=false",
                            "--gen-kwargs", "temperature=0.6,top_p=0.95,max_gen_toks=99,seed=4,until=['\\n\\n'],stop=x"])
    assert (args.dtype, args.device, args.model_args, args.chat_template_kwargs) == (
        "bfloat16", "cpu", {}, {"enable_thinking": False})
    assert gen_params(args) == GenParams(max_new_tokens=99, temperature=0.6, top_p=0.95, seed=4, stop=["x", "\n\n"])
    vllm = parse_eval_args(["--backend", "vllm", "--model-args", "max_model_len=4096,tensor_parallel_size=2"])
    assert (vllm.max_model_len, vllm.tensor_parallel_size, vllm.model_args) == (4096, 2, {})
    openai = parse_eval_args(["--backend", "openai", "--model-args", "base_url=http://h/v1,concurrency=4"])
    assert (openai.base_url, openai.concurrency) == ("http://h/v1", 4)  # lm-eval's local-chat-completions style
    # the same value twice is fine; a flag given with its default value still wins over nothing but itself
    assert parse_eval_args(["--temperature", "0.6", "--gen-kwargs", "temperature=0.6"]).temperature == 0.6
    for argv, message in [
        (["--temperature", "0", "--gen-kwargs", "temperature=0.6"], "--gen-kwargs temperature=0.6 contradicts"),
        (["--dtype", "float16", "--model-args", "dtype=bfloat16"], "--model-args dtype='bfloat16' contradicts --dtype"),
        (["--model-args", "enable_thinking=true", "--chat-template-kwargs", "enable_thinking=false"], "contradicts"),
        (["--gen-kwargs", "max_gen_toks=lots"], "--gen-kwargs max_gen_toks must be an integer"),
        (["--gen-kwargs", "top_p=2"], "--top-p must be in (0, 1]"),
        (["--gen-kwargs", "stop=['']"], "stop/until must be a string or a list of non-empty strings"),
        (["--model-args", "threads=0"], "--threads must be a positive integer"),
    ]:
        with pytest.raises(UserError) as exc:
            parse_eval_args(argv)
        assert message in str(exc.value), (argv, str(exc.value))


def built(name: str, *argv: str):
    """(args, kwargs) the backend's constructor gets from `rest eval ARGV` (nothing loads)."""
    cls = backend_class(name)

    class Capture(cls):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            self.got = (args, kwargs)

    return Capture.from_args(parse_eval_args(["--backend", name, *argv])).got[1]


def test_backends_are_built_with_the_options():
    kw = built("hf", "--model-args", "revision=v2", "--chat-template-kwargs", "enable_thinking=false")
    assert kw["model_args"] == {"revision": "v2"} and kw["chat_template_kwargs"] == {"enable_thinking": False}
    kw = built("vllm", "--model-args", "quantization=awq,enable_thinking=true")
    assert kw["model_args"] == {"quantization": "awq"} and kw["chat_template_kwargs"] == {"enable_thinking": True}
    assert built("llamacpp", "--model-args", "n_ctx=8192")["model_args"] == {"n_ctx": 8192}
    kw = built("openai", "--standard-params-only", "--chat-template-kwargs", "enable_thinking=false")
    assert kw["standard_params_only"] and kw["chat_template_kwargs"] == {"enable_thinking": False}
    assert "model_args" not in built("hf") and "chat_template_kwargs" not in built("openai")


def test_vllm_sampling_takes_the_gen_kwargs():
    from harness.backends.vllm import sampling_kwargs

    kw = sampling_kwargs(GenParams(max_new_tokens=7, extra={"repetition_penalty": 1.2, "top_k": 5}))
    assert kw == {"max_tokens": 7, "temperature": 0.0, "seed": 0, "n": 1, "repetition_penalty": 1.2, "top_k": 5}


def test_hf_generate_kwargs_are_explicit_and_options_that_change_nothing_keep_the_fast_path():
    greedy = generate_kwargs(GenParams(max_new_tokens=4), 0)
    assert greedy["do_sample"] is False and greedy["repetition_penalty"] == 1.0 and greedy["no_repeat_ngram_size"] == 0
    sampled = generate_kwargs(GenParams(temperature=0.7, top_p=0.9, extra={"top_k": 20, "min_p": 0.1}), 0)
    assert (sampled["do_sample"], sampled["top_k"], sampled["min_p"], sampled["top_p"]) == (True, 20, 0.1, 0.9)
    assert active_options(GenParams(extra={"top_k": 20, "min_p": 0.1, "repetition_penalty": 1.0})) == {}
    assert active_options(GenParams(extra={"repetition_penalty": 1.2})) == {"repetition_penalty": 1.2}
    assert active_options(GenParams(temperature=1.0, extra={"top_k": 20})) == {"top_k": 20}


def test_hf_repetition_penalty_is_transformers_own(tiny_model_dir):
    """An option the fast path lacks sends the batch to transformers' generate, which applies it."""
    import torch

    from harness.backends.hf import HFBackend

    b = HFBackend(str(tiny_model_dir), device="cpu", model_args={"attn_implementation": "eager", "revision": "main"})
    assert b.model.config._attn_implementation == "eager" and b.info()["model_args"]["revision"] == "main"
    prompt = Prompt(messages=[{"role": "user", "content": "Say something long and repetitive."}])
    params = GenParams(max_new_tokens=12, extra={"repetition_penalty": 1.8})
    got = b.generate([prompt], params)[0]
    ids = torch.tensor([b.encode([prompt])[0]])
    with torch.inference_mode():
        ref = b.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=12, do_sample=False,
                               repetition_penalty=1.8, pad_token_id=b.tokenizer.pad_token_id)
    new = ref[0, ids.shape[1]:].tolist()
    assert got.text == b.finish(new, params, 0, 0.0).text
