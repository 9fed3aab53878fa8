#!/usr/bin/env bash
# env-core inside firmware-like simulators: checks the C ABI and the Cortex-M runs.
#  1. the committed C header equals a fresh one from cbindgen (Debian 12's 0.24);
#  2. the C example (examples/simulator.c) builds with the system C compiler against the static
#     library, runs, and prints byte for byte what env-core's Rust API prints (and the committed
#     examples/simulator.expected); the C bad-input test passes; both run clean under valgrind
#     and under -fsanitize=address,undefined; the Rust tests of the ABI (bad input from Rust,
#     equivalence with the Rust API) and of the golden scenarios pass;
#  3. the golden firmware runs in QEMU on a Cortex-M4F (mps2-an386, thumbv7em-none-eabihf) and a
#     Cortex-M3 (mps2-an385, thumbv7m-none-eabi, soft float) and prints the host's digests;
#  4. the footprint firmware (one UCB episode, one prompt) reports its stack and instruction
#     counts; flash and static RAM come from its ELF section headers (readelf).
# Installs what is missing (qemu-system-arm, cbindgen, valgrind via apt; the Rust targets via
# rustup). Exits non-zero on any difference. Set CARGO_BUILD_JOBS=1 on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "need root or sudo to run: $*" >&2; return 1; fi
}

