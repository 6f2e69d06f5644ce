"""Maximum-weight one-to-one assignment of columns to fields (pure, no csvscore types).

Used by the mapping engine so that the best column wins a field whatever the column order.
"""

from __future__ import annotations


def max_weight_assignment(edges: dict[int, dict[str, int]]) -> dict[int, str]:
    """Column -> field maximising the total weight; each field used once, columns may go unused.

    The candidate graph is sparse, so it is split into connected components and each one is
    solved exactly with the Hungarian algorithm (shortest augmenting paths, O(n²m)) on the
    columns and fields of that component only. Weights must be positive integers.

    Within a component of k fields, a field only ever needs its k heaviest columns: the other
    k-1 fields can hold at most k-1 of them, so one stays free to take it. Pruning the rest
    keeps a file with 200 "Email" columns from becoming a 200-row problem.
    """
    parent: dict[str, str] = {}  # union-find over "c<column>" and "f<field>" nodes

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for col, fields in edges.items():
        for f in fields:
            parent[find(f"c{col}")] = find(f"f{f}")
    groups: dict[str, list[int]] = {}
    for col in edges:
        if edges[col]:
            groups.setdefault(find(f"c{col}"), []).append(col)
    result: dict[int, str] = {}
    for members in groups.values():
        if len(members) == 1:
            col = members[0]
            result[col] = max(edges[col], key=lambda f: edges[col][f])
            continue
        result.update(_hungarian(*_prune(members, edges)))
    return result


def _prune(
    members: list[int], edges: dict[int, dict[str, int]]
) -> tuple[list[int], dict[int, dict[str, int]]]:
    """Keep, for each field, only its k heaviest columns (k = fields in the component)."""
    by_field: dict[str, list[tuple[int, int]]] = {}
    for col in members:
        for f, w in edges[col].items():
            by_field.setdefault(f, []).append((w, col))
    keep = len(by_field)
    pruned: dict[int, dict[str, int]] = {}
    for f, pairs in by_field.items():
        for w, col in sorted(pairs, reverse=True)[:keep]:
            pruned.setdefault(col, {})[f] = w
    return sorted(pruned), pruned


def _hungarian(rows: list[int], edges: dict[int, dict[str, int]]) -> dict[int, str]:
    """Exact maximum-weight matching of ``rows`` to their fields (plus one dummy per row)."""
    fields = sorted({f for r in rows for f in edges[r]})
    n = len(rows)
    m = len(fields) + n  # real fields, then one zero-weight dummy per row: a row may stay free
    big = sum(max(edges[r].values()) for r in rows) + 1
    # Minimise cost = -weight; a pair with no candidate costs more than any matching saves.
    cost = [[0] * (m + 1)]
    for r in rows:
        row = [0] + [-edges[r][f] if f in edges[r] else big for f in fields] + [0] * n
        cost.append(row)
    u = [0] * (n + 1)
    v = [0] * (m + 1)
    match = [0] * (m + 1)  # match[j] = row assigned to column j (1-based), 0 if none
    way = [0] * (m + 1)
    inf = 1 << 128  # integers throughout: weights carry tie-break bits a float would lose
    for i in range(1, n + 1):
        match[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = match[j0]
            delta = inf
            j1 = 0
            row_cost = cost[i0]
            ui0 = u[i0]
            for j in range(1, m + 1):
                if not used[j]:
                    cur = row_cost[j] - ui0 - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while True:
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
            if j0 == 0:
                break
    out: dict[int, str] = {}
    for j in range(1, len(fields) + 1):
        if match[j]:
            out[rows[match[j] - 1]] = fields[j - 1]
    return out
