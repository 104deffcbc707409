//! Hadoop's permission checks (`FSPermissionChecker`, with `dfs.permissions.enabled`): who may
//! traverse, read, write and own which inode, with Hadoop's `AccessControlException` texts.
//!
//! A caller is a [`Subject`]: its user and groups (resolved by the NameNode, as Hadoop's
//! `ShellBasedUnixGroupsMapping` does, and cached). The NameNode's own user and the members of
//! `dfs.permissions.superusergroup` are superusers, whom nothing stops. Each call names what
//! it needs ([`Want`]) and the check walks the inodes along the path ([`Namespace::chain`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::namespace::{FileStatus, Namespace, NamespaceError, components};

/// One of Hadoop's `FsAction`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Execute,
    ReadExecute,
    All,
}

impl Access {
    fn bits(self) -> u16 {
        match self {
            Access::Read => 4,
            Access::Write => 2,
            Access::Execute => 1,
            Access::ReadExecute => 5,
            Access::All => 7,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Access::Read => "READ",
            Access::Write => "WRITE",
            Access::Execute => "EXECUTE",
            Access::ReadExecute => "READ_EXECUTE",
            Access::All => "ALL",
        }
    }
}

/// What a call needs besides traversing to its path (`checkPermission`'s arguments).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Want {
    /// On the closest existing ancestor of the path.
    pub ancestor: Option<Access>,
    /// `ancestor` only when the path does not exist yet (mkdirs of an existing directory
    /// only traverses).
    pub ancestor_if_new: bool,
    /// On the path's parent (with the sticky bit's rule when it is WRITE).
    pub parent: Option<Access>,
    /// On the path itself.
    pub access: Option<Access>,
    /// `access` only when the path is a directory (a listing of a file only traverses).
    pub access_if_dir: bool,
    /// On every directory at and under the path.
    pub sub: Option<Access>,
    /// `sub` skips empty directories.
    pub ignore_empty_dirs: bool,
    /// The caller must own the path.
    pub owner: bool,
}

impl Want {
    pub const TRAVERSE: Want = Want {
        ancestor: None,
        ancestor_if_new: false,
        parent: None,
        access: None,
        access_if_dir: false,
        sub: None,
        ignore_empty_dirs: false,
        owner: false,
    };
}

/// Who a call is checked as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub user: String,
    pub groups: Vec<String>,
    pub superuser: bool,
}

fn denied(message: String) -> NamespaceError {
    NamespaceError::new("AccessControlException", message)
}

