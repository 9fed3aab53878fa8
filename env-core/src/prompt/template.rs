//! A tiny placeholder renderer: templates are data, so users can reword every prompt.
//!
//! Syntax: `{name}` is replaced by the value of the placeholder `name` (ASCII letters, digits and
//! `_`); `{{` writes `{` and `}}` writes `}`. An unknown placeholder, an empty or unclosed `{`, or
//! a lone `}` is [`Error::BadTemplate`] with the byte offset of the offending brace. The whole
//! template is checked before anything is written, so a bad template writes nothing.

use core::fmt::{self, Write};

use crate::error::{Error, Result};

/// The placeholder values of one template: called with a placeholder's name and the writer,
/// it writes the value and returns `Some(Ok(()))`, or returns `None` for an unknown name.
pub type Vars<'v> = dyn FnMut(&str, &mut dyn Write) -> Option<Result<()>> + 'v;

/// Writes `args` and wraps the outcome for a [`Vars`] closure.
pub fn put(w: &mut dyn Write, args: fmt::Arguments<'_>) -> Option<Result<()>> {
    Some(w.write_fmt(args).map_err(Error::from))
}

/// A writer that discards everything (used to validate a template before writing it).
#[derive(Debug, Default, Clone, Copy)]
pub struct Sink;

impl Write for Sink {
    fn write_str(&mut self, _: &str) -> fmt::Result {
        Ok(())
    }
}

/// Renders `template` into `w`, substituting placeholders through `vars`.
pub fn render(w: &mut dyn Write, template: &str, vars: &mut Vars<'_>) -> Result<()> {
    walk(template, &mut Sink, vars)?;
    walk(template, w, vars)
}

/// Checks `template` against `vars` without writing anything.
pub fn validate(template: &str, vars: &mut Vars<'_>) -> Result<()> {
    walk(template, &mut Sink, vars)
}

fn walk(t: &str, w: &mut dyn Write, vars: &mut Vars<'_>) -> Result<()> {
    let b = t.as_bytes();
    let mut i = 0;
    let mut lit = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                w.write_str(&t[lit..i])?;
                if b.get(i + 1) == Some(&b'{') {
                    w.write_char('{')?;
                    i += 2;
                } else {
                    let close = t[i + 1..].find('}').ok_or(Error::BadTemplate { offset: i })? + i + 1;
                    let name = &t[i + 1..close];
                    let ok = !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
                    if !ok {
                        return Err(Error::BadTemplate { offset: i });
                    }
                    match vars(name, w) {
                        None => return Err(Error::BadTemplate { offset: i }),
                        Some(r) => r?,
                    }
                    i = close + 1;
                }
                lit = i;
            }
            b'}' => {
                w.write_str(&t[lit..i])?;
                if b.get(i + 1) == Some(&b'}') {
                    w.write_char('}')?;
                    i += 2;
                    lit = i;
                } else {
                    return Err(Error::BadTemplate { offset: i });
                }
            }
            _ => i += 1,
        }
    }
    w.write_str(&t[lit..])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &str) -> Result<heapless::String<64>> {
        let mut s = heapless::String::<64>::new();
        render(&mut s, t, &mut |name, w| match name {
            "a" => put(w, format_args!("A")),
            "num_2" => put(w, format_args!("{}", 2)),
            _ => None,
        })?;
        Ok(s)
    }

    #[test]
    fn substitutes_and_escapes() {
        assert_eq!(run("x{a}y{num_2}").unwrap(), "xAy2");
        assert_eq!(run("{{a}} {{{a}}}").unwrap(), "{a} {A}");
        assert_eq!(run("héllo {a}").unwrap(), "héllo A");
        assert_eq!(run("").unwrap(), "");
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(run("ab{zz}"), Err(Error::BadTemplate { offset: 2 }));
        assert_eq!(run("ab{a"), Err(Error::BadTemplate { offset: 2 }));
        assert_eq!(run("{}"), Err(Error::BadTemplate { offset: 0 }));
        assert_eq!(run("a}b"), Err(Error::BadTemplate { offset: 1 }));
        assert_eq!(run("{a b}"), Err(Error::BadTemplate { offset: 0 }));
    }
}
