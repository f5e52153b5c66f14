"""kill -9 of ferryd at random instants of a build + deploy + promote
sequence, each followed by a restart and the invariants: no job left
running forever, at most one active deployment per component and
environment, the serving version answering throughout. 5 instants here;
FERRY_KILL_INSTANTS=20 for the issue's full run."""

import os
import random
import threading
import time

import pytest

from hello_app import start_hello, stop_hello
from test_rollout import Load

INSTANTS = int(os.environ.get("FERRY_KILL_INSTANTS", "5"))


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill9")
    data = str(root / "data")
    try:
        f = start_hello(root)
        assert f.cli("promote", "demo/hello", "--to", "production", "--wait", timeout=300).rc == 0
        yield f
    finally:
        stop_hello(locals().get("f"), data)


def settled(d):
    builds = [b for b in d.ok("builds", "demo/hello") if b["status"] in ("queued", "running")]
    deps = [x for env in ("development", "production")
            for x in d.ok("deployments", "demo/hello", "--env", env) if x["status"] in ("pending", "rolling-out")]
    return not builds and not deps


def test_kill_9_at_random_instants_of_build_deploy_promote(d):
    rnd = random.Random(int(os.environ.get("FERRY_KILL_SEED", "16")))
    with Load("http://127.0.0.1:%d/" % d.gw, "hello.demo.production.localhost", threads=2) as load:
        for i in range(INSTANTS):
            d.repo.commit({"www/kill%d.txt" % i: "%d\n" % i}, message="change %d" % i)

            def sequence():
                for args in (("build", "demo/hello", "--wait"), ("deploy", "demo/hello", "--wait"),
                             ("promote", "demo/hello", "--to", "production", "--wait")):
                    if d.cli(*args, timeout=300).rc != 0:
                        return
            t = threading.Thread(target=sequence, daemon=True)
            t.start()
            time.sleep(rnd.uniform(0.2, 12))
            d.kill()
            t.join(60)
            d.start()
            deadline = time.time() + 240
            while not settled(d):
                assert time.time() < deadline, "instant %d: work left running after the restart" % i
                time.sleep(0.5)
            for env in ("development", "production"):
                act = [x for x in d.ok("deployments", "demo/hello", "--env", env) if x["status"] == "active"]
                assert len(act) == 1, (i, env, act)
    assert load.total > 20
    assert load.all_ok(), (load.codes, load.errors[:5])
    # and it still works end to end
    assert d.cli("build", "demo/hello", "--wait", timeout=300).rc == 0
    assert d.cli("deploy", "demo/hello", "--wait", timeout=300).rc == 0
    assert d.cli("promote", "demo/hello", "--to", "production", "--wait", timeout=300).rc == 0
