/*
 * ZooKeeper's C client (Debian's libzookeeper-mt) against a zabkit ensemble's ZooKeeper port.
 *
 * Usage: c_workload FIRST_HOST OTHER_HOSTS
 * Connects to FIRST_HOST only; CRUD with versions, sequential and ephemeral znodes, a watch that
 * must fire exactly once, a multi; prints READY <session id> and waits for a line on stdin (the
 * test kill -9s that member meanwhile); then moves to OTHER_HOSTS (zoo_set_servers) and checks
 * the session, its ephemeral and its data survived. Exits 0 when every check held.
 */
#define THREADED /* the synchronous API of libzookeeper_mt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static volatile int connected = 0;
static volatile int data_events = 0;

static void fail(const char *what, int rc) {
  fprintf(stdout, "FAIL %s: rc = %d (%s)\n", what, rc, zerror(rc));
  fflush(stdout);
  exit(1);
}

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
  (void)zh; (void)path; (void)ctx;
  if (type == ZOO_SESSION_EVENT) connected = state == ZOO_CONNECTED_STATE;
}

static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
  (void)zh; (void)state; (void)ctx;
  if (type == ZOO_CHANGED_EVENT && strcmp(path, "/cw/a") == 0) data_events++;
}

static void wait_connected(const char *why) {
  for (int i = 0; i < 300 && !connected; i++) usleep(100 * 1000);
  if (!connected) fail(why, ZCONNECTIONLOSS);
}

static void expect_rc(const char *what, int rc, int expected) {
  if (rc != expected) fail(what, rc);
  printf("%s: %s\n", what, zerror(rc));
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FIRST_HOST OTHER_HOSTS\n", argv[0]);
    return 2;
  }
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t *zh = zookeeper_init(argv[1], session_watcher, 10000, 0, 0, 0);
  if (zh == NULL) fail("zookeeper_init", ZSYSTEMERROR);
  wait_connected("connect");
  const clientid_t *id = zoo_client_id(zh);
  long long session = id->client_id;
  printf("connected 0x%llx\n", session);

  char created[256];
  struct Stat stat;
  char buffer[64];
  int length;
  expect_rc("create /cw", zoo_create(zh, "/cw", "root", 4, &ZOO_OPEN_ACL_UNSAFE, 0, created, sizeof created), ZOK);
  expect_rc("create /cw/a", zoo_create(zh, "/cw/a", "v0", 2, &ZOO_OPEN_ACL_UNSAFE, 0, created, sizeof created), ZOK);
  expect_rc("create /cw/a again", zoo_create(zh, "/cw/a", "x", 1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZNODEEXISTS);
  expect_rc("set /cw/a version 0", zoo_set(zh, "/cw/a", "v1", 2, 0), ZOK);
  expect_rc("set /cw/a stale version", zoo_set(zh, "/cw/a", "v2", 2, 0), ZBADVERSION);
  expect_rc("delete /cw (not empty)", zoo_delete(zh, "/cw", -1), ZNOTEMPTY);
  length = sizeof buffer;
  expect_rc("get /cw/missing", zoo_get(zh, "/cw/missing", 0, buffer, &length, &stat), ZNONODE);
  expect_rc("create sequential",
            zoo_create(zh, "/cw/s-", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, created, sizeof created), ZOK);
  if (strcmp(created, "/cw/s-0000000001") != 0) fail(created, ZBADARGUMENTS);
  char ephemeral[256];
  expect_rc("create ephemeral",
            zoo_create(zh, "/cw/e", "mine", 4, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, ephemeral, sizeof ephemeral), ZOK);

  length = sizeof buffer;
  expect_rc("wget /cw/a", zoo_wget(zh, "/cw/a", data_watcher, NULL, buffer, &length, &stat), ZOK);
  expect_rc("set /cw/a (fires the watch)", zoo_set(zh, "/cw/a", "v2", 2, -1), ZOK);
  expect_rc("set /cw/a (fires nothing)", zoo_set(zh, "/cw/a", "v3", 2, -1), ZOK);
  expect_rc("sync-by-exists", zoo_exists(zh, "/cw/a", 0, &stat), ZOK);
  for (int i = 0; i < 50 && data_events == 0; i++) usleep(100 * 1000);
  usleep(200 * 1000);
  if (data_events != 1) fail("the data watch must fire exactly once", data_events);
  printf("watch fired once\n");

  zoo_op_t ops[2];
  zoo_op_result_t results[2];
  char multi_path[64];
  zoo_check_op_init(&ops[0], "/cw/a", 3);
  zoo_create_op_init(&ops[1], "/cw/m", "multi", 5, &ZOO_OPEN_ACL_UNSAFE, 0, multi_path, sizeof multi_path);
  expect_rc("multi check+create", zoo_multi(zh, 2, ops, results), ZOK);
  zoo_create_op_init(&ops[0], "/cw/m2", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
  zoo_check_op_init(&ops[1], "/cw/a", 99);
  expect_rc("failing multi", zoo_multi(zh, 2, ops, results), ZBADVERSION);
  expect_rc("the failed multi created nothing", zoo_exists(zh, "/cw/m2", 0, &stat), ZNONODE);

  printf("READY 0x%llx\n", session);
  fflush(stdout);
  char line[16];
  if (fgets(line, sizeof line, stdin) == NULL) fail("stdin", ZSYSTEMERROR);
  connected = 0;
  expect_rc("zoo_set_servers", zoo_set_servers(zh, argv[2]), ZOK);
  wait_connected("reconnect elsewhere");
  if (zoo_client_id(zh)->client_id != session) fail("the session must be resumed, not replaced", ZSESSIONEXPIRED);
  expect_rc("exists the ephemeral", zoo_exists(zh, ephemeral, 0, &stat), ZOK);
  if (stat.ephemeralOwner != session) fail("the ephemeral's owner", ZBADARGUMENTS);
  length = sizeof buffer;
  expect_rc("get /cw/a", zoo_get(zh, "/cw/a", 0, buffer, &length, &stat), ZOK);
  if (length != 2 || memcmp(buffer, "v3", 2) != 0 || stat.version != 3) fail("the data after the move", ZBADARGUMENTS);
  printf("resumed 0x%llx ephemeral kept %s\n", session, ephemeral);
  zookeeper_close(zh);
  printf("DONE\n");
  return 0;
}
