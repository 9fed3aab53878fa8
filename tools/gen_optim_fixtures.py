#!/usr/bin/env python3
"""Golden fixtures for gpu-trainer's optimizers (AdamW, AdaFactor) and gradient clipping.

For each case: a few small random parameters (HuggingFace-style names, shapes that are not
multiples of any workgroup size, one of rank 3) and random gradients for a few steps, run
through the reference implementation on the CPU in float32:

  * torch.optim.AdamW (foreach=False, the plain per-tensor loop),
  * transformers.optimization.Adafactor with scale_parameter=False, relative_step=False,
    warmup_init=False and an explicit lr (the setting the trainer uses),

optionally after torch.nn.utils.clip_grad_norm_. The learning rate changes every step (as a
schedule would) to catch an lr applied to the wrong step.

Writes under gpu-trainer/tests/fixtures/optim/:

  <case>.safetensors   "<param>|init", "<param>|grad|<s>", "<param>|after|<s>" (values after
                       step s), "<param>|state|<slot>" (optimizer state after the last step,
                       torch's state-dict slot names: exp_avg, exp_avg_sq, exp_avg_sq_row,
                       exp_avg_sq_col)
  <case>.json          optimizer, hyper-parameters, per-step lr, max_norm, the total gradient
                       norm torch computed before each step (clip cases), param order and shapes,
                       versions

Deterministic (fixed seeds, CPU, float32). `cargo test` never runs this.

    /work/venv/py/bin/python tools/gen_optim_fixtures.py
"""

import json
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers.optimization import Adafactor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "gpu-trainer", "tests", "fixtures", "optim")

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

SMALL = [
    ("model.layers.0.mlp.up_proj.weight", [7, 5]),
    ("model.norm.weight", [5]),
    ("model.layers.0.extra.weight", [3, 4, 2]),
]
# Large enough to be split into row parts by the tests' 4096-byte binding limit, with more
# than 256 columns ([9, 300]) and several 64-row blocks ([300, 20]).
BIG = [
    ("model.embed_tokens.weight", [300, 20]),
    ("model.layers.0.self_attn.o_proj.weight", [9, 300]),
    ("model.layers.0.input_layernorm.weight", [1500]),
    ("model.layers.0.extra.weight", [3, 40, 20]),
]


def versions():
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }


def make_params(specs, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=g, dtype=torch.float32)) for _, shape in specs]


def make_grads(specs, steps, seed, scales):
    g = torch.Generator().manual_seed(seed + 1000)
    return [
        [torch.randn(shape, generator=g, dtype=torch.float32) * scales[s] for _, shape in specs] for s in range(steps)
    ]


def slot_names(state):
    return [k for k in ("exp_avg", "exp_avg_sq", "exp_avg_sq_row", "exp_avg_sq_col") if k in state]


def run_case(case, specs, seed, build, lrs, grad_scales, max_norm=None, meta=None):
    steps = len(lrs)
    params = make_params(specs, seed)
    grads = make_grads(specs, steps, seed, grad_scales)
    opt = build(params)
    out = {}
    for (name, _), p in zip(specs, params):
        out[f"{name}|init"] = p.detach().clone()
    norms = []
    for s in range(steps):
        for (name, _), p, g in zip(specs, params, grads[s]):
            p.grad = g.clone()
            out[f"{name}|grad|{s}"] = g.clone()
        if max_norm is not None:
            total = torch.nn.utils.clip_grad_norm_(params, max_norm)
            norms.append(float(total))
        for group in opt.param_groups:
            group["lr"] = lrs[s]
        opt.step()
        for (name, _), p in zip(specs, params):
            out[f"{name}|after|{s}"] = p.detach().clone()
    for (name, _), p in zip(specs, params):
        st = opt.state[p]
        for slot in slot_names(st):
            out[f"{name}|state|{slot}"] = st[slot].detach().clone().contiguous()
    info = {
        "case": case,
        "params": [{"name": n, "shape": s} for n, s in specs],
        "steps": steps,
        "lrs": lrs,
        "grad_scales": grad_scales,
        "max_norm": max_norm,
        "torch_total_norms": norms,
        "versions": versions(),
    }
    info.update(meta or {})
    os.makedirs(OUT, exist_ok=True)
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, f"{case}.safetensors"))
    with open(os.path.join(OUT, f"{case}.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    print(case, "norms", norms)


def adamw(betas, eps, wd, matrices_only=False):
    def build(params):
        if matrices_only:
            groups = [
                {"params": [p for p in params if p.dim() >= 2], "weight_decay": wd},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
            ]
        else:
            groups = [{"params": params, "weight_decay": wd}]
        return torch.optim.AdamW(groups, lr=1.0, betas=betas, eps=eps, foreach=False)

    meta = {
        "optimizer": "adamw",
        "beta1": betas[0],
        "beta2": betas[1],
        "eps": eps,
        "weight_decay": wd,
        "decay_on": "matrices" if matrices_only else "all",
    }
    return build, meta


def adafactor(beta1, wd, clip_threshold=1.0):
    def build(params):
        return Adafactor(
            params,
            lr=1.0,
            eps=(1e-30, 1e-3),
            clip_threshold=clip_threshold,
            decay_rate=-0.8,
            beta1=beta1,
            weight_decay=wd,
            scale_parameter=False,
            relative_step=False,
            warmup_init=False,
        )

    meta = {
        "optimizer": "adafactor",
        "beta1": beta1,
        "weight_decay": wd,
        "eps1": 1e-30,
        "eps2": 1e-3,
        "clip_threshold": clip_threshold,
        "decay_rate": -0.8,
        "decay_on": "all",
    }
    return build, meta


def main():
    lrs3 = [1e-2, 5e-3, 2e-3]
    b, m = adamw((0.9, 0.999), 1e-8, 0.1)
    run_case("adamw", SMALL, 1, b, lrs3, [1.0, 0.5, 2.0], meta=m)
    b, m = adamw((0.8, 0.95), 1e-6, 0.05, matrices_only=True)
    run_case("adamw_groups", SMALL, 2, b, lrs3, [1.0, 0.5, 2.0], meta=m)
    b, m = adamw((0.9, 0.999), 1e-8, 0.1)
    # step 0 and 2 clipped (norm >> 1), step 1 not (norm < 1)
    run_case("adamw_clip", SMALL, 3, b, lrs3, [3.0, 0.02, 1.0], max_norm=1.0, meta=m)
    b, m = adafactor(None, 0.0)
    run_case("adafactor", SMALL, 4, b, lrs3, [1.0, 0.5, 2.0], meta=m)
    b, m = adafactor(0.9, 0.01)
    run_case("adafactor_beta1_clip", SMALL, 5, b, lrs3, [3.0, 0.02, 1.0], max_norm=1.0, meta=m)
    b, m = adamw((0.9, 0.999), 1e-8, 0.1)
    run_case("adamw_big", BIG, 6, b, [1e-2, 3e-3], [1.0, 2.0], max_norm=1.0, meta=m)
    b, m = adafactor(0.9, 0.01)
    run_case("adafactor_big", BIG, 7, b, [1e-2, 3e-3], [1.0, 2.0], max_norm=1.0, meta=m)


if __name__ == "__main__":
    main()
