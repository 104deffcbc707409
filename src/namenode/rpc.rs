//! The NameNode's ClientNamenodeProtocol service (over IPC, see [`super::protocol`]), the one
//! conversion of NameNode errors to IPC exceptions (Hadoop's class and message), and the
//! upload of a checkpoint to the active NameNode.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::conf::NameNodeConf;
use super::namespace::{ContentSummary, FileStatus, Namespace, NamespaceError, Writer};
use super::ops::CallId;
use super::permission::{Access, Groups, Subject, Want};
use super::protocol::ClientProtocol;
use super::retry_cache::CachedAnswer;
use super::server::{Category, HaState, NameNode, NnError};
use super::storage::NamespaceIdentity;
use crate::host::{current_user, host_name};
use crate::ipc::RemoteException;
use crate::ipc::server::{CallIds, Caller};
use crate::proto::hadoop_client as pb;
use crate::proto::hadoop_client::StorageTypeProto as StorageType;

/// The single conversion of NameNode errors to the exceptions IPC answers carry.
impl From<NnError> for RemoteException {
    fn from(err: NnError) -> Self {
        RemoteException::new(&err.class, err.message)
    }
}

/// The retry-cache key of a call: the ids in its IPC header (a call without a client id is
/// not cached, as Hadoop's `RetryCache` skips it).
fn call_id(ids: &CallIds) -> Option<CallId> {
    (!ids.client_id.is_empty()).then(|| CallId {
        client_id: ids.client_id.to_vec(),
        call_id: ids.call_id,
    })
}

fn user_of(user: &str) -> String {
    if user.is_empty() {
        "hdfs".to_string()
    } else {
        user.to_string()
    }
}

/// `CreateFlagProto.OVERWRITE`.
const CREATE_FLAG_OVERWRITE: u32 = 2;

/// An inode as Hadoop's `HdfsFileStatusProto` carries it, under `name` (a listing's local
/// name; empty from `getFileInfo` and `create`, as Hadoop answers).
pub fn status_proto(s: &FileStatus, name: &str) -> pb::HdfsFileStatusProto {
    use pb::hdfs_file_status_proto::FileType;
    pb::HdfsFileStatusProto {
        file_type: if s.is_dir {
            FileType::IsDir
        } else {
            FileType::IsFile
        } as i32,
        path: name.as_bytes().to_vec(),
        length: s.length,
        permission: pb::FsPermissionProto {
            perm: u32::from(s.permission),
        },
        owner: s.owner.clone(),
        group: s.group.clone(),
        modification_time: s.mtime,
        access_time: s.atime,
        block_replication: Some(u32::from(s.replication)),
        blocksize: Some(s.block_size),
        file_id: Some(s.file_id),
        children_num: Some(s.children_num),
        storage_policy: Some(0),
        flags: Some(0),
        ..Default::default()
    }
}

/// A file's block locations: none of its blocks is on a DataNode.
fn no_locations(s: &FileStatus) -> pb::LocatedBlocksProto {
    pb::LocatedBlocksProto {
        file_length: s.length,
        blocks: Vec::new(),
        under_construction: false,
        last_block: None,
        is_last_block_complete: true,
        file_encryption_info: None,
        ec_policy: None,
    }
}

fn no_such_file(path: &str) -> NnError {
    NnError::new(
        "FileNotFoundException",
        format!("File does not exist: {path}"),
    )
}

/// ClientNamenodeProtocol's handlers, served over IPC (see [`super::protocol`]).
pub struct ClientService {
    pub nn: Arc<NameNode>,
    /// The NameNode's own user: a superuser.
    nn_user: String,
    groups: Groups,
    /// Safe mode, entered by hand (`setSafeMode`): every change is refused until it is left.
    /// Off at start: with no blocks there is nothing to wait for. Each NameNode has its own.
    safe_mode: AtomicBool,
}

/// What a call needs of its path besides traversing to it.
fn want(f: impl FnOnce(&mut Want)) -> Want {
    let mut want = Want::TRAVERSE;
    f(&mut want);
    want
}

impl ClientService {
    pub fn new(nn: Arc<NameNode>) -> ClientService {
        let groups = Groups::new(nn.conf().groups_cache);
        ClientService {
            nn,
            nn_user: current_user(),
            groups,
            safe_mode: AtomicBool::new(false),
        }
    }

