//! The two backends behind one small interface: a transaction on SQLite or PostgreSQL that runs
//! statements written once, with `$n` bind parameters, over typed values. Dialect differences
//! (parameter syntax, id allocation, uuid text, catalogue introspection) live here and nowhere else.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Column, Postgres, Row as _, Sqlite, Transaction, TypeInfo};

use super::StoreError;
use super::sqlite_direct;

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (the embedded default).
    Sqlite,
    /// PostgreSQL (the reference).
    Postgres,
}

/// A value bound to or read from a statement. Nulls carry their type, since PostgreSQL types
/// every parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Integer.
    Int(Option<i64>),
    /// Text.
    Text(Option<String>),
    /// Boolean.
    Bool(Option<bool>),
    /// Double-precision number.
    Float(Option<f64>),
    /// Timestamp without timezone (UTC).
    Time(NaiveDateTime),
    /// A uuid, stored natively on PostgreSQL and as 16 bytes on SQLite, as Superset does.
    Uuid(uuid::Uuid),
}

impl Value {
    /// Text value.
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(Some(s.into()))
    }

    /// Optional text value.
    pub fn opt_text(s: Option<&str>) -> Value {
        Value::Text(s.map(str::to_owned))
    }

    /// Integer value.
    pub fn int(i: i64) -> Value {
        Value::Int(Some(i))
    }

    /// The integer, if this is a non-null integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => *i,
            _ => None,
        }
    }

    /// The text, if this is non-null text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(t) => t.as_deref(),
            _ => None,
        }
    }

    /// Takes the text out.
    pub fn take_text(&mut self) -> Option<String> {
        std::mem::replace(self, Value::Text(None)).into_text()
    }

    /// The text, consumed (`None` for NULL or another type).
    pub fn into_text(self) -> Option<String> {
        match self {
            Value::Text(t) => t,
            _ => None,
        }
    }

    /// The boolean, if non-null.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => *b,
            Value::Int(i) => i.map(|i| i != 0),
            _ => None,
        }
    }
}

/// The type a result column is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// Any integer width.
    Int,
    /// Text.
    Text,
    /// Boolean (SQLite stores 0/1).
    Bool,
}

/// A result row.
pub type Row = Vec<Value>;

