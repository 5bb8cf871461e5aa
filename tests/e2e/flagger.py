#!/usr/bin/env python3
"""End-to-end scenarios: the real Flagger controller calling canary-judge serve.

    tests/e2e/flagger.py [--env DIR] [--keep] [--only a,b] [--list]

Without --env, brings up a fresh environment with `scripts/k8s-testenv up` (etcd, kube-apiserver,
controller-manager, scheduler, kwok, Prometheus) in a temporary directory and tears it down at the
end. Then:

1. `helm install` of charts/canary-judge with tests/e2e/flagger-values.yaml (flagger.enabled,
   three replicas) into the real API server: the objects must be accepted, the pods Ready (kwok),
   and the chart's ServiceAccount may read Canaries and nothing else (`kubectl auth can-i`).
2. Two `canary-judge serve` processes start from the ConfigMap the chart rendered, with a token of
   the chart's ServiceAccount, so they read the Canary status through the chart's RBAC. A mirroring
   proxy sends every call from Flagger to both and answers with each in turn, recording both
   answers.
3. The Flagger controller (`scripts/k8s-testenv start-flagger`: its own ServiceAccount and
   ClusterRole, `-mesh-provider kubernetes`) runs blue/green Canaries whose webhooks and
   MetricTemplates point at the proxy; the application stand-in (tests/e2e/app) serves each
   Deployment's traffic.

Every assertion is on the real Canary status and events, the primary Deployment's template and the
answers of both replicas. Prints `--- PASS: name (12.3s)` / `--- FAIL: …` per scenario and a
closing `N passed, N failed` line; figures go to $E2E_REPORT (default <env dir>/flagger-report.json).
"""

import argparse
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (the Argo scenarios' environment helpers)
from e2e import Env, Failure, TESTENV, ROOT, HERE, say, wait_for, free_port  # noqa: E402

CHART = os.path.join(ROOT, "charts", "canary-judge")
RELEASE, RELEASE_NS = "cj", "canary-judge"
SA = "system:serviceaccount:%s:%s-canary-judge" % (RELEASE_NS, RELEASE)
HELM_VERSION = "v3.21.4"
WINDOW = re.compile(r"\[window (\d+)/(\d+) \((\d+)s\) from ([a-z-]+)\]")
V1 = {"error_rate": 0.0, "latency_ms": 40}
BAD = {"error_rate": 0.08, "latency_ms": 40}


# --- helm ------------------------------------------------------------------------------------
def helm_bin():
    h = shutil.which("helm")
    if h:
        return h
    gobin = subprocess.run(["go", "env", "GOBIN"], capture_output=True, text=True).stdout.strip()
    if not gobin:
        gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True).stdout.strip()
        gobin = os.path.join(gopath, "bin")
    h = os.path.join(gobin, "helm")
    if not os.path.exists(h):
        subprocess.run(["go", "install", "helm.sh/helm/v3/cmd/helm@" + HELM_VERSION], check=True)
    return h