    /// `checkNameNodeSafeMode`: refuses a change (`what` says which, as Hadoop's message
    /// does) while in safe mode.
    fn refuse_in_safe_mode(&self, what: impl FnOnce() -> String) -> Result<(), NamespaceError> {
        if !self.safe_mode.load(Ordering::Acquire) {
            return Ok(());
        }
        Err(NamespaceError::new(
            "SafeModeException",
            format!(
                "{}. Name node is in safe mode.\nIt was turned on manually. Use \"hdfs dfsadmin -safemode leave\" to turn safe mode off. NamenodeHostName:{}",
                what(),
                host_name()
            ),
        ))
    }

    /// Who `caller` is to permission checks.
    async fn subject(&self, caller: &Caller) -> Subject {
        let user = user_of(&caller.user);
        let conf = self.nn.conf();
        if !conf.permissions_enabled {
            return Subject::unchecked(&user);
        }
        Subject::new(
            &user,
            self.groups.of(&user).await,
            &self.nn_user,
            &conf.supergroup,
        )
    }

    /// The file a create answered.
    async fn answered_file(
        &self,
        answer: CachedAnswer,
        path: &str,
    ) -> Result<Option<pb::HdfsFileStatusProto>, NnError> {
        let status = match answer {
            CachedAnswer::File(Some(s)) => Some(s),
            _ => self.nn.status_of(path).await?,
        };
        Ok(status.as_ref().map(|s| status_proto(s, "")))
    }

    /// The status of an existing file, or Hadoop's FileNotFoundException.
    async fn existing_file(&self, path: &str) -> Result<FileStatus, NnError> {
        match self.nn.status_of(path).await? {
            Some(status) if !status.is_dir => Ok(status),
            _ => Err(no_such_file(path)),
        }
    }

    /// As [`ClientService::checked_status`], for a path that must be a file.
    async fn checked_file(
        &self,
        caller: &Caller,
        path: &str,
        want: Want,
    ) -> Result<FileStatus, NnError> {
        match self.checked_status(caller, path, want).await? {
            Some(status) if !status.is_dir => Ok(status),
            _ => Err(no_such_file(path)),
        }
    }

    /// What is under `path` once `caller` may read every directory there
    /// (`getContentSummary`, `getQuotaUsage`).
    async fn checked_summary(
        &self,
        caller: &Caller,
        path: &str,
    ) -> Result<ContentSummary, NnError> {
        let subject = self.subject(caller).await;
        let check = want(|w| w.sub = Some(Access::ReadExecute));
        self.nn
            .read(|ns| {
                subject.check_path(ns, path, check)?;
                ns.content_summary(path)
            })
            .await
    }

    /// The status of `path` (`None` when it does not exist) once `caller` passed `want`.
    async fn checked_status(
        &self,
        caller: &Caller,
        path: &str,
        want: Want,
    ) -> Result<Option<FileStatus>, NnError> {
        let subject = self.subject(caller).await;
        self.nn
            .read(|ns| {
                subject.check_path(ns, path, want)?;
                ns.get_file_info(path)
            })
            .await
    }
}

/// The policy every path has here, HOT (`HdfsConstants.HOT_STORAGE_POLICY_ID`): no policy
/// is ever set.
const DEFAULT_STORAGE_POLICY: u32 = 7;

/// Hadoop's default block storage policies (`BlockStoragePolicySuite.createDefaultSuite`) in
/// id order, as `getStoragePolicies` lists them: id, name, storage types, creation
/// fallbacks, replication fallbacks.
const STORAGE_POLICIES: [Policy; 7] = {
    use StorageType::{Archive, Disk, Provided, RamDisk, Ssd};
    [
        (
            1,
            "PROVIDED",
            &[Provided, Disk],
            &[Provided, Disk],
            &[Provided, Disk],
        ),
        (2, "COLD", &[Archive], &[], &[]),
        (
            5,
            "WARM",
            &[Disk, Archive],
            &[Disk, Archive],
            &[Disk, Archive],
        ),
        (7, "HOT", &[Disk], &[], &[Archive]),
        (10, "ONE_SSD", &[Ssd, Disk], &[Ssd, Disk], &[Ssd, Disk]),
        (12, "ALL_SSD", &[Ssd], &[Disk], &[Disk]),
        (15, "LAZY_PERSIST", &[RamDisk, Disk], &[Disk], &[Disk]),
    ]
};