/// The bind markers `$first, …, $(first + count - 1)` of an `IN (…)` list.
pub fn bind_markers(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An identifier quoted for SQL (both backends): `"name"`, inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An open transaction on either backend.
pub enum Tx {
    /// SQLite: a connection inside `BEGIN`…`COMMIT` (managed by hand, since the lock is
    /// taken with `BEGIN IMMEDIATE` in a retry loop).
    Sqlite(PoolConnection<Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

/// Bound parameters per multi-row INSERT (anonymous `?` on SQLite, bound by
/// [`sqlite_direct::insert_rows`]; org-100k's initial apply took 1 s less at 1,000 than at
/// 200, fewer statements). PostgreSQL gains nothing past a few thousand.
const SQLITE_PARAMS: usize = 1_000;
/// See [`SQLITE_PARAMS`].
const POSTGRES_PARAMS: usize = 4_000;
/// The page cache, in KiB, a SQLite transaction that writes much may use ([`Tx::widen_cache`]):
/// org-100k's initial apply used less CPU with 32 MB than with SQLite's 2 MB in our runs, 16 MB
/// took as long as 32 MB and peaked 10–15 MB lower, and 128 MB held about 40 MB more for no
/// clear gain.
const SQLITE_WIDE_CACHE_KIB: u32 = 16_384;
/// SQLite's own default page cache (`SQLITE_DEFAULT_CACHE_SIZE`), in KiB.
const SQLITE_DEFAULT_CACHE_KIB: u32 = 2_000;
/// Ids per `DELETE … IN (…)` statement.
pub const MAX_PARAMS: usize = 1_000;

impl Tx {
    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    fn sql<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        match self {
            Tx::Postgres(_) => Cow::Borrowed(sql),
            Tx::Sqlite(_) => Cow::Owned(sql.replace('$', "?")),
        }
    }

    /// Runs a statement, returning the number of rows it affected.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let text = self.sql(sql).into_owned();
        self.run(text, params.to_vec(), || statement_head(sql))
            .await
    }

    /// Runs `text`, already in this dialect's parameter syntax, binding `params` (moved, not
    /// copied: a multi-row INSERT binds thousands).
    async fn run(
        &mut self,
        text: String,
        params: Vec<Value>,
        context: impl Fn() -> String,
    ) -> Result<u64, StoreError> {
        match self {
            Tx::Sqlite(tx) => {
                let mut q = sqlx::query(AssertSqlSafe(text));
                for p in params {
                    q = bind_sqlite(q, p);
                }
                q.execute(&mut **tx)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| StoreError::query(context(), e))
            }
            Tx::Postgres(tx) => {
                let mut q = sqlx::query(AssertSqlSafe(text));
                for p in params {
                    q = bind_pg(q, p);
                }
                q.execute(&mut **tx)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| StoreError::query(context(), e))
            }
        }
    }

    /// Runs a query and reads each column as `types` says.
    pub async fn fetch(
        &mut self,
        sql: &str,
        params: &[Value],
        types: &[Ty],
    ) -> Result<Vec<Row>, StoreError> {
        let text = self.sql(sql).into_owned();
        let context = || statement_head(sql);
        match self {
            Tx::Sqlite(conn) => sqlite_direct::fetch(conn, &text, params, types)
                .await
                .map_err(|e| StoreError::query(context(), e)),
            Tx::Postgres(tx) => {
                use futures_util::TryStreamExt;
                let mut q = sqlx::query(AssertSqlSafe(text));
                for p in params {
                    q = bind_pg(q, p.clone());
                }
                // Rows are decoded as they arrive (not all held first, then decoded), and each
                // column's type is checked once, on the first row, not once per value.
                let failed = |e| StoreError::query(context(), e);
                let mut stream = q.fetch(&mut **tx);
                let mut out = Vec::new();
                let mut columns: Vec<PgColumn> = Vec::new();
                while let Some(row) = stream.try_next().await.map_err(failed)? {
                    let checked = columns.is_empty();
                    if checked {
                        columns = PgColumn::of(&row, types);
                    }
                    let decoded = columns
                        .iter()
                        .enumerate()
                        .map(|(i, column)| column.decode(&row, i, checked))
                        .collect::<Result<Row, sqlx::Error>>()
                        .map_err(failed)?;
                    out.push(decoded);
                }
                Ok(out)
            }
        }
    }

    /// Every `(a, b)` pair of a link table, as `[a, b]` grouped by `a` (compact:
    /// org-100k has 600,000 link rows). Per-row cost dominates reads through the drivers, so
    /// pairs cross them in few values: SQLite aggregates the `b`s of each `a` into one text
    /// value (a 37,000-row table becomes about a thousand rows); PostgreSQL sends the whole
    /// table as two binary arrays in one row, which it builds in a quarter of the time a
    /// `GROUP BY` took (366,000 pairs: 35 ms against 130 ms on the server). `COPY … TO
    /// STDOUT` was slower still: sqlx hands out each copied row as its own message.
    pub async fn fetch_pairs(
        &mut self,
        table: &str,
        a: &str,
        b: &str,
    ) -> Result<Vec<[i64; 2]>, StoreError> {
        let present = format!("{a} IS NOT NULL AND {b} IS NOT NULL");
        let rows = match self {
            Tx::Sqlite(_) => {
                let sql = format!(
                    "SELECT {a}, group_concat({b}, ',') FROM {table} WHERE {present} GROUP BY {a}"
                );
                let grouped = self.fetch(&sql, &[], &[Ty::Int, Ty::Text]).await?;
                let mut rows = Vec::new();
                for group in grouped {
                    let Some(first) = group[0].as_int() else {
                        continue;
                    };
                    for second in group[1].as_str().unwrap_or_default().split(',') {
                        if let Ok(second) = second.parse::<i64>() {
                            rows.push([first, second]);
                        }
                    }
                }
                rows
            }
            Tx::Postgres(tx) => {
                let sql = format!(
                    "SELECT array_agg(CAST({a} AS BIGINT)), array_agg(CAST({b} AS BIGINT)) \
                     FROM {table} WHERE {present}"
                );
                let [firsts, seconds] = pg_arrays(tx, &sql, None).await?;
                let mut rows: Vec<[i64; 2]> = firsts
                    .into_iter()
                    .zip(seconds)
                    .map(|(a, b)| [a, b])
                    .collect();
                rows.sort_unstable();
                rows
            }
        };
        Ok(rows)
    }

    /// Inserts `rows` into `table`, many rows per statement.
    pub async fn insert_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: Vec<Row>,
    ) -> Result<(), StoreError> {
        self.insert_rows_then(table, columns, rows, "").await
    }

    /// Like [`Tx::insert_rows`], with `suffix` (e.g. an `ON CONFLICT` clause, without bind
    /// parameters) after each statement's values.
    pub async fn insert_rows_then(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: Vec<Row>,
        suffix: &str,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let limit = match self.dialect() {
            Dialect::Sqlite => SQLITE_PARAMS,
            Dialect::Postgres => POSTGRES_PARAMS,
        };
        let per_statement = (limit / columns.len()).max(1);
        let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        if let Tx::Sqlite(conn) = self {
            return sqlite_direct::insert_rows(
                conn,
                &head,
                columns.len(),
                rows,
                per_statement,
                suffix,
            )
            .await
            .map_err(|e| StoreError::query(statement_head(&head), e));
        }
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Row> = rows.by_ref().take(per_statement).collect();
            let mut sql = head.clone();
            let mut params = Vec::with_capacity(chunk.len() * columns.len());
            for (r, row) in chunk.into_iter().enumerate() {
                debug_assert_eq!(row.len(), columns.len());
                sql.push_str(if r == 0 { "(" } else { ", (" });
                for c in 0..columns.len() {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    sql.push('$');
                    sql.push_str(&(params.len() + c + 1).to_string());
                }
                sql.push(')');
                params.extend(row);
            }
            sql.push_str(suffix);
            self.run(sql, params, || statement_head(&head)).await?;
        }
        Ok(())
    }

    /// Deletes the rows of `table` whose `column` is one of `ids`.
    pub async fn delete_where_in(
        &mut self,
        table: &str,
        column: &str,
        ids: &[i64],
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for chunk in ids.chunks(MAX_PARAMS) {
            let sql = format!(
                "DELETE FROM {table} WHERE {column} IN ({})",
                bind_markers(1, chunk.len())
            );
            let params: Vec<Value> = chunk.iter().map(|i| Value::int(*i)).collect();
            deleted += self.execute(&sql, &params).await?;
        }
        Ok(deleted)
    }

    /// Allocates `n` fresh ids for `table`: from its sequence on PostgreSQL (Superset's `ab_*`
    /// tables have no id default there), above the current maximum on SQLite (safe: the
    /// write lock is held).
    pub async fn allocate_ids(&mut self, table: &str, n: usize) -> Result<Vec<i64>, StoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        match self {
            Tx::Postgres(tx) => {
                // One array, not a row per id: 366,000 rows held about 60 MB in the driver
                // before they became ids.
                let sql = format!(
                    "SELECT array_agg(nextval('{table}_id_seq')) FROM generate_series(1, $1)"
                );
                let [ids] = pg_arrays(tx, &sql, Some(n as i64)).await?;
                Ok(ids)
            }
            Tx::Sqlite(_) => {
                let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
                let rows = self.fetch(&sql, &[], &[Ty::Int]).await?;
                let max = rows.first().and_then(|r| r[0].as_int()).unwrap_or(0);
                Ok((1..=n as i64).map(|i| max + i).collect())
            }
        }
    }

    /// Whether a table exists.
    pub async fn has_table(&mut self, table: &str) -> Result<bool, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let rows = self.fetch(sql, &[Value::text(table)], &[Ty::Int]).await?;
        Ok(rows.first().and_then(|r| r[0].as_int()).unwrap_or(0) > 0)
    }

    /// Whether a table has a column.
    pub async fn has_column(&mut self, table: &str, column: &str) -> Result<bool, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2",
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2"
            }
        };
        let rows = self
            .fetch(sql, &[Value::text(table), Value::text(column)], &[Ty::Int])
            .await?;
        Ok(rows.first().and_then(|r| r[0].as_int()).unwrap_or(0) > 0)
    }

    /// A `bytea` (PostgreSQL) or BLOB (SQLite) column holding UTF-8 text, read as text.
    pub fn bytes_as_text(&self, column: &str) -> String {
        match self.dialect() {
            Dialect::Postgres => format!("convert_from({column}, 'UTF8')"),
            Dialect::Sqlite => format!("CAST({column} AS TEXT)"),
        }
    }

    /// A text parameter stored as the bytes of its UTF-8 (`bytea` / BLOB), as Superset's
    /// `key_value.value` holds JSON.
    pub fn text_as_bytes(&self, parameter: &str) -> String {
        match self.dialect() {
            Dialect::Postgres => format!("convert_to({parameter}, 'UTF8')"),
            Dialect::Sqlite => format!("CAST({parameter} AS BLOB)"),
        }
    }

    /// An expression reading uuid column `column` as lowercase text.
    pub fn uuid_text(&self, column: &str) -> String {
        match self.dialect() {
            Dialect::Postgres => format!("CAST({column} AS TEXT)"),
            Dialect::Sqlite => format!(
                "CASE WHEN typeof({column}) = 'blob' THEN lower(hex({column})) ELSE CAST({column} AS TEXT) END"
            ),
        }
    }

    /// SQLite: lets this transaction keep up to [`SQLITE_WIDE_CACHE_KIB`] of pages in memory
    /// until it ends. With SQLite's default 2 MB, a large apply (org-100k touches ~80 MB of
    /// tables and indexes) spills dirty pages to the file, each spill syncing the rollback
    /// journal, and reads them back. Memory only: what is written and when it is durable do
    /// not change. PostgreSQL: nothing.
    pub async fn widen_cache(&mut self) -> Result<(), StoreError> {
        if let Tx::Sqlite(conn) = self {
            let sql = format!("PRAGMA cache_size = -{SQLITE_WIDE_CACHE_KIB}");
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut **conn)
                .await
                .map_err(|e| StoreError::query("PRAGMA cache_size".into(), e))?;
        }
        Ok(())
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.end("COMMIT").await
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.end("ROLLBACK").await
    }

    /// Ends the transaction with `COMMIT` or `ROLLBACK`; on SQLite the connection (kept by the
    /// pool) gets SQLite's default page cache back, freeing what [`Tx::widen_cache`] allowed.
    async fn end(self, how: &'static str) -> Result<(), StoreError> {
        let failed = |e| StoreError::query(how.into(), e);
        match self {
            Tx::Sqlite(mut conn) => {
                sqlx::query(how).execute(&mut *conn).await.map_err(failed)?;
                // The transaction has ended either way: a failed reset only keeps memory.
                let reset = format!("PRAGMA cache_size = -{SQLITE_DEFAULT_CACHE_KIB}");
                let _ = sqlx::query(AssertSqlSafe(reset)).execute(&mut *conn).await;
                Ok(())
            }
            Tx::Postgres(tx) => match how {
                "COMMIT" => tx.commit().await.map_err(failed),
                _ => tx.rollback().await.map_err(failed),
            },
        }
    }
}