# --- the mirroring proxy ---------------------------------------------------------------------
class Mirror:
    """Loopback HTTP proxy: each request goes to every replica at once; the caller gets the
    answer of replica (n mod 2) for its n-th request (the other's if that one is down). Every
    exchange is recorded with both answers."""

    def __init__(self, replicas):
        self.replicas = replicas  # list of base URLs (mutable: a restarted replica keeps its URL)
        self.log = []
        self.lock = threading.Lock()
        self.n = 0
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self.forward(None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.forward(self.rfile.read(n))

            def forward(self, body):
                answers = [None] * len(mirror.replicas)
                def call(i, base):
                    req = urllib.request.Request(base + self.path, data=body, method=self.command)
                    for k in ("Content-Type", "Authorization"):
                        if self.headers.get(k):
                            req.add_header(k, self.headers[k])
                    try:
                        with urllib.request.urlopen(req, timeout=9) as r:
                            answers[i] = (r.status, r.read().decode(), r.headers.get("Content-Type"))
                    except urllib.error.HTTPError as e:
                        answers[i] = (e.code, e.read().decode(), e.headers.get("Content-Type"))
                    except Exception as e:  # noqa: BLE001  (a replica that is down)
                        answers[i] = (None, str(e), None)
                ts = [threading.Thread(target=call, args=(i, b)) for i, b in enumerate(mirror.replicas)]
                [t.start() for t in ts]
                [t.join() for t in ts]
                with mirror.lock:
                    k = mirror.n
                    mirror.n += 1
                    pick = k % len(answers)
                    if answers[pick][0] is None:
                        pick = next((i for i, a in enumerate(answers) if a[0] is not None), pick)
                    payload = {}
                    if body:
                        try:
                            payload = json.loads(body)
                        except ValueError:
                            pass
                    mirror.log.append({"t": time.time(), "path": self.path, "payload": payload,
                                       "answers": answers, "picked": pick})
                status, text, ctype = answers[pick]
                if status is None:
                    status, text, ctype = 502, "no replica answered: " + text, "text/plain"
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype or "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self, ns, name=None, path_prefix="/flagger/"):
        with self.lock:
            out = []
            for c in self.log:
                p = c["payload"]
                if c["path"].startswith(path_prefix) and p.get("namespace") == ns and \
                        (name is None or p.get("name") == name):
                    out.append(c)
            return out


def windows_of(call):
    """[(replica, start, end, source, status, verdict word)] of one mirrored webhook call."""
    out = []
    for i, (status, text, _) in enumerate(call["answers"]):
        m = WINDOW.search(text or "")
        if status is None or not m:
            out.append((i, None, None, None, status, (text or "")[:120]))
            continue
        verdict = text.split(":", 1)[0]
        out.append((i, int(m.group(1)), int(m.group(2)), m.group(4), status, verdict))
    return out


# --- the service -----------------------------------------------------------------------------
class Service:
    """Two `canary-judge serve` processes from the chart's rendered ConfigMap."""

    def __init__(self, env):
        self.env = env
        cm = env.getj("configmap", RELEASE_NS, "%s-canary-judge" % RELEASE)
        self.config = os.path.join(env.dir, "serve-flagger.yaml")
        with open(self.config, "w") as f:
            f.write(cm["data"]["config.yaml"])
        token = env.kubectl("-n", RELEASE_NS, "create", "token", "%s-canary-judge" % RELEASE,
                            "--duration", "2h").strip()
        self.kubeconfig = os.path.join(env.dir, "kubeconfig-canary-judge")
        with open(self.kubeconfig, "w") as f:
            f.write("apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n"
                    "    server: %s\n    certificate-authority: %s\nusers:\n- name: cj\n"
                    "  user:\n    token: %s\ncontexts:\n- name: t\n  context: {cluster: t, user: cj}\n"
                    "current-context: t\n" % (env.vars["APISERVER"], os.path.join(env.dir, "pki", "ca.crt"), token))
        os.chmod(self.kubeconfig, 0o600)
        self.ports = [(free_port(), free_port()) for _ in range(2)]
        self.urls = ["http://127.0.0.1:%d" % h for h, _ in self.ports]

    def start(self, i):
        h, g = self.ports[i]
        name = "serve-%d" % i
        subprocess.run([TESTENV, "stop-process", self.env.dir, name], check=True)
        envv = dict(os.environ, KUBECONFIG=self.kubeconfig, CANARY_JUDGE_LOG="info")
        subprocess.run([TESTENV, "start-process", self.env.dir, name, self.env.dir, self.env.vars["PLUGIN_BIN"],
                        "serve", "--config", self.config, "--http-addr", "127.0.0.1:%d" % h,
                        "--grpc-addr", "127.0.0.1:%d" % g], check=True, stdout=subprocess.DEVNULL, env=envv)

        def ready():
            with urllib.request.urlopen(self.urls[i] + "/readyz", timeout=2) as r:
                return r.status == 200 and r.read().decode()
        return wait_for("serve replica %d ready" % i, ready, 30)

    def stop(self, i):
        subprocess.run([TESTENV, "stop-process", self.env.dir, "serve-%d" % i], check=True)


# --- objects ---------------------------------------------------------------------------------
def deployment(ns, name):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name, "version": "v1"}},
                                  "spec": {"containers": [{"name": "app", "image": "e2e-app:v1",
                                                           "ports": [{"containerPort": 8080}]}],
                                           "terminationGracePeriodSeconds": 0}}}}


