"""kazoo over TLS to the ZooKeeper port's TLS twin (secureZookeeperPort, served with clientTls).

Usage: kazoo_tls.py HOST:PORT CA_FILE
"""
import sys
from kazoo.client import KazooClient

zk = KazooClient(hosts=sys.argv[1], timeout=10, use_ssl=True, ca=sys.argv[2], verify_certs=True)
zk.start(timeout=15)
zk.create("/over-tls", b"encrypted")
assert zk.get("/over-tls")[0] == b"encrypted"
print("TLS OK", format(zk.client_id[0], "x"), flush=True)
zk.stop()
zk.close()
