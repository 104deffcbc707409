//! Java `.properties` text, both ways: read as `Properties.load` reads it (`zoo.cfg`, and the
//! VERSION files of Hadoop's storage directories) — `#`/`!` comments, `key=value`, `key:value`
//! or `key value`, backslash line continuations and escapes (`\t`, `\n`, `\uXXXX`) — and
//! written as `Properties.store(out, null)` writes it (a date comment, then escaped
//! `key=value` lines). This is the one implementation of the format in the crate.
//!
//! Lines end at `\n`, `\r` or `\r\n`, and the only whitespace is space, tab and form feed,
//! as in Java's `LineReader`. A malformed `\uXXXX` escape is an error, as it is for Java
//! (`IllegalArgumentException: Malformed \uxxxx encoding.`), never a silent guess.

use std::time::SystemTime;

use crate::wall_clock::{WallClock, millis_of};

/// One `key = value` pair and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyLine {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Text that `Properties.load` refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (line {line})")]
pub struct PropertyError {
    pub line: usize,
    pub reason: String,
}

/// Java's text for a bad `\u` escape.
const MALFORMED_UNICODE: &str = "Malformed \\uxxxx encoding.";

/// Whitespace as `Properties.load` knows it.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// Physical lines: each ends at `\n`, `\r` or `\r\n` (or the end of the text).
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\n', '\r']) {
            Some(end) => {
                let terminator = if current[end..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[end + terminator..]).filter(|r| !r.is_empty());
                Some(&current[..end])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Parses the text, in file order (later duplicates are the caller's to resolve: with
/// `Properties.load`, the last one wins).
pub fn parse_properties(text: &str) -> Result<Vec<PropertyLine>, PropertyError> {
    let mut out = Vec::new();
    let mut lines = physical_lines(text).enumerate();
    while let Some((index, first)) = lines.next() {
        let trimmed = first.trim_start_matches(is_space);
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines: a line ending in an odd number of backslashes continues,
        // and the next line's leading whitespace is dropped.
        let mut logical = String::from(trimmed);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches(is_space)),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        let fail = |reason: String| PropertyError {
            line: index + 1,
            reason,
        };
        out.push(PropertyLine {
            key: unescape(key).map_err(fail)?,
            value: unescape(value).map_err(fail)?,
            line: index + 1,
        });
    }
    Ok(out)
}

fn ends_with_odd_backslashes(line: &str) -> bool {
    line.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// The key runs to the first unescaped `=`, `:` or whitespace; then whitespace, at most one
/// `=` or `:`, and whitespace are skipped.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || is_space(c) {
            key_end = i;
            break;
        }
    }
    let key = &line[..key_end];
    let mut rest = line[key_end..].trim_start_matches(is_space);
    if let Some(stripped) = rest.strip_prefix(['=', ':']) {
        rest = stripped.trim_start_matches(is_space);
    }
    (key, rest)
}

/// Undoes [`escape`] (Java's `loadConvert`). `\uXXXX` escapes are UTF-16 code units, so a
/// character outside the BMP arrives as two of them (a surrogate pair).
fn unescape(text: &str) -> Result<String, String> {
    let mut units: Vec<u16> = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let c = if c == '\\' {
            match chars.next() {
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let unit = Some(hex)
                        .filter(|hex| hex.len() == 4)
                        .and_then(|hex| u16::from_str_radix(&hex, 16).ok())
                        .ok_or_else(|| MALFORMED_UNICODE.to_string())?;
                    units.push(unit);
                    continue;
                }
                Some('t') => '\t',
                Some('n') => '\n',
                Some('r') => '\r',
                Some('f') => '\x0c',
                Some(other) => other,
                None => break,
            }
        } else {
            c
        };
        let mut buf = [0u16; 2];
        units.extend_from_slice(c.encode_utf16(&mut buf));
    }
    String::from_utf16(&units).map_err(|_| "a \\u escape is not valid UTF-16".to_string())
}

/// Whether `line` is the `#<date>` comment [`store_properties`] writes about now (for tests of
/// the files written with it).
#[cfg(test)]
pub(crate) fn is_date_comment_of_now(line: &str) -> bool {
    let zone = WallClock::local(millis_of(SystemTime::now())).zone;
    line.starts_with('#') && line.contains(&format!(" {zone} "))
}

