"""SQLite metadata databases described for comparison (run by tests/suite/superset_schema.rs).

  schema STEWARD SUPERSET SKIP   difference of two files' schemas, SKIP: comma-separated tables
                                 Superset has and steward's schema leaves out
  sensitivity SQL SUPERSET SKIP  the lines of the schema file SQL whose removal that comparison
                                 does not notice (the SQL still loads and compares equal)
  catalogue FILE                 the permission catalogue and role grants, one item a line
  counts FILE                    rows per table
  shapes FILE                    how values are stored: declared type family, shape, column
"""

import collections
import re
import sqlite3
import sys


def tables(c):
    return [r[0] for r in c.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def describe(c, only):
    """Every column, foreign key, unique constraint, index and check of the tables in `only`."""
    out = []
    for t in tables(c):
        if t not in only:
            continue
        out.append(f"{t}: table")
        for _, name, ty, notnull, default, pk in c.execute(f'PRAGMA table_info("{t}")'):
            out.append(f"{t}: column {name} {ty} not_null={notnull} default={default} pk={pk}")
        fks = collections.OrderedDict()
        for id_, _, ref, frm, to, on_update, on_delete, _ in c.execute(f'PRAGMA foreign_key_list("{t}")'):
            fk = fks.setdefault(id_, [ref, [], [], on_update, on_delete])
            fk[1].append(frm)
            fk[2].append(str(to))
        for ref, frm, to, on_update, on_delete in fks.values():
            out.append(f"{t}: foreign key ({', '.join(frm)}) references {ref} ({', '.join(to)})"
                       f" on update {on_update} on delete {on_delete}")
        for _, index, unique, origin, partial in c.execute(f'PRAGMA index_list("{t}")'):
            cols = ", ".join(r[2] for r in c.execute(f'PRAGMA index_info("{index}")'))
            # Automatic indexes are named after their position among the constraints.
            kind = {"c": f"index {index}", "u": "unique constraint", "pk": "primary key"}[origin]
            out.append(f"{t}: {kind} ({cols}) unique={unique} partial={partial}")
        sql = c.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (t,)).fetchone()[0]
        for line in sql.splitlines():
            if "CHECK" in line.upper():
                out.append(f"{t}: check {line.strip().rstrip(',').strip()}")
    return out


def schema_difference(steward, superset, skip):
    ours, theirs = set(tables(steward)), set(tables(superset))
    out = [f"table {t}: Superset has it, steward's schema does not (nor the test's list of tables left out)"
           for t in sorted(theirs - ours - skip)]
    out += [f"table {t}: in the test's list of tables left out, but Superset has no such table"
            for t in sorted(skip - theirs)]
    out += [f"table {t}: in the test's list of tables left out, but steward's schema has it"
            for t in sorted(skip & ours)]
    a = collections.Counter(describe(superset, theirs - skip))
    b = collections.Counter(describe(steward, theirs - skip))
    out += ["- superset: " + line for line in sorted((a - b).elements())]
    out += ["+ steward:  " + line for line in sorted((b - a).elements())]
    out += [f"table {t}: steward's schema has it, Superset has no such table" for t in sorted(ours - theirs)]
    return out


def statements(text):
    """As steward splits its schema file (src/store/bootstrap.rs, sql_statements)."""
    body = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def loaded(text):
    c = sqlite3.connect(":memory:")
    for statement in statements(text):
        c.execute(statement)
    return c


def sensitivity(text, superset, skip):
    baseline = schema_difference(loaded(text), superset, skip)
    if baseline:
        return ["the unchanged schema already differs:"] + baseline
    lines = text.splitlines()
    unnoticed = []
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("--"):
            continue
        try:
            c = loaded("\n".join(lines[:i] + lines[i + 1:]))
        except sqlite3.Error:
            continue
        if not schema_difference(c, superset, skip):
            unnoticed.append(f"line {i + 1}: {line}")
    return unnoticed


def catalogue(c):
    out = [f"permission\t{n}" for (n,) in c.execute("SELECT name FROM ab_permission")]
    out += [f"view_menu\t{n}" for (n,) in c.execute("SELECT name FROM ab_view_menu")]
    out += [f"permission_view\t{p}\t{v}" for p, v in c.execute(
        "SELECT p.name, v.name FROM ab_permission_view pv JOIN ab_permission p ON p.id = pv.permission_id "
        "JOIN ab_view_menu v ON v.id = pv.view_menu_id")]
    out += [f"grant\t{r}\t{p}\t{v}" for r, p, v in c.execute(
        "SELECT r.name, p.name, v.name FROM ab_permission_view_role g JOIN ab_role r ON r.id = g.role_id "
        "JOIN ab_permission_view pv ON pv.id = g.permission_view_id "
        "JOIN ab_permission p ON p.id = pv.permission_id JOIN ab_view_menu v ON v.id = pv.view_menu_id")]
    out += [f"role\t{n}" for (n,) in c.execute("SELECT name FROM ab_role")]
    return out


def family(declared):
    t = declared.upper()
    if t.startswith("VARCHAR") or t in ("TEXT", "JSON"):
        return "text"
    return {"NUMERIC(16)": "uuid", "BOOLEAN": "boolean", "DATETIME": "datetime"}.get(t, t.lower())


DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$")


def shape(fam, v):
    if isinstance(v, bytes):
        # A uuid's 16 bytes are its shape; a BLOB column (key_value.value) holds any length.
        return "blob" if fam == "blob" else f"blob of {len(v)} bytes"
    if fam == "boolean":
        return f"{type(v).__name__} {v!r}"
    if isinstance(v, str) and DATETIME.match(v):
        fraction = DATETIME.match(v).group(1)
        return f"text YYYY-MM-DD HH:MM:SS{fraction and '.' + 'f' * (len(fraction) - 1) or ''}"
    return type(v).__name__


def shapes(c):
    out = set()
    for t in tables(c):
        columns = list(c.execute(f'PRAGMA table_info("{t}")'))
        for row in c.execute(f'SELECT * FROM "{t}"'):
            for (_, name, declared, *_), v in zip(columns, row):
                if v is not None:
                    fam = family(declared)
                    out.add(f"{fam}\t{shape(fam, v)}\t{t}.{name}")
    return sorted(out)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "schema":
        out = schema_difference(sqlite3.connect(args[0]), sqlite3.connect(args[1]), set(args[2].split(",")))
    elif mode == "sensitivity":
        with open(args[0]) as f:
            out = sensitivity(f.read(), sqlite3.connect(args[1]), set(args[2].split(",")))
    elif mode == "catalogue":
        out = catalogue(sqlite3.connect(args[0]))
    elif mode == "counts":
        c = sqlite3.connect(args[0])
        out = ["%s\t%d" % (t, c.execute('SELECT COUNT(*) FROM "%s"' % t).fetchone()[0]) for t in tables(c)]
    elif mode == "shapes":
        out = shapes(sqlite3.connect(args[0]))
    else:
        sys.exit(f"unknown mode {mode}")
    for line in out:
        print(line)


main()
