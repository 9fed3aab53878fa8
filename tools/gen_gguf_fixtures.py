#!/usr/bin/env python3
"""Fixtures for the GGUF converter (gpu-trainer/src/gguf), under gpu-trainer/tests/fixtures/gguf/.

1. dequant.json: for every block type the converter reads, random blocks (random quant
   bytes, valid f16 scales) and their values from gguf-py's `gguf.quants.dequantize`, as
   f32 bit patterns (exact comparison). gguf-py has no Q8_1 / Q8_K dequantizer; those two
   (d * q) are computed here with numpy (Q8_1 with ggml's 36-byte block, see type_size).
2. tiny_gemma3.gguf: a tiny Gemma3 written with gguf-py's GGUFWriter the way llama.cpp
   lays one out (names, ggml dimension order, norms stored as 1 + w, SentencePiece
   vocabulary with control, user-defined, byte and whitespace tokens), its tensors in 12
   different types (random blocks for the K types, gguf-py's quantizer for the others).
   6 layers (5 local, 1 global), sliding window 4.
3. tiny_gemma3_refs.json + tiny_gemma3_logits.safetensors: what HuggingFace transformers
   makes of that file when it loads it itself (`gguf_file=`): token ids of a few strings,
   merges/vocabulary CRC-32s, the CRC-32 of every dequantized tensor, the config values,
   and the f32 logits of one prompt longer than the window. transformers does not read
   query_pre_attn_scalar from a GGUF (it defaults to 256); llama.cpp uses head_dim for
   Gemma3 (but the 27B), so the reference is run with query_pre_attn_scalar = head_dim.

Needs: numpy, gguf, torch, transformers, accelerate, safetensors.
Run: /work/venv/py/bin/python tools/gen_gguf_fixtures.py
"""

import json
import zlib
from pathlib import Path

import gguf
import numpy as np
import torch
from gguf import GGMLQuantizationType as Q
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "gpu-trainer/tests/fixtures/gguf"
rng = np.random.default_rng(20251122)

# f16 scale fields of each block layout: (byte offset, "f16" | "f32")
SCALES = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0], Q.Q8_1: [0, 2],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}


def f16_values(n, scale):
    """finite f16 values over a wide range (subnormals included)"""
    mag = np.exp(rng.uniform(np.log(1e-7), np.log(scale), n))
    return (mag * rng.choice([-1, 1], n)).astype(np.float16)


def type_size(qtype):
    # gguf-py 0.19 still lists Q8_1 as 40 bytes (float d, s); ggml-common.h has
    # `ggml_half d, s; int8_t qs[32]` with static_assert(sizeof(block_q8_1) == 2*sizeof(ggml_half) + QK8_1)
    return 36 if qtype == Q.Q8_1 else gguf.GGML_QUANT_SIZES[qtype][1]


def random_blocks(qtype, n_blocks, scale=1.0):
    """n_blocks random blocks of qtype, as a uint8 array [n_blocks, type_size]"""
    type_size_ = type_size(qtype)
    b = rng.integers(0, 256, size=(n_blocks, type_size_), dtype=np.uint8)
    if qtype == Q.Q8_K:
        b[:, 0:4] = (np.abs(rng.standard_normal(n_blocks)) * scale).astype(np.float32).view(np.uint8).reshape(n_blocks, 4)
    for off in SCALES.get(qtype, []):
        b[:, off:off + 2] = f16_values(n_blocks, scale).view(np.uint8).reshape(n_blocks, 2)
    return b


def reference_dequant(qtype, blocks):
    if qtype == Q.Q8_1:
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
        return (blocks[:, 4:].view(np.int8).astype(np.float32) * d).reshape(-1)
    if qtype == Q.Q8_K:
        d = blocks[:, 0:4].copy().view(np.float32)
        return (blocks[:, 4:260].view(np.int8).astype(np.float32) * d).reshape(-1)
    return gguf.quants.dequantize(blocks, qtype).reshape(-1)


def dequant_fixture():
    cases = []
    for qtype in [Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q8_1, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.Q8_K]:
        block_size, _ = gguf.GGML_QUANT_SIZES[qtype]
        blocks = random_blocks(qtype, 3 if block_size == 256 else 6, scale=100.0)
        cases.append((qtype, blocks, reference_dequant(qtype, blocks)))
    f16 = f16_values(64, 60000.0)
    cases.append((Q.F16, f16.view(np.uint8), gguf.quants.dequantize(f16.view(np.uint8), Q.F16)))
    bf = (rng.standard_normal(64) * 10.0 ** rng.uniform(-30, 30, 64)).astype(np.float32)
    bf16 = gguf.quants.quantize(bf, Q.BF16)
    cases.append((Q.BF16, bf16, gguf.quants.dequantize(bf16, Q.BF16)))
    out = []
    for qtype, raw, want in cases:
        want = np.asarray(want, dtype=np.float32).reshape(-1)
        assert np.all(np.isfinite(want)), qtype.name
        out.append({
            "type": qtype.name,
            "ggml_type": int(qtype),
            "bytes_hex": np.asarray(raw, dtype=np.uint8).tobytes().hex(),
            "f32_bits": want.view(np.uint32).tolist(),
        })
    (OUT / "dequant.json").write_text(
        "{\"generator\": \"tools/gen_gguf_fixtures.py\", \"cases\": [\n"
        + ",\n".join(json.dumps(c) for c in out) + "\n]}\n")
    print(f"dequant.json: {len(out)} types")