def canary(ns, name, proxy, webhooks=True, metric=False, iterations=4):
    analysis = {"interval": "10s", "threshold": 3, "iterations": iterations}
    if webhooks:
        hook = lambda n, t: {"name": n, "type": t, "url": "%s/flagger/%s" % (proxy, t), "timeout": "9s",
                             "metadata": {"template": "error-rate"}}
        analysis["webhooks"] = [hook("judge", "rollout"), hook("judge-promotion", "confirm-promotion")]
    if metric:
        analysis["metrics"] = [{"name": "judge-error-rate", "interval": "10s",
                                "templateRef": {"name": "canary-judge", "namespace": ns},
                                "thresholdRange": {"min": 0.5}}]
    return {"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": name, "namespace": ns},
            "spec": {"provider": "kubernetes", "progressDeadlineSeconds": 120,
                     "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "service": {"port": 80, "targetPort": 8080}, "analysis": analysis}}


def metric_template(ns, proxy):
    q = 'canary_judge{template="error-rate", name="{{ target }}", namespace="{{ namespace }}", ' \
        'canary="{{ namespace }}/{{ target }}"}'
    return {"apiVersion": "flagger.app/v1beta1", "kind": "MetricTemplate",
            "metadata": {"name": "canary-judge", "namespace": ns},
            "spec": {"provider": {"type": "prometheus", "address": proxy}, "query": q}}


def cstatus(env, ns, name):
    return env.getj("canary", ns, name).get("status", {})


def promoted_condition(st):
    return next((c for c in st.get("conditions", []) if c.get("type") == "Promoted"), {})


def epoch(t):
    return int(e2e.parse_time(t).timestamp())


def events(env, ns, name):
    items = env.getj("events", ns)["items"]
    return [e.get("message", "") for e in sorted(items, key=lambda e: e.get("lastTimestamp") or "")
            if e.get("involvedObject", {}).get("kind") == "Canary" and e["involvedObject"].get("name") == name]


def primary_version(env, ns, name):
    d = env.getj("deployment", ns, name + "-primary")
    return d["spec"]["template"]["metadata"]["labels"].get("version")


def set_traffic(env, ns, name, v2):
    """The stand-in's traffic for Canary ns/name: 100 req/s to the primary and to the canary
    while each has ready pods, with v1's and v2's behaviour."""
    with env.traffic_lock:
        env.traffic["%s/%s" % (ns, name)] = {"rps": 100, "flagger": True, "versions": {"v1": V1, "v2": v2}}
        tmp = env.scenario_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"seed": 20261202, "rollouts": env.traffic}, f)
        os.replace(tmp, env.scenario_file)


def setup_namespace(env, ns):
    env.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", timeout=120)
    env.kubectl("create", "namespace", ns)
    wait_for("ServiceAccount default in %s" % ns,
             lambda: env.kubectl("get", "sa", "default", "-n", ns, check=False), 60)


def start_canary(env, ns, name, proxy, v2, **kw):
    """Namespace, Deployment at v1, Canary; waits for Flagger's Initialized; sets v2's traffic."""
    setup_namespace(env, ns)
    set_traffic(env, ns, name, v2)
    if kw.get("metric"):
        env.apply(metric_template(ns, proxy))
    env.apply(deployment(ns, name))
    env.apply(canary(ns, name, proxy, **kw))
    wait_for("Canary %s/%s Initialized" % (ns, name), lambda: cstatus(env, ns, name).get("phase") == "Initialized", 120)
    assert_eq(primary_version(env, ns, name), "v1", "primary version after initialisation")


def trigger_v2(env, ns, name):
    env.kubectl("patch", "deployment", name, "-n", ns, "--type", "merge", "-p", json.dumps(
        {"spec": {"template": {"metadata": {"labels": {"version": "v2"}},
                               "spec": {"containers": [{"name": "app", "image": "e2e-app:v2"}]}}}}))
    return time.monotonic()