/// A storage policy: id, name, storage types, creation and replication fallbacks.
type Policy = (
    u32,
    &'static str,
    &'static [StorageType],
    &'static [StorageType],
    &'static [StorageType],
);

/// A policy as `PBHelperClient.convert` sends it: an empty fallback list is left out.
fn policy_proto(&(id, name, types, creation, replication): &Policy) -> pb::BlockStoragePolicyProto {
    let list = |types: &[StorageType]| pb::StorageTypesProto {
        storage_types: types.iter().map(|&t| t as i32).collect(),
    };
    let optional = |types: &[StorageType]| (!types.is_empty()).then(|| list(types));
    pb::BlockStoragePolicyProto {
        policy_id: id,
        name: name.to_string(),
        creation_policy: list(types),
        creation_fallback_policy: optional(creation),
        replication_fallback_policy: optional(replication),
    }
}

/// A rename's checks (`FSDirRenameOp`): WRITE on the source's parent (and its sticky bit),
/// WRITE on the destination's closest existing ancestor.
fn check_rename(
    subject: &Subject,
    ns: &Namespace,
    src: &str,
    dst: &str,
) -> Result<(), NamespaceError> {
    subject.check_path(ns, src, want(|w| w.parent = Some(Access::Write)))?;
    subject.check_path(ns, dst, want(|w| w.ancestor = Some(Access::Write)))
}

fn answered_bool(answer: CachedAnswer) -> bool {
    matches!(answer, CachedAnswer::Bool(true) | CachedAnswer::File(_))
}

impl ClientProtocol for ClientService {
    async fn get_block_locations(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetBlockLocationsRequestProto,
    ) -> Result<pb::GetBlockLocationsResponseProto, RemoteException> {
        let read = want(|w| w.access = Some(Access::Read));
        let status = self.checked_file(caller, &r.src, read).await?;
        Ok(pb::GetBlockLocationsResponseProto {
            locations: Some(no_locations(&status)),
        })
    }

    async fn get_server_defaults(
        &self,
        _: &Caller,
        _: &CallIds,
        _: pb::GetServerDefaultsRequestProto,
    ) -> Result<pb::GetServerDefaultsResponseProto, RemoteException> {
        self.nn.check(Category::Read)?;
        let d = &self.nn.conf().server_defaults;
        Ok(pb::GetServerDefaultsResponseProto {
            server_defaults: pb::FsServerDefaultsProto {
                block_size: d.block_size,
                bytes_per_checksum: d.bytes_per_checksum,
                write_packet_size: d.write_packet_size,
                replication: d.replication,
                file_buffer_size: d.file_buffer_size,
                encrypt_data_transfer: Some(false),
                trash_interval: Some(d.trash_interval),
                checksum_type: Some(pb::ChecksumTypeProto::ChecksumCrc32c as i32),
                key_provider_uri: Some(String::new()),
                policy_id: Some(DEFAULT_STORAGE_POLICY),
            },
        })
    }

    async fn create(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::CreateRequestProto,
    ) -> Result<pb::CreateResponseProto, RemoteException> {
        let machine = caller.address.to_string();
        let attrs = self
            .nn
            .attributes(&user_of(&caller.user), (r.masked.perm & 0o7777) as u16);
        let replication = r.replication.clamp(1, u32::from(u16::MAX)) as u16;
        let block_size = if r.block_size == 0 {
            self.nn.conf().server_defaults.block_size
        } else {
            r.block_size
        };
        let writer = Writer {
            name: &r.client_name,
            machine: &machine,
        };
        let overwrite = r.create_flag & CREATE_FLAG_OVERWRITE != 0;
        let subject = self.subject(caller).await;
        let check = want(|w| {
            w.ancestor = Some(Access::Write);
            // Replacing a file needs WRITE on it too.
            w.access = overwrite.then_some(Access::Write);
        });
        let answer = self
            .nn
            .mutate(
                call_id(ids),
                |ns| {
                    self.refuse_in_safe_mode(|| format!("Cannot create file{}", r.src))?;
                    subject.check_path(ns, &r.src, check)?;
                    ns.plan_create(
                        &r.src,
                        &attrs,
                        overwrite,
                        r.create_parent,
                        replication,
                        0,
                        block_size,
                        writer,
                    )
                },
                NameNode::file_after,
            )
            .await?;
        Ok(pb::CreateResponseProto {
            fs: self.answered_file(answer, &r.src).await?,
        })
    }

