#!/usr/bin/env python3
"""Golden values of the RLFT objective and its gradients (gpu-trainer/tests/rl_grad.rs).

For the committed tiny checkpoints (gemma2_tiny_f32, gemma3_tiny_f32_sharded; this script never
rewrites them) and each KL estimator (k1, k3), builds a batch of three (prompt, completion)
sequences and, with transformers in float32 and eager attention, computes

    lp_t    = log_softmax(logits)[completion token t]        (the model's own log-probs)
    ratio_t = exp(lp_t - old_t)
    pg_t    = -min(ratio_t * A_t, clamp(ratio_t, 1-eps, 1+eps) * A_t)
    kl_t    = lp_t - ref_t                                   (k1)
            | exp(ref_t - lp_t) - (ref_t - lp_t) - 1          (k3)
    loss    = mean_t (pg_t + beta * kl_t)                     (token-mean over the batch)

then `loss.backward()`. The old log-probs are set from the model's own log-probs so that the
ratios land on both sides of the clip range (0.5, 0.75, 0.95, 1.0, 1.05, 1.3, 1.6, ... away
from the boundaries 0.8 and 1.2), with advantages of both signs; the reference log-probs are the
model's own plus noise. Writes, under gpu-trainer/tests/fixtures/rl/:

  <model>.<k>.batch.json     the batch file `greedy debug rl-grad --batch` reads
  <model>.<k>.expected.json  loss, pg_loss, kl, clip_frac, grad_norms {HF name: L2 norm}, versions

The value-head variant (k3 only) takes the k3 batch (the same sequences, old / ref log-probs and
advantages, drawn the same way) and adds a linear value head on the last prompt token's hidden
state after the final RMSNorm (`hidden_states[-1]`, which transformers ties to
`last_hidden_state`, the output of `model.model.norm`; the script asserts that lm_head of it gives
the logits), all from one forward per sequence:

    V       = h[len(prompt) - 1] @ w + b                      (w: hidden_size floats, b: scalar)
    value_loss = mean_seq 0.5 * (V - value_target)^2
    loss    = policy loss above (k3) + vf_coef * value_loss

w, b ~ Normal(0, 0.5) and value_target ~ Normal(0, 1) come from a numpy generator of their own
(seed 20261206), so the k1/k3 draws are untouched. Writes

  <model>.k3.value.batch.json     the k3 batch plus "vf_coef", "value_head" {"weight", "bias"}
                                  and a "value_target" per sequence
  <model>.k3.value.expected.json  the k3 keys (loss is the total) plus "value_loss", "values"
                                  (V per sequence) and grad_norms "value_head.weight" / ".bias"

Deterministic: CPU, float32, deterministic algorithms, one thread, fixed numpy seeds. The last
bits still depend on the CPU's vector units: an AVX2-only AMD EPYC writes the k1 / k3 files with
float differences of at most 4e-7 relative from the committed ones (the .value files were made there).

    /work/venv/py/bin/python tools/gen_rl_grad_fixtures.py
"""

import json
import os
import sys

import numpy as np
import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "gpu-trainer", "tests", "fixtures")
OUT = os.path.join(FIXTURES, "rl")
NAMES = ["gemma2_tiny_f32", "gemma3_tiny_f32_sharded"]
CLIP_EPS = 0.2
KL_COEF = 0.05
VF_COEF = 0.1
VALUE_SEED = 20261206  # the k1 / k3 batches use 20261204 / 20261205
# ratios old/new on both sides of [0.8, 1.2], none near a boundary
RATIOS = [0.5, 1.6, 0.95, 1.0, 1.3, 0.75, 1.05, 2.5, 0.6, 1.1, 1.45, 0.9, 0.3, 1.15, 1.9, 0.85]

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


def versions():
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }


def completion_logprobs(model, prompt, completion):
    ids = torch.tensor([prompt + completion])
    logits = model(input_ids=ids, use_cache=False).logits[0]
    logp = torch.log_softmax(logits, dim=-1)
    rows = torch.arange(len(prompt) - 1, len(prompt) + len(completion) - 1)
    return logp[rows, torch.tensor(completion)]


def completion_logprobs_and_value_state(model, prompt, completion):
    """completion_logprobs and the last prompt token's final hidden state, from one forward."""
    ids = torch.tensor([prompt + completion])
    out = model(input_ids=ids, use_cache=False, output_hidden_states=True)
    logits = out.logits[0]
    h = out.hidden_states[-1][0]
    # hidden_states[-1] must be the post-norm state that lm_head reads (transformers ties it to
    # last_hidden_state = model.model.norm(last layer's output)): lm_head of it is the logits.
    with torch.no_grad():
        again = model.lm_head(h)
        cap = model.config.final_logit_softcapping
        if cap is not None:
            again = torch.tanh(again / cap) * cap
        assert torch.allclose(again, logits, rtol=0, atol=1e-5), "hidden_states[-1] is not post-norm"
    logp = torch.log_softmax(logits, dim=-1)
    rows = torch.arange(len(prompt) - 1, len(prompt) + len(completion) - 1)
    return logp[rows, torch.tensor(completion)], h[len(prompt) - 1]


