//! A shard's JSONL data read back: every line kept as written (the merged file is the shards'
//! lines, byte for byte, in the unsharded order) and parsed (to recompute what the run reports).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;

/// One line of a shard's JSONL file: its text as written (without the newline) and its value.
#[derive(Debug, Clone)]
pub struct Line<T> {
    /// The text, exactly as the shard wrote it.
    pub text: String,
    /// The parsed value.
    pub value: T,
}

/// Parses `bytes`, the content of the JSONL file `path`: UTF-8, every line terminated by a
/// newline and a JSON value of type `T`. Errors name the file and the line.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<Vec<Line<T>>> {
    let text = std::str::from_utf8(bytes).with_context(|| format!("{}: not UTF-8", path.display()))?;
    if !text.is_empty() && !text.ends_with('\n') {
        bail!("{}: the last line has no newline (truncated)", path.display());
    }
    text.lines()
        .enumerate()
        .map(|(n, l)| {
            let value = serde_json::from_str(l)
                .with_context(|| format!("{} line {}: not a valid record", path.display(), n + 1))?;
            Ok(Line { text: l.to_string(), value })
        })
        .collect()
}

/// Joins lines into JSONL text: each line and a newline.
pub fn join_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn keeps_the_text_and_names_the_bad_line() {
        let p = Path::new("x/episodes.jsonl");
        let lines: Vec<Line<Value>> = read_jsonl(p, b"{\"a\": 1.0}\n{\"a\":2}\n").unwrap();
        assert_eq!(lines[0].text, "{\"a\": 1.0}");
        assert_eq!(lines[1].value["a"], 2);
        assert_eq!(join_lines(lines.iter().map(|l| l.text.as_str())), "{\"a\": 1.0}\n{\"a\":2}\n");
        let e = read_jsonl::<Value>(p, b"{\"a\": 1}\n{\"a\"").unwrap_err().to_string();
        assert!(e.contains("x/episodes.jsonl") && e.contains("truncated"), "{e}");
        let e = read_jsonl::<Value>(p, b"{\"a\": 1}\n{\"a\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(read_jsonl::<Value>(p, b"").unwrap().is_empty());
    }
}
