"""The device's measured ceilings, for "% of peak": dense matmul TFLOP/s through PyTorch (cuBLAS) in
f32 (TF32 off: plain FP32 units), tf32, bf16 and f16, and device-to-device copy bandwidth.

Usage: python torch_peaks.py [--n 8192] [--reps 10]
Prints one line: f32_gflops=... tf32_gflops=... bf16_gflops=... f16_gflops=... copy_gb_s=... device=...
Random inputs (never zeros), 3 warm-ups, the median of --reps timed products with CUDA events.
"""
import argparse
import statistics

import torch

p = argparse.ArgumentParser()
p.add_argument("--n", type=int, default=8192)
p.add_argument("--reps", type=int, default=10)
a = p.parse_args()
assert torch.cuda.is_available(), "needs a CUDA device"
dev = torch.device("cuda")


def timed(fn, reps):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        ts.append(s.elapsed_time(e) / 1e3)
    return statistics.median(ts)


def matmul_gflops(dtype, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    g = torch.Generator(device=dev).manual_seed(0)
    x = torch.randn(a.n, a.n, device=dev, dtype=dtype, generator=g)
    w = torch.randn(a.n, a.n, device=dev, dtype=dtype, generator=g)
    s = timed(lambda: x @ w, a.reps)
    return 2 * a.n**3 / s / 1e9


out = {
    "f32_gflops": matmul_gflops(torch.float32, False),
    "tf32_gflops": matmul_gflops(torch.float32, True),
    "bf16_gflops": matmul_gflops(torch.bfloat16, False),
    "f16_gflops": matmul_gflops(torch.float16, False),
}
src = torch.randn(1 << 30, device=dev)  # 4 GiB
dst = torch.empty_like(src)
s = timed(lambda: dst.copy_(src), a.reps)
out["copy_gb_s"] = 2 * src.numel() * 4 / s / 1e9
print(" ".join(f"{k}={v:.1f}" for k, v in out.items()) + f" device={torch.cuda.get_device_name().replace(' ', '_')}")
