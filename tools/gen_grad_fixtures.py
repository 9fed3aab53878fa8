#!/usr/bin/env python3
"""Golden gradients for gpu-trainer's training forward/backward (gpu-trainer/src/train/).

Loads the committed tiny checkpoints (gemma2_tiny_f32, gemma3_tiny_f32_sharded, made by
tools/gen_gemma_fixtures.py; this script never rewrites them) with transformers, float32,
eager attention, and on the same input ids as their logits fixtures (20 tokens, longer than
the sliding windows 8 and 6) runs

    loss = model(input_ids, labels=input_ids).loss     # mean next-token CE over T-1 positions
    loss.backward()

then writes beside each checkpoint:

  grads.safetensors  every parameter's gradient under its HuggingFace name (tied embeddings:
                     one "model.embed_tokens.weight" holding the embedding and LM-head parts),
                     plus "token_logprobs" [T-1] = log p(ids[t] | ids[:t]) for t = 1..T-1
  grads.json         input ids, loss, the gradient norms, versions

Deterministic: CPU, float32, deterministic algorithms, one thread.

    /work/venv/py/bin/python tools/gen_grad_fixtures.py
"""

import json
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "gpu-trainer", "tests", "fixtures")
NAMES = ["gemma2_tiny_f32", "gemma3_tiny_f32_sharded"]

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


def versions():
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }


def grads_of(name):
    d = os.path.join(FIXTURES, name)
    with open(os.path.join(d, "reference.json")) as f:
        ids = json.load(f)["input_ids"]
    model = transformers.AutoModelForCausalLM.from_pretrained(
        d, dtype=torch.float32, attn_implementation="eager"
    )
    model.train()  # dropout is 0 in these configs; train() only so nothing is cached
    for p in model.parameters():
        p.requires_grad_(True)
        p.grad = None
    x = torch.tensor([ids])
    out = model(input_ids=x, labels=x, use_cache=False)
    out.loss.backward()

    # independent check of the loss: mean of -log_softmax at the next token
    logp = torch.log_softmax(out.logits[0].detach().double(), dim=-1)
    token_logprobs = logp[:-1].gather(1, x[0, 1:, None]).squeeze(1)
    manual = float(-token_logprobs.mean())
    loss = float(out.loss.detach())
    assert abs(manual - loss) <= 1e-5 * abs(loss), (name, manual, loss)

    tensors = {}
    norms = {}
    for pname, p in model.named_parameters():  # tied weights appear once
        assert p.grad is not None, f"{name}: {pname} has no gradient"
        g = p.grad.detach().to(torch.float32).contiguous()
        tensors[pname] = g
        norms[pname] = float(g.double().norm())
        assert norms[pname] > 0, f"{name}: {pname} gradient is zero"
    tensors["token_logprobs"] = token_logprobs.to(torch.float32).contiguous()
    save_file(tensors, os.path.join(d, "grads.safetensors"))
    meta = {
        "input_ids": ids,
        "loss": loss,
        "loss_definition": "model(input_ids, labels=input_ids).loss: mean over t = 1..T-1 of -log p(ids[t] | ids[:t])",
        "grads": "grads.safetensors: d loss / d parameter under HF names (float32, eager attention); "
        "token_logprobs [T-1]",
        "grad_norms": norms,
        "versions": versions(),
        "generator": "tools/gen_grad_fixtures.py",
    }
    with open(os.path.join(d, "grads.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{name}: loss {loss:.6f}, {len(norms)} gradients, largest norm {max(norms.values()):.4g}")


def main():
    for name in NAMES:
        grads_of(name)


if __name__ == "__main__":
    main()
