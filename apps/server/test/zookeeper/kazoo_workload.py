"""kazoo (Debian's python3-kazoo) against a zabkit ensemble's ZooKeeper port, unchanged.

Usage: kazoo_workload.py FIRST_HOST OTHER_HOSTS
Connects to FIRST_HOST only, runs CRUD with versions, ephemeral and sequential znodes, a watch that
must fire exactly once, a multi; prints READY <session id hex> and waits for a line on stdin (the
test kill -9s that member meanwhile); then moves to OTHER_HOSTS and checks the session, its
ephemeral and its watch survived. Every step prints one line; any failure raises (exit 1).
"""
import sys
import threading
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NoNodeError, NodeExistsError, NotEmptyError

first, others = sys.argv[1], sys.argv[2]
zk = KazooClient(hosts=first, timeout=10, connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 0.5})
zk.start(timeout=15)
session_id, _ = zk.client_id
print("connected", hex(session_id), flush=True)

if zk.exists("/kz"):
    zk.delete("/kz", recursive=True)
zk.create("/kz", b"root")
assert zk.create("/kz/a", b"v0") == "/kz/a"
try:
    zk.create("/kz/a", b"again")
    raise AssertionError("NODE_EXISTS expected")
except NodeExistsError:
    print("create twice: NodeExistsError", flush=True)
data, stat = zk.get("/kz/a")
assert data == b"v0" and stat.version == 0, (data, stat)
stat = zk.set("/kz/a", b"v1", version=0)
assert stat.version == 1
try:
    zk.set("/kz/a", b"v2", version=0)
    raise AssertionError("BAD_VERSION expected")
except BadVersionError:
    print("set with a stale version: BadVersionError", flush=True)
try:
    zk.delete("/kz")
    raise AssertionError("NOT_EMPTY expected")
except NotEmptyError:
    print("delete of a parent: NotEmptyError", flush=True)
try:
    zk.get("/kz/none")
    raise AssertionError("NO_NODE expected")
except NoNodeError:
    print("get of a missing znode: NoNodeError", flush=True)
assert zk.exists("/kz/none") is None

seq = [zk.create("/kz/s-", b"", sequence=True) for _ in range(3)]
assert seq == ["/kz/s-0000000001", "/kz/s-0000000002", "/kz/s-0000000003"], seq
eph = zk.create("/kz/e-", b"mine", ephemeral=True, sequence=True)
owner = zk.exists(eph).ephemeralOwner
assert owner == session_id, (owner, session_id)
print("sequential", seq, "ephemeral", eph, flush=True)

fired = []
done = threading.Event()
def on_change(event):
    fired.append((event.type, event.path))
    done.set()
zk.get("/kz/a", watch=on_change)
zk.set("/kz/a", b"v2")
zk.set("/kz/a", b"v3")
assert done.wait(10), "the data watch did not fire"
zk.sync("/kz")
assert fired == [("CHANGED", "/kz/a")], fired
print("watch fired once", fired, flush=True)

t = zk.transaction()
t.check("/kz/a", 3)
t.create("/kz/m", b"multi")
t.set_data("/kz/a", b"v4")
results = t.commit()
assert results[0] is True and results[1] == "/kz/m", results
t = zk.transaction()
t.create("/kz/m2", b"")
t.check("/kz/a", 99)
failed = t.commit()
assert zk.exists("/kz/m2") is None, "a failed multi must change nothing"
print("multi ok, failed multi changed nothing:", [type(r).__name__ for r in failed], flush=True)

children = sorted(zk.get_children("/kz"))
print("children", children, flush=True)
moved = threading.Event()
zk.exists("/kz/after-move", watch=lambda event: moved.set())

print("READY", hex(session_id), flush=True)
sys.stdin.readline()
zk.set_hosts(others)
# The member it was connected to is gone: kazoo reconnects elsewhere with the same session.
zk.sync("/kz")
assert zk.client_id[0] == session_id, "the session must be resumed, not replaced"
assert zk.exists(eph) is not None and zk.exists(eph).ephemeralOwner == session_id, "the ephemeral must survive"
zk.create("/kz/after-move", b"")
assert moved.wait(10), "the exists watch left before the move must fire after it"
assert zk.get("/kz/a")[0] == b"v4"
print("resumed", hex(zk.client_id[0]), "ephemeral kept", eph, flush=True)
zk.stop()
zk.close()
print("DONE", flush=True)
