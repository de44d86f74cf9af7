#!/usr/bin/env python3
"""Replays the conformance tests' traffic expectations (traffic.json) through the test Kong's proxy.

Used by test/e2e/conformance_traffic.sh, once per router flavour. Subcommands:

  traffic.py endpoints                 one EndpointSlice per Service of the conformance namespaces,
                                       each Service on its own fake IP (10.244.0.N); prints the
                                       map "IP ns/name" the replay identifies backends by
  traffic.py run TEST                  waits for kgc (status of every HTTPRoute and GRPCRoute at its
                                       generation,
                                       Kong holding the routes kgc accepted), then sends TEST's
                                       expectations; one result line each (below)
  traffic.py settle                    waits until Kong holds no HTTPRoute or GRPCRoute entity (after
                                       a delete)
  traffic.py table FILE...             per-flavour tables from the result files

Environment: API (test API server URL), KONG_ADMIN, PROXY_HTTP, PROXY_HTTPS (host:port of the
proxy listeners), GW_ADDR (the Gateways' published address, the Host the suite sends when a test
names none), IPMAP (file from `endpoints`), INVALID_TARGET (kgc's --invalid-backend-target),
FLAVOUR, TRAFFIC (traffic.json), CERT (the Gateways' certificate, PEM), WAIT (seconds, default 8).

Result lines (tab-separated): FLAVOUR TEST ID pass|fail|design-ok|design-unreported WHAT
"design-*" lines are expectations the data file lists as impossible by design for this flavour:
design-ok when the expectation fails and kgc's status names the rule, design-unreported when the
status does not (a failure), and "pass" when it is met after all.

What stands in for what the real suite sees (the test Kong does not connect upstream):
- the backend is the one whose fake IP is the echo's kong.target (the suite reads the pod name);
  the namespace is that backend's (the echo's own "namespace" is the route's tag);
- kong.target == INVALID_TARGET counts as the 500 kgc's --invalid-backend-listen answers.
- a gRPC request ("grpc": true, GRPCRoute tests) is a POST of an empty gRPC message frame with
  Content-Type application/grpc and the test Kong's fake-only "Kong-Test-Http-Version: 2" (it
  stands for HTTP/2, which the test Kong does not speak): Kong's router, its gRPC checks and
  balancer run, and the echo names the target; the gRPC service and method are the path
  (/<service>/<method>), the authority the Host, the metadata the headers. Not exercised: HTTP/2,
  gRPC framing of the answer, grpc_pass to a real backend.
"""
import http.client
import json
import os
import re
import socket
import ssl
import sys
import time
import urllib.parse
import urllib.request

NAMESPACES = ("gateway-conformance-infra", "gateway-conformance-app-backend",
              "gateway-conformance-web-backend")
GW = "/apis/gateway.networking.k8s.io/v1"
CONTROLLER = "konghq.com/kgc-gateway-controller"


