//! `${…}` substitution with Hadoop's exact rules (`Configuration.substituteVars`).
//!
//! Variables are found left to right, innermost first: a name is the text between `${` and
//! `}` without spaces or `$`. `${env.NAME}` reads the environment (`${env.NAME:-d}` uses `d`
//! when NAME is unset or empty, `${env.NAME-d}` only when unset); any other name is a system
//! property, then a configuration key. The first reference that resolves to nothing stops
//! substitution and the value is returned as far as it got, with that reference left as
//! written. A value that would reproduce its own reference returns the original expression;
//! more than 20 substitutions is an error.

/// Hadoop's `MAX_SUBST`.
pub const MAX_SUBSTITUTIONS: usize = 20;

/// Where substituted values come from.
pub trait VariableSource {
    fn env(&self, name: &str) -> Option<String>;
    fn system_property(&self, name: &str) -> Option<String>;
    fn raw(&self, key: &str) -> Option<String>;
}

/// The substitution never terminated; carries the expression as it was when it gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthExceeded {
    pub expr: String,
}

/// Expands `expr`.
pub fn substitute(expr: &str, source: &dyn VariableSource) -> Result<String, DepthExceeded> {
    let mut eval = expr.to_string();
    for _ in 0..MAX_SUBSTITUTIONS {
        let Some((start, end)) = find_variable(&eval) else {
            return Ok(eval);
        };
        let name = &eval[start..end];
        let value = match name.strip_prefix("env.").filter(|rest| !rest.is_empty()) {
            Some(spec) => env_value(spec, source),
            None => source.system_property(name),
        };
        let Some(value) = value.or_else(|| source.raw(name)) else {
            return Ok(eval);
        };
        let reference = &eval[start - 2..end + 1];
        if value.contains(reference) {
            return Ok(expr.to_string());
        }
        eval = format!("{}{}{}", &eval[..start - 2], value, &eval[end + 1..]);
    }
    Err(DepthExceeded { expr: eval })
}

/// `NAME`, `NAME:-default` or `NAME-default`: the first `:-` or `-` decides.
fn env_value(spec: &str, source: &dyn VariableSource) -> Option<String> {
    let bytes = spec.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if c == b':' && bytes.get(i + 1) == Some(&b'-') {
            let value = source.env(&spec[..i]).filter(|v| !v.is_empty());
            return Some(value.unwrap_or_else(|| spec[i + 2..].to_string()));
        }
        if c == b'-' {
            return Some(
                source
                    .env(&spec[..i])
                    .unwrap_or_else(|| spec[i + 1..].to_string()),
            );
        }
    }
    source.env(spec)
}

/// The byte range of the first variable name, scanning as Hadoop's `findSubVariable` does.
fn find_variable(eval: &str) -> Option<(usize, usize)> {
    let bytes = eval.as_bytes();
    let mut from = 1;
    'search: while from < bytes.len() {
        let left_brace = from + bytes[from..].iter().position(|&b| b == b'{')?;
        // The smallest variable is `${c}`: a name and a closing brace must still fit.
        if left_brace + 2 >= bytes.len() {
            return None;
        }
        if bytes[left_brace - 1] != b'$' {
            from = left_brace + 1;
            continue;
        }
        let name_start = left_brace + 1;
        for (i, &c) in bytes.iter().enumerate().skip(name_start) {
            match c {
                b'}' if i > name_start => return Some((name_start, i)),
                b'}' | b' ' | b'$' => {
                    from = i + 1;
                    continue 'search;
                }
                _ => {}
            }
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Source {
        env: BTreeMap<&'static str, &'static str>,
        props: BTreeMap<&'static str, &'static str>,
        keys: BTreeMap<&'static str, &'static str>,
    }

    impl VariableSource for Source {
        fn env(&self, name: &str) -> Option<String> {
            self.env.get(name).map(|v| v.to_string())
        }
        fn system_property(&self, name: &str) -> Option<String> {
            self.props.get(name).map(|v| v.to_string())
        }
        fn raw(&self, key: &str) -> Option<String> {
            self.keys.get(key).map(|v| v.to_string())
        }
    }

    fn source() -> Source {
        Source {
            env: [("HOME", "/home/hdfs"), ("EMPTY", "")].into(),
            props: [("user.name", "hdfs")].into(),
            keys: [
                ("hadoop.tmp.dir", "/tmp/hadoop-${user.name}"),
                ("a", "${b}"),
                ("b", "${a}"),
                ("self", "x${self}"),
                ("user.name", "from-config"),
            ]
            .into(),
        }
    }

    #[test]
    fn substitution_table() {
        let s = source();
        let cases = [
            ("plain", "plain"),
            ("${hadoop.tmp.dir}/dfs/name", "/tmp/hadoop-hdfs/dfs/name"),
            ("${env.HOME}/x", "/home/hdfs/x"),
            ("${env.MISSING:-/d}", "/d"),
            ("${env.EMPTY:-/d}", "/d"),
            ("${env.MISSING-/d}", "/d"),
            ("${env.EMPTY-/d}", ""),
            ("${env.HOME:-/d}", "/home/hdfs"),
            // Unresolved references stay as written, and stop further substitution.
            ("${unknown}", "${unknown}"),
            ("${unknown}/${env.HOME}", "${unknown}/${env.HOME}"),
            ("${env.MISSING}", "${env.MISSING}"),
            // Names cannot contain spaces or `$`; the innermost reference is found first.
            ("${a b}", "${a b}"),
            ("${x${env.HOME}}", "${x/home/hdfs}"),
            ("$", "$"),
            ("${}", "${}"),
            ("{env.HOME}", "{env.HOME}"),
            // A value containing its own reference yields the original expression.
            ("${self}", "${self}"),
            // System properties win over configuration keys of the same name.
            ("${user.name}", "hdfs"),
        ];
        for (expr, want) in cases {
            assert_eq!(substitute(expr, &s).unwrap(), want, "{expr}");
        }
    }

    #[test]
    fn a_cycle_hits_the_depth_limit() {
        let err = substitute("${a}", &source()).unwrap_err();
        assert_eq!(err.expr, "${a}");
        let err = substitute("<${b}>", &source()).unwrap_err();
        assert!(err.expr.starts_with('<'));
    }
}
