//! The global Alerts & Reports configuration where SIP-209 keeps it: one row of Superset's
//! `key_value` table (resource `alert_report_config`, a fixed uuid), whose value is the JSON
//! document `{"version": 1, "settings": {…}}` as Superset's `JsonKeyValueCodec` writes it
//! (simplejson: `", "` and `": "` separators, non-ASCII escaped). A key missing from `settings`
//! falls back to Superset's app config; a stored `null` does not. A save merges: keys steward
//! does not manage are kept as they are.
//!
//! steward's own policy keys (`require_run_as`, `run_as_allowed`) have no place in Superset's
//! document, which holds exactly upstream's keys: they live in a second row of the same table
//! under steward's own resource name and uuid, in the same document shape.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::StoreError;
use super::bootstrap::{SQLITE_SCHEMA, sql_statements};
use super::sql::{Dialect, Tx, Ty, Value};
use crate::model::ReportConfig;

/// Superset's `key_value.resource` of the SIP-209 configuration.
pub const CONFIG_RESOURCE: &str = "alert_report_config";

/// The uuid upstream's migration gives the SIP-209 configuration row.
pub const CONFIG_UUID: uuid::Uuid = uuid::uuid!("d4f7d2f0-bbd7-4d03-b1da-09c70f5705ec");

/// `key_value.resource` of steward's own policy document (at most 32 characters).
pub const POLICY_RESOURCE: &str = "steward_report_policy";

/// The uuid of steward's policy row (fixed, like upstream's).
pub const POLICY_UUID: uuid::Uuid = uuid::uuid!("5f1d9a52-6c0e-4b8e-9f3a-2d7c41e0b6a9");

/// The settings of steward's policy document; every other key of
/// [`ReportConfig::KEYS`](crate::model::ReportConfig::KEYS) is SIP-209's, in Superset's document.
pub const POLICY_KEYS: [&str; 2] = ["require_run_as", "run_as_allowed"];

/// The document version upstream writes and reads.
const DOCUMENT_VERSION: u64 = 1;

/// One of the two rows.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    resource: &'static str,
    uuid: uuid::Uuid,
    /// Whether it holds [`POLICY_KEYS`] (else the other managed keys).
    policy: bool,
}

impl Row {
    /// The managed keys this row holds.
    fn keys(self) -> impl Iterator<Item = &'static str> {
        ReportConfig::KEYS
            .into_iter()
            .filter(move |key| POLICY_KEYS.contains(key) == self.policy)
    }

    fn holds(self, key: &str) -> bool {
        self.keys().any(|k| k == key)
    }
}

/// Superset's SIP-209 row, then steward's policy row.
pub const ROWS: [Row; 2] = [
    Row {
        resource: CONFIG_RESOURCE,
        uuid: CONFIG_UUID,
        policy: false,
    },
    Row {
        resource: POLICY_RESOURCE,
        uuid: POLICY_UUID,
        policy: true,
    },
];

/// Which row holds `key`.
pub fn row_of(key: &str) -> Option<Row> {
    ROWS.into_iter().find(|row| row.holds(key))
}

/// A stored document that is not what upstream writes.
fn unreadable(resource: &str, why: &str) -> StoreError {
    StoreError::Data(format!(
        "the `key_value` row `{resource}` does not hold a configuration document ({why}); fix or delete that row"
    ))
}

/// The settings object of a stored document.
fn settings_of(resource: &str, text: &str) -> Result<Map<String, Json>, StoreError> {
    let document: Json =
        serde_json::from_str(text).map_err(|_| unreadable(resource, "not JSON"))?;
    let Json::Object(mut document) = document else {
        return Err(unreadable(resource, "not a JSON object"));
    };
    match document.get("version").and_then(Json::as_u64) {
        Some(DOCUMENT_VERSION) => {}
        Some(_) => {
            return Err(unreadable(
                resource,
                "a document version steward does not know",
            ));
        }
        None => return Err(unreadable(resource, "no `version`")),
    }
    match document.remove("settings") {
        Some(Json::Object(settings)) => Ok(settings),
        None => Ok(Map::new()),
        Some(_) => Err(unreadable(resource, "`settings` is not an object")),
    }
}

/// The stored settings of `row` (`None`: no such row).
async fn read_row(tx: &mut Tx, row: Row) -> Result<Option<Map<String, Json>>, StoreError> {
    let sql = format!(
        "SELECT {} FROM key_value WHERE uuid = $1",
        tx.bytes_as_text("value")
    );
    let rows = tx
        .fetch(&sql, &[Value::Uuid(row.uuid)], &[Ty::Text])
        .await?;
    match rows.first().and_then(|r| r[0].as_str()) {
        Some(text) => settings_of(row.resource, text).map(Some),
        None => Ok(None),
    }
}