    async fn set_replication(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::SetReplicationRequestProto,
    ) -> Result<pb::SetReplicationResponseProto, RemoteException> {
        let (min, max) = self.nn.conf().replication_range;
        if r.replication > max {
            return Err(RemoteException::new(
                "IOException",
                format!(
                    "Requested replication factor of {} exceeds maximum of {max} for {}",
                    r.replication, r.src
                ),
            ));
        }
        if r.replication < min {
            return Err(RemoteException::new(
                "IOException",
                format!(
                    "Requested replication factor of {} is less than the required minimum of {min} for {}",
                    r.replication, r.src
                ),
            ));
        }
        let subject = self.subject(caller).await;
        let write = want(|w| w.access = Some(Access::Write));
        let answer = self
            .nn
            .mutate(
                // Idempotent (Hadoop's @Idempotent): not kept in the retry cache.
                None,
                |ns| {
                    self.refuse_in_safe_mode(|| format!("Cannot set replication for {}", r.src))?;
                    subject.check_path(ns, &r.src, write)?;
                    ns.plan_set_replication(&r.src, r.replication as u16)
                        .map(|op| op.into_iter().collect())
                },
                |_, ops| CachedAnswer::Bool(!ops.is_empty()),
            )
            .await?;
        Ok(pb::SetReplicationResponseProto {
            result: answered_bool(answer),
        })
    }

    async fn set_permission(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::SetPermissionRequestProto,
    ) -> Result<pb::SetPermissionResponseProto, RemoteException> {
        let permission = (r.permission.perm & 0o7777) as u16;
        let subject = self.subject(caller).await;
        self.nn
            .mutate(
                // Idempotent (Hadoop's @Idempotent): not kept in the retry cache.
                None,
                |ns| {
                    self.refuse_in_safe_mode(|| format!("Cannot set permission for {}", r.src))?;
                    subject.check_path(ns, &r.src, want(|w| w.owner = true))?;
                    Ok(vec![ns.plan_set_permission(&r.src, permission)?])
                },
                |_, _| CachedAnswer::Bool(true),
            )
            .await?;
        Ok(pb::SetPermissionResponseProto {})
    }

    async fn set_owner(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::SetOwnerRequestProto,
    ) -> Result<pb::SetOwnerResponseProto, RemoteException> {
        let subject = self.subject(caller).await;
        self.nn
            .mutate(
                // Idempotent (Hadoop's @Idempotent): not kept in the retry cache.
                None,
                |ns| {
                    self.refuse_in_safe_mode(|| format!("Cannot set owner for {}", r.src))?;
                    subject.check_path(ns, &r.src, want(|w| w.owner = true))?;
                    if let Some(owner) = r.username.as_deref() {
                        subject.check_owner_change(owner)?;
                    }
                    if let Some(group) = r.groupname.as_deref() {
                        subject.check_group_change(group)?;
                    }
                    Ok(vec![ns.plan_set_owner(
                        &r.src,
                        r.username.as_deref(),
                        r.groupname.as_deref(),
                    )?])
                },
                |_, _| CachedAnswer::Bool(true),
            )
            .await?;
        Ok(pb::SetOwnerResponseProto {})
    }

    async fn add_block(
        &self,
        _: &Caller,
        _: &CallIds,
        r: pb::AddBlockRequestProto,
    ) -> Result<pb::AddBlockResponseProto, RemoteException> {
        self.nn.check(Category::Write)?;
        Err(RemoteException::new(
            "IOException",
            format!(
                "Cannot add a block to {}: this NameNode keeps a namespace only, with no blocks and no DataNodes",
                r.src
            ),
        ))
    }

    async fn abandon_block(
        &self,
        _: &Caller,
        _: &CallIds,
        r: pb::AbandonBlockRequestProto,
    ) -> Result<pb::AbandonBlockResponseProto, RemoteException> {
        self.nn.check(Category::Write)?;
        // No block was ever handed out: there is nothing to abandon, only a file to name.
        self.existing_file(&r.src).await?;
        Ok(pb::AbandonBlockResponseProto {})
    }

