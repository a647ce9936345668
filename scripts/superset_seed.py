#!/usr/bin/env python3
"""Seed a test Superset with the content steward's integration tests refer to.

Creates, through Superset's REST API (idempotently: existing objects are reused):
  - database  `warehouse`;
  - datasets  warehouse.finance.invoices, finance.payments, sales.accounts,
              sales.opportunities, audit.journal_entries;
  - charts    "Revenue by region", "Pipeline by stage", "Open invoices by age";
  - dashboards finance-overview ("Finance overview") and audit-journal ("Audit journal").

Run by scripts/services.sh with the Superset venv's python (standard library + requests).
"""

import argparse
import json
import sys

import requests

DATASETS = [
    ("finance", "invoices"),
    ("finance", "payments"),
    ("sales", "accounts"),
    ("sales", "opportunities"),
    ("audit", "journal_entries"),
]

# (slug, title)
DASHBOARDS = [
    ("finance-overview", "Finance overview"),
    ("audit-journal", "Audit journal"),
]

# (name, (schema, table), columns, dashboard slugs)
CHARTS = [
    ("Revenue by region", ("finance", "invoices"), ["region", "amount"], ["finance-overview"]),
    ("Pipeline by stage", ("sales", "opportunities"), ["stage", "amount"], []),
    (
        "Open invoices by age",
        ("finance", "invoices"),
        ["issued_on", "region", "amount", "status"],
        ["finance-overview"],
    ),
]


class SeedError(Exception):
    pass


class Superset:
    def __init__(self, url, username, password):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        resp = self.http.post(
            self.url + "/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": True},
            timeout=60,
        )
        token = self._json(resp, "log in as %r" % username).get("access_token")
        if not token:
            raise SeedError("log in as %r: no access_token in %s" % (username, resp.text[:500]))
        self.http.headers["Authorization"] = "Bearer " + token

    @staticmethod
    def _json(resp, what, ok=(200, 201)):
        if resp.status_code not in ok:
            raise SeedError(
                "%s: %s %s -> HTTP %d: %s"
                % (what, resp.request.method, resp.request.url, resp.status_code, resp.text[:2000])
            )
        try:
            return resp.json()
        except ValueError:
            raise SeedError(
                "%s: %s %s -> HTTP %d, not JSON: %s"
                % (what, resp.request.method, resp.request.url, resp.status_code, resp.text[:2000])
            )

    def list(self, resource):
        """Every object of a resource (paged), with the API's default list columns."""
        out, page = [], 0
        while True:
            q = "(page:%d,page_size:100)" % page
            resp = self.http.get(self.url + "/api/v1/%s/" % resource, params={"q": q}, timeout=60)
            body = self._json(resp, "list %s" % resource)
            out.extend(body.get("result", []))
            if len(out) >= body.get("count", 0) or not body.get("result"):
                return out
            page += 1

    def create(self, resource, payload, what):
        resp = self.http.post(self.url + "/api/v1/%s/" % resource, json=payload, timeout=120)
        body = self._json(resp, "create %s" % what)
        if "id" not in body:
            raise SeedError("create %s: no id in response %s" % (what, json.dumps(body)[:1000]))
        return body["id"]


def seed(ss, warehouse_uri):
    created = []

    # Database.
    dbs = {d["database_name"]: d["id"] for d in ss.list("database")}
    db_id = dbs.get("warehouse")
    if db_id is None:
        db_id = ss.create(
            "database",
            {
                "database_name": "warehouse",
                "sqlalchemy_uri": warehouse_uri,
                "expose_in_sqllab": True,
                "allow_run_async": False,
            },
            "database warehouse",
        )
        created.append("database warehouse")

    # Datasets.
    existing = {
        (d["database"]["id"], d["schema"], d["table_name"]): d["id"]
        for d in ss.list("dataset")
    }
    ds_ids = {}
    for schema, table in DATASETS:
        key = (db_id, schema, table)
        if key in existing:
            ds_ids[(schema, table)] = existing[key]
            continue
        ds_ids[(schema, table)] = ss.create(
            "dataset",
            {"database": db_id, "schema": schema, "table_name": table},
            "dataset warehouse.%s.%s" % (schema, table),
        )
        created.append("dataset %s.%s" % (schema, table))

    # Dashboards (before charts, so charts can be placed on them).
    dash = {d["slug"]: d["id"] for d in ss.list("dashboard") if d.get("slug")}
    for slug, title in DASHBOARDS:
        if slug in dash:
            continue
        dash[slug] = ss.create(
            "dashboard",
            {"dashboard_title": title, "slug": slug, "published": True},
            "dashboard %s" % slug,
        )
        created.append("dashboard %s" % slug)

    # Charts.
    charts = {c["slice_name"] for c in ss.list("chart")}
    for name, source, columns, slugs in CHARTS:
        if name in charts:
            continue
        ds_id = ds_ids[source]
        params = {
            "datasource": "%d__table" % ds_id,
            "viz_type": "table",
            "query_mode": "raw",
            "all_columns": columns,
            "order_by_cols": [],
            "row_limit": 1000,
            "adhoc_filters": [],
        }
        # As the chart editor saves it: the query its data (CSV, TEXT reports) is computed from.
        query_context = {
            "datasource": {"id": ds_id, "type": "table"},
            "force": False,
            "queries": [
                {
                    "columns": columns,
                    "metrics": [],
                    "orderby": [],
                    "row_limit": 1000,
                    "filters": [],
                    "extras": {"having": "", "where": ""},
                    "annotation_layers": [],
                    "url_params": {},
                    "custom_params": {},
                    "custom_form_data": {},
                }
            ],
            "form_data": params,
            "result_format": "json",
            "result_type": "full",
        }
        ss.create(
            "chart",
            {
                "slice_name": name,
                "viz_type": "table",
                "datasource_id": ds_id,
                "datasource_type": "table",
                "params": json.dumps(params),
                "query_context": json.dumps(query_context),
                "query_context_generation": True,
                "dashboards": [dash[s] for s in slugs],
            },
            "chart %r" % name,
        )
        created.append("chart %r" % name)

    return created


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="Superset base URL, e.g. http://127.0.0.1:58088")
    ap.add_argument("--username", default="admin")
    ap.add_argument("--password", default="admin")
    ap.add_argument("--warehouse-uri", required=True, help="SQLAlchemy URI of the warehouse database")
    args = ap.parse_args()
    try:
        ss = Superset(args.url, args.username, args.password)
        created = seed(ss, args.warehouse_uri)
    except SeedError as e:
        print("superset_seed: %s" % e, file=sys.stderr)
        return 1
    except requests.RequestException as e:
        print("superset_seed: cannot reach Superset at %s: %s" % (args.url, e), file=sys.stderr)
        return 1
    print(
        "superset_seed: %s" % ("created " + ", ".join(created) if created else "nothing to do"),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