/// The managed settings of both rows as `key → canonical JSON text`, or `None` when neither
/// row (or no `key_value` table) exists. Keys steward does not manage are left out (they are
/// not steward's to diff).
pub async fn read(tx: &mut Tx) -> Result<Option<BTreeMap<String, String>>, StoreError> {
    if !tx.has_table("key_value").await? {
        return Ok(None);
    }
    let mut entries = BTreeMap::new();
    let mut found = false;
    for row in ROWS {
        let Some(settings) = read_row(tx, row).await? else {
            continue;
        };
        found = true;
        for (key, value) in settings {
            if row.holds(&key) {
                entries.insert(key, value.to_string());
            }
        }
    }
    Ok(found.then_some(entries))
}

/// Writes `entries` (managed key → JSON text; a managed key missing is removed from its
/// document) into both rows, merging with what each row holds, within `tx`. A row is created
/// only when it gets a key; `now` stamps `created_on` / `changed_on`.
pub async fn write(
    tx: &mut Tx,
    entries: &BTreeMap<String, String>,
    now: &Value,
) -> Result<(), StoreError> {
    for row in ROWS {
        let stored = read_row(tx, row).await?;
        let mut settings = stored.clone().unwrap_or_default();
        for key in row.keys() {
            match entries.get(key) {
                Some(text) => {
                    let value: Json = serde_json::from_str(text)
                        .map_err(|_| StoreError::Data(format!("setting `{key}` is not JSON")))?;
                    settings.insert(key.to_owned(), value);
                }
                None => {
                    settings.remove(key);
                }
            }
        }
        if stored.as_ref() == Some(&settings) || (stored.is_none() && settings.is_empty()) {
            continue;
        }
        let value = Value::text(encode(&settings));
        let bytes = tx.text_as_bytes("$1");
        if stored.is_some() {
            let sql =
                format!("UPDATE key_value SET value = {bytes}, changed_on = $2 WHERE uuid = $3");
            tx.execute(&sql, &[value, now.clone(), Value::Uuid(row.uuid)])
                .await?;
        } else {
            let id = tx.allocate_ids("key_value", 1).await?[0];
            let sql = format!(
                "INSERT INTO key_value (id, resource, value, uuid, created_on, changed_on) VALUES ($2, $3, {bytes}, $4, $5, $5)"
            );
            tx.execute(
                &sql,
                &[
                    value,
                    Value::int(id),
                    Value::text(row.resource),
                    Value::Uuid(row.uuid),
                    now.clone(),
                ],
            )
            .await?;
        }
    }
    Ok(())
}

/// The document of `settings` as upstream's codec writes it: simplejson's `dumps` with its
/// defaults (`", "` and `": "`, every character outside printable ASCII as `\uXXXX`).
pub fn encode(settings: &Map<String, Json>) -> String {
    let mut document = Map::new();
    document.insert("version".to_owned(), Json::from(DOCUMENT_VERSION));
    document.insert("settings".to_owned(), Json::Object(settings.clone()));
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, SimplejsonFormatter);
    serde::Serialize::serialize(&VersionFirst(&document), &mut serializer)
        .expect("a JSON value serialises into memory");
    String::from_utf8(out).expect("the formatter writes ASCII")
}

/// `version` before `settings`, as upstream builds the document.
struct VersionFirst<'a>(&'a Map<String, Json>);

