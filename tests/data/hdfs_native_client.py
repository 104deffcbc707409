"""hdfs-native (PyPI `hdfs-native`: Python bindings of the Rust HDFS client, a client we did
not write) against our NameNode pair through the nameservice, across a failover the test makes.

Usage: HADOOP_CONF_DIR=DIR python3 hdfs_native_client.py USER
USER is who the NameNode sees us as (the owner of what we create). One client, made before the
failover, is used on both sides of it. Phases, each ending in "<phase>: N passed, M failed":
  before    the namespace calls against the first active NameNode; then "ready for failover"
            and a line read from stdin (the test kills the active and makes the other active);
  after     the same client: what "before" left is there, and the calls work again;
            then "ready for a fresh client" and another line from stdin (the killed NameNode
            is back, in standby, and is the nameservice's first NameNode);
  fresh     a new client, which first meets the standby and must move on to the active.
Exits 1 if any check failed.
"""

import sys
import traceback

from hdfs_native import Client, WriteOptions

USER = sys.argv[1]
URL = "hdfs://ns1"
BLOCK_SIZE = 128 * 1024 * 1024  # dfs.blocksize's default, from getServerDefaults
NO_QUOTA = 2**64 - 1  # Hadoop's -1 in ContentSummaryProto's uint64 fields
MTIME = 1767323045000
ATIME = 1767323046000

failed = 0


