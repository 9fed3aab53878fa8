#!/usr/bin/env python3
"""References for the real gemma-3-270m GGUF, computed by HuggingFace transformers.

transformers loads the GGUF itself (`gguf_file=`: its own tokenizer builder, gguf-py's
dequantization, its own norm shift), independently of `greedy convert gguf`. This writes
gpu-trainer/tests/fixtures/gguf/gemma3_270m_refs.json with:

- `tokenize`: token ids (BOS added as the tokenizer adds it) of strings with spaces, tabs,
  newlines, unicode, emoji, digits, `ACTION=x` and chat markers. Each string without
  control tokens is also tokenized by SentencePiece itself, from a model built out of the
  GGUF's vocabulary (pieces, scores, types; Gemma's normalizer settings): the script stops
  if SentencePiece and transformers disagree.
- `tokenizer`: the number and CRC-32 (zlib) of transformers' merges ("left right\n" lines)
  and of its vocabulary (tokens in id order, "token\n" lines).
- `weights`: shape and CRC-32 of every tensor of transformers' state dict as little-endian
  f32 (lm_head is the tied embedding and left out).
- `logits`: the top-20 logits at chosen positions of a few prompts (one longer than the
  512-token sliding window).

Needs: torch, transformers, gguf, sentencepiece, protobuf, accelerate (transformers needs it
to load a GGUF). Run: /work/venv/py/bin/python tools/gen_gemma3_270m_refs.py [GGUF] [OUT]
(defaults: models/gemma-3-270m-q4_k_m.gguf, gpu-trainer/tests/fixtures/gguf/gemma3_270m_refs.json).
"""

import hashlib
import json
import sys
import time
import zlib
from pathlib import Path

import gguf
import numpy as np
import sentencepiece as spm
import torch
from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
GGUF = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models/gemma-3-270m-q4_k_m.gguf"
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "gpu-trainer/tests/fixtures/gguf/gemma3_270m_refs.json"
TOP = 20

STRINGS = [
    "Hello world",
    "  two leading spaces",
    "trailing spaces   ",
    "a  b   c    d     e",
    "tab\tseparated\t\tvalues\t",
    "line1\nline2\n\nline4\n\n\n\nend",
    "windows\r\nline\r\n",
    "  \n \t mixed whitespace \t\n  ",
    "Ünïcödé café naïve façade",
    "日本語のテキストと漢字",
    "Привет, мир! Γειά σου κόσμε",
    "emoji 😀👍🏽🇫🇷 ❤️ 🧑‍💻",
    "digits 0123456789 3.14159 -42 1e-6 2025-11-22",
    "ACTION=x",
    "ACTION=2",
    "ACTION= 3\nACTION=4\nACTION=10",
    "<start_of_turn>user\nPick an arm.<end_of_turn>\n<start_of_turn>model\nACTION=1<end_of_turn>\n",
    "<bos>an inline bos and <eos> eos",
    "<unused0> <mask> [multimodal] <start_of_image>",
    "<div class=\"x\">html</div>",
    "x" * 40,
    "",
    " ",
    "\u00a0nbsp\u200bzero-width\u2003em-space",
    "a\u0301 combining e\u0301",
    "fn main() {\n    println!(\"hi\");\n}\n",
    '{"arm": 3, "reward": 0.5, "history": [1, 0, 1]}',
    "You are playing a 5-armed bandit. Choose one of: 0, 1, 2, 3, 4. Reply with ACTION=k.",
    "\u2581already a metaspace \u2581\u2581 two",
    "\x00\x01 control bytes \x7f",
]

CONTROL_MARKERS = ("<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<unused0>", "<mask>", "<start_of_image>")


def long_prompt() -> str:
    lines = [f"Round {i}: I pulled arm {i * 7 % 5} and the reward was {i * 37 % 100 / 100:.2f}." for i in range(26)]
    return "You are playing a 5-armed bandit.\n" + "\n".join(lines) + "\nNext action: ACTION="


PROMPTS = [
    ("capital", "The capital of France is", None),
    ("chat", "<start_of_turn>user\nYou are in a 5-armed bandit. Reply ACTION=k.<end_of_turn>\n<start_of_turn>model\n", None),
    ("code", "def fibonacci(n):\n    ", None),
    ("long", long_prompt(), "window"),
]


def crc32_lines(lines) -> int:
    crc = 0
    for line in lines:
        crc = zlib.crc32(line.encode("utf-8") + b"\n", crc)
    return crc


