#!/usr/bin/env python3
"""Golden fixtures for gpu-trainer's CPU reference forward (and the GPU one).

Builds tiny random Gemma2 / Gemma3-text checkpoints with HuggingFace
transformers (no hub access needed), runs transformers' own forward
(attn_implementation="eager", float32) on a fixed sequence, and writes next to
each checkpoint:

  reference.safetensors  "logits" [T, vocab] f32 (HF), "logits_no_window" (HF
                         with every sliding window made larger than T)
  reference.json         input ids, the versions of torch/transformers, and how
                         much each feature (window, softcaps, scalar, thetas)
                         changes the logits, so a port that drops one fails.

Also writes a tiny Gemma-like tokenizer.json (BPE, byte fallback, "▁" for
spaces, <bos> added) with expected encodings.

Deterministic: fixed seeds, CPU, float32; re-running rewrites identical files.

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements-fixtures.txt
    .venv/bin/python tools/gen_gemma_fixtures.py
"""

import copy
import json
import os
import shutil
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "gpu-trainer", "tests", "fixtures")
SEQ_LEN = 20

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


def versions():
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }


def randomize(model, seed, std):
    """Big random weights (std instead of the 0.02 init) so the softcaps and
    windows visibly change the logits. Norm weights get a smaller std around
    0 (the checkpoint stores w of the (1 + w) factor)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if "norm" in name:
                s = 0.3
            elif "embed_tokens" in name:
                s = std["embed"]
            else:
                s = std["linear"]
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32) * s)


def hf_logits(model, ids):
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), use_cache=False)
    return out.logits[0].to(torch.float32).contiguous()


def variant_logits(model, ids, **changes):
    """Logits of a copy of `model` whose config has `changes` applied."""
    m = copy.deepcopy(model)
    for k, v in changes.items():
        setattr(m.config, k, v)
        for layer in m.model.layers:
            attn = layer.self_attn
            if k == "sliding_window" and getattr(attn, "sliding_window", None) is not None:
                attn.sliding_window = v
            if k == "attn_logit_softcapping":
                attn.attn_logit_softcapping = v
            if k == "query_pre_attn_scalar":
                attn.scaling = v ** -0.5
    return hf_logits(m, ids)


def max_diff(a, b):
    return float((a - b).abs().max())


def save_fixture(name, model, ids, make_variants, dtype=torch.float32, shard=None):
    """Saves `model` (cast to `dtype`) under fixtures/<name>/, reloads it as
    float32 (so bf16 weights are exactly upcast), and records HF's logits."""
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    to_save = copy.deepcopy(model).to(dtype)
    kwargs = {"max_shard_size": shard} if shard else {}
    to_save.save_pretrained(d, **kwargs)
    # generation_config.json is not ours to test; keep the fixture minimal
    gc = os.path.join(d, "generation_config.json")
    if os.path.exists(gc):
        os.remove(gc)

    cls = type(model)
    ref = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    logits = hf_logits(ref, ids)
    big = SEQ_LEN * 100
    no_window = variant_logits(ref, ids, sliding_window=big)
    sens = {k: max_diff(logits, f()) for k, f in make_variants(ref).items()}
    sens["sliding_window -> %d" % big] = max_diff(logits, no_window)
    for k, v in sens.items():
        print(f"  {name}: max |logits - logits({k})| = {v:.4g}")
        assert v > 1e-2, f"{name}: {k} does not change the logits enough ({v})"
    save_file(
        {"logits": logits, "logits_no_window": no_window.contiguous()},
        os.path.join(d, "reference.safetensors"),
        metadata={"input_ids": json.dumps(ids)},
    )
    meta = {
        "input_ids": ids,
        "weights_dtype": str(dtype).replace("torch.", ""),
        "logits": "reference.safetensors: HF logits [T, vocab], eager attention, float32 compute"
        + ("" if dtype == torch.float32 else ", from the %s weights upcast to float32" % str(dtype).replace("torch.", "")),
        "logits_no_window": "the same with every sliding window set to %d (> T)" % big,
        "sensitivity_max_abs_logit_change": sens,
        "versions": versions(),
        "generator": "tools/gen_gemma_fixtures.py",
    }
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"  {name}: logits range [{float(logits.min()):.3f}, {float(logits.max()):.3f}]")


def gemma2():
    from transformers import Gemma2Config, Gemma2ForCausalLM

    cfg = Gemma2Config(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,  # layers 0, 2 local (sliding), 1, 3 global
        num_attention_heads=4,
        num_key_value_heads=2,  # GQA groups of 2
        head_dim=16,
        query_pre_attn_scalar=24,  # != head_dim
        sliding_window=8,  # < SEQ_LEN
        attn_logit_softcapping=5.0,
        final_logit_softcapping=3.0,
        max_position_embeddings=128,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        attn_implementation="eager",
    )
    torch.manual_seed(0)
    model = Gemma2ForCausalLM(cfg).eval()
    randomize(model, seed=1, std={"embed": 0.5, "linear": 0.12})
    ids = torch.randint(0, cfg.vocab_size, (SEQ_LEN,), generator=torch.Generator().manual_seed(2)).tolist()
    ids[0] = cfg.bos_token_id

    def variants(m):
        return {
            "attn_logit_softcapping -> None": lambda: variant_logits(m, ids, attn_logit_softcapping=None),
            "final_logit_softcapping -> None": lambda: variant_logits(m, ids, final_logit_softcapping=None),
            "query_pre_attn_scalar -> head_dim": lambda: variant_logits(m, ids, query_pre_attn_scalar=16),
            "sliding_window -> 9 (off by one)": lambda: variant_logits(m, ids, sliding_window=9),
        }

    save_fixture("gemma2_tiny_f32", model, ids, variants)
    save_fixture("gemma2_tiny_bf16", model, ids, variants, dtype=torch.bfloat16)


