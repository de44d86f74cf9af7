#!/usr/bin/env python3
"""Polls Gateway API objects with `kubectl get -o json` until every expectation holds, or a deadline.

Usage: check.py [--timeout S] [--interval S] < EXPECTATIONS
Environment: KUBECTL (path), KGC_CONTROLLER (controllerName kgc writes; default
konghq.com/kgc-gateway-controller); kubectl reads KUBECONFIG as usual.

One expectation per line (blank lines and '#' comments skipped):

    LABEL | KIND NAMESPACE/NAME | ASSERTION; ASSERTION; ...

KIND is gatewayclass, gateway, httproute, grpcroute, tlsroute, tcproute, udproute,
backendtlspolicy or listenerset (GatewayClass takes just NAME). Assertions:

    Type=Status/Reason         object condition (GatewayClass, Gateway): exact status and reason
    Type=Status                ... any reason
    generation=N               metadata.generation is N (proves a spec edit landed)
    addresses=A,B              status.addresses values, in order
    listeners=a,b              status.listeners names, in order
    L[name].Type=Status/Reason listener condition
    L[name].kinds=K1,K2        listener supportedKinds kinds in order (empty: none); every group
                               must be gateway.networking.k8s.io
    L[name].attached=N         listener attachedRoutes
    parents=N                  number of status.parents entries carrying kgc's controllerName
    P[ns/name].Type=Status/Reason   condition of the parents entry for that Gateway (ns defaults
                               to the route's; append /section to match a sectionName)
    attachedListenerSets=N     a Gateway's status.attachedListenerSets (absent counts as 0)
    ancestors=N                number of status.ancestors entries carrying kgc's controllerName
    A[ns/name].Type=Status/Reason   condition of a BackendTLSPolicy's ancestors entry for that
                               Gateway (ns defaults to the policy's)

Implicit on every object: status was written by kgc (not the CRD default), every condition kgc
owns has observedGeneration == metadata.generation, condition types are unique per list (at most
8), a Gateway has exactly one listener status per spec listener (same names), every parents
entry with kgc's controllerName matches a spec parentRef, and a BackendTLSPolicy has at least one
ancestors entry of kgc's.

Prints one line per expectation: "ok   - LABEL: ..." or "FAIL - LABEL: ... (what was seen)".
Exit status: the number of FAIL lines (capped at 100)."""
import json
import os
import re
import subprocess
import sys
import time

GROUP = "gateway.networking.k8s.io"
CONTROLLER = os.environ.get("KGC_CONTROLLER", "konghq.com/kgc-gateway-controller")
KUBECTL = os.environ.get("KUBECTL", "kubectl")
KINDS = {"gatewayclass": "GatewayClass", "gateway": "Gateway", "httproute": "HTTPRoute",
         "grpcroute": "GRPCRoute", "backendtlspolicy": "BackendTLSPolicy",
         "listenerset": "ListenerSet",
         "tlsroute": "TLSRoute", "tcproute": "TCPRoute", "udproute": "UDPRoute"}
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")
PLURALS = {"GatewayClass": "gatewayclasses", "Gateway": "gateways", "HTTPRoute": "httproutes",
           "GRPCRoute": "grpcroutes", "BackendTLSPolicy": "backendtlspolicies",
           "ListenerSet": "listenersets",
           "TLSRoute": "tlsroutes", "TCPRoute": "tcproutes", "UDPRoute": "udproutes"}
KUBECTL_EXTRA = os.environ.get("KUBECTL_ARGS", "").split()