    async fn complete(
        &self,
        _: &Caller,
        _: &CallIds,
        r: pb::CompleteRequestProto,
    ) -> Result<pb::CompleteResponseProto, RemoteException> {
        self.nn.check(Category::Write)?;
        // A create logs the file closed at once (OP_ADD, OP_CLOSE): completing it changes
        // nothing, it only has to exist.
        self.existing_file(&r.src).await?;
        Ok(pb::CompleteResponseProto { result: true })
    }

    async fn rename(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::RenameRequestProto,
    ) -> Result<pb::RenameResponseProto, RemoteException> {
        let mtime = super::server::now_millis();
        let subject = self.subject(caller).await;
        let answer = self
            .nn
            .mutate(
                call_id(ids),
                |ns| {
                    self.refuse_in_safe_mode(|| format!("Cannot rename {}", r.src))?;
                    // Into an existing directory, the source keeps its name.
                    let dst = match (ns.get_file_info(&r.dst)?, r.src.rsplit('/').next()) {
                        (Some(d), Some(name)) if d.is_dir && !name.is_empty() => {
                            format!("{}/{name}", r.dst.trim_end_matches('/'))
                        }
                        _ => r.dst.clone(),
                    };
                    check_rename(&subject, ns, &r.src, &dst)?;
                    ns.plan_rename(&r.src, &r.dst, mtime)
                        .map(|op| op.into_iter().collect())
                },
                |_, ops| CachedAnswer::Bool(!ops.is_empty()),
            )
            .await?;
        Ok(pb::RenameResponseProto {
            result: answered_bool(answer),
        })
    }

    async fn rename2(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::Rename2RequestProto,
    ) -> Result<pb::Rename2ResponseProto, RemoteException> {
        let mtime = super::server::now_millis();
        let to_trash = r.move_to_trash.unwrap_or(false);
        let subject = self.subject(caller).await;
        self.nn
            .mutate(
                call_id(ids),
                |ns| {
                    self.refuse_in_safe_mode(|| format!("Cannot rename {}", r.src))?;
                    check_rename(&subject, ns, &r.src, &r.dst)?;
                    Ok(vec![ns.plan_rename2(
                        &r.src,
                        &r.dst,
                        r.overwrite_dest,
                        to_trash,
                        mtime,
                    )?])
                },
                |_, _| CachedAnswer::Bool(true),
            )
            .await?;
        Ok(pb::Rename2ResponseProto {})
    }

    async fn delete(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::DeleteRequestProto,
    ) -> Result<pb::DeleteResponseProto, RemoteException> {
        let mtime = super::server::now_millis();
        let subject = self.subject(caller).await;
        let check = want(|w| {
            w.parent = Some(Access::Write);
            w.sub = Some(Access::All);
            w.ignore_empty_dirs = true;
        });
        let answer = self
            .nn
            .mutate(
                call_id(ids),
                |ns| {
                    self.refuse_in_safe_mode(|| format!("Cannot delete {}", r.src))?;
                    subject.check_path(ns, &r.src, check)?;
                    ns.plan_delete(&r.src, r.recursive, mtime)
                        .map(|op| op.into_iter().collect())
                },
                |_, ops| CachedAnswer::Bool(!ops.is_empty()),
            )
            .await?;
        Ok(pb::DeleteResponseProto {
            result: answered_bool(answer),
        })
    }

    async fn mkdirs(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::MkdirsRequestProto,
    ) -> Result<pb::MkdirsResponseProto, RemoteException> {
        let attrs = self
            .nn
            .attributes(&user_of(&caller.user), (r.masked.perm & 0o7777) as u16);
        let subject = self.subject(caller).await;
        // A directory that exists only needs traversing to.
        let check = want(|w| {
            w.ancestor = Some(Access::Write);
            w.ancestor_if_new = true;
        });
        let answer = self
            .nn
            .mutate(
                call_id(ids),
                |ns| {
                    self.refuse_in_safe_mode(|| format!("Cannot create directory {}", r.src))?;
                    subject.check_path(ns, &r.src, check)?;
                    ns.plan_mkdirs(&r.src, &attrs, r.create_parent)
                },
                |_, _| CachedAnswer::Bool(true),
            )
            .await?;
        Ok(pb::MkdirsResponseProto {
            result: answered_bool(answer),
        })
    }

