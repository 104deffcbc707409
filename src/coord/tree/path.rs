//! Path rules: ZooKeeper's `PathUtils.validatePath`, splitting and joining paths.

use super::*;

/// Bytes of znode data (null counts as empty, as in ZooKeeper's Stat).
pub fn data_len(data: &Option<Vec<u8>>) -> usize {
    data.as_ref().map_or(0, Vec::len)
}

/// `(parent, name)` of a valid non-root path.
pub fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// `parent` + `/` + `name`.
pub fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// ZooKeeper's `PathUtils.validatePath`.
pub fn validate_path(path: &str) -> Result<(), Code> {
    let bad = Err(Code::BadArguments);
    if path.is_empty() || !path.starts_with('/') {
        return bad;
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return bad;
    }
    for component in path[1..].split('/') {
        if component.is_empty() || component == "." || component == ".." {
            return bad;
        }
    }
    for c in path.chars() {
        let u = c as u32;
        if u == 0
            || (0x01..=0x1f).contains(&u)
            || (0x7f..=0x9f).contains(&u)
            || (0xd800..=0xf8ff).contains(&u)
            || (0xfff0..=0xffff).contains(&u)
        {
            return bad;
        }
    }
    Ok(())
}