def wait_phase(env, ns, name, want, timeout, forbid=()):
    def check():
        p = cstatus(env, ns, name).get("phase")
        return p == want and p
    def bad():
        p = cstatus(env, ns, name).get("phase")
        return ("Canary went %s" % p) if p in forbid else None
    return wait_for("Canary %s/%s %s" % (ns, name, want), check, timeout, fail_if=bad, interval=1)


def assert_eq(got, want, what):
    if got != want:
        raise Failure("%s: %r, want %r" % (what, got, want))


def check_windows(fig, calls, st):
    """Every answered call of one analysis names the same start, equal to the Canary's Promoted
    condition; both replicas agree on it and, for the same end second, on the verdict."""
    if not calls:
        raise Failure("no webhook calls recorded")
    want = epoch(promoted_condition(st)["lastTransitionTime"]) if st else None
    starts, same_end, agree = set(), 0, 0
    for c in calls:
        w = [x for x in windows_of(c) if x[1] is not None]
        for (_, s, _, src, _, _) in w:
            starts.add(s)
            if src != "canary-status":
                raise Failure("window from %s, want canary-status: %s" % (src, w))
        if len(w) == 2 and w[0][2] == w[1][2]:
            same_end += 1
            agree += (w[0][4], w[0][5]) == (w[1][4], w[1][5])
    fig["webhook_calls"] = len(calls)
    fig["window_starts"] = sorted(starts)
    fig["replica_pairs_same_end"], fig["replica_pairs_same_verdict"] = same_end, agree
    if len(starts) != 1:
        raise Failure("webhook windows started at %s, want one start" % sorted(starts))
    if want is not None and starts != {want}:
        raise Failure("window start %s, Promoted condition's lastTransitionTime %s" % (starts, want))
    if agree != same_end:
        raise Failure("replicas disagreed on %d of %d calls with the same window" % (same_end - agree, same_end))


# --- scenarios -------------------------------------------------------------------------------
def sc_healthy(env, fig, ctx):
    """healthy v2 (0 % errors): every webhook passes or holds, Canary Succeeded, primary runs v2."""
    ns, name = "fl-healthy", "app"
    start_canary(env, ns, name, ctx["proxy"], dict(V1))
    t0 = trigger_v2(env, ns, name)
    st_during = wait_for("analysis started", lambda: promoted_condition(cstatus(env, ns, name)).get("status") == "Unknown"
                         and cstatus(env, ns, name), 60)
    wait_phase(env, ns, name, "Succeeded", 240, forbid=("Failed",))
    fig["seconds_to_succeeded"] = round(time.monotonic() - t0, 1)
    assert_eq(primary_version(env, ns, name), "v2", "primary version after promotion")
    calls = ctx["mirror"].calls(ns, name)
    check_windows(fig, calls, st_during)
    fig["answers"] = sorted({"%s %s" % (a[0], a[1].split(":", 1)[0]) for c in calls for a in c["answers"] if a[0]})
    ev = events(env, ns, name)
    if not any("Promotion completed" in e for e in ev):
        raise Failure("no 'Promotion completed' event: %s" % ev[-5:])


def sc_bad(env, fig, ctx):
    """bad v2 (8 % 5xx): the rollout webhook answers 403, Canary Failed, primary stays v1."""
    ns, name = "fl-bad", "app"
    start_canary(env, ns, name, ctx["proxy"], BAD)
    t0 = trigger_v2(env, ns, name)
    st_during = wait_for("analysis started", lambda: promoted_condition(cstatus(env, ns, name)).get("status") == "Unknown"
                         and cstatus(env, ns, name), 60)
    wait_phase(env, ns, name, "Failed", 240, forbid=("Succeeded",))
    fig["seconds_to_failed"] = round(time.monotonic() - t0, 1)
    assert_eq(primary_version(env, ns, name), "v1", "primary version after rollback")
    calls = ctx["mirror"].calls(ns, name)
    check_windows(fig, calls, st_during)
    if not any(a[0] == 403 and a[1].startswith("canary-judge fail") for c in calls for a in c["answers"]):
        raise Failure("no 403 'canary-judge fail' answer recorded")
    ev = events(env, ns, name)
    fig["events"] = [e[:160] for e in ev if "canary-judge" in e][:2]
    if not any("canary-judge fail" in e for e in ev):
        raise Failure("no Canary event carries the webhook's reason: %s" % ev[-5:])


