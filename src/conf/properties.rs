//! Java `.properties` text (the format of `zoo.cfg`): `#`/`!` comments, `key=value`,
//! `key:value` or `key value`, backslash line continuations and escapes (`\t`, `\n`, `\uXXXX`).

/// One `key = value` pair and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyLine {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parses the text, in file order (later duplicates are the caller's to resolve).
pub fn parse_properties(text: &str) -> Vec<PropertyLine> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, first)) = lines.next() {
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines: a line ending in an odd number of backslashes continues,
        // and the next line's leading whitespace is dropped.
        let mut logical = String::from(trimmed);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        out.push(PropertyLine {
            key: unescape(key),
            value: unescape(value),
            line: index + 1,
        });
    }
    out
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
        } else if c == '=' || c == ':' || c.is_whitespace() {
            key_end = i;
            break;
        }
    }
    let key = &line[..key_end];
    let mut rest = line[key_end..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(stripped) = rest.strip_prefix(['=', ':']) {
        rest = stripped.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) if hex.len() == 4 => {
                        out.push(decoded);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    _ => out.push('u'),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_properties(text)
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
    }

    #[test]
    fn server_lines_keep_colons_in_the_value() {
        let got = pairs("server.1=127.0.0.1:2888:3888;2181\n");
        assert_eq!(
            got[0],
            ("server.1".into(), "127.0.0.1:2888:3888;2181".into())
        );
        assert_eq!(parse_properties("a=1\n\nb=2\n")[1].line, 3);
    }
}
