#!/usr/bin/env python3
"""Forms triads with Google OR-Tools CP-SAT, for comparison with Convene's own solver.

Usage: cpsat_triads.py [INPUT.json] [--time-limit SECONDS] [--workers N]

Reads the same JSON as `convene-api solve triads` (from the file, or stdin when no file is
given) and prints {"score": N, "status": "...", "bound": B, "groups": [[id, ...], ...],
"seconds": S}. Needs `ortools` (pinned by the benchmark that runs it: ortools==9.15.6755).

The model is the compact one:
- x[i, g] = school i is in group g; each school in exactly one group; groups have fixed sizes
  (per phase when phases do not mix: a phase of n_p schools gets n_p // 3 groups, n_p % 3 of
  them of four), so only schools of the group's phase get variables;
- at most one school per local authority per group (blank authorities never clash), forbidden
  pairs never together, pinned schools together;
- h[g, t] = some school in g is strong in topic t (h <= sum of those x); and a second
  h2[g, t] = two such schools, for a school that lists t as both a strength and a priority;
- c[i, p] = school i's priority p is covered: for each group g, c[i, p] and x[i, g] imply
  h[g, p] (or h2[g, p] when i is strong in p itself);
- maximise the sum of c; identical groups are ordered (school k of a class goes into one of the
  first k+1 groups of each size) to break symmetry.
"""

import argparse
import json
import sys
import time

from ortools.sat.python import cp_model


def norm(s):
    return s.strip().lower()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input", nargs="?")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=0, help="0: CP-SAT's default")
    args = parser.parse_args()
    data = json.load(open(args.input) if args.input else sys.stdin)
    started = time.monotonic()

    schools = data["schools"]
    options = data.get("options") or {}
    mixed = bool(options.get("allow_mixed_phase", False))
    n = len(schools)
    index = {s["id"]: i for i, s in enumerate(schools)}
    la = []
    for i, s in enumerate(schools):
        key = norm(s.get("local_authority", ""))
        la.append(key if key else f"\0blank{i}")
    phase = [norm(s.get("phase", "")) for s in schools]
    strengths = [set(norm(t) for t in s.get("strengths", [])) for s in schools]
    priorities = []
    for s in schools:
        seen = []
        for t in s.get("priorities", []):
            if norm(t) not in seen:
                seen.append(norm(t))
        priorities.append(seen)

    # Groups: per class (phase, or everything when mixed), n_c // 3 groups, n_c % 3 of them of four.
    classes = {}
    for i in range(n):
        classes.setdefault("*" if mixed else phase[i], []).append(i)
    groups = []  # (class, size)
    for c, members in classes.items():
        m = len(members)
        if m in (1, 2, 5):
            print(json.dumps({"score": 0, "status": "INFEASIBLE", "groups": [], "bound": 0,
                              "seconds": time.monotonic() - started}))
            return
        for g in range(m // 3):
            groups.append((c, 4 if g < m % 3 else 3))
    klass = ["*" if mixed else phase[i] for i in range(n)]

    model = cp_model.CpModel()
    x = {}
    for i in range(n):
        # Symmetry: among the groups of one class and size, school of rank r goes to the first r+1.
        rank = classes[klass[i]].index(i)
        seen = {}
        for g, (c, size) in enumerate(groups):
            if c != klass[i]:
                continue
            k = seen.get(size, 0)
            seen[size] = k + 1
            if k > rank:
                continue
            x[i, g] = model.NewBoolVar(f"x{i}_{g}")
    for i in range(n):
        model.AddExactlyOne(x[i, g] for g in range(len(groups)) if (i, g) in x)
    for g, (_, size) in enumerate(groups):
        model.Add(sum(x[i, g] for i in range(n) if (i, g) in x) == size)
        by_la = {}
        for i in range(n):
            if (i, g) in x:
                by_la.setdefault(la[i], []).append(x[i, g])
        for vs in by_la.values():
            if len(vs) > 1:
                model.AddAtMostOne(vs)
    for a, b in options.get("forbidden_pairs", []):
        i, j = index[a], index[b]
        for g in range(len(groups)):
            if (i, g) in x and (j, g) in x:
                model.AddBoolOr([x[i, g].Not(), x[j, g].Not()])
    for pin in options.get("pinned", []):
        ids = [index[s] for s in pin]
        for j in ids[1:]:
            for g in range(len(groups)):
                a = x.get((ids[0], g))
                b = x.get((j, g))
                if a is None and b is None:
                    continue
                if a is None or b is None:
                    model.Add((a if a is not None else b) == 0)
                else:
                    model.Add(a == b)

    topics = sorted(set().union(*priorities) if priorities else set())
    strong = {t: [i for i in range(n) if t in strengths[i]] for t in topics}
    h = {}

    def has(g, t, at_least):
        key = (g, t, at_least)
        if key not in h:
            members = [x[j, g] for j in strong[t] if (j, g) in x]
            v = model.NewBoolVar(f"h{g}_{t}_{at_least}")
            if len(members) < at_least:
                model.Add(v == 0)
            else:
                model.Add(sum(members) >= at_least).OnlyEnforceIf(v)
            h[key] = v
        return h[key]

    covered = []
    for i in range(n):
        for t in priorities[i]:
            if not any(j != i for j in strong[t]):
                continue
            c = model.NewBoolVar(f"c{i}_{t}")
            need = 2 if t in strengths[i] else 1
            for g in range(len(groups)):
                if (i, g) in x:
                    model.AddBoolOr([c.Not(), x[i, g].Not(), has(g, t, need)])
            covered.append(c)
    model.Maximize(sum(covered))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, args.time_limit - (time.monotonic() - started))
    if args.workers:
        solver.parameters.num_workers = args.workers
    status = solver.Solve(model)
    result = {"status": solver.StatusName(status), "score": 0, "groups": [], "bound": None}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        out = [[] for _ in groups]
        for (i, g), v in x.items():
            if solver.Value(v):
                out[g].append(schools[i]["id"])
        result["groups"] = [grp for grp in out if grp]
        # Score the grouping directly (the model's objective may undercount nothing, but this is
        # the definition the Rust solver uses).
        score = 0
        for grp in out:
            members = [index[s] for s in grp]
            for i in members:
                for t in priorities[i]:
                    if any(j != i and t in strengths[j] for j in members):
                        score += 1
        result["score"] = score
        result["bound"] = int(solver.BestObjectiveBound())
    result["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
