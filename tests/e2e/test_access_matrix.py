"""Every route against every role and scope (docs/api.md, docs/security.md).

The routes come from the route table itself: src/api/routes.c is read, and
every route there must have a rule in RULES below (a new route without one
fails test_every_route_has_a_rule, and so does a rule for a route that is
gone). Each rule says which role a route needs; the test then calls the
route, on real objects of a real ferryd, as

  no token, viewer, developer, admin (all projects), and a viewer and a
  developer scoped to project alpha,

once on project alpha's objects and once on project beta's, and checks the
answer: refused with 401 without a token, 403 for a role below the rule's,
404 (or 403) for a scoped token on the other project, and let through (any
answer but 401, 403, 404 or 5xx) otherwise. Destructive calls get a fresh object
each (a component, a token, a configuration key) so that one call does not
change what the next one sees."""

import hashlib
import hmac
import json
import os
import re
import secrets

import pytest
import requests

from ferry import ROOT, deploying_ferryd
from gitserve import Repo
from test_rollout import cleanup, hello_files
from test_tasks import task_files

ROUTES_C = os.path.join(ROOT, "src", "api", "routes.c")

# levels, lowest first
PUBLIC, ANY, READ, WRITE, ADMIN = "public", "any token", "viewer", "developer", "admin"
RANK = {"viewer": 0, "developer": 1, "admin": 2}

# (name, role, scoped to alpha)
CALLERS = [("none", None, False), ("viewer", "viewer", False), ("developer", "developer", False),
           ("admin", "admin", False), ("viewer@alpha", "viewer", True),
           ("developer@alpha", "developer", True)]


def route_table():
    """(METHOD, pattern) of every route in src/api/routes.c, '{}' for a
    path parameter."""
    with open(ROUTES_C) as f:
        text = f.read()
    prefix = re.search(r'#define P "([^"]+)"', text).group(1)
    routes = []
    for m in re.finditer(r'\{\s*"([A-Z]+)",\s*(P\s*)?"([^"]*)"', text):
        routes.append((m.group(1), (prefix if m.group(2) else "") + m.group(3)))
    assert len(routes) > 40, "cannot read the route table in %s" % ROUTES_C
    return routes


class World:
    """The objects each call works on: two projects, alpha and beta, each
    with a service (built and deployed in development) and a manual-task
    component that is built, deployed (development), run once and promoted
    to production, where an approval is pending."""

    def __init__(self, d, root):
        self.d, self.root = d, root
        self.n = 0
        self.tokens = {}
        self.p = {}
        self.repo = Repo(root, name="task")
        self.repo.commit(task_files(), message="task")
        os.chmod(os.path.join(self.repo.work, "task.sh"), 0o755)
        self.repo.commit({}, message="executable")
        self.web = Repo(root, name="web")
        self.web.commit(hello_files(), message="hello")
        os.chmod(os.path.join(self.web.work, "www/cgi-bin/index.cgi"), 0o755)
        self.web.commit({}, message="executable cgi")
        for proj in ("alpha", "beta"):
            d.ok("project", "create", proj)
        for name, role, scoped in CALLERS:
            if role:
                self.tokens[name] = self.token(role, "alpha" if scoped else None, name)
        requester = self.token("developer", None, "requester")
        for proj in ("alpha", "beta"):
            d.ok("component", "create", proj + "/web", "--repo", self.web.file_url)
            d.ok("config", "set", proj + "/web", "GREETING=hi")
            r = d.cli("build", proj + "/web", "--wait", "--json", timeout=600)
            assert r.rc == 0, r
            r = d.cli("deploy", proj + "/web", "--wait", timeout=300)
            assert r.rc == 0, r
            c = d.ok("component", "create", proj + "/job", "--repo", self.repo.file_url,
                     "--type", "manual-task")
            r = d.cli("build", proj + "/job", "--wait", "--json", timeout=600)
            assert r.rc == 0, r
            build = r.json
            r = d.cli("deploy", proj + "/job", "--wait", "--json", timeout=300)
            assert r.rc == 0, r
            dep = d.ok("deployments", proj + "/job", "--env", "development")[0]
            x = self.call("POST", "/api/v1/projects/%s/components/job/executions" % proj,
                          d.token, {"env": "development"})
            assert x.status_code in (200, 201, 202), x.text
            self.ok("PATCH", "/api/v1/projects/%s/environments/production" % proj,
                    {"require_approval": True})
            self.requester = requester
            ap = self.approval({"project": proj})
            self.ok("POST", "/api/v1/projects/%s/notifications" % proj, HOOK("ops"))
            for kind in ("connections", "config-groups"):
                self.ok("POST", "/api/v1/projects/%s/%s" % (proj, kind),
                        {"name": "shared", "env": "development", "values": [{"key": "URL", "value": "http://x"}]})
            self.p[proj] = {"project": proj, "component": "job", "env": "development",
                            "build": build["id"], "job": build["job"], "deployment": dep["id"],
                            "execution": x.json()["id"], "approval": ap, "notification": "ops",
                            "hook": c["webhook_url"].rsplit("/", 1)[1],
                            "webhook_secret": c["webhook_secret"]}

    def approval(self, target):
        """A new pending approval request: the requester promotes the job to
        production (the admin is the approver; a requester never is)."""
        r = self.call("POST", "/api/v1/projects/%s/components/job/promote" % target["project"],
                      self.requester, {"to": "production"})
        assert r.status_code == 202, r.text
        return r.json()["approval_request"]["id"]

    def call(self, method, path, token, body=None, headers=None, session=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body))
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        return (session or requests).request(method, self.d.url + path, headers=h, data=data,
                                             timeout=60)

    def ok(self, method, path, body=None):
        r = self.call(method, path, self.d.token, body)
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json() if r.text.strip() else None

    def token(self, role, project, name):
        body = {"role": role, "name": "%s-%s" % (name.replace("@", "-"), secrets.token_hex(3))}
        if project:
            body["project"] = project
        return self.ok("POST", "/api/v1/tokens", body)["token"]

    def fresh(self, what):
        self.n += 1
        return "%s%d" % (what, self.n)