def fixture(name, kl, value=False):
    assert not value or kl == "k3"
    d = os.path.join(FIXTURES, name)
    model = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager")
    model.train()
    vocab = model.config.vocab_size
    rng = np.random.default_rng(20261204 + (0 if kl == "k1" else 1))
    shapes = [(5, 7), (9, 4), (3, 6)]  # (prompt, completion) lengths
    seqs = []
    with torch.no_grad():
        k = 0
        for pl, cl in shapes:
            prompt = [2] + [int(x) for x in rng.integers(3, vocab, pl - 1)]
            completion = [int(x) for x in rng.integers(3, vocab, cl)]
            lp = completion_logprobs(model, prompt, completion).double().numpy()
            ratios = np.array([RATIOS[(k + i) % len(RATIOS)] for i in range(cl)])
            k += cl
            old = lp - np.log(ratios)
            ref = lp + rng.normal(0.0, 0.3, cl)
            adv = rng.normal(0.0, 1.0, cl)
            adv = np.where(np.abs(adv) < 0.05, 0.5, adv)
            seqs.append({
                "prompt": prompt,
                "completion": completion,
                "old_logprobs": [float(x) for x in old.astype(np.float32)],
                "ref_logprobs": [float(x) for x in ref.astype(np.float32)],
                "advantages": [float(x) for x in adv.astype(np.float32)],
            })
    batch = {"clip_eps": CLIP_EPS, "kl_coef": KL_COEF, "kl_estimator": kl, "sequences": seqs}
    if value:
        vrng = np.random.default_rng(VALUE_SEED)
        hidden = model.config.hidden_size
        vw = vrng.normal(0.0, 0.5, hidden).astype(np.float32)
        vb = np.float32(vrng.normal(0.0, 0.5))
        for s in seqs:
            s["value_target"] = float(np.float32(vrng.normal(0.0, 1.0)))
        batch = {
            "clip_eps": CLIP_EPS,
            "kl_coef": KL_COEF,
            "kl_estimator": kl,
            "vf_coef": VF_COEF,
            "value_head": {"weight": [float(x) for x in vw], "bias": float(vb)},
            "sequences": seqs,
        }
        w = torch.tensor(vw, dtype=torch.float32, requires_grad=True)
        b = torch.tensor(vb, dtype=torch.float32, requires_grad=True)

    for p in model.parameters():
        p.requires_grad_(True)
        p.grad = None
    pg_all, kl_all, clipped = [], [], 0
    values, vloss_all = [], []
    for s in seqs:
        if value:
            lp, hv = completion_logprobs_and_value_state(model, s["prompt"], s["completion"])
            v = hv @ w + b
            values.append(v)
            vloss_all.append(0.5 * (v - torch.tensor(s["value_target"], dtype=torch.float32)) ** 2)
        else:
            lp = completion_logprobs(model, s["prompt"], s["completion"])
        old = torch.tensor(s["old_logprobs"])
        ref = torch.tensor(s["ref_logprobs"])
        adv = torch.tensor(s["advantages"])
        ratio = torch.exp(lp - old)
        pg = -torch.minimum(ratio * adv, torch.clamp(ratio, 1 - CLIP_EPS, 1 + CLIP_EPS) * adv)
        if kl == "k1":
            klt = lp - ref
        else:
            d = ref - lp
            klt = torch.exp(d) - d - 1
        r = ratio.detach()
        clipped += int((((r < 1 - CLIP_EPS) & (adv < 0)) | ((r > 1 + CLIP_EPS) & (adv > 0))).sum())
        pg_all.append(pg)
        kl_all.append(klt)
    pg = torch.cat(pg_all)
    klt = torch.cat(kl_all)
    n = pg.numel()
    loss = (pg + KL_COEF * klt).mean()
    if value:
        value_loss = torch.stack(vloss_all).mean()
        loss = loss + VF_COEF * value_loss
    loss.backward()
    norms = {}
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: {pname} has no gradient"
        norms[pname] = float(p.grad.detach().double().norm())
    if value:
        norms["value_head.weight"] = float(w.grad.detach().double().norm())
        norms["value_head.bias"] = float(b.grad.detach().double().norm())
    expected = {
        "loss": float(loss.detach()),
        "pg_loss": float(pg.detach().mean()),
        "kl": float(klt.detach().mean()),
        "clip_frac": clipped / n,
        "tokens": n,
        "grad_norms": norms,
        "versions": versions(),
        "generator": "tools/gen_rl_grad_fixtures.py",
    }
    if value:
        expected["value_loss"] = float(value_loss.detach())
        expected["values"] = [float(v.detach()) for v in values]
    os.makedirs(OUT, exist_ok=True)
    base = os.path.join(OUT, f"{name}.{kl}" + (".value" if value else ""))
    with open(base + ".batch.json", "w") as f:
        json.dump(batch, f, indent=1)
        f.write("\n")
    with open(base + ".expected.json", "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    label = kl + (".value" if value else "")
    print(f"{name} {label}: loss {expected['loss']:.6f} clip_frac {expected['clip_frac']:.3f} over {n} tokens")
    if value:
        print(f"{name} {label}: value_loss {expected['value_loss']:.6f} values {expected['values']}"
              f" |grad w| {norms['value_head.weight']:.6f} |grad b| {norms['value_head.bias']:.6f}")


def main():
    for name in NAMES:
        for kl in ["k1", "k3"]:
            fixture(name, kl)
        fixture(name, "k3", value=True)


if __name__ == "__main__":
    main()