def facade(env, fig, ctx, ns, v2, want):
    name = "app"
    start_canary(env, ns, name, ctx["proxy"], v2, webhooks=False, metric=True)
    t0 = trigger_v2(env, ns, name)
    other = "Failed" if want == "Succeeded" else "Succeeded"
    wait_phase(env, ns, name, want, 240, forbid=(other,))
    fig["seconds_to_decision"] = round(time.monotonic() - t0, 1)
    assert_eq(primary_version(env, ns, name), "v2" if want == "Succeeded" else "v1", "primary version")
    q = [c for c in ctx["mirror"].log if c["path"].startswith("/api/v1/query") and "fl-facade" in c["path"]
         and urllib.parse.quote(ns) in c["path"]]
    fig["facade_queries"] = len(q)
    vals = sorted({json.loads(a[1])["data"]["result"][0]["value"][1] for c in q for a in c["answers"]
                   if a[0] == 200})
    fig["facade_values"] = vals
    if not q:
        raise Failure("Flagger sent no facade query")
    if want == "Failed" and "0" not in vals:
        raise Failure("the facade never answered 0 (fail): %s" % vals)


def sc_facade_good(env, fig, ctx):
    """MetricTemplate on the facade, healthy v2: Canary Succeeded."""
    facade(env, fig, ctx, "fl-facade-good", dict(V1), "Succeeded")


def sc_facade_bad(env, fig, ctx):
    """MetricTemplate on the facade, 8 % 5xx: the facade answers 0, Canary Failed."""
    facade(env, fig, ctx, "fl-facade-bad", BAD, "Failed")


def sc_no_traffic(env, fig, ctx):
    """no canary traffic: inconclusive holds the promotion (neither Succeeded nor Failed) until
    traffic arrives and the analysis decides."""
    ns, name = "fl-notraffic", "app"
    start_canary(env, ns, name, ctx["proxy"], dict(V1, traffic=0))
    trigger_v2(env, ns, name)
    wait_phase(env, ns, name, "WaitingPromotion", 150, forbid=("Failed", "Succeeded"))
    t_hold = time.monotonic()
    # Held: for 40 s (four analysis intervals) nothing promotes or rolls back.
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        p = cstatus(env, ns, name).get("phase")
        if p in ("Succeeded", "Failed"):
            raise Failure("Canary went %s with no canary traffic" % p)
        time.sleep(2)
    assert_eq(primary_version(env, ns, name), "v1", "primary version while held")
    held = [a for c in ctx["mirror"].calls(ns, name, "/flagger/confirm-promotion") for a in c["answers"] if a[0]]
    fig["confirm_promotion_answers"] = sorted({"%s %s" % (a[0], a[1][:40]) for a in held})
    if not held or any(a[0] != 425 for a in held):
        raise Failure("confirm-promotion answers while held: %s" % fig["confirm_promotion_answers"])
    set_traffic(env, ns, name, dict(V1))
    wait_phase(env, ns, name, "Succeeded", 180, forbid=("Failed",))
    fig["seconds_held_then_decided"] = round(time.monotonic() - t_hold, 1)
    assert_eq(primary_version(env, ns, name), "v2", "primary version after the decision")


def sc_serve_restarted(env, fig, ctx):
    """both serve replicas restarted in the middle of an analysis: the window does not restart."""
    ns, name = "fl-restart", "app"
    start_canary(env, ns, name, ctx["proxy"], dict(V1), iterations=6)
    trigger_v2(env, ns, name)
    st = wait_for("analysis started", lambda: promoted_condition(cstatus(env, ns, name)).get("status") == "Unknown"
                  and cstatus(env, ns, name), 60)
    m = ctx["mirror"]
    wait_for("two rollout calls", lambda: len(m.calls(ns, name, "/flagger/rollout")) >= 2, 120)
    before = {s for c in m.calls(ns, name) for (_, s, _, _, _, _) in windows_of(c) if s is not None}
    n_before = len(m.calls(ns, name))
    for i in (0, 1):
        ctx["service"].stop(i)
        ctx["service"].start(i)
    wait_for("two calls after the restart", lambda: len(m.calls(ns, name)) >= n_before + 2, 60)
    after = {s for c in m.calls(ns, name)[n_before:] for (_, s, _, _, _, _) in windows_of(c) if s is not None}
    fig["start_before"], fig["start_after"] = sorted(before), sorted(after)
    fig["analysis_start"] = promoted_condition(st).get("lastTransitionTime")
    if len(before) != 1 or before != after:
        raise Failure("window start before the restart %s, after %s" % (sorted(before), sorted(after)))
    if before != {epoch(fig["analysis_start"])}:
        raise Failure("window start %s, Promoted condition's lastTransitionTime %s" % (before, fig["analysis_start"]))
    wait_phase(env, ns, name, "Succeeded", 240, forbid=("Failed",))