# ---- the rules: one per route ---------------------------------------------
#
# level: the least role that may call the route; scoped: the route works on
# one project's objects (a scoped token is refused on the other project).
# call(world, target, token) -> response; target is the dict of one
# project's objects. The default call sends body to the pattern filled from
# target.

class Rule:
    def __init__(self, level, body=None, scoped=True, call=None, query="", unscoped_only=False):
        self.level, self.body, self.scoped, self.call_fn, self.query = level, body, scoped, call, query
        # covers every project: a token scoped to one is refused (403)
        self.unscoped_only = unscoped_only


PARAM_ORDER = {
    "/projects/{}": "project", "/environments/{}": "env", "/components/{}": "component",
    "/configs/{}": "key", "/connections/{}": "connection", "/config-groups/{}": "group",
    "/builds/{}": "build", "/deployments/{}": "deployment", "/executions/{}": "execution",
    "/approvals/{}": "approval", "/notifications/{}": "notification", "/jobs/{}": "job", "/tokens/{}": "token_id", "/hooks/{}": "hook",
}


def fill(pattern, values):
    """Replaces each {} with values[name], name from the segment before it."""
    out, rest = "", pattern
    while "{}" in rest:
        i = rest.index("{}")
        head = rest[:i]
        seg = "/" + head.rstrip("/").rsplit("/", 1)[1] + "/{}"
        out += head + str(values[PARAM_ORDER[seg]])
        rest = rest[i + 2:]
    return out + rest


def default_call(method, pattern, rule):
    def call(w, target, token):
        body = rule.body(w, target) if callable(rule.body) else rule.body
        return w.call(method, fill(pattern, target) + rule.query, token, body)
    return call


def with_fresh(make, key):
    """A call on a fresh object made by make(world, target) (admin) and put
    in the path under key."""
    def wrap(method, pattern, rule):
        def call(w, target, token):
            t = dict(target)
            t[key] = make(w, target)
            body = rule.body(w, target) if callable(rule.body) else rule.body
            return w.call(method, fill(pattern, t) + rule.query, token, body)
        return call
    return wrap


def fresh_component(w, target):
    name = w.fresh("c")
    w.ok("POST", "/api/v1/projects/%s/components" % target["project"],
         {"name": name, "repo": w.repo.file_url, "type": "manual-task"})
    return name


def fresh_config(w, target):
    key = w.fresh("K")
    w.ok("POST", "/api/v1/projects/%s/components/job/configs" % target["project"],
         {"values": [{"key": key, "value": "v"}]})
    return key


def fresh_named(kind):
    def make(w, target):
        name = w.fresh("n")
        w.ok("POST", "/api/v1/projects/%s/%s" % (target["project"], kind),
             {"name": name, "env": "development", "values": [{"key": "A", "value": "b"}]})
        return name
    return make


def HOOK(name):
    # a closed port on loopback (ferryd runs with --allow-local-repos)
    return {"name": name, "url": "http://127.0.0.1:9/hook", "events": ["build.failed"]}