def check(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def raises(call, exception, texts, what):
    """`call()` must raise `exception` (a Python class) whose message contains `texts` (one
    text or a list)."""
    try:
        call()
    except exception as e:
        for text in [texts] if isinstance(texts, str) else texts:
            if text not in str(e):
                raise AssertionError(f"{what}: {e!r} lacks {text!r}")
        return
    except Exception as e:
        raise AssertionError(f"{what}: raised {e!r}, want {exception.__name__}")
    raise AssertionError(f"{what}: no exception, want {exception.__name__}")


def run(phase, name, test, *args):
    try:
        test(*args)
        print(f"PASS {phase} {name}", flush=True)
        return True
    except Exception:
        print(f"FAIL {phase} {name}\n{traceback.format_exc()}", flush=True)
        return False


def status(fs, path):
    """What getFileInfo says of `path`, without its times."""
    s = fs.get_file_info(path)
    check(s.path, path, "path")
    return (s.isdir, s.length, oct(s.permission), s.owner, s.group, s.replication, s.blocksize)


def directory(perm=0o755, owner=None, group="supergroup"):
    return (True, 0, oct(perm), owner or USER, group, 0, 0)


def empty_file(perm=0o644, owner=None, group="supergroup", replication=3):
    return (False, 0, oct(perm), owner or USER, group, replication, BLOCK_SIZE)


def listing(fs, path, recursive):
    return [(s.path, s.isdir) for s in fs.list_status(path, recursive)]


# The calls, each on a tree of its own under `root` (they run before and after the failover).


def mkdirs(fs, root):
    fs.mkdirs(f"{root}/logs/2026", create_parent=True)
    fs.mkdirs(f"{root}/tmp", 0o700)
    check(status(fs, root), directory(), "parent made by mkdirs -p")
    check(status(fs, f"{root}/logs/2026"), directory(), "mkdirs -p")
    check(status(fs, f"{root}/tmp"), directory(0o700), "mkdirs with a mode")
    raises(
        lambda: fs.mkdirs(f"{root}/none/x"),
        FileNotFoundError,
        f"Parent directory doesn't exist: {root}/none",
        "mkdirs without parents",
    )


def create_empty(fs, root):
    with fs.create(f"{root}/empty"):
        pass
    check(status(fs, f"{root}/empty"), empty_file(), "create, write nothing, close")
    options = WriteOptions(replication=1, permission=0o600, block_size=BLOCK_SIZE // 2)
    fs.create(f"{root}/tmp/x", options).close()
    check(
        status(fs, f"{root}/tmp/x"),
        (False, 0, "0o600", USER, "supergroup", 1, BLOCK_SIZE // 2),
        "create with options",
    )
    raises(
        lambda: fs.create(f"{root}/empty").close(),
        FileExistsError,
        f"{root}/empty for client 127.0.0.1 already exists",
        "create over a file",
    )
    fs.create(f"{root}/empty", WriteOptions(overwrite=True)).close()
    check(status(fs, f"{root}/empty"), empty_file(), "create with overwrite")
    check(fs.read(f"{root}/empty").read(), b"", "read an empty file")


def file_info_and_listing(fs, root):
    raises(lambda: fs.get_file_info(f"{root}/nope"), FileNotFoundError, "", "missing file")
    check(
        listing(fs, root, False),
        [(f"{root}/empty", False), (f"{root}/logs", True), (f"{root}/tmp", True)],
        "list_status",
    )
    check(
        listing(fs, root, True),
        [
            (f"{root}/empty", False),
            (f"{root}/logs", True),
            (f"{root}/logs/2026", True),
            (f"{root}/tmp", True),
            (f"{root}/tmp/x", False),
        ],
        "list_status recursive",
    )
    check(listing(fs, f"{root}/empty", False), [(f"{root}/empty", False)], "list a file")
    check(
        [s.path for s in fs.glob_status(f"{root}/*/*")],
        [f"{root}/logs/2026", f"{root}/tmp/x"],
        "glob_status",
    )


def rename(fs, root):
    fs.rename(f"{root}/empty", f"{root}/renamed")
    raises(lambda: fs.get_file_info(f"{root}/empty"), FileNotFoundError, "", "renamed away")
    check(status(fs, f"{root}/renamed"), empty_file(), "renamed")
    fs.create(f"{root}/other").close()
    raises(
        lambda: fs.rename(f"{root}/other", f"{root}/renamed"),
        FileExistsError,
        f"rename destination {root}/renamed already exists",
        "rename onto a file",
    )
    fs.rename(f"{root}/other", f"{root}/renamed", overwrite=True)
    check(
        listing(fs, root, False),
        [(f"{root}/logs", True), (f"{root}/renamed", False), (f"{root}/tmp", True)],
        "rename with overwrite",
    )


def attributes(fs, root):
    fs.set_permission(f"{root}/logs", 0o750)
    check(status(fs, f"{root}/logs"), directory(0o750), "set_permission")
    fs.set_owner(f"{root}/tmp/x", "alice", "staff")
    check(status(fs, f"{root}/tmp/x")[3:5], ("alice", "staff"), "set_owner")
    fs.set_owner(f"{root}/logs", group="ops")
    check(status(fs, f"{root}/logs"), directory(0o750, group="ops"), "set_owner group only")
    check(fs.set_replication(f"{root}/renamed", 2), True, "set_replication of a file")
    check(status(fs, f"{root}/renamed"), empty_file(replication=2), "replication set")
    check(fs.set_replication(f"{root}/logs", 2), False, "set_replication of a directory")
    fs.set_times(f"{root}/renamed", MTIME, ATIME)
    s = fs.get_file_info(f"{root}/renamed")
    check((s.modification_time, s.access_time), (MTIME, ATIME), "set_times")


def acl_status(fs, root):
    # No ACL is ever set: an inode's owner, group, sticky bit and mode.
    fs.set_permission(f"{root}/logs/2026", 0o1777)
    for path, want in [
        (f"{root}/logs", (USER, "ops", False, [], 0o750)),
        (f"{root}/logs/2026", (USER, "supergroup", True, [], 0o1777)),
        (f"{root}/renamed", (USER, "supergroup", False, [], 0o644)),
    ]:
        a = fs.get_acl_status(path)
        check((a.owner, a.group, a.sticky, a.entries, a.permission), want, f"get_acl_status {path}")
    fs.set_permission(f"{root}/logs/2026", 0o755)
    raises(
        lambda: fs.get_acl_status(f"{root}/nope"),
        FileNotFoundError,
        f"cannot find {root}/nope",
        "get_acl_status of a missing path",
    )


def recover_lease(fs, root):
    # Every file is closed when it is created: there is no lease to recover.
    check(fs.recover_lease(f"{root}/renamed"), True, "recover_lease of a closed file")
    raises(
        lambda: fs.recover_lease(f"{root}/nope"),
        FileNotFoundError,
        f"File does not exist: {root}/nope",
        "recover_lease of a missing file",
    )
    raises(
        lambda: fs.recover_lease(f"{root}/logs"),
        FileNotFoundError,
        f"Path is not a file: {root}/logs",
        "recover_lease of a directory",
    )


def content_summary(fs, root):
    s = fs.get_content_summary(root)
    check(
        (s.length, s.file_count, s.directory_count, s.space_consumed, s.quota, s.space_quota),
        (0, 2, 4, 0, NO_QUOTA, NO_QUOTA),
        "get_content_summary",
    )


def data_is_refused(fs, root):
    def write():
        with fs.create(f"{root}/with-bytes") as f:
            f.write(b"some bytes\n")

    # The NameNode's IOException, class and message, as hdfs-native reports an RPC error.
    raises(
        write,
        Exception,
        [
            "java.io.IOException",
            f"Cannot add a block to {root}/with-bytes: this NameNode keeps a namespace only",
        ],
        "writing data",
    )
    # As on Hadoop's NameNode, the file the write created stays, empty.
    check(status(fs, f"{root}/with-bytes"), empty_file(), "the file a failed write leaves")


def delete(fs, root):
    raises(
        lambda: fs.delete(f"{root}/logs"),
        Exception,
        f"`{root}/logs is non empty': Directory is not empty",
        "delete a full directory",
    )
    check(fs.delete(f"{root}/tmp", recursive=True), True, "delete recursive")
    check(fs.delete(f"{root}/nope", recursive=True), False, "delete a missing path")
    check(fs.delete(f"{root}/with-bytes"), True, "delete a file")
    check(
        listing(fs, root, True),
        [(f"{root}/logs", True), (f"{root}/logs/2026", True), (f"{root}/renamed", False)],
        "after deletes",
    )


CALLS = [
    ("mkdirs", mkdirs),
    ("create an empty file", create_empty),
    ("get_file_info and list_status", file_info_and_listing),
    ("rename", rename),
    ("set_permission, set_owner, set_replication, set_times", attributes),
    ("get_acl_status", acl_status),
    ("recover_lease", recover_lease),
    ("get_content_summary", content_summary),
    ("writing data is refused", data_is_refused),
    ("delete", delete),
]


def left_by_before(fs):
    """What the calls left under /before, read from the NameNode that took over."""
    check(
        listing(fs, "/before", True),
        [("/before/logs", True), ("/before/logs/2026", True), ("/before/renamed", False)],
        "the tree",
    )
    check(status(fs, "/before/logs"), directory(0o750, group="ops"), "/before/logs")
    check(status(fs, "/before/renamed"), empty_file(replication=2), "/before/renamed")
    s = fs.get_file_info("/before/renamed")
    check((s.modification_time, s.access_time), (MTIME, ATIME), "times")


def phase(name, fs, checks):
    global failed
    results = [run(name, what, test, fs, *args) for what, test, *args in checks]
    failed += results.count(False)
    print(f"{name}: {results.count(True)} passed, {results.count(False)} failed", flush=True)


fs = Client(URL)
phase("before", fs, [(what, test, "/before") for what, test in CALLS])
print("ready for failover", flush=True)
sys.stdin.readline()
phase(
    "after",
    fs,
    [("what before left", left_by_before)] + [(what, test, "/after") for what, test in CALLS],
)
print("ready for a fresh client", flush=True)
sys.stdin.readline()
fresh = Client(URL)
phase(
    "fresh",
    fresh,
    [("what before left", left_by_before)] + [(what, test, "/fresh") for what, test in CALLS],
)
sys.exit(1 if failed else 0)