# ---- the tiny Gemma3 ---------------------------------------------------------------------

HIDDEN, FFN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, WINDOW = 256, 32, 6, 2, 1, 16, 4
CONTROL, USER, BYTE, NORMAL = 3, 4, 6, 1


def tiny_vocab():
    toks = [("<pad>", CONTROL), ("<eos>", CONTROL), ("<bos>", CONTROL), ("<unk>", CONTROL), ("<mask>", CONTROL),
            ("[multimodal]", USER), ("<unused0>", CONTROL), ("<start_of_turn>", CONTROL), ("<end_of_turn>", CONTROL),
            ("\n", USER), ("\n\n", USER), ("  ", USER), ("   ", USER), ("\t", USER), ("<div>", USER)]
    toks += [(f"<0x{i:02X}>", BYTE) for i in range(256)]
    normal = ["\u2581", "e", "t", "a", "h", "n", "o", "i", "s", "r", "=", "A", "C", "T", "I", "O", "N", "1", "2", "3",
              "\u2581t", "th", "he", "\u2581th", "\u2581the", "in", "\u2581a", "an", "AC", "TI", "ON", "ACT", "ION",
              "ACTION", "ACTION=", "at", "\u2581at", "er", "es", "on", "re", "st", "\u2581s", "ta",
              "is", "\u2581is", "it", "\u2581it", "ne", "\u2581ne", "se", "\u00e9", "\u65e5"]
    toks += [(t, NORMAL) for t in normal]
    scores = [-1000.0 if ty in (CONTROL, USER) else 0.0 if ty == BYTE else 0.0 for _, ty in toks]
    # normal tokens: strictly falling scores, in vocabulary order (as SentencePiece writes them)
    k = 0
    for i, (_, ty) in enumerate(toks):
        if ty == NORMAL:
            scores[i] = -float(k)
            k += 1
    return [t for t, _ in toks], scores, [ty for _, ty in toks]


def float_weight(rows, cols, scale):
    return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)