def fresh_notification(w, target):
    name = w.fresh("n")
    w.ok("POST", "/api/v1/projects/%s/notifications" % target["project"], HOOK(name))
    return name


def fresh_git_credentials(w, target):
    w.ok("PUT", "/api/v1/projects/%s/components/job/git-credentials" % target["project"],
         {"kind": "https", "username": "u", "token": "t"})
    return "job"


def fresh_rollout_policy(w, target):
    w.ok("PUT", "/api/v1/projects/%s/components/job/rollout-policy" % target["project"],
         {"steps": [10], "max_error_ratio": 0.5})
    return "job"


def fresh_token(w, target):
    return w.ok("POST", "/api/v1/tokens", {"role": "viewer", "name": w.fresh("t")})["id"]


def signed_hook(method, pattern, rule):
    """A GitHub ping, signed with the component's secret: what a delivery
    needs is the signature, never a token."""
    def call(w, target, token):
        body = json.dumps({"zen": "hi", "hook_id": 1}).encode()
        sig = hmac.new(target["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
        return w.call(method, fill(pattern, target), token, body, headers={
            "X-GitHub-Event": "ping", "X-GitHub-Delivery": secrets.token_hex(8),
            "X-Hub-Signature-256": "sha256=" + sig})
    return call


def session_call(method, pattern, rule):
    """The session routes act on the caller's own session: sign in with the
    token, then call with the cookie (and its CSRF token)."""
    def call(w, target, token):
        s = requests.Session()
        if method == "POST":
            # no token: one nobody holds
            return w.call(method, pattern, None, {"token": token or "fry_" + "0" * 64}, session=s)
        h = {}
        if token:
            r = w.call("POST", pattern, None, {"token": token}, session=s)
            assert r.status_code == 201, r.text
            h["X-CSRF-Token"] = r.json()["csrf"]
        return w.call(method, pattern, None, None, headers=h, session=s)
    return call


RULES = {
    ("GET", "/healthz"): Rule(PUBLIC, scoped=False),
    ("GET", "/metrics"): Rule(READ, scoped=False, unscoped_only=True),
    ("GET", "/api/v1/openapi.json"): Rule(ANY, scoped=False),
    ("GET", "/api/v1/whoami"): Rule(ANY, scoped=False),
    ("POST", "/api/v1/session"): Rule(ANY, scoped=False, call=session_call),
    ("GET", "/api/v1/session"): Rule(ANY, scoped=False, call=session_call),
    ("DELETE", "/api/v1/session"): Rule(ANY, scoped=False, call=session_call),

    ("GET", "/api/v1/projects"): Rule(READ, scoped=False),
    ("POST", "/api/v1/projects"): Rule(ADMIN, lambda w, t: {"name": w.fresh("p")}, scoped=False),
    ("GET", "/api/v1/projects/{}"): Rule(READ),
    ("GET", "/api/v1/projects/{}/environments"): Rule(READ),
    ("POST", "/api/v1/projects/{}/environments"):
        Rule(ADMIN, lambda w, t: {"name": w.fresh("e"), "after": "production"}),
    ("PATCH", "/api/v1/projects/{}/environments/{}"): Rule(ADMIN, {"require_approval": False}),

    ("GET", "/api/v1/projects/{}/connections"): Rule(READ),
    ("POST", "/api/v1/projects/{}/connections"):
        Rule(WRITE, lambda w, t: {"name": w.fresh("n"), "env": "development", "values": [{"key": "A", "value": "b"}]}),
    ("DELETE", "/api/v1/projects/{}/connections/{}"):
        Rule(WRITE, call=with_fresh(fresh_named("connections"), "connection"), query="?env=development"),
    ("GET", "/api/v1/projects/{}/config-groups"): Rule(READ),
    ("POST", "/api/v1/projects/{}/config-groups"):
        Rule(WRITE, lambda w, t: {"name": w.fresh("n"), "env": "development", "values": [{"key": "A", "value": "b"}]}),
    ("DELETE", "/api/v1/projects/{}/config-groups/{}"):
        Rule(WRITE, call=with_fresh(fresh_named("config-groups"), "group"), query="?env=development"),

    ("GET", "/api/v1/projects/{}/notifications"): Rule(READ),
    ("POST", "/api/v1/projects/{}/notifications"): Rule(WRITE, lambda w, t: HOOK(w.fresh("n"))),
    ("DELETE", "/api/v1/projects/{}/notifications/{}"):
        Rule(WRITE, call=with_fresh(fresh_notification, "notification")),
    ("POST", "/api/v1/projects/{}/notifications/{}/test"): Rule(WRITE),
    ("GET", "/api/v1/projects/{}/notification-deliveries"): Rule(READ),

    ("GET", "/api/v1/projects/{}/components"): Rule(READ),
    ("POST", "/api/v1/projects/{}/components"):
        Rule(WRITE, lambda w, t: {"name": w.fresh("c"), "repo": w.repo.file_url, "type": "manual-task"}),
    ("GET", "/api/v1/projects/{}/components/{}"): Rule(READ),
    ("DELETE", "/api/v1/projects/{}/components/{}"): Rule(WRITE, call=with_fresh(fresh_component, "component")),
    ("PATCH", "/api/v1/projects/{}/components/{}"): Rule(WRITE, {"auto_build": False}),
    ("GET", "/api/v1/projects/{}/components/{}/rollout-policy"): Rule(READ),
    ("PUT", "/api/v1/projects/{}/components/{}/rollout-policy"):
        Rule(WRITE, {"steps": [10], "max_error_ratio": 0.5}),
    ("DELETE", "/api/v1/projects/{}/components/{}/rollout-policy"):
        Rule(WRITE, call=with_fresh(fresh_rollout_policy, "component")),

    ("GET", "/api/v1/projects/{}/components/{}/configs"): Rule(READ),
    ("POST", "/api/v1/projects/{}/components/{}/configs"): Rule(WRITE, {"values": [{"key": "MESSAGE", "value": "hi"}]}),
    ("DELETE", "/api/v1/projects/{}/components/{}/configs/{}"):
        Rule(WRITE, call=with_fresh(fresh_config, "key")),

    ("GET", "/api/v1/projects/{}/components/{}/git-credentials"): Rule(READ),
    ("PUT", "/api/v1/projects/{}/components/{}/git-credentials"):
        Rule(WRITE, {"kind": "https", "username": "u", "token": "t"}),
    ("DELETE", "/api/v1/projects/{}/components/{}/git-credentials"):
        Rule(WRITE, call=with_fresh(fresh_git_credentials, "component")),
    ("GET", "/api/v1/projects/{}/components/{}/commits"): Rule(READ),
    ("GET", "/api/v1/projects/{}/components/{}/builds"): Rule(READ),
    ("POST", "/api/v1/projects/{}/components/{}/builds"): Rule(WRITE, {}),
    ("GET", "/api/v1/projects/{}/components/{}/deliveries"): Rule(READ),
    ("GET", "/api/v1/builds/{}"): Rule(READ),
    ("POST", "/api/v1/builds/{}/cancel"): Rule(WRITE),
    ("GET", "/api/v1/builds/{}/log"): Rule(READ),
    ("GET", "/api/v1/builds/{}/scan"): Rule(READ),
    ("GET", "/api/v1/projects/{}/components/{}/environments/{}/logs"):
        Rule(READ, call=with_fresh(lambda w, t: "web", "component")),

    ("POST", "/api/v1/projects/{}/components/{}/deploy"): Rule(WRITE, {}),
    ("POST", "/api/v1/projects/{}/components/{}/promote"): Rule(WRITE, {"to": "production"}),
    ("POST", "/api/v1/projects/{}/components/{}/rollback"): Rule(WRITE, {"env": "development"}),
    ("POST", "/api/v1/projects/{}/components/{}/undeploy"): Rule(WRITE, {"env": "production"}),
    ("GET", "/api/v1/projects/{}/components/{}/deployments"): Rule(READ),
    ("GET", "/api/v1/projects/{}/components/{}/status"): Rule(READ),
    ("GET", "/api/v1/projects/{}/components/{}/metrics"): Rule(READ, query="?env=development"),
    ("GET", "/api/v1/projects/{}/components/{}/manifests"): Rule(READ, query="?env=development"),
    ("GET", "/api/v1/deployments/{}"): Rule(READ),
    ("GET", "/api/v1/deployments/{}/log"): Rule(READ),
    ("GET", "/api/v1/approvals"): Rule(READ, scoped=False),
    ("GET", "/api/v1/approvals/{}"): Rule(READ),
    # the environment's policy names its approvers: admin (the default)
    ("POST", "/api/v1/approvals/{}/approve"):
        Rule(ADMIN, {"comment": "ok"}, call=with_fresh(lambda w, t: w.approval(t), "approval")),
    ("POST", "/api/v1/approvals/{}/reject"):
        Rule(ADMIN, {"reason": "no"}, call=with_fresh(lambda w, t: w.approval(t), "approval")),
    ("POST", "/api/v1/hooks/{}"): Rule(PUBLIC, call=signed_hook),

    ("POST", "/api/v1/projects/{}/components/{}/executions"): Rule(WRITE, {"env": "development"}),
    ("GET", "/api/v1/projects/{}/components/{}/executions"): Rule(READ),
    ("GET", "/api/v1/projects/{}/components/{}/executions/count"): Rule(READ),
    ("GET", "/api/v1/executions/{}"): Rule(READ),
    ("POST", "/api/v1/executions/{}/cancel"): Rule(WRITE),
    ("GET", "/api/v1/executions/{}/log"): Rule(READ),

    ("GET", "/api/v1/tokens"): Rule(ADMIN, scoped=False),
    ("POST", "/api/v1/tokens"): Rule(ADMIN, lambda w, t: {"role": "viewer", "name": w.fresh("t")}, scoped=False),
    ("DELETE", "/api/v1/tokens/{}"): Rule(ADMIN, scoped=False, call=with_fresh(fresh_token, "token_id")),

    ("POST", "/api/v1/admin/backup"): Rule(ADMIN, {}, scoped=False),
    ("GET", "/api/v1/admin/df"): Rule(ADMIN, scoped=False),
    ("POST", "/api/v1/admin/prune"): Rule(ADMIN, {}, scoped=False),
    ("GET", "/api/v1/audit"): Rule(ADMIN, scoped=False),

    ("POST", "/api/v1/jobs"): Rule(ADMIN, {"kind": "sleep", "seconds": 0}, scoped=False),
    ("GET", "/api/v1/jobs/{}"): Rule(READ),
    ("POST", "/api/v1/jobs/{}/cancel"): Rule(WRITE),
    ("GET", "/api/v1/jobs/{}/log"): Rule(READ),
}

DENIED = (401, 403, 404)


def expected(rule, caller, target):
    """'allowed', or the set of statuses that refuse."""
    _, role, scoped = caller
    if rule.level == PUBLIC:
        return "allowed"
    if role is None:
        return {401}
    if rule.level == ANY:
        return "allowed"
    if scoped and rule.scoped and target == "beta":
        return {403, 404}
    if scoped and rule.unscoped_only:
        return {403}
    if RANK[role] < RANK[rule.level]:
        return {403}
    return "allowed"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix")
    data = str(root / "data")
    d = deploying_ferryd(data, extra=["--allow-local-repos"])
    try:
        yield World(d, str(root))
    finally:
        d.stop()
        cleanup(data)


def test_every_route_has_a_rule():
    routes = set(route_table())
    missing = sorted(routes - set(RULES))
    stale = sorted(set(RULES) - routes)
    assert not missing, "routes without a rule in %s: %s" % (__file__, missing)
    assert not stale, "rules for routes that are not in routes.c: %s" % stale


@pytest.mark.parametrize("route", route_table(), ids=lambda r: "%s %s" % r)
def test_route_against_every_role_and_scope(world, route):
    rule = RULES.get(route)
    assert rule, "no rule for %s %s" % route
    call = (rule.call_fn or default_call)(route[0], route[1], rule)
    wrong = []
    # refusals first: they must change nothing, so the allowed calls after
    # them see the same objects
    plan = [(c, t) for t in ("alpha", "beta") if t == "alpha" or rule.scoped for c in CALLERS]
    plan.sort(key=lambda ct: expected(rule, *ct) == "allowed")
    for caller, target in plan:
        want = expected(rule, caller, target)
        r = call(world, world.p[target], world.tokens.get(caller[0]))
        if want == "allowed":  # past the access check: an answer, not a refusal or a crash
            ok = r.status_code not in DENIED and r.status_code < 500
        else:
            ok = r.status_code in want
        if not ok:
            wrong.append("%s on %s: %d %s (want %s)" % (caller[0], target, r.status_code,
                                                          r.text[:160], want))
    assert not wrong, "%s %s:\n  " % route + "\n  ".join(wrong)


def test_scoped_lists_show_only_their_project(world):
    for caller in ("viewer@alpha", "developer@alpha"):
        tok = world.tokens[caller]
        names = [p["name"] for p in world.call("GET", "/api/v1/projects", tok).json()]
        assert names == ["alpha"], (caller, names)
        aps = world.call("GET", "/api/v1/approvals?all=1", tok).json()
        assert aps and {a["project"] for a in aps} == {"alpha"}, (caller, aps)
        r = world.call("GET", "/api/v1/approvals?project=beta", tok)
        assert r.status_code == 404 or r.json() == [], (caller, r.status_code, r.text)
