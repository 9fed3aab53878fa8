#!/usr/bin/env bash
# Builds what tools/bench/device-run.sh needs on a GPU machine that has no Rust toolchain and no
# network: `greedy`, the `adapters` example and the gpu-trainer test binaries (release, stripped,
# xz-compressed into .dev/bins.tar.xz, about 11 MB), the peers (../shared/peers/*.py into
# .dev/peers/) and the Vulkan loader (.gl/*.deb, Debian's libvulkan1 and GL dispatch libraries).
# Both folders are ignored by git (.git/info/exclude) and carried to the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.dev/' .git/info/exclude 2>/dev/null || echo /.dev/ >>.git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
cargo build --release -p greedy
cargo build --release -p gpu-trainer --example adapters
cargo test --release -p gpu-trainer --no-run
rm -rf .dev && mkdir -p .dev/stage/t .dev/peers
# the newest build of each GPU test binary (deps/NAME-HASH)
for name in gpu_trainer generate_batched generate_logits_chunked generate_prefix generate_score \
  gpu_model_forward gpu_model_kv_cache kernels_attention kernels_backward_linear \
  kernels_backward_pointwise kernels_forward train_checkpoint train_grads train_optim "$@"; do
  f=$(ls -t target/release/deps/"$name"-???????????????? 2>/dev/null | grep -v '\.d$' | head -1)
  [ -n "$f" ] || { echo "no test binary $name" >&2; exit 1; }
  cp "$f" ".dev/stage/t/$name"
done
cp target/release/greedy target/release/examples/adapters .dev/stage/
strip .dev/stage/greedy .dev/stage/adapters .dev/stage/t/*
tar cf - -C .dev/stage . | xz -6 -T2 >.dev/bins.tar.xz
rm -rf .dev/stage
cp ../shared/peers/*.py .dev/peers/ 2>/dev/null || echo "warning: ../shared/peers not found: no inference peer" >&2
if [ ! -d .gl ] || [ -z "$(ls .gl/*.deb 2>/dev/null)" ]; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .dev .gl