/// The first words of a statement, for error context (never its parameters).
fn statement_head(sql: &str) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>;
type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn bind_sqlite<'q>(q: SqliteQuery<'q>, value: Value) -> SqliteQuery<'q> {
    match value {
        Value::Int(v) => q.bind(v),
        Value::Text(v) => q.bind(v),
        Value::Bool(v) => q.bind(v),
        Value::Float(v) => q.bind(v),
        Value::Time(v) => q.bind(sqlite_direct::sqlite_datetime(&v)),
        Value::Uuid(v) => q.bind(v.as_bytes().to_vec()),
    }
}

fn bind_pg<'q>(q: PgQuery<'q>, value: Value) -> PgQuery<'q> {
    match value {
        Value::Int(v) => q.bind(v),
        Value::Text(v) => q.bind(v),
        Value::Bool(v) => q.bind(v),
        Value::Float(v) => q.bind(v),
        Value::Time(v) => q.bind(v),
        Value::Uuid(v) => q.bind(v),
    }
}

/// How to read one column of a PostgreSQL result as a [`Value`] of its [`Ty`].
#[derive(Clone, Copy)]
enum PgColumn {
    Int2,
    Int4,
    Int8,
    Text,
    Bool,
}

impl PgColumn {
    /// The columns of `row` (the first of its result) as `types` reads them: integers at the
    /// width the schema gives them.
    fn of(row: &sqlx::postgres::PgRow, types: &[Ty]) -> Vec<PgColumn> {
        types
            .iter()
            .zip(row.columns())
            .map(|(ty, column)| match (ty, column.type_info().name()) {
                (Ty::Int, "INT2") => PgColumn::Int2,
                (Ty::Int, "INT4") => PgColumn::Int4,
                (Ty::Int, _) => PgColumn::Int8,
                (Ty::Text, _) => PgColumn::Text,
                (Ty::Bool, _) => PgColumn::Bool,
            })
            .collect()
    }

