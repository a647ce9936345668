//! SQLite queries run on the connection's own handle, outside sqlx's worker thread.
//!
//! sqlx's SQLite driver runs each statement on a worker thread and sends every row back over
//! a channel, copying each value on the way: org-100k's observed state (about 300,000 rows)
//! took 1.6 s to read that way, most of it the hand-off. sqlx lets a caller lock the handle
//! out of its worker ([`SqliteConnection::lock_handle`]) for direct calls; here `rusqlite` (on
//! the same `libsqlite3-sys`) prepares, binds and steps on it, in the caller's transaction.
//! Writes stay with sqlx: borrowing the handle costs two hand-offs per statement, which is
//! cheap for a query of 100,000 rows and dear for an apply's thousands of small statements
//! (seeding org-100k's content took 8 s instead of 3.4 s).

use std::ptr::NonNull;

use libsqlite3_sys::sqlite3;
use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::Connection as _;
use sqlx::sqlite::SqliteConnection;

use chrono::NaiveDateTime;

use super::DriverError;
use super::sql::{Row, Ty, Value};

/// How Superset's SQLAlchemy stores a datetime on SQLite (always six fraction digits; sqlx's
/// own text form has up to nine), for both ways of binding one.
pub(super) fn sqlite_datetime(time: &NaiveDateTime) -> String {
    time.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// SQLite's own message, when SQLite refused the statement.
pub(super) fn refusal(error: &rusqlite::Error) -> Option<String> {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            Some(message.clone().unwrap_or_else(|| code.to_string()))
        }
        _ => None,
    }
}

/// Whether SQLite gave up waiting for another connection's lock (busy or locked).
pub(super) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(code, _)
            if matches!(
                code.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
    )
}

/// Runs `sql` (one statement, `?` or `?N` parameters) with `params`, reading every row's
/// columns as `types` says.
pub(super) async fn fetch(
    conn: &mut SqliteConnection,
    sql: &str,
    params: &[Value],
    types: &[Ty],
) -> Result<Vec<Row>, DriverError> {
    on_handle(conn, |db| {
        let mut statement = db.prepare(sql)?;
        bind(&mut statement, params)?;
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(types.len());
            for (i, ty) in types.iter().enumerate() {
                values.push(decode(row.get_ref(i)?, *ty, i)?);
            }
            out.push(values);
        }
        Ok(out)
    })
    .await
}

/// Inserts `rows` (each `width` values) with `head` (`INSERT INTO t (a, b) VALUES `), at most
/// `per_statement` rows per statement and `suffix` after each, all on one borrow of the handle,
/// each statement text prepared once (rusqlite's statement cache): org-100k's 600,000 link rows
/// are 1,200 statements, and through sqlx each crossed to its worker thread and bound its 1,000
/// parameters one by one.
pub(super) async fn insert_rows(
    conn: &mut SqliteConnection,
    head: &str,
    width: usize,
    rows: Vec<Row>,
    per_statement: usize,
    suffix: &str,
) -> Result<(), DriverError> {
    let one = format!("({})", vec!["?"; width].join(", "));
    let text = |n: usize| format!("{head}{}{suffix}", vec![one.as_str(); n].join(", "));
    on_handle(conn, |db| {
        let mut params: Vec<Value> = Vec::with_capacity(per_statement * width);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            params.clear();
            params.extend(rows.by_ref().take(per_statement).flatten());
            // A row of another width leaves a parameter count the statement refuses.
            let mut statement = db.prepare_cached(&text(params.len().div_ceil(width)))?;
            bind(&mut statement, &params)?;
            statement.raw_execute()?;
        }
        Ok(())
    })
    .await
}

/// Runs `work` with a `rusqlite` connection over `conn`'s handle, blocking in place (the
/// statement is CPU and file work, waits for SQLite's busy timeout at most; on a
/// multi-threaded runtime the worker's other tasks move to another thread meanwhile).
async fn on_handle<T>(
    conn: &mut SqliteConnection,
    work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Result<T, DriverError> {
    let mut locked = conn.lock_handle().await?;
    let handle: NonNull<sqlite3> = locked.as_raw_handle();
    // SAFETY: while `locked` lives, sqlx's worker makes no call on this handle or its
    // statements. The rusqlite connection borrows the handle (it never closes it), finalises
    // the statements it prepared (its statement cache is flushed when it drops) before it is
    // dropped, and is dropped before `locked`.
    let db = unsafe { rusqlite::Connection::from_handle(handle.as_ptr()) }?;
    let run = || work(&db);
    let out = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
        _ => run(),
    };
    drop(db);
    drop(locked);
    // Hand-back: sqlx's worker takes the handle back only when it next runs, and a second
    // lock request made before that (a loop of one-row DELETEs) left both sides waiting on the
    // mutex for good: two concurrent applies hung in most runs. A ping is answered only once
    // the worker holds the handle again, so every request starts from that state.
    conn.ping().await?;
    Ok(out?)
}

