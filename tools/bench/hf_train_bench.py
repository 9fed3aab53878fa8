"""Training tokens/s and peak memory of HuggingFace transformers (PyTorch eager) on a checkpoint.

Usage: python hf_train_bench.py MODEL_DIR [--seq-len 128] [--batch 1] [--steps 5] [--warmup 1]
       [--optimizer adamw|adafactor] [--lr 1e-4] [--max-grad-norm 1.0] [--device cpu|cuda] [--seed 0]

One timed step = forward with labels (mean next-token cross-entropy), backward, global gradient
norm clip (torch.nn.utils.clip_grad_norm_, off with --max-grad-norm 0), optimizer step (torch's
AdamW with its defaults, or transformers' Adafactor with a fixed lr, no first moment),
zero_grad: what `greedy bench --train` times on its side. The model is loaded in f32 with eager
attention and put in train mode (Gemma2 has no dropout by default, so train mode only matters
for determinism, not speed). Token ids are uniform in [3, vocab) from a seeded generator.

Prints one line:
    train_tok_s=... peak_mem_bytes=... params=... param_bytes=... grad_bytes=... optim_bytes=...
    mem_source=... device=... steps=... seq_len=... batch=... loss=...
- peak_mem_bytes on cuda: torch.cuda.max_memory_allocated() over load + warm-up + timed steps
  (every tensor the caching allocator handed out: weights, grads, optimizer state, activations,
  temporaries); mem_source=cuda_max_memory_allocated.
- on cpu there is no allocator counter: the process resident-set high-water mark (VmHWM) over
  warm-up + timed steps, minus the resident set once the model was loaded, plus the weights'
  exact bytes (mem_source=rss_hwm_above_loaded_model+param_bytes). The high-water mark is reset
  after loading (/proc/self/clear_refs, Linux >= 4.0) so that the loader's temporary copies and
  the imported libraries do not count. It still includes allocator slack and what libtorch
  loads lazily on the first backward (~15 MB on the tiny fixture): an upper bound. Without
  clear_refs: VmHWM minus the resident set before loading (rss_hwm_above_pre_load_incl_loader),
  else the whole process's ru_maxrss (ru_maxrss_whole_process).
- param/grad/optim bytes: the sizes of the tensors themselves (exact; grads measured after
  backward, optimizer state after the first step).
"""
import argparse
import os
import platform
import resource
import time

import torch
from transformers import AutoModelForCausalLM

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("model")
p.add_argument("--seq-len", type=int, default=128)
p.add_argument("--batch", type=int, default=1)
p.add_argument("--steps", type=int, default=5, help="timed steps")
p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
p.add_argument("--optimizer", default="adamw", choices=["adamw", "adafactor"])
p.add_argument("--lr", type=float, default=1e-4)
p.add_argument("--max-grad-norm", type=float, default=1.0, help="0: no clipping")
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
if a.seq_len < 2 or a.batch < 1 or a.steps < 1 or a.warmup < 0 or a.max_grad_norm < 0:
    p.error("--seq-len must be >= 2, --batch and --steps >= 1, --warmup and --max-grad-norm >= 0")
if a.device == "cuda" and not torch.cuda.is_available():
    p.error("--device cuda: torch sees no CUDA device")


def status_kb(key):
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


torch.manual_seed(a.seed)
rss_before = status_kb("VmRSS")
if a.device == "cuda":
    torch.cuda.reset_peak_memory_stats()
m = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32, attn_implementation="eager").to(a.device)
m.train()
rss_loaded = status_kb("VmRSS")
hwm_reset = a.device == "cpu" and reset_hwm()
if a.optimizer == "adamw":
    opt = torch.optim.AdamW(m.parameters(), lr=a.lr)
else:
    from transformers.optimization import Adafactor

    opt = Adafactor(m.parameters(), lr=a.lr, relative_step=False, scale_parameter=False, warmup_init=False)
vocab = m.config.vocab_size
gen = torch.Generator().manual_seed(a.seed)
ids = torch.randint(3, vocab, (a.warmup + a.steps, a.batch, a.seq_len), generator=gen).to(a.device)
sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)


def step(i):
    out = m(input_ids=ids[i], labels=ids[i])
    out.loss.backward()
    grads = sum(q.grad.numel() * q.grad.element_size() for q in m.parameters() if q.grad is not None)
    if a.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(m.parameters(), a.max_grad_norm)
    opt.step()
    opt.zero_grad()
    return out.loss.detach(), grads


grad_bytes = 0
for i in range(a.warmup):
    _, grad_bytes = step(i)
sync()
t = time.perf_counter()
for i in range(a.warmup, a.warmup + a.steps):
    loss, g = step(i)
    grad_bytes = max(grad_bytes, g)
sync()
elapsed = time.perf_counter() - t

params = sum(q.numel() for q in m.parameters())
param_bytes = sum(q.numel() * q.element_size() for q in m.parameters())
optim_bytes = sum(
    v.numel() * v.element_size() for s in opt.state.values() for v in s.values() if torch.is_tensor(v)
)
if a.device == "cuda":
    peak = torch.cuda.max_memory_allocated()
    source = "cuda_max_memory_allocated"
    device = torch.cuda.get_device_name()
else:
    hwm = status_kb("VmHWM")
    if hwm is not None and rss_loaded is not None and hwm_reset:
        peak = hwm - rss_loaded + param_bytes
        source = "rss_hwm_above_loaded_model+param_bytes"
    elif hwm is not None and rss_before is not None:
        peak = hwm - rss_before
        source = "rss_hwm_above_pre_load_incl_loader"
    else:  # ru_maxrss is KiB on Linux; no baseline: the whole process
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        source = "ru_maxrss_whole_process"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    device = f"cpu:{cpu.replace(' ', '_')}:threads={torch.get_num_threads()}"
tokens = a.steps * a.batch * a.seq_len
print(
    f"train_tok_s={tokens / elapsed:.2f} peak_mem_bytes={peak} params={params} param_bytes={param_bytes}"
    f" grad_bytes={grad_bytes} optim_bytes={optim_bytes} mem_source={source} device={device}"
    f" steps={a.steps} seq_len={a.seq_len} batch={a.batch} optimizer={a.optimizer} loss={loss.item():.6f}"
    f" torch={torch.__version__} host_cpus={os.cpu_count()}"
)
