"""Region labels of generated token ids, on the real Qwen (tags = single tokens) and SmolLM2 (tags split) vocabs."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from harness.toolrl.format import TAGS
from tests.qwen_tokenizer import qwen_tokenizer, smollm2_tokenizer
from trainer.regions import Region, RegionLabeller, char_spans

CODE = {"O": Region.OTHER, "F": Region.FORMAT, "N": Region.NAME, "A": Region.ARGS, "T": Region.THINK, "R": Region.RESPONSE}

QWEN_TEXT = (
    '<think> I need two calls. </think>\n<tool_call>\n{"name": "get_weather", "parameters": {"city": "Paris"}}\n'
    '{"name": "get_time", "arguments": {"tz": "CET"}}\n</tool_call><|im_end|>'
)
SMOL_TEXT = (
    '<think>Look up Paris.</think>\n<tool_call>\n{"name": "search", "parameters": {"q": "a \\"b\\" {c}"}}\n'
    '{"name": "add", "parameters": {"x": [1, 2]}}\n</tool_call>\n<response>Done.</response><|im_end|>'
)


@pytest.fixture(scope="module")
def qwen():
    tok = qwen_tokenizer()
    return tok, RegionLabeller(tok)


@pytest.fixture(scope="module")
def smol():
    tok = smollm2_tokenizer()
    return tok, RegionLabeller(tok)


def _pairs(tok, labeller, text):
    ids = tok.encode(text, add_special_tokens=False)
    return [(tok.decode([i]), Region(r)) for i, r in zip(ids, labeller.label(ids), strict=True)]


def _expect(spec: list[tuple[str, str]]):
    return [(piece, CODE[c]) for piece, c in spec]


def test_qwen_parallel_calls_exact(qwen):
    tok, lab = qwen
    ids = tok.encode(QWEN_TEXT, add_special_tokens=False)
    assert 151667 in ids and 151668 in ids and 151657 in ids and 151658 in ids  # tags are single tokens
    want = _expect([
        ("<think>", "F"), (" I", "T"), (" need", "T"), (" two", "T"), (" calls", "T"), (".", "T"), (" ", "T"),
        ("</think>", "F"), ("\n", "O"), ("<tool_call>", "F"), ("\n", "O"),
        ('{"', "O"), ("name", "O"), ('":', "O"), (' "', "O"), ("get", "N"), ("_weather", "N"), ('",', "O"),
        (' "', "O"), ("parameters", "O"), ('":', "O"),
        (' {"', "A"), ("city", "A"), ('":', "A"), (' "', "A"), ("Paris", "A"), ('"}}\n', "A"),
        ('{"', "O"), ("name", "O"), ('":', "O"), (' "', "O"), ("get", "N"), ("_time", "N"), ('",', "O"),
        (' "', "O"), ("arguments", "O"), ('":', "O"),
        (' {"', "A"), ("tz", "A"), ('":', "A"), (' "', "A"), ("C", "A"), ("ET", "A"), ('"}}\n', "A"),
        ("</tool_call>", "F"), ("<|im_end|>", "O"),
    ])  # fmt: skip
    assert _pairs(tok, lab, QWEN_TEXT) == want


def test_smollm2_split_tags_exact(smol):
    tok, lab = smol
    want = _expect([
        ("<", "F"), ("think", "F"), (">", "F"), ("Look", "T"), (" up", "T"), (" Paris", "T"), (".", "T"),
        ("</", "F"), ("think", "F"), (">", "F"), ("\n", "O"),
        ("<", "F"), ("tool", "F"), ("_", "F"), ("call", "F"), (">", "F"), ("\n", "O"),
        ('{"', "O"), ("name", "O"), ('":', "O"), (' "', "O"), ("search", "N"), ('",', "O"), (' "', "O"),
        ("parameters", "O"), ('":', "O"),
        (' {"', "A"), ("q", "A"), ('":', "A"), (' "', "A"), ("a", "A"), (' \\"', "A"), ("b", "A"), ('\\"', "A"),
        (" {", "A"), ("c", "A"), ('}"', "A"), ("}}", "A"), ("\n", "O"),
        ('{"', "O"), ("name", "O"), ('":', "O"), (' "', "O"), ("add", "N"), ('",', "O"), (' "', "O"),
        ("parameters", "O"), ('":', "O"),
        (' {"', "A"), ("x", "A"), ('":', "A"), (" [", "A"), ("1", "A"), (",", "A"), (" ", "A"), ("2", "A"),
        ("]", "A"), ("}}", "A"), ("\n", "O"),
        ("</", "F"), ("tool", "F"), ("_", "F"), ("call", "F"), (">", "F"), ("\n", "O"),
        ("<", "F"), ("response", "F"), (">", "F"), ("Done", "R"), (".", "R"), ("</", "F"), ("response", "F"),
        (">", "F"), ("<|im_end|>", "O"),
    ])  # fmt: skip
    assert _pairs(tok, lab, SMOL_TEXT) == want


def test_same_text_on_both_vocabs_gives_same_char_regions(qwen, smol):
    """Per character (via the token holding it) both vocabs agree away from token-boundary effects."""
    for text in (QWEN_TEXT, SMOL_TEXT):
        for tok, lab in (qwen, smol):
            ids = tok.encode(text, add_special_tokens=False)
            labels = lab.label(ids)
            names = _runs(tok, ids, labels, Region.NAME)
            calls = [json.loads(x) for x in text.split("<tool_call>\n")[1].split("\n</tool_call>")[0].split("\n")]
            assert [r.strip(' ",') for r in names] == [c["name"] for c in calls]
            args = _runs(tok, ids, labels, Region.ARGS)
            for run, call in zip(args, calls, strict=True):
                value, end = json.JSONDecoder().raw_decode(run.strip())
                assert value == call.get("parameters", call.get("arguments"))
                assert set(run.strip()[end:]) <= {"}", "\n"}  # at most the closing of the call object


def _runs(tok, ids, labels, region):
    out, cur = [], []
    for i, r in zip(ids, labels, strict=True):
        if r == region:
            cur.append(tok.decode([i]))
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def test_char_spans_by_hand():
    t = 'x<think>ab</think><tool_call>\n{"name": "f", "parameters": {"k": "}"}}\n</tool_call><response>ok'
    spans = char_spans(t)
    i = t.index
    assert spans == [
        (i("<think>"), i("<think>") + 7, Region.FORMAT),
        (i("ab"), i("ab") + 2, Region.THINK),
        (i("</think>"), i("</think>") + 8, Region.FORMAT),
        (i("<tool_call>"), i("<tool_call>") + 11, Region.FORMAT),
        (i('"f"') + 1, i('"f"') + 2, Region.NAME),
        (i('{"k"'), i('"}}') + 2, Region.ARGS),
        (i("</tool_call>"), i("</tool_call>") + 12, Region.FORMAT),
        (i("<response>"), i("<response>") + 10, Region.FORMAT),
        (i("<response>") + 10, len(t), Region.RESPONSE),  # unclosed: runs to the end
    ]


def test_leading_close_tag_labels_prefilled_think(qwen):
    tok, lab = qwen  # Qwen3 templates may put `<think>\n` in the prompt: the completion starts inside it
    ids = tok.encode("plan it</think>\n<response>ok</response>", add_special_tokens=False)
    labels = lab.label(ids)
    assert labels[:2] == [Region.THINK, Region.THINK] and labels[2] == Region.FORMAT


def test_text_outside_tags_eos_pad_and_unknown_ids_are_other(qwen):
    tok, lab = qwen
    ids = tok.encode("Sure. <think>a</think>", add_special_tokens=False)
    ids += [tok.convert_tokens_to_ids("<|im_end|>"), tok.pad_token_id, tok.pad_token_id, 151900, -1]
    labels = lab.label(ids)
    assert labels[0] == Region.OTHER and labels[1] == Region.OTHER
    assert labels[-5:] == [Region.OTHER] * 5
    assert lab.label([]) == []


def test_malformed_json_degrades(smol, qwen):
    for tok, lab in (smol, qwen):
        text = '<think>x</think><tool_call>\n{"name": "f", "parameters": {"a": "unterminated}\n</tool_call>'
        ids = tok.encode(text, add_special_tokens=False)
        labels = lab.label(ids)
        names = _runs(tok, ids, labels, Region.NAME)
        assert names == ["f"]
        args = _runs(tok, ids, labels, Region.ARGS)
        assert len(args) == 1 and args[0].strip().startswith('{"a"') and "unterminated" in args[0]
        assert labels[-1] == Region.FORMAT
        for junk in ['{"name": f, "parameters": }', '{"name": "g" "parameters" {', "{{{{", '"\\', '{"arguments": 5}']:
            lab.label(tok.encode("<tool_call>\n" + junk, add_special_tokens=False))  # must not raise


def test_truncation_keeps_labels_of_the_prefix(qwen, smol):
    """A truncated completion labels its tokens as the full one does, except tokens of an unfinished tag."""
    for tok, lab in (qwen, smol):
        for text in (QWEN_TEXT, SMOL_TEXT):
            ids = tok.encode(text, add_special_tokens=False)
            full = lab.label(ids)
            for k in range(len(ids) + 1):
                got = lab.label(ids[:k])
                assert len(got) == k
                diff = [j for j in range(k) if got[j] != full[j]]
                assert all(full[j] == Region.FORMAT for j in diff), (k, diff)


def test_unicode_args_and_batch_inputs(qwen):
    tok, lab = qwen
    text = '<tool_call>\n{"name": "translate", "parameters": {"text": "你好 🌍", "to": "fr"}}\n</tool_call>'
    ids = tok.encode(text, add_special_tokens=False)
    labels = lab.label(ids)
    pieces = [tok.decode([i]) for i in ids]
    start = next(j for j, p in enumerate(pieces) if "{" in p and j > 3 and labels[j] == Region.ARGS)
    end = max(j for j, r in enumerate(labels) if r == Region.ARGS)
    assert all(labels[j] == Region.ARGS for j in range(start, end + 1))
    assert any("\ufffd" in pieces[j] for j in range(start, end + 1))  # partial UTF-8 pieces stay in the span
    batch = np.array([ids, ids])
    assert lab.label_batch(batch) == [labels, labels]
    assert lab.label(np.array(ids)) == labels


def _fuzz_text(rng: random.Random) -> str:
    frags = list(TAGS) + [
        '{"name": "', '", "parameters": {', '"arguments": ', "}", "{", '"', "\\", "\\\"", "\n", " ", "ok", "é",
        "🌍", "[1, 2]", ", ", ":", '"name"', "</", "<", ">", "think", "tool_call", "response",
    ]
    return "".join(rng.choice(frags) for _ in range(rng.randint(0, 40)))


def test_fuzz_never_raises_and_tags_win(qwen, smol):
    rng = random.Random(7)
    for _ in range(150):
        text = _fuzz_text(rng)
        for tok, lab in (qwen, smol):
            ids = tok.encode(text, add_special_tokens=False)
            labels = lab.label(ids)
            assert len(labels) == len(ids)
            pieces = lab.pieces_of(ids)
            joined = "".join(pieces)
            bounds, pos = [], 0
            for p in pieces:
                bounds.append((pos, pos + len(p)))
                pos += len(p)
            for tag in TAGS:
                start = joined.find(tag)
                while start >= 0:
                    end = start + len(tag)
                    for j, (a, b) in enumerate(bounds):
                        if a < end and b > start:
                            assert labels[j] == Region.FORMAT, (text, tag)
                    start = joined.find(tag, start + 1)


class _CharTokenizer:
    """Minimal tokenizer: one id per character, plus whole tags and an EOS as (special) added tokens."""

    def __init__(self, alphabet: str):
        self.vocab = [*TAGS, "<eos>", *alphabet]
        self.all_special_ids = [0, 1, len(TAGS)]  # <think>, </think> marked special (Qwen builds vary), <eos>

    def __len__(self):
        return len(self.vocab)

    def batch_decode(self, seqs, skip_special_tokens=False, clean_up_tokenization_spaces=False):
        return ["".join(self.vocab[i] for i in s) for s in seqs]

    def encode(self, text: str) -> list[int]:
        out, i = [], 0
        while i < len(text):
            for j, tag in enumerate(self.vocab[: len(TAGS) + 1]):
                if text.startswith(tag, i):
                    out.append(j)
                    i += len(tag)
                    break
            else:
                out.append(self.vocab.index(text[i], len(TAGS) + 1))
                i += 1
        return out


def test_special_tags_still_format_and_char_level_tokens():
    text = '<think>hm</think><tool_call>{"name":"f","arguments":{"a":1}}</tool_call><eos>'
    tok = _CharTokenizer("".join(sorted(set(text))))
    lab = RegionLabeller(tok)
    ids = tok.encode(text)
    got = "".join("OFNATR"[r] for r in lab.label(ids))
    # <think> h m </think> <tool_call> {"name":" f ","arguments": {"a":1} } </tool_call> <eos>
    assert got == "F" + "TT" + "F" + "F" + "O" * 9 + "N" + "O" * 14 + "A" * 7 + "O" + "F" + "O"