fn bind(statement: &mut rusqlite::Statement<'_>, params: &[Value]) -> rusqlite::Result<()> {
    let expected = statement.parameter_count();
    if expected != params.len() {
        return Err(rusqlite::Error::InvalidParameterCount(
            params.len(),
            expected,
        ));
    }
    for (i, value) in params.iter().enumerate() {
        statement.raw_bind_parameter(i + 1, to_sql(value))?;
    }
    Ok(())
}

/// A value as SQLite stores what Superset writes: booleans as 0/1, datetimes as text with six
/// fraction digits, uuids as 16 bytes.
fn to_sql(value: &Value) -> ToSqlOutput<'_> {
    use rusqlite::types::Value as Owned;
    match value {
        Value::Int(Some(i)) => ToSqlOutput::Owned(Owned::Integer(*i)),
        Value::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Bool(Some(b)) => ToSqlOutput::Owned(Owned::Integer(i64::from(*b))),
        Value::Float(Some(f)) => ToSqlOutput::Owned(Owned::Real(*f)),
        Value::Int(None) | Value::Text(None) | Value::Bool(None) | Value::Float(None) => {
            ToSqlOutput::Owned(Owned::Null)
        }
        Value::Time(t) => ToSqlOutput::Owned(Owned::Text(sqlite_datetime(t))),
        Value::Uuid(u) => ToSqlOutput::Owned(Owned::Blob(u.as_bytes().to_vec())),
    }
}

/// A column read as `ty`, converting as SQLite's own accessors do where that is lossless; a
/// value that does not fit (text in an integer column, invalid UTF-8) is an error naming
/// the column.
fn decode(value: ValueRef<'_>, ty: Ty, column: usize) -> rusqlite::Result<Value> {
    let mismatch = |found: rusqlite::types::Type| {
        rusqlite::Error::InvalidColumnType(column, format!("read as {ty:?}"), found)
    };
    Ok(match (ty, value) {
        (Ty::Int, ValueRef::Null) => Value::Int(None),
        (Ty::Int, ValueRef::Integer(i)) => Value::Int(Some(i)),
        (Ty::Int, ValueRef::Real(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Value::Int(Some(f as i64))
        }
        (Ty::Text, ValueRef::Null) => Value::Text(None),
        (Ty::Text, ValueRef::Text(bytes) | ValueRef::Blob(bytes)) => {
            let text =
                std::str::from_utf8(bytes).map_err(|e| rusqlite::Error::Utf8Error(column, e))?;
            Value::Text(Some(text.to_owned()))
        }
        (Ty::Text, ValueRef::Integer(i)) => Value::Text(Some(i.to_string())),
        (Ty::Text, ValueRef::Real(f)) => Value::Text(Some(f.to_string())),
        (Ty::Bool, ValueRef::Null) => Value::Bool(None),
        (Ty::Bool, ValueRef::Integer(i)) => Value::Bool(Some(i != 0)),
        (_, other) => return Err(mismatch(other.data_type())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_convert_as_sqlite_stores_them() {
        assert_eq!(
            decode(ValueRef::Integer(7), Ty::Int, 0).unwrap(),
            Value::int(7)
        );
        assert_eq!(
            decode(ValueRef::Real(3.0), Ty::Int, 0).unwrap(),
            Value::int(3)
        );
        assert_eq!(
            decode(ValueRef::Integer(0), Ty::Bool, 0).unwrap(),
            Value::Bool(Some(false))
        );
        assert_eq!(
            decode(ValueRef::Integer(42), Ty::Text, 0).unwrap(),
            Value::text("42")
        );
        assert_eq!(
            decode(ValueRef::Null, Ty::Text, 0).unwrap(),
            Value::Text(None)
        );
    }

    #[test]
    fn values_that_do_not_fit_are_errors_naming_the_column() {
        let text_as_int = decode(ValueRef::Text(b"abc"), Ty::Int, 3).unwrap_err();
        assert!(text_as_int.to_string().contains('3'), "{text_as_int}");
        assert!(decode(ValueRef::Real(1.5), Ty::Int, 0).is_err());
        assert!(decode(ValueRef::Text(b"\xff\xfe"), Ty::Text, 1).is_err());
        assert!(decode(ValueRef::Text(b"1"), Ty::Bool, 0).is_err());
    }

    #[test]
    fn values_bind_as_superset_writes_them() {
        let time = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap();
        match to_sql(&Value::Time(time)) {
            ToSqlOutput::Owned(rusqlite::types::Value::Text(t)) => {
                assert_eq!(t, "2026-01-02 03:04:05.000000")
            }
            other => panic!("{other:?}"),
        }
        match to_sql(&Value::Bool(Some(true))) {
            ToSqlOutput::Owned(rusqlite::types::Value::Integer(1)) => {}
            other => panic!("{other:?}"),
        }
    }
}