def api(method, path, body=None):
    req = urllib.request.Request(os.environ["API"] + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def endpoints():
    n = 0
    for ns in NAMESPACES:
        st, svcs = api("GET", "/api/v1/namespaces/%s/services" % ns)
        for s in (svcs or {}).get("items", []):
            n += 1
            ip = "10.244.0.%d" % n
            name = s["metadata"]["name"]
            ports = [{"name": p.get("name", ""), "protocol": p.get("protocol", "TCP"),
                      "port": p["targetPort"] if isinstance(p.get("targetPort"), int) else p["port"]}
                     for p in s["spec"].get("ports", [])]
            es = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": {"name": name + "-replay", "namespace": ns,
                               "labels": {"kubernetes.io/service-name": name}},
                  "addressType": "IPv4", "ports": ports,
                  "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}]}
            st, _ = api("POST", "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % ns, es)
            if st not in (200, 201):
                sys.exit("endpointslice %s/%s: HTTP %s" % (ns, name, st))
            print("%s %s/%s" % (ip, ns, name))


def kong_route_names():
    try:
        with urllib.request.urlopen(os.environ["KONG_ADMIN"] + "/config", timeout=5) as r:
            cfg = json.loads(r.read()).get("config") or {}
    except (urllib.error.URLError, OSError, ValueError):
        return set()
    names = set()
    for s in cfg.get("services") or []:
        for rt in s.get("routes") or []:
            names.add(rt.get("name") or "")
    for rt in cfg.get("routes") or []:
        names.add(rt.get("name") or "")
    return names


def kong_hash():
    try:
        with urllib.request.urlopen(os.environ["KONG_ADMIN"] + "/status", timeout=5) as r:
            return json.loads(r.read()).get("configuration_hash")
    except (urllib.error.URLError, OSError, ValueError):
        return None


ROUTE_PREFIX = {"HTTPRoute": "httproute", "GRPCRoute": "grpcroute"}  # Kong entity names


def routes():
    """Every HTTPRoute and GRPCRoute (in every namespace: the ListenerSet tests put routes in
    namespaces of their own)."""
    out = []
    for plural in ("httproutes", "grpcroutes"):
        st, body = api("GET", "%s/%s" % (GW, plural))
        out += (body or {}).get("items", [])
    return out


def ours(r):
    return [p for p in (r.get("status") or {}).get("parents") or []
            if p.get("controllerName") == CONTROLLER]


def conds(r):
    return [c for p in ours(r) for c in p.get("conditions") or []]


def settled(rs):
    """Every route has kgc's status at its generation, and Kong holds a route of every route that
    is Accepted somewhere (kgc may still drop all its rules: the caller bounds the wait)."""
    names = kong_route_names()
    for r in rs:
        m = r["metadata"]
        cs = conds(r)
        if not cs or any(c.get("observedGeneration") != m["generation"] for c in cs):
            return False
        acc = any(c["type"] == "Accepted" and c["status"] == "True" for c in cs)
        pre = "%s.%s.%s." % (ROUTE_PREFIX.get(r.get("kind"), "httproute"), m["namespace"], m["name"])
        if acc and not any(n.startswith(pre) for n in names):
            return False
    return True


def wait(pred, limit):
    end = time.monotonic() + limit
    while True:
        if pred():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.1)


def load_ipmap():
    m = {}
    for line in open(os.environ["IPMAP"]):
        ip, ref = line.split()
        m[ip] = ref
    return m


def send(req, gw_addr):
    """One request through Kong's proxy: (status, headers dict lower-case -> [values], echo or None,
    peer certificate DER or None)."""
    scheme = req.get("scheme", "http")
    hostport = os.environ["PROXY_HTTPS" if scheme == "https" else "PROXY_HTTP"]
    h, p = hostport.rsplit(":", 1)
    cert = None
    if scheme == "https":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(h, int(p), timeout=5, context=ctx)
        # SNI: http.client sends the connection host; wrap ourselves to send the test's name
        sock = socket.create_connection((h, int(p)), timeout=5)
        conn.sock = ctx.wrap_socket(sock, server_hostname=req.get("sni") or req.get("host"))
        cert = conn.sock.getpeercert(binary_form=True)
    else:
        conn = http.client.HTTPConnection(h, int(p), timeout=5)
    hdrs = {"Host": req.get("host") or gw_addr}
    body = None
    if req.get("grpc"):
        body = b"\x00\x00\x00\x00\x00"  # one uncompressed gRPC message of 0 bytes
        hdrs.update({"Content-Type": "application/grpc", "TE": "trailers",
                     "Kong-Test-Http-Version": "2", "Content-Length": str(len(body))})
    hdrs.update(req.get("headers") or {})
    conn.putrequest(req.get("method", "POST" if req.get("grpc") else "GET"), req["path"],
                    skip_host=True, skip_accept_encoding=True)
    for k, v in hdrs.items():
        conn.putheader(k, v)
    conn.endheaders(body)
    r = conn.getresponse()
    body = r.read()
    rh = {}
    for k, v in r.getheaders():
        rh.setdefault(k.lower(), []).append(v)
    conn.close()
    echo = None
    if r.status == 200 and "application/json" in r.getheader("Content-Type", ""):
        try:
            echo = json.loads(body)
        except ValueError:
            echo = None
        if not isinstance(echo, dict) or "kong" not in echo:
            echo = None
    return r.status, rh, echo, cert