def sc_two_replicas(env, fig, ctx):
    """two replicas answering alternately: every mirrored call gets the same window and, for the
    same end second, the same verdict from both."""
    calls = [c for c in ctx["mirror"].log if c["path"].startswith("/flagger/")]
    pairs = [windows_of(c) for c in calls]
    both = [p for p in pairs if all(x[1] is not None for x in p)]
    fig["mirrored_calls"], fig["both_answered"] = len(pairs), len(both)
    same_start = sum(1 for p in both if p[0][1] == p[1][1])
    same_end = [p for p in both if p[0][2] == p[1][2]]
    same_verdict = sum(1 for p in same_end if (p[0][4], p[0][5]) == (p[1][4], p[1][5]))
    fig["same_start"], fig["same_end"], fig["same_verdict_given_same_end"] = same_start, len(same_end), same_verdict
    fig["picked"] = [sum(1 for c in calls if c["picked"] == i) for i in (0, 1)]
    if len(both) < 10:
        raise Failure("only %d calls answered by both replicas" % len(both))
    if same_start != len(both) or same_verdict != len(same_end):
        raise Failure("replicas disagreed: %s" % fig)
    if min(fig["picked"]) == 0:
        raise Failure("one replica never answered Flagger: %s" % fig["picked"])


def install_chart(env, fig):
    """helm install of the chart into the API server; objects accepted, pods Ready, RBAC minimal."""
    values = open(os.path.join(HERE, "flagger-values.yaml")).read().replace("@PROMETHEUS_URL@", env.prom)
    path = os.path.join(env.dir, "flagger-values.yaml")
    with open(path, "w") as f:
        f.write(values)
    t = time.monotonic()
    p = subprocess.run([helm_bin(), "--kubeconfig", env.kubeconfig, "install", RELEASE, CHART, "-n", RELEASE_NS,
                        "--create-namespace", "-f", path, "--wait", "--timeout", "180s"],
                       capture_output=True, text=True, timeout=240)
    if p.returncode != 0:
        raise Failure("helm install: %s" % (p.stderr or p.stdout)[-600:])
    fig["helm_install_seconds"] = round(time.monotonic() - t, 1)
    kinds = {}
    for kind in ("deployment", "service", "configmap", "serviceaccount", "poddisruptionbudget", "networkpolicy"):
        items = env.getj(kind, RELEASE_NS)["items"]
        kinds[kind] = sorted(i["metadata"]["name"] for i in items if i["metadata"]["name"].startswith(RELEASE))
        if not kinds[kind]:
            raise Failure("no %s of the release" % kind)
    for kind in ("clusterrole", "clusterrolebinding"):
        obj = json.loads(env.kubectl("get", kind, "%s-canary-judge-canary-reader" % RELEASE, "-o", "json"))
        kinds[kind] = [obj["metadata"]["name"]]
    fig["objects"] = kinds
    pods = env.getj("pods", RELEASE_NS)["items"]
    ready = [pd for pd in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                      for c in pd.get("status", {}).get("conditions", []))]
    fig["pods_ready"] = len(ready)
    if len(ready) != 3:
        raise Failure("%d of %d pods Ready, want 3" % (len(ready), len(pods)))
    if not all(pd["spec"].get("automountServiceAccountToken") for pd in pods):
        raise Failure("pods do not mount the service account token")
    can = {}
    for verb, res in (("list", "canaries.flagger.app"), ("watch", "canaries.flagger.app"),
                      ("get", "canaries.flagger.app"), ("update", "canaries.flagger.app"),
                      ("get", "secrets"), ("list", "pods"), ("get", "configmaps"), ("list", "deployments")):
        out = env.kubectl("auth", "can-i", verb, res, "--all-namespaces", "--as", SA, check=False).strip()
        can["%s %s" % (verb, res)] = out
    fig["can_i"] = can
    want_yes = {"list canaries.flagger.app", "watch canaries.flagger.app", "get canaries.flagger.app"}
    for k, v in can.items():
        if (v == "yes") != (k in want_yes):
            raise Failure("kubectl auth can-i %s as the chart's ServiceAccount: %s" % (k, v))


