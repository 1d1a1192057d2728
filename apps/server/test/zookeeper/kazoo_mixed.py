"""kazoo beside a zabkit client: prints its session (id and password, hex) once it holds an ephemeral
and watches /mixed; the test then writes /mixed with a zabkit client, which must fire this watch
exactly once, and lists the session's ephemerals with zabkit's getEphemerals under kazoo's session.

Usage: kazoo_mixed.py HOSTS
"""
import sys
import threading
from kazoo.client import KazooClient

zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=15)
session_id, password = zk.client_id
zk.ensure_path("/mixed")
eph = zk.create("/mixed/kazoo-", b"", ephemeral=True, sequence=True)
fired = []
done = threading.Event()
def on_change(event):
    fired.append((event.type, event.path))
    done.set()
zk.get("/mixed", watch=on_change)
print("READY", format(session_id, "x"), password.hex(), eph, flush=True)
assert done.wait(20), "the zabkit client's write did not fire the kazoo watch"
zk.sync("/mixed")
assert fired == [("CHANGED", "/mixed")], fired
assert zk.get("/mixed")[0] == b"from zabkit"
print("FIRED", fired, flush=True)
sys.stdin.readline()
zk.stop()
zk.close()
print("DONE", flush=True)