def sentencepiece_from_gguf(path: Path) -> spm.SentencePieceProcessor:
    """A SentencePiece BPE model with the GGUF's pieces, scores and types, and Gemma's
    normalizer settings (no dummy prefix, whitespace kept, spaces as U+2581)."""
    r = gguf.GGUFReader(str(path))
    f = r.fields

    def arr(key):
        return [f[key].parts[i] for i in f[key].data]

    tokens = [bytes(p).decode("utf-8") for p in arr("tokenizer.ggml.tokens")]
    scores = [float(p[0]) for p in arr("tokenizer.ggml.scores")]
    types = [int(p[0]) for p in arr("tokenizer.ggml.token_type")]
    m = sp_pb2.ModelProto()
    for t, s, ty in zip(tokens, scores, types):
        p = m.pieces.add()
        p.piece = "\u2581" * len(t) if " " in t and not t.strip() else t
        p.score = s
        p.type = ty
    m.trainer_spec.model_type = sp_pb2.TrainerSpec.BPE
    m.trainer_spec.byte_fallback = True
    m.trainer_spec.unk_id, m.trainer_spec.bos_id, m.trainer_spec.eos_id, m.trainer_spec.pad_id = 3, 2, 1, 0
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = False
    m.normalizer_spec.remove_extra_whitespaces = False
    m.normalizer_spec.escape_whitespaces = True
    return spm.SentencePieceProcessor(model_proto=m.SerializeToString())


def to_json(refs: dict) -> str:
    """One line per string, tensor and position: small, and readable in a diff."""
    def dump(v):
        return json.dumps(v, ensure_ascii=False)

    out = ["{"]
    items = list(refs.items())
    for n, (k, v) in enumerate(items):
        end = "," if n + 1 < len(items) else ""
        if k in ("tokenize", "logits"):
            rows = [dump(x) for x in v]
            out.append(f" {dump(k)}: [\n  " + ",\n  ".join(rows) + f"\n ]{end}")
        elif k == "weights":
            rows = [f"{dump(name)}: {dump(x)}" for name, x in v.items()]
            out.append(f" {dump(k)}: {{\n  " + ",\n  ".join(rows) + f"\n }}{end}")
        else:
            out.append(f" {dump(k)}: {dump(v)}{end}")
    return "\n".join(out) + "\n}\n"


def main() -> None:
    t0 = time.time()
    folder, name = str(GGUF.parent), GGUF.name
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    sp = sentencepiece_from_gguf(GGUF)

    tokenize = []
    for s in STRINGS:
        ids = tok(s, add_special_tokens=True).input_ids
        if not any(c in s for c in CONTROL_MARKERS):
            sp_ids = sp.encode(s)
            if [2] + sp_ids != ids:
                sys.exit(f"SentencePiece and transformers disagree on {s!r}:\n  sp {sp_ids}\n  hf {ids}")
        tokenize.append({"text": s, "ids": ids})

    backend = json.loads(tok.backend_tokenizer.to_str())
    merges = [" ".join(m) if isinstance(m, list) else m for m in backend["model"]["merges"]]
    vocab = sorted(backend["model"]["vocab"].items(), key=lambda kv: kv[1])
    tokenizer = {
        "merges": len(merges),
        "merges_crc32": crc32_lines(merges),
        "vocab": len(vocab),
        "vocab_crc32": crc32_lines(t for t, _ in vocab),
        "added_tokens": len(backend["added_tokens"]),
    }

    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model.eval()
    weights = {}
    for k, v in model.state_dict().items():
        if k == "lm_head.weight":
            continue
        a = v.detach().to(torch.float32).contiguous().numpy()
        weights[k] = {"shape": list(a.shape), "crc32": zlib.crc32(a.astype("<f4").tobytes())}

    logits = []
    for label, text, kind in PROMPTS:
        ids = tok(text, add_special_tokens=True).input_ids
        with torch.no_grad():
            out = model(torch.tensor([ids])).logits[0].float()
        n = len(ids)
        if kind == "window":
            positions = sorted({0, 100, 510, 511, 512, 513, 600, n - 2, n - 1} & set(range(n)))
            assert n > 520, f"the long prompt has {n} tokens, not past the 512 window"
        else:
            positions = list(range(n))
        tops = []
        for p in positions:
            v, i = torch.topk(out[p], TOP)
            tops.append({"pos": p, "ids": i.tolist(), "logits": [float(x) for x in v]})
        logits.append({"label": label, "ids": ids, "top": tops})

    refs = {
        "generator": "tools/gen_gemma3_270m_refs.py",
        "gguf_sha256": hashlib.sha256(GGUF.read_bytes()).hexdigest(),
        "versions": {
            "transformers": __import__("transformers").__version__,
            "torch": torch.__version__,
            "gguf": getattr(gguf, "__version__", "?"),
            "sentencepiece": spm.__version__,
        },
        "tokenize": tokenize,
        "tokenizer": tokenizer,
        "weights": weights,
        "logits": logits,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(to_json(refs))
    print(f"wrote {OUT} in {time.time() - t0:.0f} s: {len(tokenize)} strings, {len(weights)} tensors, "
          f"{sum(len(l['top']) for l in logits)} positions")


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