    async fn get_listing(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetListingRequestProto,
    ) -> Result<pb::GetListingResponseProto, RemoteException> {
        let start_after = String::from_utf8_lossy(&r.start_after).into_owned();
        let limit = self.nn.conf().ls_limit;
        let subject = self.subject(caller).await;
        let check = want(|w| {
            w.access = Some(Access::ReadExecute);
            w.access_if_dir = true;
        });
        let listing = self
            .nn
            .read(|ns| {
                subject.check_path(ns, &r.src, check)?;
                ns.list_after(&r.src, &start_after, limit)
            })
            .await?;
        Ok(pb::GetListingResponseProto {
            dir_list: listing.map(|listing| pb::DirectoryListingProto {
                partial_listing: listing
                    .entries
                    .iter()
                    .map(|s| {
                        let mut status = status_proto(s, &s.name);
                        if r.need_location && !s.is_dir {
                            status.locations = Some(no_locations(s));
                        }
                        status
                    })
                    .collect(),
                remaining_entries: u32::try_from(listing.remaining).unwrap_or(u32::MAX),
            }),
        })
    }

    async fn renew_lease(
        &self,
        _: &Caller,
        _: &CallIds,
        _: pb::RenewLeaseRequestProto,
    ) -> Result<pb::RenewLeaseResponseProto, RemoteException> {
        // Files are closed when they are created: no lease is ever held.
        self.nn.check(Category::Write)?;
        Ok(pb::RenewLeaseResponseProto {})
    }

    async fn recover_lease(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::RecoverLeaseRequestProto,
    ) -> Result<pb::RecoverLeaseResponseProto, RemoteException> {
        // FSNamesystem.recoverLease: a write (refused in safe mode), then INodeFile.valueOf's
        // checks; a file not under construction answers true, and files are closed when they
        // are created.
        self.nn.check(Category::Write)?;
        self.refuse_in_safe_mode(|| format!("Cannot recover the lease of {}", r.src))
            .map_err(NnError::from)?;
        match self.checked_status(caller, &r.src, Want::TRAVERSE).await? {
            Some(status) if !status.is_dir => Ok(pb::RecoverLeaseResponseProto { result: true }),
            Some(_) => Err(RemoteException::new(
                "FileNotFoundException",
                format!("Path is not a file: {}", r.src),
            )),
            None => Err(no_such_file(&r.src).into()),
        }
    }

    async fn get_storage_policies(
        &self,
        _: &Caller,
        _: &CallIds,
        _: pb::GetStoragePoliciesRequestProto,
    ) -> Result<pb::GetStoragePoliciesResponseProto, RemoteException> {
        self.nn.check(Category::Read)?;
        Ok(pb::GetStoragePoliciesResponseProto {
            policies: STORAGE_POLICIES.iter().map(policy_proto).collect(),
        })
    }

    async fn get_storage_policy(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetStoragePolicyRequestProto,
    ) -> Result<pb::GetStoragePolicyResponseProto, RemoteException> {
        let read = want(|w| w.access = Some(Access::Read));
        if self.checked_status(caller, &r.path, read).await?.is_none() {
            return Err(NnError::new(
                "FileNotFoundException",
                format!("File/Directory does not exist: {}", r.path),
            )
            .into());
        }
        let hot = STORAGE_POLICIES
            .iter()
            .find(|p| p.0 == DEFAULT_STORAGE_POLICY)
            .expect("HOT is a default policy");
        Ok(pb::GetStoragePolicyResponseProto {
            storage_policy: policy_proto(hot),
        })
    }

    async fn get_fs_stats(
        &self,
        _: &Caller,
        _: &CallIds,
        _: pb::GetFsStatusRequestProto,
    ) -> Result<pb::GetFsStatsResponseProto, RemoteException> {
        self.nn.check(Category::Read)?;
        // No DataNode: no capacity, and no block is under-replicated, corrupt or missing.
        Ok(pb::GetFsStatsResponseProto {
            missing_repl_one_blocks: Some(0),
            blocks_in_future: Some(0),
            pending_deletion_blocks: Some(0),
            ..Default::default()
        })
    }

