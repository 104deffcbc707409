//! ACL rules: digest ids, permission checks by scheme (`world`, `auth`, `digest`, `ip`,
//! super), the `auth` scheme's expansion on create and setAcl, and masked digests.

use super::*;

/// The `digest` id for a clear-text `user:password` (`user:BASE64(SHA1(user:password))`).
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

impl AuthInfo {
    /// Adds an id as Apache's connection keeps them: a set, iterated in its
    /// `ConcurrentHashMap`'s order (hash bucket, then insertion; exact up to 11 ids). whoami
    /// lists the ids, and `auth` expands to them, in this order.
    pub fn add(&mut self, id: Id) {
        if self.ids.contains(&id) {
            return;
        }
        self.ids.push(id);
        let mut buckets = 16;
        while self.ids.len() >= buckets * 3 / 4 {
            buckets *= 2;
        }
        self.ids.sort_by_key(|i| java_bucket(i, buckets));
    }
}

/// The bucket of a jute `Id` in a Java `ConcurrentHashMap` of `buckets` slots: the record's
/// generated `hashCode` (17, then 37·h + each field's `String.hashCode`), spread as
/// `ConcurrentHashMap.spread` does.
fn java_bucket(id: &Id, buckets: usize) -> usize {
    let string_hash = |s: &str| {
        s.encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
    };
    let h = 37i32
        .wrapping_mul(37i32.wrapping_mul(17).wrapping_add(string_hash(&id.scheme)))
        .wrapping_add(string_hash(&id.id));
    let spread = (h ^ ((h as u32) >> 16) as i32) & 0x7fff_ffff;
    spread as usize & (buckets - 1)
}

/// Whether `auth` holds `perm` on a node with `acl` (`ZooKeeperServer.checkACL`): only the
/// providers Apache registers by default judge ids (`ip`, and `digest` unless disabled); an
/// entry of any other scheme grants nothing.
pub fn check_acl(acl: &[Acl], perm: i32, auth: &AuthInfo) -> Result<(), Code> {
    if auth.rules.skip_acl || acl.is_empty() || auth.is_super {
        return Ok(());
    }
    for entry in acl {
        if entry.perms & perm == 0 {
            continue;
        }
        let scheme = entry.id.scheme.as_str();
        if scheme == "world" && entry.id.id == "anyone" {
            return Ok(());
        }
        let held = |matches: &dyn Fn(&str) -> bool| {
            auth.ids
                .iter()
                .any(|i| i.scheme == scheme && matches(&i.id))
        };
        let granted = match scheme {
            "digest" if !auth.rules.digest_disabled => held(&|id| id == entry.id.id),
            "ip" => held(&|id| ip_matches(&entry.id.id, id)),
            _ => false,
        };
        if granted {
            return Ok(());
        }
    }
    Err(Code::NoAuth)
}

/// An `ip` ACL expression (`addr[/bits]`, IPv4 only in ZooKeeper 3.8) as address and mask
/// width; `None` where Apache's `IPAuthenticationProvider.isValid` says no.
fn ip_pattern(expr: &str) -> Option<(u32, u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let addr = ipv4(addr)?;
    let bits = match bits {
        Some(b) => java_parse_int(b).filter(|b| (0..=32).contains(b))? as u32,
        None => 32,
    };
    Some((addr, bits))
}

/// A dotted quad as Apache reads one: exactly four parts, each an `Integer.parseInt` in 0..=255
/// (so `010` and `+1` are accepted, as they are there).
fn ipv4(addr: &str) -> Option<u32> {
    let mut out = 0u32;
    let mut parts = 0;
    for part in addr.split('.') {
        let v = java_parse_int(part).filter(|v| (0..=255).contains(v))?;
        out = (out << 8) | v as u32;
        parts += 1;
    }
    (parts == 4).then_some(out)
}

/// Java's `Integer.parseInt`: an optional sign, then ASCII digits.
fn java_parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i32>().ok().map(i64::from)
}

/// `ip:addr[/bits]` against a client address (`IPAuthenticationProvider.matches`).
fn ip_matches(pattern: &str, client: &str) -> bool {
    let (Some((want, bits)), Some(have)) = (ip_pattern(pattern), ipv4(client)) else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    want & mask == have & mask
}

/// Java's `String.split(":")` count: trailing empty parts are dropped.
fn java_split_count(s: &str, sep: char) -> usize {
    let parts: Vec<&str> = s.split(sep).collect();
    let kept = parts
        .iter()
        .rposition(|p| !p.is_empty())
        .map_or(0, |i| i + 1);
    // Java returns [""] for an empty string: one part.
    if s.is_empty() { 1 } else { kept }
}

/// ZooKeeper's ACL fixup on create/setACL (`PrepRequestProcessor.fixupACL`): duplicates are
/// removed first, then each entry is validated by its provider and `auth` is expanded into
/// the connection's authenticated ids (which may repeat an entry, as in Apache).
pub fn fixup_acl(acl: &[Acl], auth: &AuthInfo) -> Result<Vec<Acl>, Code> {
    let mut unique: Vec<&Acl> = Vec::new();
    for entry in acl {
        if !unique.contains(&entry) {
            unique.push(entry);
        }
    }
    if unique.is_empty() {
        return Err(Code::InvalidAcl);
    }
    let digest = !auth.rules.digest_disabled;
    let mut out = Vec::new();
    for entry in unique {
        match entry.id.scheme.as_str() {
            "world" if entry.id.id == "anyone" => out.push(entry.clone()),
            "auth" => {
                // Only authenticated providers' ids count: digest, never ip.
                let ids: Vec<&Id> = auth
                    .ids
                    .iter()
                    .filter(|i| digest && i.scheme == "digest")
                    .collect();
                if ids.is_empty() {
                    return Err(Code::InvalidAcl);
                }
                out.extend(ids.into_iter().map(|id| Acl {
                    perms: entry.perms,
                    id: id.clone(),
                }));
            }
            "digest" if digest && java_split_count(&entry.id.id, ':') == 2 => {
                out.push(entry.clone())
            }
            "ip" if ip_pattern(&entry.id.id).is_some() => out.push(entry.clone()),
            _ => return Err(Code::InvalidAcl),
        }
    }
    Ok(out)
}

/// getACL without ADMIN: digest hashes are masked (`user:x`).
pub fn mask_digests(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            let mut a = a.clone();
            if a.id.scheme == "digest" {
                let user = a.id.id.split(':').next().unwrap_or("").to_string();
                a.id.id = format!("{user}:x");
            }
            a
        })
        .collect()
}
