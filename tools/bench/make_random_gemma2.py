"""Writes a randomly initialised Gemma2 checkpoint (config.json + model.safetensors) for benchmarks.

Usage: python make_random_gemma2.py OUT_DIR [--hidden 512] [--layers 8] [--heads 8] [--kv-heads 4]
       [--head-dim 64] [--ffn 2048] [--vocab 8192]
"""
import argparse
import torch
from transformers import Gemma2Config, Gemma2ForCausalLM

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--hidden", type=int, default=512)
p.add_argument("--layers", type=int, default=8)
p.add_argument("--heads", type=int, default=8)
p.add_argument("--kv-heads", type=int, default=4)
p.add_argument("--head-dim", type=int, default=64)
p.add_argument("--ffn", type=int, default=2048)
p.add_argument("--vocab", type=int, default=8192)
a = p.parse_args()
torch.manual_seed(0)
cfg = Gemma2Config(
    vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.ffn, num_hidden_layers=a.layers,
    num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.head_dim,
    query_pre_attn_scalar=a.head_dim, max_position_embeddings=4096, sliding_window=256,
)
m = Gemma2ForCausalLM(cfg).eval()
m.save_pretrained(a.out, safe_serialization=True)
print(f"wrote {a.out}: {sum(p.numel() for p in m.parameters()) / 1e6:.1f}M parameters")
