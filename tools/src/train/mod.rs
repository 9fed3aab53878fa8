//! Supervised fine-tuning (SPEC section 7) and what it needs: the expert data ([`data`]), token
//! ids with loss weights and the seeded data order ([`batch`]), a small BPE for models trained
//! from scratch ([`tokenizer`]), freshly initialised small Gemma2 checkpoints ([`init`]).

pub mod batch;
pub mod data;
pub mod init;
pub mod tokenizer;