def fetch(kinds):
    """Every object of the kinds named (GRPCRoutes and BackendTLSPolicies only when named: their
    CRDs may be absent otherwise): {(kind, ns, name): obj}."""
    what = ",".join(sorted(PLURALS[k] for k in kinds))
    cmd = [KUBECTL] + KUBECTL_EXTRA + ["get", what, "-A", "-o", "json"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return None, "kubectl timed out"
    if out.returncode != 0:
        return None, "kubectl: " + out.stderr.strip()[:200]
    objs = {}
    for o in json.loads(out.stdout).get("items", []):
        md = o.get("metadata", {})
        objs[(o.get("kind"), md.get("namespace", ""), md.get("name"))] = o
    return objs, None


def cond_str(c):
    if c is None:
        return "absent"
    return "%s/%s" % (c.get("status"), c.get("reason"))


def find_cond(conds, ctype):
    for c in conds or []:
        if c.get("type") == ctype:
            return c
    return None


def check_cond(conds, ctype, want, where):
    c = find_cond(conds, ctype)
    st, _, reason = want.partition("/")
    if c is None or c.get("status") != st or (reason and c.get("reason") != reason):
        return ["%s%s: want %s, got %s" % (where, ctype, want, cond_str(c))]
    return []


def conds_invariants(conds, gen, where):
    errs = []
    types = [c.get("type") for c in conds or []]
    if len(types) != len(set(types)):
        errs.append("%sduplicate condition types %s" % (where, types))
    if len(types) > 8:
        errs.append("%smore than 8 conditions" % where)
    for c in conds or []:
        if c.get("observedGeneration") != gen:
            errs.append("%s%s observedGeneration %s != generation %s"
                        % (where, c.get("type"), c.get("observedGeneration"), gen))
    return errs


def listener_status(obj, name):
    for l in (obj.get("status") or {}).get("listeners") or []:
        if l.get("name") == name:
            return l
    return None


def ref_key(ref, route_ns):
    return (ref.get("namespace") or route_ns, ref.get("name"), ref.get("sectionName") or "",
            ref.get("port") or 0)


def our_parents(obj):
    return [p for p in (obj.get("status") or {}).get("parents") or []
            if p.get("controllerName") == CONTROLLER]


def our_ancestors(obj):
    return [p for p in (obj.get("status") or {}).get("ancestors") or []
            if p.get("controllerName") == CONTROLLER]


def find_ancestor(obj, sel):
    ns = obj["metadata"].get("namespace", "")
    pns, _, pname = sel.rpartition("/")
    for p in our_ancestors(obj):
        r = p.get("ancestorRef") or {}
        if (r.get("namespace") or ns) == (pns or ns) and r.get("name") == pname:
            return p
    return None


def find_parent(obj, sel):
    ns = obj["metadata"].get("namespace", "")
    parts = sel.split("/")
    if len(parts) == 1:
        pns, pname, sect = ns, parts[0], None
    elif len(parts) == 2:
        pns, pname, sect = parts[0], parts[1], None
    else:
        pns, pname, sect = parts[0], parts[1], parts[2]
    for p in our_parents(obj):
        r = p.get("parentRef") or {}
        if (r.get("namespace") or ns) == pns and r.get("name") == pname and \
                (sect is None or (r.get("sectionName") or "") == sect):
            return p
    return None


def implicit(kind, obj):
    errs = []
    md, st = obj.get("metadata", {}), obj.get("status") or {}
    gen = md.get("generation")
    if kind in ("GatewayClass", "Gateway", "ListenerSet"):
        conds = st.get("conditions") or []
        acc = find_cond(conds, "Accepted")
        if acc is None or (acc.get("reason") == "Pending" and acc.get("status") == "Unknown"):
            return ["status not written by kgc (Accepted %s)" % cond_str(acc)]
        errs += conds_invariants(conds, gen, "")
    # a ListenerSet its Gateway does not admit carries no listener statuses
    if kind == "Gateway" or (kind == "ListenerSet" and st.get("listeners")):
        spec_names = [l.get("name") for l in obj.get("spec", {}).get("listeners") or []]
        got = [l.get("name") for l in st.get("listeners") or []]
        if sorted(spec_names) != sorted(got):
            errs.append("listener statuses %s != spec listeners %s" % (got, spec_names))
        for l in st.get("listeners") or []:
            errs += conds_invariants(l.get("conditions"), gen, "L[%s]." % l.get("name"))
    if kind in ROUTE_KINDS:
        ns = md.get("namespace", "")
        spec_refs = [ref_key(r, ns) for r in obj.get("spec", {}).get("parentRefs") or []]
        for p in our_parents(obj):
            k = ref_key(p.get("parentRef") or {}, ns)
            where = "P[%s/%s]." % (k[0], k[1])
            if k not in spec_refs:
                errs.append("%sparentRef %s is not a spec parentRef" % (where, k))
            errs += conds_invariants(p.get("conditions"), gen, where)
    if kind == "BackendTLSPolicy":
        if not our_ancestors(obj):
            return ["status not written by kgc (no ancestors entry of kgc's)"]
        for p in our_ancestors(obj):
            r = p.get("ancestorRef") or {}
            errs += conds_invariants(p.get("conditions"), gen, "A[%s]." % r.get("name"))
    return errs


LISTENER = re.compile(r"^L\[([^\]]*)\]\.(\w+)=(.*)$")
PARENT = re.compile(r"^P\[([^\]]*)\]\.(\w+)=(.*)$")
ANCESTOR = re.compile(r"^A\[([^\]]*)\]\.([\w./]+)=(.*)$")


def evaluate(kind, obj, assertion):
    st = obj.get("status") or {}
    a = assertion.strip()
    m = LISTENER.match(a)
    if m:
        name, what, want = m.groups()
        l = listener_status(obj, name)
        if l is None:
            return ["L[%s]: no listener status" % name]
        if what == "kinds":
            sk = l.get("supportedKinds") or []
            got = [k.get("kind") for k in sk]
            wantl = [k for k in want.split(",") if k]
            errs = [] if got == wantl else ["L[%s].supportedKinds: want %s, got %s" % (name, wantl, got)]
            for k in sk:
                if k.get("group", GROUP) != GROUP:
                    errs.append("L[%s].supportedKinds group %s" % (name, k.get("group")))
            return errs
        if what == "attached":
            got = l.get("attachedRoutes")
            return [] if got == int(want) else ["L[%s].attachedRoutes: want %s, got %s" % (name, want, got)]
        return check_cond(l.get("conditions"), what, want, "L[%s]." % name)
    m = PARENT.match(a)
    if m:
        sel, ctype, want = m.groups()
        p = find_parent(obj, sel)
        if p is None:
            return ["P[%s]: no parents entry with controllerName %s (parents: %s)" % (
                sel, CONTROLLER, [(x.get("controllerName"), (x.get("parentRef") or {}).get("name"))
                                  for x in st.get("parents") or []])]
        return check_cond(p.get("conditions"), ctype, want, "P[%s]." % sel)
    m = ANCESTOR.match(a)
    if m:
        sel, ctype, want = m.groups()
        p = find_ancestor(obj, sel)
        if p is None:
            return ["A[%s]: no ancestors entry with controllerName %s (ancestors: %s)" % (
                sel, CONTROLLER, [(x.get("controllerName"), (x.get("ancestorRef") or {}).get("name"))
                                  for x in st.get("ancestors") or []])]
        return check_cond(p.get("conditions"), ctype, want, "A[%s]." % sel)
    key, _, want = a.partition("=")
    if key == "ancestors":
        got = len(our_ancestors(obj))
        return [] if got == int(want) else ["ancestors with kgc's controllerName: want %s, got %s" % (want, got)]
    if key == "attachedListenerSets":
        got = st.get("attachedListenerSets", 0)
        return [] if got == int(want) else ["attachedListenerSets: want %s, got %s" % (want, got)]
    if key == "generation":
        got = obj["metadata"].get("generation")
        return [] if got == int(want) else ["generation: want %s, got %s" % (want, got)]
    if key == "parents":
        got = len(our_parents(obj))
        return [] if got == int(want) else ["parents with kgc's controllerName: want %s, got %s" % (want, got)]
    if key == "addresses":
        got = [x.get("value") for x in st.get("addresses") or []]
        wantl = [x for x in want.split(",") if x]
        return [] if got == wantl else ["addresses: want %s, got %s" % (wantl, got)]
    if key == "listeners":
        got = [x.get("name") for x in st.get("listeners") or []]
        wantl = [x for x in want.split(",") if x]
        return [] if got == wantl else ["listeners: want %s, got %s" % (wantl, got)]
    if re.match(r"^\w+$", key) and want:
        return check_cond(st.get("conditions"), key, want, "")
    return ["bad assertion %r" % a]


def parse(lines):
    exps = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3:
            sys.exit("check.py: bad line: " + line)
        label, target, asserts = parts
        kind_word, _, ref = target.partition(" ")
        kind = KINDS.get(kind_word.lower())
        if not kind:
            sys.exit("check.py: bad kind in: " + line)
        ns, _, name = ref.strip().rpartition("/")
        exps.append({"label": label, "kind": kind, "ns": ns, "name": name, "target": target,
                     "asserts": [x for x in asserts.split(";") if x.strip()]})
    return exps


def run_once(exps, objs):
    results = []
    for e in exps:
        obj = objs.get((e["kind"], e["ns"], e["name"]))
        if obj is None:
            results.append(["%s not found" % e["target"]])
            continue
        errs = implicit(e["kind"], obj)
        if not errs or not errs[0].startswith("status not written"):
            for a in e["asserts"]:
                errs += evaluate(e["kind"], obj, a)
        results.append(errs)
    return results


def main():
    timeout, interval = 20.0, 0.2
    args = sys.argv[1:]
    while args:
        if args[0] == "--timeout":
            timeout = float(args[1]); args = args[2:]
        elif args[0] == "--interval":
            interval = float(args[1]); args = args[2:]
        else:
            sys.exit("check.py: unknown argument " + args[0])
    exps = parse(sys.stdin.read().splitlines())
    deadline = time.monotonic() + timeout
    results, fetch_err = None, None
    while True:
        objs, fetch_err = fetch({e["kind"] for e in exps} | {"GatewayClass", "Gateway", "HTTPRoute"})
        if objs is not None:
            results = run_once(exps, objs)
            if all(not r for r in results):
                break
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    nfail = 0
    for i, e in enumerate(exps):
        errs = results[i] if results else [fetch_err or "no answer"]
        if errs:
            nfail += 1
            print("FAIL - %s: %s -- %s" % (e["label"], e["target"], "; ".join(errs)))
        else:
            print("ok   - %s: %s (%d assertions)" % (e["label"], e["target"], len(e["asserts"])))
    sys.stdout.flush()
    return min(nfail, 100)


if __name__ == "__main__":
    sys.exit(main())
