"""One RL update of PyTorch eager + HuggingFace transformers, timed by phase: the peer of `greedy bench --rl`.

Usage: python hf_rl_bench.py MODEL_DIR [--batch 1] [--prompt-len 128] [--new-tokens 32] [--steps 5]
       [--warmup 1] [--optimizer adafactor|adamw] [--lr 1e-4] [--max-grad-norm 1.0] [--clip-eps 0.2]
       [--kl-coef 0.05] [--device cpu|cuda] [--seed 0]

One timed RL step, what `greedy bench --rl` times on its side:
1. generation: `model.generate` on --batch prompts of --prompt-len token ids uniform in [3, vocab)
   (seeded), do_sample with temperature 1, top_k 0, top_p 1 (the whole distribution), and
   min_new_tokens = max_new_tokens = --new-tokens: the end-of-sequence logits are masked until
   the budget, so every sequence generates exactly the budget (greedy never stops instead: same
   token count, the end id may be drawn and is simply continued). The old log-probs (and the
   entropy) come from the returned scores (output_scores, return_dict_in_generate);
2. reference: a frozen copy of the checkpoint in bf16 (requires_grad off, no_grad) scores every
   completion token (log_softmax of its logits, only the completion's rows: logits_to_keep);
3. learning: the policy's forward (f32, train mode, completion rows only), per token
       ratio = exp(clamp(lp - old, -20, 20))
       pg    = -min(ratio * A, clamp(ratio, 1 - eps, 1 + eps) * A)
       k3    = exp(ref - lp) - (ref - lp) - 1
       loss  = mean over every completion token of the batch (pg + beta * k3)
   backward, clip_grad_norm_(--max-grad-norm), the optimizer step (transformers' Adafactor with
   lr fixed, scale_parameter/relative_step/warmup_init off, clip_threshold 1.0; or torch's AdamW
   with weight decay 0), zero_grad. Advantages A: seeded standard-normal draws per sample,
   normalised over the batch (a single sample gets +1).
The model is loaded in f32 with eager attention (Gemma2's attention soft-cap).

Prints one JSON object (the last line of the output):
- times: step_s, generate_s, reference_s, learn_s (means over the timed steps), their shares,
  env_steps_per_s (samples/s), updates_per_hour, gen_tok_s (generated tokens/s);
- bytes (exact sizes of the tensors): param_bytes (f32 policy), grad_bytes (after the backward),
  optim_bytes (after the step; transformers' Adafactor keeps a 0-d f32 `RMS` per parameter tensor
  besides the factored moments), reference_bytes (bf16 copy), kv_cache_bytes (the cache `generate`
  returned: Gemma2's sliding-window layers keep only the window);
- peak_mem_bytes: on cuda torch.cuda.max_memory_allocated() over everything (also per phase:
  peak_generate_bytes, peak_reference_bytes, peak_learn_bytes), mem_source=cuda_max_memory_allocated.
  On cpu there is no allocator counter (tracemalloc does not see libtorch's allocations): the
  process resident-set high-water mark (VmHWM) over warm-up + timed steps minus the resident set
  once both models were loaded, plus the two models' exact bytes
  (mem_source=rss_hwm_above_loaded_models+weights): an upper bound that includes allocator slack
  and what libtorch loads lazily; without /proc/self/clear_refs, VmHWM minus the resident set
  before loading (rss_hwm_above_pre_load_incl_loader), else ru_maxrss (ru_maxrss_whole_process).
"""
import argparse
import json
import os
import platform
import resource
import time

import torch
import transformers
from transformers import AutoModelForCausalLM

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("model")
p.add_argument("--batch", type=int, default=1, help="samples per update (prompts generated together)")
p.add_argument("--prompt-len", type=int, default=128)
p.add_argument("--new-tokens", type=int, default=32)
p.add_argument("--steps", type=int, default=5, help="timed steps")
p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
p.add_argument("--optimizer", default="adafactor", choices=["adafactor", "adamw"])
p.add_argument("--lr", type=float, default=1e-4)
p.add_argument("--max-grad-norm", type=float, default=1.0, help="0: no clipping")
p.add_argument("--clip-eps", type=float, default=0.2)
p.add_argument("--kl-coef", type=float, default=0.05)
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
if a.batch < 1 or a.prompt_len < 1 or a.new_tokens < 1 or a.steps < 1 or a.warmup < 0 or a.max_grad_norm < 0:
    p.error("--batch, --prompt-len, --new-tokens and --steps must be >= 1, --warmup and --max-grad-norm >= 0")
