//! # env-core-firmware
//!
//! Support for the two bare-metal test images (`src/bin/`): `golden` prints env-core's golden
//! digests ([`env_core_golden`]), `footprint` runs one UCB episode and renders one prompt and
//! reports the stack high-water mark and instruction counts. Both run in QEMU
//! (`mps2-an386`, Cortex-M4F; `mps2-an385`, Cortex-M3) and talk through semihosting.
//!
//! | module | what lives there |
//! |---|---|
//! | [`stack`] | stack painting at boot and the high-water mark |
//! | [`icount`] | instruction counts from SysTick under QEMU's `-icount`, self-calibrated |
//! | [`host`] | semihosting output, exit codes, the panic handler |
#![no_std]

pub mod host;
pub mod icount;
pub mod stack;
