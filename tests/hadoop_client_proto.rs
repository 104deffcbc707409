//! `proto/hadoop_client.proto` is Hadoop 3.3.6's own ClientNamenodeProtocol messages, and
//! `proto/hadoop_fsimage.proto` its fsimage records: every message and enum each defines, and
//! every one it uses from our other files, is held against the descriptors compiled into
//! Hadoop's jars (dumped by `tests/data/java/DescriptorDump.java`),
//! field by field: name, number, label, type, type name, default and wire options, nested types
//! and enum values included. A message may not leave out any of Hadoop's fields, and every call
//! we answer has its request and response here under Hadoop's names.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::OnceLock;

use prost::Message;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

/// Our file, as `build.rs` names it in the descriptor set.
const OUR_FILE: &str = "hadoop_client.proto";

/// Our fsimage records, and the outer class of Hadoop's `fsimage.proto`.
const OUR_FSIMAGE_FILE: &str = "hadoop_fsimage.proto";
const HADOOP_FSIMAGE_CLASS: &str = "org.apache.hadoop.hdfs.server.namenode.FsImageProto";

/// The outer class of Hadoop's `ClientNamenodeProtocol.proto`; the dumper adds every file it
/// imports (hdfs.proto, acl.proto, Security.proto, HAServiceProtocol.proto, ...).
const HADOOP_CLASS: &str = "org.apache.hadoop.hdfs.protocol.proto.ClientNamenodeProtocolProtos";

/// Our definitions that live in another package than Hadoop's, by our name and Hadoop's. The
/// package is not on the wire; everything else about them is compared.
const RENAMED: &[(&str, &str)] = &[
    // Security.proto is package hadoop.common; we keep the client's types in one package.
    (".hadoop.hdfs.TokenProto", ".hadoop.common.TokenProto"),
    // HAServiceProtocol.proto is package hadoop.common; ours is hadoop_haservice.proto's.
    (
        ".hadoop.ha.HAServiceStateProto",
        ".hadoop.common.HAServiceStateProto",
    ),
];

/// The ClientNamenodeProtocol calls a NameNode with a namespace but no blocks answers: their
/// request and response types, as Hadoop's service declares them, must all be ours.
const METHODS: &[&str] = &[
    "getBlockLocations",
    "getServerDefaults",
    "create",
    "setReplication",
    "getStoragePolicies",
    "getStoragePolicy",
    "setPermission",
    "setOwner",
    "abandonBlock",
    "addBlock",
    "complete",
    "rename",
    "rename2",
    "delete",
    "mkdirs",
    "getListing",
    "renewLease",
    "recoverLease",
    "getFsStats",
    "getDatanodeReport",
    "getPreferredBlockSize",
    "setSafeMode",
    "getFileInfo",
    "getFileLinkInfo",
    "getContentSummary",
    "getQuotaUsage",
    "fsync",
    "setTimes",
    "getLinkTarget",
    "getDataEncryptionKey",
    "msync",
    "getHAServiceState",
    "getAclStatus",
];

/// Hadoop's descriptors: `DescriptorDump` compiled with javac into a temporary folder and run
/// with Hadoop's jars on the classpath, once for all tests.
fn hadoop_descriptors() -> &'static FileDescriptorSet {
    static HADOOP: OnceLock<FileDescriptorSet> = OnceLock::new();
    HADOOP.get_or_init(dump_hadoop_descriptors)
}