def check(x, ipmap, gw_addr, certder):
    """'' when the expectation holds, else what was seen."""
    req, exp = x["request"], x["expect"]
    try:
        st, rh, echo, cert = send(req, gw_addr)
    except (OSError, http.client.HTTPException) as e:
        return "request failed: %s" % e
    target = echo["kong"].get("target") if echo else None
    if echo and target == os.environ.get("INVALID_TARGET"):
        st, echo = 500, None  # kgc's invalid-backend endpoint answers 500
    if st != exp["status"]:
        extra = ""
        if echo:
            extra = " (route %s, target %s)" % ((echo["kong"].get("route") or {}).get("name"), target)
        elif rh.get("location"):
            extra = " (Location %s)" % rh["location"][0]
        return "status %d, want %d%s" % (st, exp["status"], extra)
    if 300 <= st < 400 and "redirect" in exp:
        loc = (rh.get("location") or [""])[0]
        u = urllib.parse.urlsplit(loc)
        want = exp["redirect"]
        scheme = want.get("scheme") or req.get("scheme", "http")
        host = want.get("host") or (u.hostname or "")
        path = want.get("path") or urllib.parse.urlsplit(req["path"]).path
        port = "" if u.port is None else str(u.port)
        errs = []
        if u.scheme != scheme:
            errs.append("scheme %r want %r" % (u.scheme, scheme))
        if (u.hostname or "") != host:
            errs.append("host %r want %r" % (u.hostname, host))
        if want.get("port"):
            if port != want["port"]:
                errs.append("port %r want %r" % (port, want["port"]))
        elif port not in ("", {"http": "80", "https": "443"}.get(u.scheme, "")):
            errs.append("port %r want none or the scheme's default" % port)
        if u.path != path:
            errs.append("path %r want %r" % (u.path, path))
        return ("Location %s: " % loc + ", ".join(errs)) if errs else ""
    if st != 200:
        return ""
    if not echo:
        return "200 without an echo answer"
    be = ipmap.get((target or "").rsplit(":", 1)[0], "?/?")
    bns, bname = be.split("/", 1)
    errs = []
    if exp.get("backend") and not bname.startswith(exp["backend"]):
        errs.append("backend %s (target %s), want %s" % (be, target, exp["backend"]))
    if exp.get("namespace") and bns != exp["namespace"]:
        errs.append("backend namespace %s, want %s" % (bns, exp["namespace"]))
    # the request expected at the backend: the ExpectedRequest facts, else the request itself
    # (CompareRoundTrip: host only when set, method GET when unset, headers when set)
    explicit = any(k.startswith("upstream_") for k in exp)
    up_path = exp.get("upstream_path", req["path"])
    up_host = exp.get("upstream_host") if explicit else req.get("host")
    want_h = exp.get("upstream_headers") if explicit else req.get("headers")
    up_method = "GET" if explicit else req.get("method", "POST" if req.get("grpc") else "GET")
    if echo.get("path") != up_path:
        errs.append("upstream path %r, want %r" % (echo.get("path"), up_path))
    if up_host and echo.get("host") != up_host:
        errs.append("upstream host %r, want %r" % (echo.get("host"), up_host))
    if echo.get("method") != up_method:
        errs.append("upstream method %r, want %r" % (echo.get("method"), up_method))
    eh = {k.lower(): v for k, v in (echo.get("headers") or {}).items()}
    for k, v in (want_h or {}).items():
        got = ",".join(eh.get(k.lower(), [])) if k.lower() in eh else None
        if got != v:
            errs.append("upstream header %s: %r, want %r" % (k, got, v))
    for k in exp.get("upstream_absent_headers") or []:
        if k.lower() in eh:
            errs.append("upstream header %s present (%r)" % (k, eh[k.lower()]))
    if req.get("scheme") == "https" and certder and cert != certder:
        errs.append("the TLS certificate served is not the Gateway's")
    if "weights" in exp:
        counts, n = {}, 200
        for _ in range(n):
            try:
                s2, _, e2, _ = send(req, gw_addr)
            except (OSError, http.client.HTTPException) as e:
                errs.append("request failed: %s" % e)
                break
            t2 = (e2 or {}).get("kong", {}).get("target", "") if s2 == 200 else "status %d" % s2
            name = ipmap.get(t2.rsplit(":", 1)[0], t2).split("/")[-1]
            counts[name] = counts.get(name, 0) + 1
        for name, w in exp["weights"].items():
            got = counts.get(name, 0) / n
            if abs(got - w) > 0.05:
                errs.append("%s got %.2f of %d requests, want %.2f (counts %s)" % (name, got, n, w, counts))
                break
    return "; ".join(errs)