    /// Column `i` of `row`; `checked` verifies that the column's type is the one read (done on
    /// the first row: every row of a result has the same column types).
    fn decode(
        self,
        row: &sqlx::postgres::PgRow,
        i: usize,
        checked: bool,
    ) -> Result<Value, sqlx::Error> {
        fn get<'r, T>(
            row: &'r sqlx::postgres::PgRow,
            i: usize,
            checked: bool,
        ) -> Result<T, sqlx::Error>
        where
            T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
        {
            match checked {
                true => row.try_get(i),
                false => row.try_get_unchecked(i),
            }
        }
        Ok(match self {
            PgColumn::Int2 => Value::Int(get::<Option<i16>>(row, i, checked)?.map(i64::from)),
            PgColumn::Int4 => Value::Int(get::<Option<i32>>(row, i, checked)?.map(i64::from)),
            PgColumn::Int8 => Value::Int(get(row, i, checked)?),
            PgColumn::Text => Value::Text(get(row, i, checked)?),
            PgColumn::Bool => Value::Bool(get(row, i, checked)?),
        })
    }
}

/// The `N` `bigint[]` columns of the one row `sql` returns (an aggregate over a whole table, so
/// that hundreds of thousands of values cross the driver as one row); a NULL array (no rows
/// aggregated) is empty. `param` binds `$1`.
async fn pg_arrays<const N: usize>(
    tx: &mut Transaction<'static, Postgres>,
    sql: &str,
    param: Option<i64>,
) -> Result<[Vec<i64>; N], StoreError> {
    let failed = |e| StoreError::query(statement_head(sql), e);
    let mut query = sqlx::query(AssertSqlSafe(sql.to_owned()));
    if let Some(param) = param {
        query = query.bind(param);
    }
    let row = query.fetch_one(&mut **tx).await.map_err(failed)?;
    let mut arrays = [(); N].map(|()| Vec::new());
    for (i, array) in arrays.iter_mut().enumerate() {
        let values: Option<Vec<i64>> = row.try_get(i).map_err(failed)?;
        *array = values.unwrap_or_default();
    }
    Ok(arrays)
}