echo "== tools"
missing=()
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
command -v cbindgen >/dev/null || missing+=(cbindgen)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v readelf >/dev/null || missing+=(binutils)
command -v cc >/dev/null || missing+=(gcc libc6-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rustup target add thumbv7em-none-eabihf thumbv7m-none-eabi >/dev/null 2>&1 || rustup target add thumbv7em-none-eabihf thumbv7m-none-eabi
echo "$(qemu-system-arm --version | head -1); $(cbindgen --version); $(cc --version | head -1)"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

echo "== 1. the C header is up to date"
cbindgen --quiet --config env-core/ffi/cbindgen.toml --output "$tmp/env_core.h" env-core/ffi
if diff -u env-core/ffi/include/env_core.h "$tmp/env_core.h" >"$tmp/header.diff"; then
  echo "env-core/ffi/include/env_core.h is fresh"
else
  head -40 "$tmp/header.diff"
  fail "the header is stale: regenerate with cbindgen --config env-core/ffi/cbindgen.toml --output env-core/ffi/include/env_core.h env-core/ffi"
fi

echo "== 1b. the static library builds for bare metal (its object sizes hold on 32-bit targets too)"
cargo build -q -p env-core-ffi --target thumbv7em-none-eabihf --features panic-handler \
  && echo "libenv_core_ffi.a builds for thumbv7em-none-eabihf" \
  || fail "env-core-ffi does not build for thumbv7em-none-eabihf"

echo "== 2. the C example and the C bad-input test"
cargo build -q --release -p env-core-ffi
lib="$root/target/release/libenv_core_ffi.a"
cflags=(-std=c11 -Wall -Wextra -Werror -g -Ienv-core/ffi/include)
libs=("$lib" -lm -lpthread -ldl)
for prog in simulator bad_input; do
  cc "${cflags[@]}" -O1 "env-core/ffi/examples/$prog.c" "${libs[@]}" -o "$tmp/$prog"
  cc "${cflags[@]}" -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    "env-core/ffi/examples/$prog.c" "${libs[@]}" -o "$tmp/$prog-san"
done
"$tmp/simulator" >"$tmp/simulator.out" || fail "the C example exited non-zero"
cargo run -q --release -p env-core-ffi --example simulator_reference >"$tmp/reference.out"
if cmp -s "$tmp/simulator.out" "$tmp/reference.out"; then
  echo "C example output = Rust API output ($(wc -c <"$tmp/simulator.out") bytes)"
else
  diff -u "$tmp/reference.out" "$tmp/simulator.out" | head -30
  fail "the C example's output differs from the Rust API's"
fi
cmp -s "$tmp/simulator.out" env-core/ffi/examples/simulator.expected \
  && echo "C example output = examples/simulator.expected" \
  || fail "the C example's output differs from examples/simulator.expected"
"$tmp/bad_input" | tail -1 || fail "the C bad-input test failed"
for prog in simulator bad_input; do
  if valgrind -q --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite "$tmp/$prog" >/dev/null 2>"$tmp/$prog.vg"; then
    echo "valgrind: $prog clean"
  else
    cat "$tmp/$prog.vg"; fail "valgrind reports errors in $prog"
  fi
  if ASAN_OPTIONS=detect_leaks=1 "$tmp/$prog-san" >"$tmp/$prog-san.out" 2>"$tmp/$prog-san.err"; then
    echo "address+undefined sanitizers: $prog clean"
  else
    head -30 "$tmp/$prog-san.err"; fail "the sanitizers report errors in $prog"
  fi
done
cmp -s "$tmp/simulator-san.out" "$tmp/simulator.out" || fail "the sanitized C example printed something else"

echo "== 2b. the Rust tests of the C ABI (bad input, Rust API equivalence) and of the golden scenarios"
if cargo test -q -p env-core-ffi -p env-core-golden >"$tmp/tests.log" 2>&1; then
  grep -c '^test result: ok' "$tmp/tests.log" | sed 's/$/ test binaries passed/'
else
  grep -E 'FAILED|panicked|error' "$tmp/tests.log" | head -20; fail "the env-core-ffi / env-core-golden tests failed"
fi

echo "== 3. golden digests: host vs Cortex-M4F vs Cortex-M3 (QEMU, semihosting)"
cargo run -q --release -p env-core-golden --example host-digests >"$tmp/host.txt"
qemu_run() { # machine cpu elf [extra qemu args]
  timeout 120 qemu-system-arm -machine "$1" -cpu "$2" -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native "${@:4}" -kernel "$3"
}
fw=env-core/firmware
(cd $fw && cargo build -q --release --target thumbv7em-none-eabihf && cargo build -q --release --target thumbv7m-none-eabi)
m4=$fw/target/thumbv7em-none-eabihf/release
m3=$fw/target/thumbv7m-none-eabi/release
qemu_run mps2-an386 cortex-m4 $m4/golden >"$tmp/m4.log" || fail "the golden firmware failed on the Cortex-M4F"
qemu_run mps2-an385 cortex-m3 $m3/golden >"$tmp/m3.log" || fail "the golden firmware failed on the Cortex-M3"
grep -v '^#' "$tmp/m4.log" >"$tmp/m4.txt" || true
grep -v '^#' "$tmp/m3.log" >"$tmp/m3.txt" || true
printf '%-18s %-18s %-18s %-18s %s\n' scenario host cortex-m4f cortex-m3 ""
while read -r name digest values; do
  a=$(awk -v n="$name" '$1 == n {print $2}' "$tmp/m4.txt")
  b=$(awk -v n="$name" '$1 == n {print $2}' "$tmp/m3.txt")
  mark=same
  if [ "$a" != "$digest" ] || [ "$b" != "$digest" ]; then mark=DIFFERENT; fail "digest of $name differs"; fi
  printf '%-18s %-18s %-18s %-18s %s\n' "$name" "$digest" "${a:-missing}" "${b:-missing}" "$mark"
done <"$tmp/host.txt"
[ "$(wc -l <"$tmp/host.txt")" -eq 8 ] || fail "expected 8 host digests"
cmp -s "$tmp/host.txt" "$tmp/m4.txt" || fail "the Cortex-M4F output is not the host's, line for line"
cmp -s "$tmp/host.txt" "$tmp/m3.txt" || fail "the Cortex-M3 output is not the host's, line for line"
grep '^# stack high-water' "$tmp/m4.log" | sed 's/^# /cortex-m4f golden: /'

echo "== 4. footprint (one UCB episode + one prompt; linked for 256 KiB flash / 64 KiB RAM)"
# Flash: everything loaded below 0x20000000 plus the .data image; static RAM: .data, .bss, .uninit.
sizes() {
  local flash=0 ram=0 name type addr off size flags
  while read -r name type addr off size _ flags _; do
    [[ $flags == *A* ]] || continue
    if (( 16#$addr < 0x20000000 )); then flash=$((flash + 16#$size))
    else
      ram=$((ram + 16#$size))
      [ "$type" = PROGBITS ] && flash=$((flash + 16#$size))
    fi
  done < <(readelf -S -W "$1" | sed -n 's/^ *\[ *[0-9]*\] //p' | grep -v '^NULL')
  echo "$flash $ram"
}
for t in "cortex-m4f mps2-an386 cortex-m4 $m4" "cortex-m3 mps2-an385 cortex-m3 $m3"; do
  set -- $t
  read -r flash ram < <(sizes "$4/footprint")
  echo "-- $1: flash $flash bytes ($((flash / 1024)) KiB of 256), static RAM $ram bytes"
  qemu_run "$2" "$3" "$4/footprint" -icount shift=0 | sed 's/^/   /' || fail "the footprint firmware failed on $1"
  [ "$flash" -le $((256 * 1024)) ] || fail "$1 footprint image over 256 KiB of flash"
done

if [ "$failures" -gt 0 ]; then
  echo "check-firmware: $failures failure(s)"
  exit 1
fi
echo "check-firmware: all checks passed"