def design_entries(data, flavour, test):
    """{expectation id: its by_design entry} for this flavour and test."""
    return {i: d for d in data.get("by_design", [])
            if flavour in d["flavours"] and d["test"] == test for i in d["ids"]}


def reported(d):
    """kgc's status names the rule: a condition of one of kgc's parents entries of d["route"]
    (ns/name), of type and status d["condition"] ("Type=Status") when given, whose message
    contains every string of d["message"]; when the first is "Rule N:", the others must be in
    the part of the message about rule N (up to the next "Rule M:")."""
    ns, name = d["route"].split("/")
    st, r = api("GET", "%s/namespaces/%s/httproutes/%s" % (GW, ns, name))
    if st != 200:
        return False, "route %s not found" % d["route"]
    typ, _, status = (d.get("condition") or "").partition("=")
    seen = []
    for c in conds(r):
        seen.append("%s=%s/%s" % (c["type"], c["status"], c.get("reason")))
        if typ and (c["type"] != typ or c["status"] != status):
            continue
        msg = c.get("message") or ""
        want = list(d["message"])
        if want and re.match(r"^Rule \d+:$", want[0]):
            # only the part of the message about that rule (up to the next "Rule N:")
            at = msg.find(want[0])
            if at < 0:
                continue
            nxt = re.search(r"Rule \d+:", msg[at + len(want[0]):])
            msg = msg[at:at + len(want[0]) + (nxt.start() if nxt else len(msg))]
            want = want[1:]
        if all(m in msg for m in want):
            return True, ""
    return False, "route %s conditions %s; none%s with a message containing %s" % (
        d["route"], seen, " " + d["condition"] if typ else "", d["message"])


