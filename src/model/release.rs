//! What the database's Superset release can hold of what steward declares. The facts for each
//! supported release are kept in one place, `store::superset_version`; planning checks the
//! declared objects against them (`plan::release_fit`).

use serde::{Deserialize, Serialize};

/// What one Superset release can hold, where releases differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseFacts {
    /// The release, e.g. `6.1.0`.
    pub version: String,
    /// Whether Superset applies the roles a user gets through groups. Superset 5.0 has
    /// Flask-AppBuilder's group tables, but its security manager (permissions and row-level
    /// security alike) reads only a user's own roles; 6.0 reads both.
    pub group_roles: bool,
    /// The longest username `ab_user.username` holds (characters).
    pub username_length: usize,
}