    async fn get_datanode_report(
        &self,
        caller: &Caller,
        _: &CallIds,
        _: pb::GetDatanodeReportRequestProto,
    ) -> Result<pb::GetDatanodeReportResponseProto, RemoteException> {
        self.subject(caller)
            .await
            .check_superuser()
            .map_err(NnError::from)?;
        Ok(pb::GetDatanodeReportResponseProto { di: Vec::new() })
    }

    async fn get_preferred_block_size(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetPreferredBlockSizeRequestProto,
    ) -> Result<pb::GetPreferredBlockSizeResponseProto, RemoteException> {
        let status = self
            .checked_file(caller, &r.filename, Want::TRAVERSE)
            .await?;
        Ok(pb::GetPreferredBlockSizeResponseProto {
            bsize: status.block_size,
        })
    }

    async fn set_safe_mode(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::SetSafeModeRequestProto,
    ) -> Result<pb::SetSafeModeResponseProto, RemoteException> {
        use pb::SafeModeActionProto as Action;
        if r.action != Action::SafemodeGet as i32 {
            self.subject(caller)
                .await
                .check_superuser()
                .map_err(NnError::from)?;
        }
        let on = match Action::try_from(r.action) {
            Ok(Action::SafemodeGet) => self.safe_mode.load(Ordering::Acquire),
            Ok(Action::SafemodeEnter) => {
                if !self.safe_mode.swap(true, Ordering::AcqRel) {
                    tracing::info!(
                        "STATE* Safe mode is ON.\nIt was turned on manually. Use \"hdfs dfsadmin -safemode leave\" to turn safe mode off."
                    );
                }
                true
            }
            Ok(Action::SafemodeLeave | Action::SafemodeForceExit) => {
                if self.safe_mode.swap(false, Ordering::AcqRel) {
                    tracing::info!("STATE* Safe mode is OFF");
                }
                false
            }
            Err(_) => {
                return Err(RemoteException::new(
                    "IOException",
                    format!("Unknown safe mode action {}", r.action),
                ));
            }
        };
        Ok(pb::SetSafeModeResponseProto { result: on })
    }

    async fn get_file_info(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetFileInfoRequestProto,
    ) -> Result<pb::GetFileInfoResponseProto, RemoteException> {
        let status = self.checked_status(caller, &r.src, Want::TRAVERSE).await?;
        Ok(pb::GetFileInfoResponseProto {
            fs: status.as_ref().map(|s| status_proto(s, "")),
        })
    }

    async fn get_file_link_info(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetFileLinkInfoRequestProto,
    ) -> Result<pb::GetFileLinkInfoResponseProto, RemoteException> {
        let status = self.checked_status(caller, &r.src, Want::TRAVERSE).await?;
        Ok(pb::GetFileLinkInfoResponseProto {
            fs: status.as_ref().map(|s| status_proto(s, "")),
        })
    }

    async fn get_content_summary(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetContentSummaryRequestProto,
    ) -> Result<pb::GetContentSummaryResponseProto, RemoteException> {
        let sum = self.checked_summary(caller, &r.path).await?;
        // No quota is Hadoop's -1.
        let no_quota = u64::MAX;
        Ok(pb::GetContentSummaryResponseProto {
            summary: pb::ContentSummaryProto {
                length: sum.length,
                file_count: sum.files,
                directory_count: sum.directories,
                quota: no_quota,
                space_consumed: sum.space_consumed,
                space_quota: no_quota,
                type_quota_infos: None,
                snapshot_length: Some(0),
                snapshot_file_count: Some(0),
                snapshot_directory_count: Some(0),
                snapshot_space_consumed: Some(0),
                erasure_coding_policy: Some(String::new()),
            },
        })
    }

    async fn get_quota_usage(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetQuotaUsageRequestProto,
    ) -> Result<pb::GetQuotaUsageResponseProto, RemoteException> {
        let sum = self.checked_summary(caller, &r.path).await?;
        // Without a quota Hadoop answers the content summary's counts and -1 for the quotas.
        Ok(pb::GetQuotaUsageResponseProto {
            usage: pb::QuotaUsageProto {
                file_and_directory_count: sum.files + sum.directories,
                quota: u64::MAX,
                space_consumed: sum.space_consumed,
                space_quota: u64::MAX,
                type_quota_infos: None,
            },
        })
    }