def run(test):
    data = json.load(open(os.environ["TRAFFIC"]))
    flavour = os.environ["FLAVOUR"]
    gw_addr = os.environ["GW_ADDR"]
    limit = float(os.environ.get("WAIT", "8"))
    ipmap = load_ipmap()
    certder = None
    if os.environ.get("CERT"):
        certder = ssl.PEM_cert_to_DER_cert(open(os.environ["CERT"]).read())
    exps = [x for x in data["expectations"] if x["test"] == test]
    design = design_entries(data, flavour, test)
    phases = []
    for x in exps:
        if not phases or phases[-1][0] != x.get("before"):
            phases.append((x.get("before"), []))
        phases[-1][1].append(x)
    for before, group in phases:
        if before:
            verb, kind, ref = before.split()
            ns, name = ref.split("/")
            assert verb == "delete" and kind == "referencegrant"
            h0 = kong_hash()
            api("DELETE", "/apis/gateway.networking.k8s.io/v1beta1/namespaces/%s/referencegrants/%s" % (ns, name))
            # the route's generation does not change: wait for kgc's push of the new verdict
            if not wait(lambda: kong_hash() != h0, limit):
                print("# %s: Kong's configuration did not change within %.0f s of: %s"
                      % (test, limit, before), file=sys.stderr)
        rs = routes()
        if not wait(lambda: settled(routes()), limit):
            print("# %s: kgc had not settled after %.0f s (status or Kong config); checking anyway"
                  % (test, limit), file=sys.stderr)
        # eventually consistent, as the suite: re-check failures for up to 2 s after settling
        res = {}
        end = time.monotonic() + 2.0
        while True:
            for x in group:
                if res.get(x["id"], "x") != "":
                    res[x["id"]] = check(x, ipmap, gw_addr, certder)
            if all(v == "" for v in res.values()) or time.monotonic() >= end:
                break
            time.sleep(0.2)
        if test == "httproute-simple-same-namespace" and before is None:
            # the checker is not vacuous: the same request with a wrong backend must not pass
            wrong = json.loads(json.dumps(group[0]))
            wrong["expect"]["backend"] = "infra-backend-v2"
            seen = check(wrong, ipmap, gw_addr, certder)
            print("\t".join([flavour, "selftest", "wrong-backend", "pass" if seen else "fail",
                              "a wrong backend is reported: " + (seen or "NOT REPORTED")]))
        for x in group:
            why = res[x["id"]]
            d = design.get(x["id"])
            if d:
                if why == "":
                    verdict, why = "pass", "met although listed as impossible by design: " + d["reason"]
                else:
                    ok, seen = reported(d)
                    verdict = "design-ok" if ok else "design-unreported"
                    why = "%s -- by design: %s%s" % (why, d["reason"], "" if ok else " -- NOT REPORTED: " + seen)
            else:
                verdict = "pass" if why == "" else "fail"
            print("\t".join([flavour, test, x["id"], verdict, why or x["go"]]))
            sys.stdout.flush()
        del rs


def settle():
    ok = wait(lambda: not any(n.startswith(("httproute.", "grpcroute.")) for n in kong_route_names()), 5)
    if not ok:
        print("# Kong still holds HTTPRoute or GRPCRoute entities 5 s after the delete", file=sys.stderr)


def table(files):
    data = json.load(open(os.environ["TRAFFIC"]))
    tests = []
    for x in data["expectations"]:
        if x["test"] not in tests:
            tests.append(x["test"])
    for f in files:
        rows = [l.rstrip("\n").split("\t") for l in open(f) if l.count("\t") >= 4]
        if not rows:
            continue
        fl = rows[0][0]
        print("# %s: test, then one mark per expectation (id:mark; . pass, F fail, K known, D by design)"
              % fl)
        for t in tests:
            marks = ["%s:%s" % (r[2], r[5] if len(r) > 5 else r[3]) for r in rows if r[1] == t]
            print("#   %-58s %s" % (t, " ".join(marks)))
        verdict = {(r[1], r[2]): r[3] for r in rows}
        print("# %s: what Kong cannot meet by design (traffic.json by_design), and whether kgc says so" % fl)
        for d in data.get("by_design", []):
            if fl not in d["flavours"]:
                continue
            v = [verdict.get((d["test"], i), "not run") for i in d["ids"]]
            said = ("reported" if all(x == "design-ok" for x in v) else
                    "NOT reported" if all(x == "design-unreported" for x in v) else "/".join(sorted(set(v))))
            print("#   %s #%s [%s]: %s" % (d["test"], ",".join(d["ids"]), said, d["reason"]))


def main():
    cmd = sys.argv[1]
    if cmd == "endpoints":
        endpoints()
    elif cmd == "run":
        run(sys.argv[2])
    elif cmd == "settle":
        settle()
    elif cmd == "table":
        table(sys.argv[2:])
    else:
        sys.exit("traffic.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
