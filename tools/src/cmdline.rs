//! The command line of this run as a shell would need it typed again: arguments with spaces,
//! quotes or control characters are quoted (`'...'`, or bash's `$'...'` when they hold control
//! characters such as the newline of `--answer $'\nACTION={label}'`).

/// This process's command line, each argument quoted where needed.
pub fn current() -> String {
    join(std::env::args())
}

/// `args` joined by spaces, each quoted where needed.
pub fn join<I: IntoIterator<Item = S>, S: AsRef<str>>(args: I) -> String {
    args.into_iter().map(|a| quote(a.as_ref())).collect::<Vec<_>>().join(" ")
}

/// One argument as a shell word.
pub fn quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        return arg.to_string();
    }
    if arg.chars().any(char::is_control) {
        let mut out = String::from("$'");
        for c in arg.chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('\'');
        return out;
    }
    format!("'{}'", arg.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("--arms"), "--arms");
        assert_eq!(quote("runs/x-1"), "runs/x-1");
        assert_eq!(quote("gemma-3-270m (base)"), "'gemma-3-270m (base)'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("\nACTION={label}"), r"$'\nACTION={label}'");
        assert_eq!(quote("a'\tb\\"), r"$'a\'\tb\\'");
        assert_eq!(join(["greedy", "report", "--title", "a b"]), "greedy report --title 'a b'");
    }
}