def add(w, name, rows, cols, qtype, scale):
    """a [rows, cols] (HuggingFace [out, in]) weight stored as qtype"""
    if qtype in (Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K):
        block_size = gguf.GGML_QUANT_SIZES[qtype][0]
        blocks = random_blocks(qtype, rows * cols // block_size, scale=scale)
        w.add_tensor(name, blocks.reshape(rows, cols // block_size * type_size(qtype)), raw_dtype=qtype)
    elif qtype == Q.F32:
        w.add_tensor(name, float_weight(rows, cols, 0.05))
    elif qtype == Q.F16:
        w.add_tensor(name, float_weight(rows, cols, 0.05).astype(np.float16))
    else:
        w.add_tensor(name, gguf.quants.quantize(float_weight(rows, cols, 0.05), qtype), raw_dtype=qtype)


# per layer: q, k, v, o, gate, up, down (o and down have 32- or 16-wide rows: no K types there)
LAYER_TYPES = [
    [Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.Q8_0, Q.Q2_K, Q.Q3_K, Q.Q4_0],
    [Q.Q5_0, Q.Q5_1, Q.Q4_1, Q.F16, Q.BF16, Q.Q8_0, Q.Q5_1],
    [Q.Q4_0, Q.Q4_0, Q.Q8_0, Q.Q4_1, Q.Q4_0, Q.Q4_0, Q.Q8_0],
    [Q.Q6_K, Q.Q4_K, Q.Q5_0, Q.Q5_0, Q.Q4_K, Q.Q6_K, Q.Q5_0],
    [Q.Q8_0, Q.Q8_0, Q.Q8_0, Q.F32, Q.Q5_K, Q.Q4_0, Q.Q4_1],
    [Q.Q4_K, Q.Q4_K, Q.Q6_K, Q.Q8_0, Q.Q4_K, Q.Q4_K, Q.Q8_0],
]


def write_tiny_gguf(path):
    tokens, scores, types = tiny_vocab()
    w = gguf.GGUFWriter(str(path), arch="gemma3")
    w.add_name("tiny gemma3 (greedy test fixture)")
    w.add_context_length(128)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1_000_000.0)
    w.add_sliding_window(WINDOW)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    w.add_unk_token_id(3)
    w.add_pad_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    def norm(name, n):
        # llama.cpp stores Gemma norms as 1 + w
        w.add_tensor(name, (1.0 + rng.standard_normal(n) * 0.2).astype(np.float32))

    w.add_tensor("token_embd.weight", gguf.quants.quantize(float_weight(len(tokens), HIDDEN, 0.5), Q.Q8_0),
                 raw_dtype=Q.Q8_0)
    norm("output_norm.weight", HIDDEN)
    qd, kd = HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
    for i, (tq, tk, tv, to, tg, tu, td) in enumerate(LAYER_TYPES):
        p = f"blk.{i}"
        norm(f"{p}.attn_norm.weight", HIDDEN)
        add(w, f"{p}.attn_q.weight", qd, HIDDEN, tq, 2e-4)
        add(w, f"{p}.attn_k.weight", kd, HIDDEN, tk, 2e-4)
        add(w, f"{p}.attn_v.weight", kd, HIDDEN, tv, 2e-4)
        add(w, f"{p}.attn_output.weight", HIDDEN, qd, to, 2e-4)
        norm(f"{p}.attn_q_norm.weight", HEAD_DIM)
        norm(f"{p}.attn_k_norm.weight", HEAD_DIM)
        norm(f"{p}.post_attention_norm.weight", HIDDEN)
        norm(f"{p}.ffn_norm.weight", HIDDEN)
        add(w, f"{p}.ffn_gate.weight", FFN, HIDDEN, tg, 2e-4)
        add(w, f"{p}.ffn_up.weight", FFN, HIDDEN, tu, 2e-4)
        add(w, f"{p}.ffn_down.weight", HIDDEN, FFN, td, 2e-4)
        norm(f"{p}.post_ffw_norm.weight", HIDDEN)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


TINY_STRINGS = [
    "the theta is at ten",
    "ACTION=1\nACTION=23",
    "  two  spaces   three\t\ttab",
    "<start_of_turn>user\nthe<end_of_turn>\n<start_of_turn>model\n",
    "\u00e9t\u00e9 \u65e5\u672c \U0001F600",
    "<div>x</div>[multimodal]\n\n\n",
    "",
]


def crc32_lines(lines):
    crc = 0
    for line in lines:
        crc = zlib.crc32(line.encode("utf-8") + b"\n", crc)
    return crc


def tiny_references(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(path.parent), path.name
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    tokenize = [{"text": s, "ids": tok(s, add_special_tokens=True).input_ids} for s in TINY_STRINGS]
    backend = json.loads(tok.backend_tokenizer.to_str())
    merges = [" ".join(m) if isinstance(m, list) else m for m in backend["model"]["merges"]]
    vocab = sorted(backend["model"]["vocab"].items(), key=lambda kv: kv[1])
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, dtype=torch.float32, query_pre_attn_scalar=HEAD_DIM)
    model.eval()
    cfg = model.config
    weights = {}
    for k, v in model.state_dict().items():
        if k != "lm_head.weight":
            a = v.detach().contiguous().numpy().astype("<f4")
            weights[k] = {"shape": list(a.shape), "crc32": zlib.crc32(a.tobytes())}
    prompt = "the theta is at ten\nACTION=12 ACTION=3 it is set"
    ids = tok(prompt, add_special_tokens=True).input_ids
    assert len(ids) > 2 * WINDOW, ids
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float().numpy()
    save_file({"logits": np.ascontiguousarray(logits)}, str(OUT / "tiny_gemma3_logits.safetensors"))
    refs = {
        "generator": "tools/gen_gguf_fixtures.py",
        "config": {
            "layer_types": cfg.layer_types,
            "sliding_window": cfg.sliding_window,
            "rope_parameters": cfg.rope_parameters,
            "rms_norm_eps": cfg.rms_norm_eps,
            "head_dim": cfg.head_dim,
            "vocab_size": cfg.vocab_size,
            "max_position_embeddings": cfg.max_position_embeddings,
        },
        "tokenize": tokenize,
        "tokenizer": {"merges": len(merges), "merges_crc32": crc32_lines(merges), "vocab": len(vocab),
                      "vocab_crc32": crc32_lines(t for t, _ in vocab), "added_tokens": len(backend["added_tokens"])},
        "weights": weights,
        "logits_ids": ids,
    }
    (OUT / "tiny_gemma3_refs.json").write_text(json.dumps(refs, ensure_ascii=False, indent=1) + "\n")
    print(f"tiny_gemma3_refs.json: {len(tokenize)} strings, {len(weights)} tensors, logits [{len(ids)}, {cfg.vocab_size}]")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    dequant_fixture()
    path = OUT / "tiny_gemma3.gguf"
    write_tiny_gguf(path)
    print(f"tiny_gemma3.gguf: {path.stat().st_size} bytes")
    tiny_references(path)


if __name__ == "__main__":
    main()
