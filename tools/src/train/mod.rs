//! Supervised fine-tuning (SPEC section 7) and what it needs: the expert data ([`data`]), token
//! ids with loss weights and the seeded data order ([`batch`]), a small BPE for models trained
//! from scratch ([`tokenizer`]), freshly initialised small Gemma2 checkpoints ([`init`]), the
//! validated settings ([`settings`]), the loop with its checkpoints and exact resumption
//! ([`trainer`]), the per-step log ([`log`]) and loss plot ([`plot`]), and the whole command
//! ([`run`]).

pub mod batch;
pub mod command;
pub mod data;
pub mod gpu;
pub mod init;
pub mod log;
pub mod plot;
pub mod run;
pub mod settings;
pub mod tokenizer;
pub mod trainer;
