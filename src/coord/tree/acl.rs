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

/// Whether `auth` holds `perm` on a node with `acl` (`PrepRequestProcessor.checkACL`).
pub fn check_acl(acl: &[Acl], perm: i32, auth: &AuthInfo) -> Result<(), Code> {
    if auth.is_super || acl.is_empty() {
        return Ok(());
    }
    for entry in acl {
        if entry.perms & perm == 0 {
            continue;
        }
        let granted = match entry.id.scheme.as_str() {
            "world" => entry.id.id == "anyone",
            "digest" | "x509" | "sasl" => auth
                .ids
                .iter()
                .any(|i| i.scheme == entry.id.scheme && i.id == entry.id.id),
            "ip" => auth
                .ids
                .iter()
                .any(|i| i.scheme == "ip" && ip_matches(&entry.id.id, &i.id)),
            _ => false,
        };
        if granted {
            return Ok(());
        }
    }
    Err(Code::NoAuth)
}

/// `ip:addr[/bits]` against a client address.
fn ip_matches(pattern: &str, client: &str) -> bool {
    let (addr, bits) = match pattern.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (pattern, None),
    };
    let (Ok(want), Ok(have)) = (
        addr.parse::<std::net::IpAddr>(),
        client.parse::<std::net::IpAddr>(),
    ) else {
        return false;
    };
    let (want, have, width) = match (want, have) {
        (std::net::IpAddr::V4(w), std::net::IpAddr::V4(h)) => {
            (u128::from(u32::from(w)), u128::from(u32::from(h)), 32)
        }
        (std::net::IpAddr::V6(w), std::net::IpAddr::V6(h)) => (u128::from(w), u128::from(h), 128),
        _ => return false,
    };
    let bits = bits.unwrap_or(width).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (want >> shift) == (have >> shift)
}

fn valid_ip_pattern(id: &str) -> bool {
    let (addr, bits) = match id.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (id, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    let width = if ip.is_ipv4() { 32 } else { 128 };
    bits.is_none_or(|b| b.parse::<u32>().is_ok_and(|b| b <= width))
}

/// ZooKeeper's ACL fixup on create/setACL: validates each entry, expands `auth` into the
/// connection's authenticated ids, removes duplicates.
pub fn fixup_acl(acl: &[Acl], auth: &AuthInfo) -> Result<Vec<Acl>, Code> {
    if acl.is_empty() {
        return Err(Code::InvalidAcl);
    }
    let mut out: Vec<Acl> = Vec::new();
    let mut push = |a: Acl| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    for entry in acl {
        match entry.id.scheme.as_str() {
            "world" => {
                if entry.id.id != "anyone" {
                    return Err(Code::InvalidAcl);
                }
                push(entry.clone());
            }
            "auth" => {
                let mut any = false;
                for id in auth.ids.iter().filter(|i| i.scheme != "ip") {
                    any = true;
                    push(Acl {
                        perms: entry.perms,
                        id: id.clone(),
                    });
                }
                if !any {
                    return Err(Code::InvalidAcl);
                }
            }
            "digest" => {
                if entry.id.id.split(':').count() != 2 {
                    return Err(Code::InvalidAcl);
                }
                push(entry.clone());
            }
            "ip" => {
                if !valid_ip_pattern(&entry.id.id) {
                    return Err(Code::InvalidAcl);
                }
                push(entry.clone());
            }
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