fn dump_hadoop_descriptors() -> FileDescriptorSet {
    let lib = common::hadoop::lib();
    let classes = tempfile::tempdir().unwrap();
    let source = common::repo().join("tests/data/java/DescriptorDump.java");
    let javac = Command::new("javac")
        .arg("-d")
        .arg(classes.path())
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run javac: {e}"));
    assert!(
        javac.status.success(),
        "javac {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&javac.stderr)
    );
    let run = Command::new("java")
        .arg("-cp")
        .arg(format!("{}:{}/*", classes.path().display(), lib.display()))
        .arg("DescriptorDump")
        .arg(HADOOP_CLASS)
        .arg(HADOOP_FSIMAGE_CLASS)
        .output()
        .unwrap_or_else(|e| panic!("cannot run java: {e}"));
    assert!(
        run.status.success(),
        "DescriptorDump failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    FileDescriptorSet::decode(run.stdout.as_slice()).expect("DescriptorDump's FileDescriptorSet")
}

fn ours() -> FileDescriptorSet {
    FileDescriptorSet::decode(hdfs_ha::proto::FILE_DESCRIPTOR_SET).expect("our FileDescriptorSet")
}

/// Hadoop's name for one of ours.
fn hadoop_name(name: &str) -> String {
    RENAMED
        .iter()
        .find(|(ours, _)| *ours == name)
        .map_or(name, |(_, hadoop)| hadoop)
        .to_string()
}

/// A message or an enum, by its full name (`.hadoop.hdfs.HdfsFileStatusProto`).
enum Definition<'a> {
    Message(&'a DescriptorProto),
    Enum(&'a EnumDescriptorProto),
}

/// The top-level definitions of `set`, by full name, and the file each is in.
fn definitions(set: &FileDescriptorSet) -> BTreeMap<String, (&str, Definition<'_>)> {
    let mut all = BTreeMap::new();
    for file in &set.file {
        let package = format!(".{}", file.package());
        for message in &file.message_type {
            let name = format!("{package}.{}", message.name());
            all.insert(name, (file.name(), Definition::Message(message)));
        }
        for enumeration in &file.enum_type {
            let name = format!("{package}.{}", enumeration.name());
            all.insert(name, (file.name(), Definition::Enum(enumeration)));
        }
    }
    all
}

/// One line per fact about a definition and everything nested in it, names in Hadoop's
/// packages: `field .hadoop.hdfs.X.name 3 LABEL_OPTIONAL TYPE_UINT64 - default=0 packed=-`.
fn listing(name: &str, definition: &Definition<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    match definition {
        Definition::Message(message) => list_message(&hadoop_name(name), message, &mut lines),
        Definition::Enum(enumeration) => list_enum(&hadoop_name(name), enumeration, &mut lines),
    }
    lines
}

fn list_message(name: &str, message: &DescriptorProto, lines: &mut Vec<String>) {
    lines.push(format!("message {name}"));
    for field in &message.field {
        let type_name = field
            .type_name
            .as_deref()
            .map_or("-".to_string(), hadoop_name);
        let default = field.default_value.as_deref().unwrap_or("-");
        let options = field.options.as_ref();
        let packed = options
            .and_then(|o| o.packed)
            .map_or("-".into(), |p| p.to_string());
        let deprecated = options
            .and_then(|o| o.deprecated)
            .map_or("-".into(), |d| d.to_string());
        let oneof = field.oneof_index.map_or("-".into(), |i| i.to_string());
        lines.push(format!(
            "field {name}.{} {} {} {} {type_name} default={default} packed={packed} \
             deprecated={deprecated} oneof={oneof}",
            field.name(),
            field.number(),
            field.label().as_str_name(),
            field.r#type().as_str_name(),
        ));
    }
    for oneof in &message.oneof_decl {
        lines.push(format!("oneof {name}.{}", oneof.name()));
    }
    for range in &message.extension_range {
        lines.push(format!(
            "extensions {name} {}..{}",
            range.start(),
            range.end()
        ));
    }
    for nested in &message.nested_type {
        list_message(&format!("{name}.{}", nested.name()), nested, lines);
    }
    for enumeration in &message.enum_type {
        list_enum(
            &format!("{name}.{}", enumeration.name()),
            enumeration,
            lines,
        );
    }
}

fn list_enum(name: &str, enumeration: &EnumDescriptorProto, lines: &mut Vec<String>) {
    lines.push(format!("enum {name}"));
    for value in &enumeration.value {
        lines.push(format!("value {name}.{} {}", value.name(), value.number()));
    }
}

/// The full names of the messages and enums a definition's fields use, nested ones included.
fn uses(definition: &Definition<'_>, into: &mut BTreeSet<String>) {
    fn message_uses(message: &DescriptorProto, into: &mut BTreeSet<String>) {
        into.extend(message.field.iter().filter_map(|f| f.type_name.clone()));
        for nested in &message.nested_type {
            message_uses(nested, into);
        }
    }
    if let Definition::Message(message) = definition {
        message_uses(message, into);
    }
}

/// Every difference between our definitions (those of `our_file` and those they use from
/// our other files) and Hadoop's, one line each; and how many definitions were compared.
fn differences(
    ours: &FileDescriptorSet,
    hadoop: &FileDescriptorSet,
    our_file: &str,
) -> (Vec<String>, usize) {
    let our_definitions = definitions(ours);
    let hadoop_definitions = definitions(hadoop);
    let mut names: BTreeSet<String> = our_definitions
        .iter()
        .filter(|(_, (file, _))| *file == our_file)
        .map(|(name, _)| name.clone())
        .collect();
    let mut used = BTreeSet::new();
    for name in &names {
        uses(&our_definitions[name].1, &mut used);
    }
    // A nested type is compared with the top-level definition it is in.
    let top_level = |name: &str| {
        let mut name = name.to_string();
        while !our_definitions.contains_key(&name) {
            let Some(dot) = name.rfind('.') else {
                panic!("{name} is not in our descriptors")
            };
            name.truncate(dot);
        }
        name
    };
    names.extend(used.iter().map(|n| top_level(n)));

    let mut problems = Vec::new();
    for name in &names {
        let (_, definition) = &our_definitions[name];
        let Some((hadoop_file, hadoop_definition)) = hadoop_definitions.get(&hadoop_name(name))
        else {
            problems.push(format!("{name}: Hadoop 3.3.6 has no {}", hadoop_name(name)));
            continue;
        };
        let our_lines = listing(name, definition);
        let hadoop_lines = listing(&hadoop_name(name), hadoop_definition);
        for line in &our_lines {
            if !hadoop_lines.contains(line) {
                problems.push(format!("ours, not Hadoop's ({hadoop_file}): {line}"));
            }
        }
        for line in &hadoop_lines {
            if !our_lines.contains(line) {
                problems.push(format!("Hadoop's ({hadoop_file}), not ours: {line}"));
            }
        }
    }
    (problems, names.len())
}

#[test]
fn hadoop_client_proto_is_hadoop_3_3_6s_client_namenode_protocol() {
    let hadoop = hadoop_descriptors();
    let ours = ours();
    let file = ours
        .file
        .iter()
        .find(|f| f.name() == OUR_FILE)
        .expect("hadoop_client.proto in our descriptors");
    assert_eq!(file.package(), "hadoop.hdfs", "Hadoop's package");
    assert_ne!(file.syntax(), "proto3", "Hadoop's messages are proto2");

    let (problems, compared) = differences(&ours, hadoop, OUR_FILE);
    assert!(
        problems.is_empty(),
        "{} differences from Hadoop 3.3.6:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Not vacuous: every message and enum of the file, and the HAServiceStateProto it imports.
    let defined = file.message_type.len() + file.enum_type.len();
    assert!(defined > 90, "only {defined} definitions in {OUR_FILE}");
    assert_eq!(compared, defined + 1, "definitions compared");

    // Every call we answer: its request and response, as Hadoop's service declares them.
    let service = hadoop
        .file
        .iter()
        .flat_map(|f| &f.service)
        .find(|s| s.name() == "ClientNamenodeProtocol")
        .expect("Hadoop's ClientNamenodeProtocol service");
    let ours_by_name = definitions(&ours);
    let ours_by_hadoop_name: BTreeSet<String> =
        ours_by_name.keys().map(|n| hadoop_name(n)).collect();
    for method in METHODS {
        let rpc = service
            .method
            .iter()
            .find(|m| m.name() == *method)
            .unwrap_or_else(|| panic!("Hadoop 3.3.6 has no ClientNamenodeProtocol.{method}"));
        for type_name in [rpc.input_type(), rpc.output_type()] {
            assert!(
                ours_by_hadoop_name.contains(type_name),
                "{method} uses {type_name}, which hadoop_client.proto does not define"
            );
        }
    }
}

/// The comparison can fail: one field number changed in our descriptors is found.
#[test]
fn a_changed_field_number_is_a_difference() {
    let mut ours = ours();
    let file = ours
        .file
        .iter_mut()
        .find(|f| f.name() == OUR_FILE)
        .expect("hadoop_client.proto in our descriptors");
    let status = file
        .message_type
        .iter_mut()
        .find(|m| m.name() == "HdfsFileStatusProto")
        .expect("HdfsFileStatusProto");
    let field = status
        .field
        .iter_mut()
        .find(|f| f.name() == "fileId")
        .expect("HdfsFileStatusProto.fileId");
    field.number = Some(99);
    let (problems, _) = differences(&ours, hadoop_descriptors(), OUR_FILE);
    assert_eq!(
        problems,
        [
            "ours, not Hadoop's (hdfs.proto): field .hadoop.hdfs.HdfsFileStatusProto.fileId 99 \
             LABEL_OPTIONAL TYPE_UINT64 - default=0 packed=- deprecated=- oneof=-",
            "Hadoop's (hdfs.proto), not ours: field .hadoop.hdfs.HdfsFileStatusProto.fileId 13 \
             LABEL_OPTIONAL TYPE_UINT64 - default=0 packed=- deprecated=- oneof=-",
        ]
    );
}

#[test]
fn hadoop_fsimage_proto_is_hadoop_3_3_6s_fsimage_records() {
    let ours = ours();
    let file = ours
        .file
        .iter()
        .find(|f| f.name() == OUR_FSIMAGE_FILE)
        .expect("hadoop_fsimage.proto in our descriptors");
    assert_eq!(file.package(), "hadoop.hdfs.fsimage", "Hadoop's package");
    assert_ne!(file.syntax(), "proto3", "Hadoop's records are proto2");
    let (problems, compared) = differences(&ours, hadoop_descriptors(), OUR_FSIMAGE_FILE);
    assert!(
        problems.is_empty(),
        "{} differences from Hadoop 3.3.6:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Every section record we write or read, and the hdfs.proto types they use (BlockProto,
    // BlockTypeProto, StorageTypeProto, ErasureCodingPolicyProto and what that one uses).
    assert_eq!(file.message_type.len(), 11, "sections of the image");
    assert!(
        compared >= file.message_type.len() + 4,
        "only {compared} definitions compared"
    );
}