impl serde::Serialize for VersionFirst<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for key in ["version", "settings"] {
            if let Some(value) = self.0.get(key) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// simplejson's default layout: `", "` between items, `": "` after keys, and `ensure_ascii`.
struct SimplejsonFormatter;

/// simplejson's item separator, before every item but the first.
fn separator<W: ?Sized + std::io::Write>(writer: &mut W, first: bool) -> std::io::Result<()> {
    match first {
        true => Ok(()),
        false => writer.write_all(b", "),
    }
}

impl serde_json::ser::Formatter for SimplejsonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        separator(writer, first)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for c in fragment.chars() {
            match c {
                ' '..='~' => writer.write_all(&[c as u8])?,
                c => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        write!(writer, "\\u{unit:04x}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The managed settings as [`read`] gives them, with those of steward's earlier
/// `report_config` table (an abandoned SIP-209 draft) where a database still has it: a key the
/// documents hold keeps the documents' value (it was written later, by Superset or by steward).
/// This is what the documents hold once migration 6 ran, so a read-only `diff` of a database
/// not yet migrated shows no change the migration makes.
pub async fn read_with_legacy(tx: &mut Tx) -> Result<Option<BTreeMap<String, String>>, StoreError> {
    let documents = read(tx).await?;
    if !tx.has_table("report_config").await? {
        return Ok(documents);
    }
    let mut entries = documents.unwrap_or_default();
    for r in tx
        .fetch(
            "SELECT key, value FROM report_config",
            &[],
            &[Ty::Text, Ty::Text],
        )
        .await?
    {
        let Some(key) = r[0].as_str() else {
            continue;
        };
        let value = r[1].as_str().unwrap_or("null");
        // Only JSON moves: a value that never parsed was never honoured.
        if row_of(key).is_some()
            && !entries.contains_key(key)
            && let Ok(json) = serde_json::from_str::<Json>(value)
        {
            entries.insert(key.to_owned(), json.to_string());
        }
    }
    Ok(Some(entries))
}

/// Migration 6: moves the configuration of steward's earlier `report_config` table into the
/// `key_value` documents ([`read_with_legacy`]) and drops that table.
pub async fn move_from_report_config(tx: &mut Tx, now: &Value) -> Result<(), StoreError> {
    // A SQLite file an earlier steward created holds the Superset tables its embedded schema
    // had, which did not include `key_value`: it gets Superset's, from the same schema.
    if tx.dialect() == Dialect::Sqlite && !tx.has_table("key_value").await? {
        for statement in sql_statements(SQLITE_SCHEMA) {
            if statement.contains(" key_value ") || statement.contains(" key_value (") {
                tx.execute(&statement, &[]).await?;
            }
        }
    }
    if !tx.has_table("report_config").await? {
        return Ok(());
    }
    let entries = read_with_legacy(tx).await?.unwrap_or_default();
    write(tx, &entries, now).await?;
    tx.execute("DROP TABLE report_config", &[]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_written_as_simplejson_writes_them() {
        let mut settings = Map::new();
        settings.insert("alert_minimum_interval".into(), Json::from(3600));
        settings.insert(
            "allowed_email_domains".into(),
            serde_json::json!(["example.com", "*.corp.example.com", "bücher.de"]),
        );
        settings.insert("date_format_in_email_subject".into(), Json::Null);
        settings.insert("alerts_attach_reports".into(), Json::Bool(false));
        // What `superset.utils.json.dumps({"version": 1, "settings": {...}})` gives.
        assert_eq!(
            encode(&settings),
            r#"{"version": 1, "settings": {"alert_minimum_interval": 3600, "alerts_attach_reports": false, "allowed_email_domains": ["example.com", "*.corp.example.com", "b\u00fccher.de"], "date_format_in_email_subject": null}}"#
        );
        // Outside the basic plane: a surrogate pair; control and quote characters escaped.
        let mut odd = Map::new();
        odd.insert("k".into(), Json::from("😀\"\\\n\u{7f}"));
        assert_eq!(
            encode(&odd),
            r#"{"version": 1, "settings": {"k": "\ud83d\ude00\"\\\n\u007f"}}"#
        );
    }

    #[test]
    fn a_document_is_read_only_in_the_shape_upstream_writes() {
        let settings = settings_of("r", r#"{"version": 1, "settings": {"a": null}}"#).unwrap();
        assert_eq!(settings.get("a"), Some(&Json::Null));
        assert!(settings_of("r", r#"{"version": 1}"#).unwrap().is_empty());
        for bad in [
            "nope",
            "[1]",
            r#"{"settings": {}}"#,
            r#"{"version": 2, "settings": {}}"#,
            r#"{"version": 1, "settings": []}"#,
        ] {
            let e = settings_of("alert_report_config", bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("`alert_report_config`"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_managed_key_has_one_row() {
        for key in crate::model::ReportConfig::KEYS {
            assert!(row_of(key).is_some(), "{key}");
        }
        assert_eq!(
            row_of("require_run_as").map(|r| r.resource),
            Some(POLICY_RESOURCE)
        );
        assert_eq!(
            row_of("alert_minimum_interval").map(|r| r.resource),
            Some(CONFIG_RESOURCE)
        );
        assert!(POLICY_RESOURCE.len() <= 32 && CONFIG_RESOURCE.len() <= 32);
    }
}