    async fn fsync(
        &self,
        _: &Caller,
        _: &CallIds,
        r: pb::FsyncRequestProto,
    ) -> Result<pb::FsyncResponseProto, RemoteException> {
        self.nn.check(Category::Write)?;
        self.existing_file(&r.src).await?;
        Ok(pb::FsyncResponseProto {})
    }

    async fn set_times(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::SetTimesRequestProto,
    ) -> Result<pb::SetTimesResponseProto, RemoteException> {
        let subject = self.subject(caller).await;
        let write = want(|w| w.access = Some(Access::Write));
        self.nn
            .mutate(
                // Idempotent (Hadoop's @Idempotent): not kept in the retry cache.
                None,
                |ns| {
                    self.refuse_in_safe_mode(|| format!("Cannot set times {}", r.src))?;
                    subject.check_path(ns, &r.src, write)?;
                    Ok(vec![ns.plan_set_times(&r.src, r.mtime, r.atime)?])
                },
                |_, _| CachedAnswer::Bool(true),
            )
            .await?;
        Ok(pb::SetTimesResponseProto {})
    }

    async fn get_link_target(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetLinkTargetRequestProto,
    ) -> Result<pb::GetLinkTargetResponseProto, RemoteException> {
        // There are no symlinks: an existing path is not one, as Hadoop says.
        match self.checked_status(caller, &r.path, Want::TRAVERSE).await? {
            Some(_) => Err(RemoteException::new(
                "IOException",
                format!("Path {} is not a symbolic link", r.path),
            )),
            None => Err(no_such_file(&r.path).into()),
        }
    }

    async fn msync(
        &self,
        _: &Caller,
        _: &CallIds,
        _: pb::MsyncRequestProto,
    ) -> Result<pb::MsyncResponseProto, RemoteException> {
        // No observer NameNodes: every read already sees every acknowledged write.
        Ok(pb::MsyncResponseProto {})
    }

    async fn get_ha_service_state(
        &self,
        _: &Caller,
        _: &CallIds,
        _: pb::HaServiceStateRequestProto,
    ) -> Result<pb::HaServiceStateResponseProto, RemoteException> {
        use crate::proto::hadoop_haservice::HaServiceStateProto as State;
        let state = match self.nn.state() {
            HaState::Active => State::Active,
            HaState::Standby => State::Standby,
            HaState::Initializing | HaState::Stopping => State::Initializing,
        };
        Ok(pb::HaServiceStateResponseProto {
            state: state as i32,
        })
    }

    async fn get_acl_status(
        &self,
        caller: &Caller,
        _: &CallIds,
        r: pb::GetAclStatusRequestProto,
    ) -> Result<pb::GetAclStatusResponseProto, RemoteException> {
        // FSDirAclOp.getAclStatus with dfs.namenode.acls.enabled (true by default in 3.3.6): a
        // read that traverses to the inode; no ACL is ever set here, so no entries.
        let status = self
            .checked_status(caller, &r.src, Want::TRAVERSE)
            .await?
            .ok_or_else(|| {
                NnError::new("FileNotFoundException", format!("cannot find {}", r.src))
            })?;
        Ok(pb::GetAclStatusResponseProto {
            result: pb::AclStatusProto {
                sticky: status.permission & 0o1000 != 0,
                permission: Some(pb::FsPermissionProto {
                    perm: u32::from(status.permission),
                }),
                owner: status.owner,
                group: status.group,
                entries: Vec::new(),
            },
        })
    }
}

/// Sends a checkpoint to whichever other NameNode is active (the others refuse it).
pub async fn upload_image_to_active(
    conf: &NameNodeConf,
    identity: &NamespaceIdentity,
    txid: u64,
    bytes: Vec<u8>,
) {
    for peer in &conf.peers {
        let Some(http) = &peer.http_address else {
            continue;
        };
        match super::peer::upload_image(http, txid, identity, &bytes).await {
            Ok(()) => {
                tracing::info!("Uploaded image with txid {txid} to namenode at http://{http}");
                return;
            }
            Err(err) => tracing::debug!(
                "{} did not take fsimage_{txid:019}: {err}",
                peer.namenode_id
            ),
        }
    }
}