/// `FsPermission.toString` with the type letter first: `drwxr-xr-x`, `-rw-r--r--`, and the
/// sticky bit as `t` (`T` without execute) in the others' execute place.
pub fn mode_string(status: &FileStatus) -> String {
    let mut out = String::with_capacity(10);
    out.push(if status.is_dir { 'd' } else { '-' });
    for shift in [6u16, 3, 0] {
        let bits = (status.permission >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        let execute = bits & 1 != 0;
        out.push(match (shift, status.permission & 0o1000 != 0, execute) {
            (0, true, true) => 't',
            (0, true, false) => 'T',
            (_, _, true) => 'x',
            _ => '-',
        });
    }
    out
}

impl Subject {
    /// A caller; a superuser when it is `nn_user` (the NameNode's own) or in `supergroup`.
    pub fn new(user: &str, groups: Vec<String>, nn_user: &str, supergroup: &str) -> Subject {
        let superuser = user == nn_user || groups.iter().any(|g| g == supergroup);
        Subject {
            user: user.to_string(),
            groups,
            superuser,
        }
    }

    /// A caller nothing is checked for (`dfs.permissions.enabled` is false).
    pub fn unchecked(user: &str) -> Subject {
        Subject {
            user: user.to_string(),
            groups: Vec::new(),
            superuser: true,
        }
    }

    fn permits(&self, status: &FileStatus, access: Access) -> bool {
        let shift = if status.owner == self.user {
            6
        } else if self.groups.contains(&status.group) {
            3
        } else {
            0
        };
        (status.permission >> shift) & access.bits() == access.bits()
    }

    fn check(&self, path: &str, status: &FileStatus, access: Access) -> Result<(), NamespaceError> {
        if self.superuser || self.permits(status, access) {
            return Ok(());
        }
        Err(denied(format!(
            "Permission denied: user={}, access={}, inode=\"{path}\":{}:{}:{}",
            self.user,
            access.name(),
            status.owner,
            status.group,
            mode_string(status)
        )))
    }

    /// `checkSuperuserPrivilege`.
    pub fn check_superuser(&self) -> Result<(), NamespaceError> {
        if self.superuser {
            return Ok(());
        }
        Err(denied(format!(
            "Access denied for user {}. Superuser privilege is required",
            self.user
        )))
    }

    /// Whether the caller may change a group to `group` (`isMemberOfGroup`).
    pub fn check_group_change(&self, group: &str) -> Result<(), NamespaceError> {
        if self.superuser || self.groups.iter().any(|g| g == group) {
            return Ok(());
        }
        Err(denied(format!(
            "User {} does not belong to {group}",
            self.user
        )))
    }

    /// Whether the caller may give a file to `owner`: only a superuser gives one away.
    pub fn check_owner_change(&self, owner: &str) -> Result<(), NamespaceError> {
        if self.superuser || owner == self.user {
            return Ok(());
        }
        Err(denied(format!(
            "User {} is not a super user (non-super user cannot change owner).",
            self.user
        )))
    }

    /// Checks what `want` names for `path`, after EXECUTE on every directory leading to it.
    pub fn check_path(&self, ns: &Namespace, path: &str, want: Want) -> Result<(), NamespaceError> {
        if self.superuser {
            return Ok(());
        }
        let depth = components(path)?.len();
        let chain = ns.chain(path)?;
        // The target exists when the chain reaches it; the closest existing ancestor is the
        // last inode before the target.
        let exists = chain.len() == depth + 1;
        // The closest existing ancestor (none for the root).
        let ancestor = match (depth, exists) {
            (0, _) => None,
            (_, true) => Some(chain.len() - 2),
            (_, false) => Some(chain.len() - 1),
        };
        if let Some(ancestor) = ancestor {
            if !chain[ancestor].1.is_dir {
                // A file in the way: the call itself refuses the path.
                return Ok(());
            }
            for (dir, status) in &chain[..=ancestor] {
                self.check(dir, status, Access::Execute)?;
            }
        }
        let target = exists.then(|| &chain[chain.len() - 1]);
        let parent = (depth > 0 && (exists || chain.len() == depth)).then(|| &chain[depth - 1]);
        if let (Some(Access::Write), Some(parent), Some(target)) = (want.parent, parent, target) {
            self.check_sticky_bit(parent, target)?;
        }
        if let (Some(access), Some(ancestor), false) =
            (want.ancestor, ancestor, want.ancestor_if_new && exists)
        {
            let (dir, status) = &chain[ancestor];
            self.check(dir, status, access)?;
        }
        if let (Some(access), Some((dir, status))) = (want.parent, parent) {
            self.check(dir, status, access)?;
        }
        if let (Some(access), Some((p, status))) = (want.access, target)
            && (status.is_dir || !want.access_if_dir)
        {
            self.check(p, status, access)?;
        }
        if let (Some(access), true) = (want.sub, exists) {
            for entry in ns.entries_under(path)? {
                let dir = &entry.status;
                if dir.is_dir && !(want.ignore_empty_dirs && dir.children_num == 0) {
                    self.check(&entry.path, dir, access)?;
                }
            }
        }
        if let (true, Some((p, status))) = (want.owner, target)
            && status.owner != self.user
        {
            return Err(denied(format!(
                "Permission denied. user={} is not the owner of inode={p}",
                self.user
            )));
        }
        Ok(())
    }

    /// `checkStickyBit`: in a sticky directory only the owner of the directory or of the
    /// inode may delete or rename it.
    fn check_sticky_bit(
        &self,
        (parent_path, parent): &(String, FileStatus),
        (path, target): &(String, FileStatus),
    ) -> Result<(), NamespaceError> {
        if parent.permission & 0o1000 == 0 || parent.owner == self.user || target.owner == self.user
        {
            return Ok(());
        }
        Err(denied(format!(
            "Permission denied by sticky bit: user={}, path=\"{path}\":{}:{}:{}, parent=\"{parent_path}\":{}:{}:{}",
            self.user,
            target.owner,
            target.group,
            mode_string(target),
            parent.owner,
            parent.group,
            mode_string(parent)
        )))
    }
}

/// The groups of users as the operating system lists them (`id -Gn <user>`, Hadoop's
/// `ShellBasedUnixGroupsMapping`), kept for `hadoop.security.groups.cache.secs`. A user the
/// system does not know has no groups.
#[derive(Debug)]
pub struct Groups {
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl Groups {
    pub fn new(ttl: Duration) -> Groups {
        Groups {
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The groups of `user`; a miss runs `id` without holding a runtime worker.
    pub async fn of(&self, user: &str) -> Vec<String> {
        let now = Instant::now();
        if let Some((at, groups)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            && now.duration_since(*at) < self.ttl
        {
            return groups.clone();
        }
        let groups: Vec<String> = tokio::process::Command::new("id")
            .args(["-Gn", "--", user])
            .output()
            .await
            .ok()
            .filter(|out| out.status.success())
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user.to_string(), (now, groups.clone()));
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::namenode::namespace::Writer;
    use crate::namenode::ops::Attributes;

    fn attrs(owner: &str, permission: u16) -> Attributes {
        Attributes {
            permission,
            owner: owner.into(),
            group: "staff".into(),
            mtime: 1,
        }
    }

    fn apply(ns: &mut Namespace, ops: Vec<crate::namenode::ops::EditOp>) {
        for op in ops {
            ns.apply(&op).unwrap();
        }
    }

    /// `/` (hdfs, 755) ⊃ `/home` (alice 750) ⊃ `/home/f` (alice 640); `/tmp` (hdfs 1777) ⊃
    /// `/tmp/a` (alice 644).
    fn tree() -> Namespace {
        let mut ns = Namespace::new(&attrs("hdfs", 0o755));
        let ops = ns
            .plan_mkdirs("/home", &attrs("alice", 0o750), false)
            .unwrap();
        apply(&mut ns, ops);
        let ops = ns
            .plan_mkdirs("/tmp", &attrs("hdfs", 0o1777), false)
            .unwrap();
        apply(&mut ns, ops);
        let writer = Writer {
            name: "DFSClient_t",
            machine: "127.0.0.1",
        };
        for (path, permission) in [("/home/f", 0o640), ("/tmp/a", 0o644)] {
            let ops = ns
                .plan_create(
                    path,
                    &attrs("alice", permission),
                    false,
                    false,
                    1,
                    0,
                    1,
                    writer,
                )
                .unwrap();
            apply(&mut ns, ops);
        }
        ns
    }

    fn subject(user: &str, groups: &[&str]) -> Subject {
        let groups = groups.iter().map(|g| g.to_string()).collect();
        Subject::new(user, groups, "hdfs", "supergroup")
    }

    fn message(result: Result<(), NamespaceError>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.class, "AccessControlException");
        err.message
    }

    #[test]
    fn modes_print_as_hadoop_prints_them() {
        let ns = tree();
        let status = |p: &str| ns.get_file_info(p).unwrap().unwrap();
        assert_eq!(mode_string(&status("/home")), "drwxr-x---");
        assert_eq!(mode_string(&status("/tmp")), "drwxrwxrwt");
        assert_eq!(mode_string(&status("/home/f")), "-rw-r-----");
        let mut sticky_no_x = status("/tmp");
        sticky_no_x.permission = 0o1776;
        assert_eq!(mode_string(&sticky_no_x), "drwxrwxrwT");
    }

    #[test]
    fn owner_group_and_other_bits_decide_and_a_superuser_is_never_stopped() {
        let ns = tree();
        let read = Want {
            access: Some(Access::Read),
            ..Want::TRAVERSE
        };
        subject("alice", &[])
            .check_path(&ns, "/home/f", read)
            .unwrap();
        subject("bob", &["staff"])
            .check_path(&ns, "/home/f", read)
            .unwrap();
        // Others may not traverse /home.
        assert_eq!(
            message(subject("carol", &[]).check_path(&ns, "/home/f", read)),
            "Permission denied: user=carol, access=EXECUTE, inode=\"/home\":alice:staff:drwxr-x---"
        );
        let write = Want {
            access: Some(Access::Write),
            ..Want::TRAVERSE
        };
        assert_eq!(
            message(subject("bob", &["staff"]).check_path(&ns, "/home/f", write)),
            "Permission denied: user=bob, access=WRITE, inode=\"/home/f\":alice:staff:-rw-r-----"
        );
        subject("hdfs", &[])
            .check_path(&ns, "/home/f", write)
            .unwrap();
        subject("ops", &["supergroup"])
            .check_path(&ns, "/home/f", write)
            .unwrap();
        Subject::unchecked("carol")
            .check_path(&ns, "/home/f", write)
            .unwrap();
    }

    #[test]
    fn conditional_checks_apply_only_to_new_paths_or_directories() {
        let ns = tree();
        let mkdirs = Want {
            ancestor: Some(Access::Write),
            ancestor_if_new: true,
            ..Want::TRAVERSE
        };
        // /tmp exists: only traversed; a new path under / needs WRITE on /.
        subject("bob", &[]).check_path(&ns, "/tmp", mkdirs).unwrap();
        assert!(subject("bob", &[]).check_path(&ns, "/new", mkdirs).is_err());
        let list = Want {
            access: Some(Access::ReadExecute),
            access_if_dir: true,
            ..Want::TRAVERSE
        };
        // A file's listing only traverses (carol has no EXECUTE on /tmp/a, 644); without the
        // condition it would need READ_EXECUTE on the file.
        subject("carol", &[])
            .check_path(&ns, "/tmp/a", list)
            .unwrap();
        let strict = Want {
            access_if_dir: false,
            ..list
        };
        assert!(
            subject("carol", &[])
                .check_path(&ns, "/tmp/a", strict)
                .is_err()
        );
        assert!(
            subject("carol", &[])
                .check_path(&ns, "/home", list)
                .is_err()
        );
    }

    #[test]
    fn the_root_is_checked_without_ancestors() {
        let ns = tree();
        let list = Want {
            access: Some(Access::ReadExecute),
            ..Want::TRAVERSE
        };
        subject("bob", &[]).check_path(&ns, "/", list).unwrap();
        let write = Want {
            access: Some(Access::Write),
            ancestor: Some(Access::Write),
            parent: Some(Access::Write),
            ..Want::TRAVERSE
        };
        assert_eq!(
            message(subject("bob", &[]).check_path(&ns, "/", write)),
            "Permission denied: user=bob, access=WRITE, inode=\"/\":hdfs:staff:drwxr-xr-x"
        );
    }

    #[test]
    fn a_new_path_needs_write_on_its_closest_existing_ancestor() {
        let ns = tree();
        let create = Want {
            ancestor: Some(Access::Write),
            ..Want::TRAVERSE
        };
        subject("alice", &[])
            .check_path(&ns, "/home/new/deeper", create)
            .unwrap();
        assert_eq!(
            message(subject("bob", &["staff"]).check_path(&ns, "/home/new/deeper", create)),
            "Permission denied: user=bob, access=WRITE, inode=\"/home\":alice:staff:drwxr-x---"
        );
        assert_eq!(
            message(subject("bob", &[]).check_path(&ns, "/x", create)),
            "Permission denied: user=bob, access=WRITE, inode=\"/\":hdfs:staff:drwxr-xr-x"
        );
    }

    #[test]
    fn the_sticky_bit_keeps_others_from_deleting_and_delete_needs_all_below() {
        let ns = tree();
        let delete = Want {
            parent: Some(Access::Write),
            sub: Some(Access::All),
            ignore_empty_dirs: true,
            ..Want::TRAVERSE
        };
        subject("alice", &[])
            .check_path(&ns, "/tmp/a", delete)
            .unwrap();
        assert_eq!(
            message(subject("bob", &[]).check_path(&ns, "/tmp/a", delete)),
            "Permission denied by sticky bit: user=bob, path=\"/tmp/a\":alice:staff:-rw-r--r--, parent=\"/tmp\":hdfs:staff:drwxrwxrwt"
        );
        // Deleting /home needs WRITE on / and ALL on every non-empty directory under it.
        assert_eq!(
            message(subject("alice", &[]).check_path(&ns, "/home", delete)),
            "Permission denied: user=alice, access=WRITE, inode=\"/\":hdfs:staff:drwxr-xr-x"
        );
    }

    #[test]
    fn owners_superusers_and_group_members_change_attributes() {
        let ns = tree();
        let owner = Want {
            owner: true,
            ..Want::TRAVERSE
        };
        subject("alice", &[])
            .check_path(&ns, "/tmp/a", owner)
            .unwrap();
        assert_eq!(
            message(subject("bob", &[]).check_path(&ns, "/tmp/a", owner)),
            "Permission denied. user=bob is not the owner of inode=/tmp/a"
        );
        let alice = subject("alice", &["staff", "eng"]);
        alice.check_group_change("eng").unwrap();
        assert_eq!(
            message(alice.check_group_change("ops")),
            "User alice does not belong to ops"
        );
        alice.check_owner_change("alice").unwrap();
        assert_eq!(
            message(alice.check_owner_change("bob")),
            "User alice is not a super user (non-super user cannot change owner)."
        );
        assert_eq!(
            message(alice.check_superuser()),
            "Access denied for user alice. Superuser privilege is required"
        );
        subject("hdfs", &[]).check_superuser().unwrap();
    }

    #[test]
    fn groups_come_from_the_system_and_an_unknown_user_has_none() {
        let groups = Groups::new(Duration::from_secs(300));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert!(!runtime.block_on(groups.of("root")).is_empty());
        assert_eq!(
            runtime.block_on(groups.of("no-such-user-hdfs-ha")),
            Vec::<String>::new()
        );
    }
}