if a.device == "cuda" and not torch.cuda.is_available():
    p.error("--device cuda: torch sees no CUDA device")
CUDA = a.device == "cuda"
P, G, B = a.prompt_len, a.new_tokens, a.batch


def status_bytes(key):
    """A `VmRSS` / `VmHWM` line of /proc/self/status in bytes, None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def nbytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors if torch.is_tensor(t))


def cache_bytes(cache):
    """Bytes of the keys and values a `generate` cache holds (None: a layout this script does not know)."""
    if cache is None:
        return None
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return nbytes(t for l in layers for t in (getattr(l, "keys", None), getattr(l, "values", None)))
    if isinstance(cache, (tuple, list)):
        return nbytes(t for layer in cache for t in layer)
    return None


def sync():
    if CUDA:
        torch.cuda.synchronize()


def device_name():
    if CUDA:
        return torch.cuda.get_device_name()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    return f"cpu:{cpu.replace(' ', '_')}:threads={torch.get_num_threads()}"


torch.manual_seed(a.seed)
rss_before = status_bytes("VmRSS")
if CUDA:
    torch.cuda.reset_peak_memory_stats()
load = dict(attn_implementation="eager")
policy = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32, **load).to(a.device)
reference = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, **load).to(a.device).eval()
reference.requires_grad_(False)
rss_loaded = status_bytes("VmRSS")
hwm_reset = not CUDA and reset_hwm()
if a.optimizer == "adamw":
    opt = torch.optim.AdamW(policy.parameters(), lr=a.lr, weight_decay=0.0)
else:
    from transformers.optimization import Adafactor

    opt = Adafactor(
        policy.parameters(),
        lr=a.lr,
        scale_parameter=False,
        relative_step=False,
        warmup_init=False,
        clip_threshold=1.0,
    )
vocab = policy.config.vocab_size
pad = policy.generation_config.pad_token_id
if pad is None:
    pad = policy.config.pad_token_id if policy.config.pad_token_id is not None else 0
gen = torch.Generator().manual_seed(a.seed)


def completion_logprobs(logits, completion):
    """log p of each completion token from the logits of the rows that predict it (f32)."""
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)


def generate(prompts):
    out = policy.generate(
        input_ids=prompts,
        attention_mask=torch.ones_like(prompts),
        do_sample=True,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        min_new_tokens=G,
        max_new_tokens=G,
        output_scores=True,
        return_dict_in_generate=True,
        pad_token_id=pad,
    )
    seqs = out.sequences
    if seqs.shape[1] != P + G:
        raise SystemExit(f"generate returned {seqs.shape[1] - P} new tokens, not the budget of {G}")
    completion = seqs[:, P:]
    lps = torch.log_softmax(torch.stack(out.scores, dim=1).float(), dim=-1)  # [B, G, V]
    old = lps.gather(-1, completion.unsqueeze(-1)).squeeze(-1)
    entropy = -(lps.exp() * lps.clamp_min(-1e30)).sum(-1).mean()
    return seqs, completion, old, entropy.item(), cache_bytes(getattr(out, "past_key_values", None))


def step(i):
    """One RL step; its phase seconds, cuda peaks and figures."""
    prompts = torch.randint(3, vocab, (B, P), generator=gen).to(a.device)
    adv = torch.randn(B, generator=gen)
    adv = (adv - adv.mean()) / (adv.std(unbiased=False) + 1e-8) if B > 1 else torch.ones(1)
    adv = adv.to(a.device).unsqueeze(1)
    peaks = {}

    def phase(name, t):
        sync()
        if CUDA:
            peaks[name] = torch.cuda.max_memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        return time.perf_counter() - t

    if CUDA:
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    policy.eval()
    seqs, completion, old, entropy, kv = generate(prompts)
    t_gen = phase("generate", t)

    t = time.perf_counter()
    with torch.no_grad():
        ref = completion_logprobs(reference(input_ids=seqs, logits_to_keep=G + 1).logits[:, :-1], completion)
    t_ref = phase("reference", t)

    t = time.perf_counter()
    policy.train()
    lp = completion_logprobs(policy(input_ids=seqs, logits_to_keep=G + 1).logits[:, :-1], completion)
    ratio = torch.exp(torch.clamp(lp - old, -20.0, 20.0))
    pg = -torch.min(ratio * adv, torch.clamp(ratio, 1 - a.clip_eps, 1 + a.clip_eps) * adv)
    d = ref - lp
    k3 = torch.exp(d) - d - 1
    loss = (pg + a.kl_coef * k3).mean()
    loss.backward()
    grads = nbytes(q.grad for q in policy.parameters() if q.grad is not None)
    if a.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(policy.parameters(), a.max_grad_norm)
    opt.step()
    opt.zero_grad()
    t_learn = phase("learn", t)
    clipped = ((ratio < 1 - a.clip_eps) & (adv < 0)) | ((ratio > 1 + a.clip_eps) & (adv > 0))
    figures = dict(
        loss=loss.item(),
        kl_mean=k3.mean().item(),
        clip_frac=clipped.float().mean().item(),
        entropy=entropy,
        grad_bytes=grads,
        kv_cache_bytes=kv,
    )
    return (t_gen, t_ref, t_learn), peaks, figures


peak_phase = {}
sums = [0.0, 0.0, 0.0]
grad_bytes = 0
for i in range(a.warmup + a.steps):
    times, peaks, figures = step(i)
    grad_bytes = max(grad_bytes, figures["grad_bytes"])
    for k, v in peaks.items():
        peak_phase[k] = max(peak_phase.get(k, 0), v)
    if i >= a.warmup:
        sums = [s + t for s, t in zip(sums, times)]
gen_s, ref_s, learn_s = (s / a.steps for s in sums)
step_s = gen_s + ref_s + learn_s

params = sum(q.numel() for q in policy.parameters())
param_bytes = nbytes(policy.parameters())
reference_bytes = nbytes(reference.parameters())
optim_bytes = nbytes(v for s in opt.state.values() for v in s.values())
if CUDA:
    peak = max(peak_phase.values())
    source = "cuda_max_memory_allocated"
else:
    hwm = status_bytes("VmHWM")
    if hwm is not None and rss_loaded is not None and hwm_reset:
        peak = hwm - rss_loaded + param_bytes + reference_bytes
        source = "rss_hwm_above_loaded_models+weights"
    elif hwm is not None and rss_before is not None:
        peak = hwm - rss_before
        source = "rss_hwm_above_pre_load_incl_loader"
    else:  # ru_maxrss is KiB on Linux; no baseline: the whole process
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        source = "ru_maxrss_whole_process"
report = dict(
    device=device_name(),
    params=params,
    batch=B,
    prompt_len=P,
    new_tokens=G,
    steps=a.steps,
    warmup=a.warmup,
    optimizer=a.optimizer,
    lr=a.lr,
    max_grad_norm=a.max_grad_norm,
    clip_eps=a.clip_eps,
    kl_coef=a.kl_coef,
    step_s=step_s,
    generate_s=gen_s,
    reference_s=ref_s,
    learn_s=learn_s,
    generate_share=gen_s / step_s,
    reference_share=ref_s / step_s,
    learn_share=learn_s / step_s,
    env_steps_per_s=B / step_s,
    updates_per_hour=3600.0 / step_s,
    gen_tok_s=B * G / gen_s,
    loss=figures["loss"],
    kl_mean=figures["kl_mean"],
    clip_frac=figures["clip_frac"],
    entropy=figures["entropy"],
    param_bytes=param_bytes,
    grad_bytes=grad_bytes,
    optim_bytes=optim_bytes,
    reference_bytes=reference_bytes,
    kv_cache_bytes=figures["kv_cache_bytes"],
    peak_mem_bytes=peak,
    mem_source=source,
    peak_generate_bytes=peak_phase.get("generate"),
    peak_reference_bytes=peak_phase.get("reference"),
    peak_learn_bytes=peak_phase.get("learn"),
    torch=torch.__version__,
    transformers=transformers.__version__,
    host_cpus=os.cpu_count(),
)
print(json.dumps(report))
