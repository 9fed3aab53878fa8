//! What a run reports: the terminal table, JSON lines and files.

pub mod files;
pub mod multi;
pub mod table;

pub use files::{settings_json, summary_json_lines, write_run_files};
pub use table::summary_table;