SCENARIOS = [("healthy_promoted", sc_healthy), ("bad_5xx_rolled_back", sc_bad),
             ("facade_good_promoted", sc_facade_good), ("facade_bad_rolled_back", sc_facade_bad),
             ("no_traffic_held", sc_no_traffic), ("serve_restarted_mid_analysis", sc_serve_restarted)]
AFTER = [("two_replicas_same_window", sc_two_replicas)]


def run_one(name, fn, report, env, ctx=None):
    """e2e.run_one with the scenario's context (proxy, mirror, service) bound."""
    return e2e.run_one(env, name, fn if ctx is None else (lambda env, fig: fn(env, fig, ctx)), report)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", help="an environment already up (scripts/k8s-testenv up DIR)")
    ap.add_argument("--keep", action="store_true", help="leave the environment running")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for n, f in [("chart_installed", install_chart)] + SCENARIOS + AFTER:
            print("%-32s %s" % (n, f.__doc__.strip().splitlines()[0]))
        return 0
    own = not a.env
    d = a.env or tempfile.mkdtemp(prefix="k8s-testenv.")
    report = {"scenarios": {}}
    t_all = time.monotonic()
    results = []
    try:
        if own:
            t = time.monotonic()
            subprocess.run([TESTENV, "up", d], check=True)
            report["up_seconds"] = round(time.monotonic() - t, 1)
            say("k8s-testenv up: %.1fs" % report["up_seconds"])
        env = Env(d)
        e2e.start_app(env)
        t = time.monotonic()
        subprocess.run([TESTENV, "start-flagger", d], check=True)
        report["flagger_start_seconds"] = round(time.monotonic() - t, 1)
        ok = run_one("chart_installed", install_chart, report, env)
        results.append(ok)
        if not ok:
            return 1
        service = Service(env)
        report["readyz"] = [service.start(i) for i in (0, 1)]
        mirror = Mirror(service.urls)
        ctx = {"proxy": mirror.url, "mirror": mirror, "service": service}
        only = set(a.only.split(",")) if a.only else None
        par = [(n, f) for n, f in SCENARIOS if not only or n in only]
        ts = [threading.Thread(target=lambda n=n, f=f: results.append(run_one(n, f, report, env, ctx)))
              for n, f in par]
        [t.start() for t in ts]
        [t.join() for t in ts]
        for n, f in AFTER:
            if not only or n in only:
                results.append(run_one(n, f, report, env, ctx))
        report["seconds_total"] = round(time.monotonic() - t_all, 1)
        out = os.environ.get("E2E_REPORT") or os.path.join(d, "flagger-report.json")
        with open(out, "w") as f:
            json.dump(report, f, indent=2)
        say(json.dumps(report, indent=2))
        passed = sum(1 for r in results if r)
        say("%d passed, %d failed" % (passed, len(results) - passed))
        if len(results) - passed:
            say("Flagger log: %s/logs/flagger.log; serve logs: %s/logs/serve-*.log" % (d, d))
        return 0 if passed == len(results) and results else 1
    finally:
        if own and not a.keep:
            subprocess.run([TESTENV, "down", d])
        elif not own:
            for n in ("e2eapp", "serve-0", "serve-1"):
                subprocess.run([TESTENV, "stop-process", d, n])
            subprocess.run([TESTENV, "stop-flagger", d])
        else:
            say("environment left running: export KUBECONFIG=%s/kubeconfig; scripts/k8s-testenv down %s" % (d, d))


if __name__ == "__main__":
    sys.exit(main())
