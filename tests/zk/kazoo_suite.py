"""kazoo (a ZooKeeper client we did not write) and its recipes against zkserver.

Usage: python3 kazoo_suite.py HOST:PORT
Prints one line per check and "N passed, M failed"; exits 1 if anything failed.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    InvalidACLError,
    NoAuthError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
)
from kazoo.security import CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, make_digest_acl

HOSTS = sys.argv[1]
WAIT = 20  # seconds any single condition may take


def client(**kw):
    c = KazooClient(hosts=HOSTS, timeout=10, **kw)
    c.start(timeout=WAIT)
    return c


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_event(ev, what):
    check(ev.wait(WAIT), "timed out waiting for " + what)


def test_crud_and_stats(zk, root):
    zk.create(root + "/a", b"one")
    data, stat = zk.get(root + "/a")
    check(data == b"one" and stat.version == 0, "get after create")
    stat = zk.set(root + "/a", b"two", version=0)
    check(stat.version == 1, "set bumps version")
    try:
        zk.set(root + "/a", b"x", version=0)
        check(False, "stale version accepted")
    except BadVersionError:
        pass
    try:
        zk.create(root + "/a", b"")
        check(False, "duplicate create accepted")
    except NodeExistsError:
        pass
    zk.create(root + "/a/b", b"")
    try:
        zk.delete(root + "/a")
        check(False, "non-empty delete accepted")
    except NotEmptyError:
        pass
    zk.delete(root + "/a", recursive=True)
    check(zk.exists(root + "/a") is None, "deleted")
    try:
        zk.get(root + "/missing")
        check(False, "missing node read")
    except NoNodeError:
        pass
    path, stat = zk.create(root + "/c2", b"xyz", include_data=True)
    check(path == root + "/c2" and stat.dataLength == 3, "create2 returns the stat")


def test_sequential_names(zk, root):
    zk.create(root + "/q")
    names = [zk.create(root + "/q/item-", sequence=True) for _ in range(3)]
    check(
        names == [root + "/q/item-%010d" % i for i in range(3)],
        "sequence suffixes: %r" % names,
    )


def test_ephemeral_goes_with_a_closed_session(zk, root):
    other = client()
    other.create(root + "/e", ephemeral=True)
    gone = threading.Event()

    @zk.DataWatch(root + "/e")
    def _watch(data, stat):
        if stat is None and data is None:
            gone.set()

    other.stop()
    other.close()
    wait_event(gone, "the ephemeral to go after close")


def test_ephemeral_goes_when_its_session_expires(zk, root):
    # A child process creates an ephemeral with a 3 s session and is killed with SIGKILL,
    # so no close is ever sent: the server must expire the session.
    code = (
        "import os, signal, sys\n"
        "from kazoo.client import KazooClient\n"
        "c = KazooClient(hosts=sys.argv[1], timeout=3.0)\n"
        "c.start(timeout=20)\n"
        "c.create(sys.argv[2], ephemeral=True)\n"
        "print('created', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, HOSTS, root + "/lease"], stdout=subprocess.PIPE
    )
    try:
        out = proc.stdout.readline()
        check(out.strip() == b"created", "child created its ephemeral")
        proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
    check(zk.exists(root + "/lease") is not None, "present right after the crash")
    deadline = time.time() + WAIT
    while zk.exists(root + "/lease") is not None:
        check(time.time() < deadline, "session never expired")
        time.sleep(0.05)


def test_watches(zk, root):
    zk.create(root + "/w", b"0")
    changed = threading.Event()
    seen = []

    def on_data(event):
        seen.append(event)
        changed.set()

    zk.get(root + "/w", watch=on_data)
    other = client()
    try:
        other.set(root + "/w", b"1")
        wait_event(changed, "data watch")
        check(seen[0].type == "CHANGED" and seen[0].path == root + "/w", repr(seen))
        kids = threading.Event()
        zk.get_children(root + "/w", watch=lambda e: kids.set())
        other.create(root + "/w/child")
        wait_event(kids, "child watch")
        created = threading.Event()
        zk.exists(root + "/later", watch=lambda e: created.set())
        other.create(root + "/later")
        wait_event(created, "exists watch on a missing node")
    finally:
        other.stop()
        other.close()


def test_children_watch_recipe(zk, root):
    zk.create(root + "/members")
    seen = []
    three = threading.Event()

    @zk.ChildrenWatch(root + "/members")
    def _members(children):
        seen.append(sorted(children))
        if len(children) == 3:
            three.set()

    for n in ("a", "b", "c"):
        zk.create(root + "/members/" + n)
    wait_event(three, "ChildrenWatch to see 3 members")
    check(seen[-1] == ["a", "b", "c"], repr(seen))


def test_transactions(zk, root):
    zk.create(root + "/t", b"")
    tx = zk.transaction()
    tx.create(root + "/t/x", b"1")
    tx.check(root + "/t", 0)
    tx.set_data(root + "/t", b"changed")
    results = tx.commit()
    check(results[0] == root + "/t/x" and results[1] is True, repr(results))
    tx = zk.transaction()
    tx.create(root + "/t/y", b"")
    tx.delete(root + "/t/missing")
    tx.create(root + "/t/z", b"")
    results = tx.commit()
    check(isinstance(results[0], RolledBackError), repr(results))
    check(isinstance(results[1], NoNodeError), repr(results))
    check(zk.exists(root + "/t/y") is None, "failed transaction applied nothing")


def test_digest_acls(zk, root):
    acl = make_digest_acl("alice", "secret", all=True)
    owner = client(auth_data=[("digest", "alice:secret")])
    try:
        owner.create(root + "/private", b"s", acl=[acl])
        try:
            zk.get(root + "/private")
            check(False, "anonymous read of a digest node")
        except NoAuthError:
            pass
        data, _ = owner.get(root + "/private")
        check(data == b"s", "owner reads")
        acls, _ = owner.get_acls(root + "/private")
        check(acls[0].id.id == acl.id.id, repr(acls))
    finally:
        owner.stop()
        owner.close()


def test_creator_acl(zk, root):
    # kazoo writes CREATOR_ALL_ACL's empty id ("auth", "") as a null string.
    try:
        zk.create(root + "/nobody", b"s", acl=CREATOR_ALL_ACL)
        check(False, "CREATOR_ALL_ACL without credentials")
    except InvalidACLError:
        pass
    owner = client(auth_data=[("digest", "alice:secret")])
    other = client(auth_data=[("digest", "bob:secret")])
    try:
        path = root + "/mine/deep/node"
        owner.create(path, b"s", acl=CREATOR_ALL_ACL, makepath=True)
        data, _ = owner.get(path)
        check(data == b"s", "creator reads")
        acls, _ = owner.get_acls(path)
        check(
            [(a.perms, a.id.scheme, a.id.id) for a in acls]
            == [(31, "digest", make_digest_acl("alice", "secret").id.id)],
            repr(acls),
        )
        for who in (zk, other):
            try:
                who.get(path)
                check(False, "a read without the creator's identity")
            except NoAuthError:
                pass
        try:
            other.set(path, b"x")
            check(False, "a write without the creator's identity")
        except NoAuthError:
            pass
        owner.set_acls(path, OPEN_ACL_UNSAFE)
        data, _ = other.get(path)
        check(data == b"s", "readable once the ACL is open")
    finally:
        for c in (owner, other):
            c.stop()
            c.close()


def test_lock(zk, root):
    other = client()
    try:
        lock_a = zk.Lock(root + "/lock", "a")
        lock_b = other.Lock(root + "/lock", "b")
        check(lock_a.acquire(timeout=WAIT), "first acquire")
        check(not lock_b.acquire(blocking=False), "second acquire while held")
        got = threading.Event()

        def take():
            if lock_b.acquire(timeout=WAIT):
                got.set()

        t = threading.Thread(target=take)
        t.start()
        time.sleep(0.2)
        check(not got.is_set(), "b waits for a")
        check(lock_a.contenders() == ["a", "b"], repr(lock_a.contenders()))
        lock_a.release()
        wait_event(got, "b to get the lock after a released it")
        t.join(WAIT)
        lock_b.release()
    finally:
        other.stop()
        other.close()


def test_election(zk, root):
    other = client()
    try:
        leader = []
        elected = threading.Event()
        release = threading.Event()

        def lead(name):
            leader.append(name)
            elected.set()
            release.wait(WAIT)

        e1 = zk.Election(root + "/election", "one")
        e2 = other.Election(root + "/election", "two")
        t1 = threading.Thread(target=e1.run, args=(lead, "one"))
        t1.start()
        wait_event(elected, "first leader")
        t2 = threading.Thread(target=e2.run, args=(lead, "two"))
        t2.start()
        deadline = time.time() + WAIT
        while len(e1.contenders()) < 2:
            check(time.time() < deadline, "second contender")
            time.sleep(0.02)
        check(e1.contenders() == ["one", "two"], repr(e1.contenders()))
        elected.clear()
        release.set()
        t1.join(WAIT)
        wait_event(elected, "second leader")
        t2.join(WAIT)
        check(leader == ["one", "two"], repr(leader))
    finally:
        other.stop()
        other.close()


def test_barrier(zk, root):
    barrier = zk.Barrier(root + "/barrier")
    barrier.create()
    passed = threading.Event()

    def wait():
        if barrier.wait(timeout=WAIT):
            passed.set()

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.2)
    check(not passed.is_set(), "barrier holds while it exists")
    barrier.remove()
    wait_event(passed, "barrier release")
    t.join(WAIT)


def test_double_barrier(zk, root):
    clients = [client() for _ in range(3)]
    try:
        entered = []
        lock = threading.Lock()

        def member(c, i):
            b = c.DoubleBarrier(root + "/dbarrier", 3, identifier="m%d" % i)
            b.enter()
            with lock:
                entered.append(i)
            b.leave()

        threads = [
            threading.Thread(target=member, args=(c, i)) for i, c in enumerate(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
            check(not t.is_alive(), "double barrier member finished")
        check(sorted(entered) == [0, 1, 2], repr(entered))
    finally:
        for c in clients:
            c.stop()
            c.close()


def test_queue(zk, root):
    q = zk.Queue(root + "/queue")
    for item in (b"one", b"two", b"three"):
        q.put(item)
    q.put(b"urgent", priority=10)
    check(len(q) == 4, "queue length")
    got = [q.get() for _ in range(4)]
    check(got == [b"urgent", b"one", b"two", b"three"], repr(got))
    check(q.get() is None, "empty queue")


def test_counter(zk, root):
    counters = [zk.Counter(root + "/counter")]
    other = client()
    try:
        counters.append(other.Counter(root + "/counter"))

        def bump(c):
            for _ in range(20):
                c += 1

        threads = [threading.Thread(target=bump, args=(c,)) for c in counters]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
        check(counters[0].value == 40, "counter value %r" % counters[0].value)
    finally:
        other.stop()
        other.close()


def test_party(zk, root):
    other = client()
    try:
        p1 = zk.Party(root + "/party", "alice")
        p2 = other.Party(root + "/party", "bob")
        p1.join()
        p2.join()
        check(sorted(p1) == ["alice", "bob"], repr(list(p1)))
        p2.leave()
        check(list(p1) == ["alice"], repr(list(p1)))
        shallow = zk.ShallowParty(root + "/shallow", "carol")
        shallow.join()
        check(len(shallow) == 1, "shallow party")
    finally:
        other.stop()
        other.close()


def test_four_letter_words(zk, root):
    check(zk.command(b"srvr").startswith("Zookeeper version: 3.8"), "srvr")
    check(zk.server_version()[:2] == (3, 8), repr(zk.server_version()))


def main():
    zk = client()
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    passed = failed = 0
    for name, fn in tests:
        root = "/kazoo-" + uuid.uuid4().hex[:8]
        zk.ensure_path(root)
        started = time.time()
        try:
            fn(zk, root)
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.time() - started), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
    zk.stop()
    zk.close()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    # Never hang CI: the whole suite has a hard limit.
    signal.signal(signal.SIGALRM, lambda *_: os._exit(3))
    signal.alarm(240)
    main()