def gemma3():
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    cfg = Gemma3TextConfig(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=1,  # GQA group of 4, like gemma-3-270m
        head_dim=16,
        query_pre_attn_scalar=20,
        sliding_window=6,
        layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
        },
        max_position_embeddings=128,
        attn_implementation="eager",
    )
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(cfg).eval()
    randomize(model, seed=3, std={"embed": 0.5, "linear": 0.12})
    ids = torch.randint(0, cfg.vocab_size, (SEQ_LEN,), generator=torch.Generator().manual_seed(4)).tolist()
    ids[0] = cfg.bos_token_id

    def swapped_thetas(m):
        m2 = copy.deepcopy(m)
        rp = m2.config.rope_parameters
        rp["sliding_attention"]["rope_theta"], rp["full_attention"]["rope_theta"] = (
            rp["full_attention"]["rope_theta"],
            rp["sliding_attention"]["rope_theta"],
        )
        m2.model.rotary_emb = type(m2.model.rotary_emb)(config=m2.config)
        return hf_logits(m2, ids)

    def no_qk_norm(m):
        m2 = copy.deepcopy(m)
        with torch.no_grad():
            for layer in m2.model.layers:
                layer.self_attn.q_norm.weight.zero_()
                layer.self_attn.k_norm.weight.zero_()
        return hf_logits(m2, ids)

    def variants(m):
        return {
            "query_pre_attn_scalar -> head_dim": lambda: variant_logits(m, ids, query_pre_attn_scalar=16),
            "sliding_window -> 7 (off by one)": lambda: variant_logits(m, ids, sliding_window=7),
            "local/global rope thetas swapped": lambda: swapped_thetas(m),
            "q_norm/k_norm weights -> 0": lambda: no_qk_norm(m),
        }

    # sharded on purpose: exercises model.safetensors.index.json as HF writes it
    save_fixture("gemma3_tiny_f32_sharded", model, ids, variants, shard="200KB")


def tokenizer():
    from tokenizers import Tokenizer, decoders, normalizers, processors
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer

    corpus = [
        "You are playing a multi-armed bandit game with five buttons.",
        "Which button do you press? Answer with the button name.",
        "The blue button gave a reward of 1. The red button gave 0.",
        "Let's think step by step about the rewards so far.",
        "user\nhello\nmodel\n",
    ] * 4
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    turn = ["<start_of_turn>", "<end_of_turn>"]
    base = Tokenizer(BPE(unk_token="<unk>"))
    base.normalizer = normalizers.Replace(" ", "▁")
    trainer = BpeTrainer(vocab_size=200, special_tokens=specials, show_progress=False, initial_alphabet=["▁"])
    base.train_from_iterator(corpus, trainer)
    trained = json.loads(base.to_str())
    vocab = trained["model"]["vocab"]
    merges = trained["model"]["merges"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]
    # byte-fallback tokens <0x00>..<0xFF> after the specials, as in Gemma's vocab
    order = sorted(vocab.items(), key=lambda kv: kv[1])
    new_vocab = {}
    for tok, _ in order[: len(specials)]:
        new_vocab[tok] = len(new_vocab)
    for b in range(256):
        new_vocab["<0x%02X>" % b] = len(new_vocab)
    for tok, _ in order[len(specials):]:
        if tok not in new_vocab:
            new_vocab[tok] = len(new_vocab)
    tk = Tokenizer(BPE(vocab=new_vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tk.normalizer = normalizers.Replace(" ", "▁")
    tk.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    tk.add_special_tokens(specials + turn)
    bos = tk.token_to_id("<bos>")
    tk.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B", special_tokens=[("<bos>", bos)])

    d = os.path.join(OUT, "tokenizer")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tk.save(os.path.join(d, "tokenizer.json"))
    tk = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    texts = [
        "Which button do you press?",
        "  leading spaces and a tab\tand é ü 🙂 bytes",
        "The blue button",
        "",
    ]
    chat = "<bos><start_of_turn>user\nWhich button?<end_of_turn>\n<start_of_turn>model\n"
    cases = []
    for t in texts:
        ids = tk.encode(t).ids
        cases.append({"text": t, "ids": ids, "decoded": tk.decode(ids, skip_special_tokens=True)})
    expected = {
        "cases": cases,
        "chat_text": chat,
        "chat_ids": tk.encode(chat, add_special_tokens=False).ids,
        "special": {t: tk.token_to_id(t) for t in specials + turn},
        "vocab_size": tk.get_vocab_size(with_added_tokens=True),
        "versions": {"tokenizers": __import__("tokenizers").__version__},
        "generator": "tools/gen_gemma_fixtures.py",
    }
    for c in cases:
        print(f"  tokenizer: {c['text']!r} -> {c['ids']}")
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    print("versions:", versions())
    gemma2()
    gemma3()
    tokenizer()
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"fixtures under {OUT}: {total / 1e6:.2f} MB")
    assert total < 3e6, "fixtures must stay under 3 MB"


if __name__ == "__main__":
    main()
