#!/usr/bin/env bash
# Installs what `greedy` needs on a fresh Debian or Ubuntu machine, and only what is missing:
#   - a Vulkan driver when none is installed: Debian's `mesa-vulkan-drivers` (Mesa's software
#     driver lavapipe, with the Vulkan loader libvulkan1), which runs every shader on the CPU;
#     a machine with a GPU driver (an ICD in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d) keeps it;
#   - with --tests, also the Rust target thumbv7em-none-eabihf (the build that proves env-core is
#     no_std with no allocator).
# Runs apt-get as root, or through sudo. Safe to run again. macOS needs nothing (Metal).
set -euo pipefail

tests=0
for a in "$@"; do
  case "$a" in
    --tests) tests=1 ;;
    *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    echo "error: installing packages needs root: run as root, install sudo, or install them yourself: $*" >&2
    exit 1
  fi
}

has_vulkan() {
  # (no `grep -q` after a pipe: under pipefail its early exit fails the pipeline)
  ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null || return 1
  local f
  for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/share/vulkan/icd.d/*.json; do
    [ -e "$f" ] && return 0
  done
  return 1
}

if [ "$(uname -s)" = Linux ] && ! has_vulkan; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no Vulkan driver found, and this is not a Debian/Ubuntu system: install your GPU's Vulkan driver, or Mesa's lavapipe (the software driver)" >&2
    exit 1
  fi
  echo "== no Vulkan driver: installing mesa-vulkan-drivers (lavapipe, the software driver, and the Vulkan loader)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers >/dev/null
fi

if [ "$tests" = 1 ] && ! rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf; then
  echo "== installing the Rust target thumbv7em-none-eabihf" >&2
  rustup target add thumbv7em-none-eabihf
fi
