//! What a run reports: the terminal tables ([`table`], [`diagnose`]), JSON lines and run files
//! ([`files`]), and the Markdown page over several runs ([`multi`]).

pub mod diagnose;
pub mod files;
pub mod multi;
pub mod table;

pub use files::{settings_json, summary_json_lines, write_run_files};
pub use table::summary_table;