/// The text `Properties.store(out, null)` writes: a `#<date>` comment, then one escaped
/// `key=value` line per pair, in the order given.
pub fn store_properties(pairs: &[(&str, &str)], now: SystemTime) -> String {
    let mut text = format!("#{}\n", WallClock::local(millis_of(now)).java_date());
    for (key, value) in pairs {
        text.push_str(&escape(key, true));
        text.push('=');
        text.push_str(&escape(value, false));
        text.push('\n');
    }
    text
}

/// Escapes a key or value as `Properties.store` does (`saveConvert`): the result is ASCII.
pub fn escape(text: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            ' ' if i == 0 || is_key => out.push_str("\\ "),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0c' => out.push_str("\\f"),
            '=' | ':' | '#' | '!' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_properties(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        let got = pairs(
            "# comment\n! also a comment\n\ntickTime=2000\ninitLimit : 10\nsyncLimit 5\n  dataDir = /var/zk  \nempty=\nbare\n",
        );
        let want = [
            ("tickTime", "2000"),
            ("initLimit", "10"),
            ("syncLimit", "5"),
            ("dataDir", "/var/zk  "),
            ("empty", ""),
            ("bare", ""),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn continuations_and_escapes() {
        let got = pairs(
            "4lw.commands.whitelist=srvr,\\\n    ruok,\\\n    mntr\nkey\\ with\\ space=a\\tb\\u0041\\\\\nx=1\\\\\ny=2\n",
        );
        assert_eq!(
            got[0],
            ("4lw.commands.whitelist".into(), "srvr,ruok,mntr".into())
        );
        assert_eq!(got[1], ("key with space".into(), "a\tbA\\".into()));
        assert_eq!(got[2], ("x".into(), "1\\".into()));
        assert_eq!(got[3], ("y".into(), "2".into()));
        assert_eq!(
            pairs("a = one \\\n    two\nb\\ c\\:d x"),
            vec![
                ("a".to_string(), "one two".to_string()),
                ("b c:d".to_string(), "x".to_string())
            ]
        );
    }

    #[test]
    fn server_lines_keep_colons_in_the_value() {
        let got = pairs("server.1=127.0.0.1:2888:3888;2181\n");
        assert_eq!(
            got[0],
            ("server.1".into(), "127.0.0.1:2888:3888;2181".into())
        );
        assert_eq!(parse_properties("a=1\n\nb=2\n").unwrap()[1].line, 3);
    }

    #[test]
    fn lines_end_at_lf_cr_or_crlf_as_in_java() {
        let text = "a=1\r\nb=x\\\r\n  y\rc=3\n\r\nd=4";
        assert_eq!(
            pairs(text),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "xy".to_string()),
                ("c".to_string(), "3".to_string()),
                ("d".to_string(), "4".to_string()),
            ]
        );
        assert_eq!(parse_properties(text).unwrap()[3].line, 6);
    }

    #[test]
    fn a_malformed_unicode_escape_is_an_error_with_javas_text() {
        for text in ["a=\\u12", "a=\\u12zz", "\\uXYZW=1"] {
            let err = parse_properties(text).unwrap_err();
            assert_eq!(err.to_string(), "Malformed \\uxxxx encoding. (line 1)");
        }
        let err = parse_properties("ok=1\nb=\\uD800\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn store_escapes_round_trip_through_load() {
        let awkward = " CID a=b:c#d!e\\f\tg\u{e9}\u{1f600}";
        let text = store_properties(&[("k y", awkward), ("n", "-1")], std::time::UNIX_EPOCH);
        assert_eq!(
            text,
            format!("#{}\n", WallClock::local(0).java_date())
                + "k\\ y=\\ CID a\\=b\\:c\\#d\\!e\\\\f\\tg\\u00E9\\uD83D\\uDE00\nn=-1\n"
        );
        assert!(text.is_ascii());
        assert_eq!(
            pairs(&text),
            vec![
                ("k y".to_string(), awkward.to_string()),
                ("n".to_string(), "-1".to_string())
            ]
        );
    }
}
