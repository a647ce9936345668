//! Diagnostics: what is wrong, where (file:line:column and field path), and a hint. Shared by
//! the loader and every check, rendered as text for people (escaped and capped) and as
//! versioned JSON for machines.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::ObjectKey;
use crate::reason::Reason;
use crate::resources::ResourceId;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input is rejected.
    Error,
    /// The input is accepted, but something is probably not what the author meant.
    Warning,
}

/// Stable machine-readable diagnostic codes (kebab-case in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// A file or directory could not be read.
    Io,
    /// The text is not valid YAML.
    YamlSyntax,
    /// A document is not a mapping, or lacks `apiVersion`/`kind`.
    NotAResource,
    /// `apiVersion` is not `steward.dev/v1alpha1`.
    UnknownApiVersion,
    /// `kind` is not a steward kind.
    UnknownKind,
    /// A required field is missing.
    MissingField,
    /// A field that the kind does not have.
    UnknownField,
    /// A value of the wrong type.
    WrongType,
    /// A value outside the allowed set (enum).
    BadValue,
    /// A value outside its allowed range or length, or a malformed string.
    OutOfRange,
    /// A CEL rule of the CRD (`x-kubernetes-validations`) is violated.
    RuleViolated,
    /// Two objects declare the same thing.
    Duplicate,
    /// A reference to a role, user or group that is not declared.
    UnresolvedReference,
    /// A malformed reference (dataset, schema, chart, dashboard).
    MalformedReference,
    /// Roles include each other in a cycle.
    IncludeCycle,
    /// The crontab does not parse as five-field Unix cron.
    InvalidCron,
    /// The timezone is not an IANA timezone name.
    InvalidTimezone,
    /// An e-mail address is malformed.
    InvalidEmail,
    /// More than one `ReportConfiguration`.
    SingletonViolated,
    /// A field that has no effect where it stands.
    IneffectiveField,
    /// Superset content (database, dataset, chart, dashboard) that does not exist.
    UnknownContent,
    /// A reference to content that matches more than one object.
    AmbiguousReference,
    /// A permission pair that is not in the database's permission catalogue.
    UnknownPermission,
    /// An existing object steward does not manage (or another manager does).
    Conflict,
    /// A change to a built-in role.
    BuiltinRole,
    /// A deletion guard stopped the plan.
    PruneGuard,
    /// An RLS clause that is not exactly one SQL condition.
    InvalidRlsClause,
    /// A schedule breaks the global Alerts & Reports configuration.
    PolicyViolation,
    /// RLS filters that, combined on one (role, dataset), let no row through.
    EmptyRlsCombination,
    /// A source that is not UTF-8 text.
    Encoding,
    /// A path (or all paths) holding no manifest at all.
    NoManifests,
    /// A name holds a control, bidi or invisible character.
    ControlCharacter,
    /// A `--target` selector that matches no object.
    TargetUnmatched,
    /// The database's Superset schema is no release steward supports (read on, with a warning).
    SupersetVersion,
    /// A declared object the database's Superset release cannot hold (groups before 6.0, a
    /// username longer than that release's column).
    ReleaseUnsupported,
}

impl Code {
    /// The code as written in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::YamlSyntax => "yaml-syntax",
            Code::NotAResource => "not-a-resource",
            Code::UnknownApiVersion => "unknown-api-version",
            Code::UnknownKind => "unknown-kind",
            Code::MissingField => "missing-field",
            Code::UnknownField => "unknown-field",
            Code::WrongType => "wrong-type",
            Code::BadValue => "bad-value",
            Code::OutOfRange => "out-of-range",
            Code::RuleViolated => "rule-violated",
            Code::Duplicate => "duplicate",
            Code::UnresolvedReference => "unresolved-reference",
            Code::MalformedReference => "malformed-reference",
            Code::IncludeCycle => "include-cycle",
            Code::InvalidCron => "invalid-cron",
            Code::InvalidTimezone => "invalid-timezone",
            Code::InvalidEmail => "invalid-email",
            Code::SingletonViolated => "singleton-violated",
            Code::IneffectiveField => "ineffective-field",
            Code::UnknownContent => "unknown-content",
            Code::AmbiguousReference => "ambiguous-reference",
            Code::UnknownPermission => "unknown-permission",
            Code::Conflict => "conflict",
            Code::BuiltinRole => "builtin-role",
            Code::PruneGuard => "prune-guard",
            Code::InvalidRlsClause => "invalid-rls-clause",
            Code::PolicyViolation => "policy-violation",
            Code::EmptyRlsCombination => "empty-rls-combination",
            Code::Encoding => "encoding",
            Code::NoManifests => "no-manifests",
            Code::ControlCharacter => "control-character",
            Code::TargetUnmatched => "target-unmatched",
            Code::SupersetVersion => "superset-version",
            Code::ReleaseUnsupported => "release-unsupported",
        }
    }
}

/// A place in a source file (1-based line and column, in characters).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SourceLocation {
    /// File path as given (`-` for standard input).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One finding about the input.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code.
    pub code: Code,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// The declared resource concerned (JSON: `{"kind", "namespace", "name"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceId>,
    /// The Superset object concerned, when the finding is about one (JSON: `{"kind", "key"}`):
    /// a conflict, a refused deletion, a schedule Superset holds. Without `resource`, no
    /// manifest declares it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectKey>,
    /// Field path inside the object, e.g. `spec.recipients.email.to[0]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Why, as a stable code with its data, when the way out depends on the front end (a CLI
    /// flag, a command): `{"code": "unmanaged"}`, `{"code": "too-many-deletions", …}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// For `policy-violation`: the schedule and the rule it breaks, as SIP-209 lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breach: Option<PolicyBreach>,
}

/// A schedule breaking the Alerts & Reports configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBreach {
    /// The schedule's name.
    pub name: String,
    /// `Alert` or `Report`.
    #[serde(rename = "type")]
    pub schedule_type: String,
    /// `recipient`, `frequency` or `run_as`.
    pub reason: String,
    /// What exactly.
    pub detail: String,
    /// The breach ends once a user is declared (see `report_rules::Violation::awaits_user`).
    #[serde(skip)]
    pub awaits_user: bool,
}

impl Diagnostic {
    /// A new error.
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: None,
            resource: None,
            object: None,
            field: None,
            hint: None,
            reason: None,
            breach: None,
        }
    }

    /// A new warning.
    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Sets the location.
    pub fn at(mut self, location: Option<SourceLocation>) -> Diagnostic {
        self.location = location;
        self
    }

    /// Sets the declared resource.
    pub fn on(mut self, resource: ResourceId) -> Diagnostic {
        self.resource = Some(resource);
        self
    }

    /// Sets the declared resource when there is one.
    pub fn maybe_on(mut self, resource: Option<ResourceId>) -> Diagnostic {
        if resource.is_some() {
            self.resource = resource;
        }
        self
    }

    /// Sets the Superset object.
    pub fn about(mut self, object: ObjectKey) -> Diagnostic {
        self.object = Some(object);
        self
    }

    /// What text output names after `in:`: the Superset object when the finding is about one
    /// (marked when no manifest declares it), else the declared resource, else what the reason
    /// is about (a kind, a selector).
    pub fn subject(&self) -> Option<String> {
        match (&self.object, &self.resource) {
            (Some(object), Some(_)) => Some(object.to_string()),
            (Some(object), None) => Some(format!("{object} (in Superset, not declared)")),
            (None, Some(resource)) => Some(resource.to_string()),
            (None, None) => self.reason.as_ref().and_then(Reason::subject),
        }
    }

    /// Sets the field path.
    pub fn field(mut self, field: impl Into<String>) -> Diagnostic {
        let field = field.into();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    /// Sets the policy breach.
    pub fn breach(mut self, breach: PolicyBreach) -> Diagnostic {
        self.breach = Some(breach);
        self
    }

    /// Sets the hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the reason.
    pub fn because(mut self, reason: Reason) -> Diagnostic {
        self.reason = Some(reason);
        self
    }

    /// Sets the hint when there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Diagnostic {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics by file, line, column, then code, so output is stable.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (
            &a.location,
            a.code,
            &a.resource,
            &a.object,
            &a.field,
            &a.message,
        )
            .cmp(&(
                &b.location,
                b.code,
                &b.resource,
                &b.object,
                &b.field,
                &b.message,
            ))
    });
}

/// The most characters of a message, hint, object or field path shown in text output (a
/// message can quote a value, and a value can be megabytes long).
pub const SHOWN_CHARS: usize = 1_000;

/// Renders one diagnostic for a terminal: a headline, the location, the source line with a
/// caret when the source text is known, the field and the hint. Everything quoted from the
/// input is escaped ([`crate::escape::terminal`]) and capped; the source line is an
/// [`excerpt`](crate::excerpt::excerpt): secrets redacted, cut around the column. A reason is
/// worded for the CLI ([`crate::cli::reasons`]).
pub fn render_text(d: &Diagnostic, source_line: Option<&str>) -> String {
    let d = &*crate::cli::reasons::worded(d);
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!("{severity}[{}]: {}\n", d.code.as_str(), shown(&d.message));
    if let Some(loc) = &d.location {
        let _ = writeln!(out, "  --> {}", shown(&loc.to_string()));
        if let Some(line) = source_line {
            let excerpt = crate::excerpt::excerpt(line, loc.column as usize);
            let gutter = loc.line.to_string();
            let pad = " ".repeat(gutter.len());
            let caret_pad: String = excerpt
                .text
                .chars()
                .take(excerpt.caret)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "   {pad}|");
            let _ = writeln!(out, "   {gutter}| {}", excerpt.text);
            let _ = writeln!(out, "   {pad}| {caret_pad}^");
        }
    }
    if let Some(subject) = d.subject() {
        let _ = writeln!(out, "   = in: {}", shown(&subject));
    }
    if let Some(field) = &d.field {
        let _ = writeln!(out, "   = field: {}", shown(field));
    }
    if let Some(hint) = &d.hint {
        let _ = writeln!(out, "   = hint: {}", shown(hint));
    }
    out
}

/// `text` escaped for a terminal and cut to [`SHOWN_CHARS`] characters.
fn shown(text: &str) -> String {
    let escaped = crate::escape::terminal(text);
    match escaped.char_indices().nth(SHOWN_CHARS) {
        None => escaped.into_owned(),
        Some((cut, _)) => format!(
            "{}… ({} more characters)",
            &escaped[..cut],
            escaped[cut..].chars().count()
        ),
    }
}

/// The closest candidate to `wrong` among `candidates`, for "did you mean" hints: a
/// case/separator-insensitive match first, else the nearest by edit distance when close enough.
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-' && *c != ' ')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wrong_folded = fold(wrong);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if fold(candidate) == wrong_folded {
            return Some(candidate);
        }
        let distance =
            strsim::damerau_levenshtein(&wrong.to_lowercase(), &candidate.to_lowercase());
        let limit = (candidate.chars().count().max(wrong.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_prefers_folded_match_then_edit_distance() {
        let fields = ["crontab", "timezone", "runAs", "runAlertQueryAs"];
        assert_eq!(closest("run_as", fields), Some("runAs"));
        assert_eq!(closest("crontb", fields), Some("crontab"));
        assert_eq!(closest("timzone", fields), Some("timezone"));
        assert_eq!(closest("colour", fields), None);
    }

    #[test]
    fn text_names_the_object_the_resource_or_what_the_reason_is_about() {
        use crate::resources::Kind;
        let in_line = |d: &Diagnostic| {
            render_text(d, None)
                .lines()
                .find_map(|l| l.strip_prefix("   = in: ").map(str::to_owned))
        };
        let role = ObjectKey::new(Kind::SupersetRole, "Finance");
        let declared = ResourceId::new(Kind::SupersetRole, None, "finance");
        let d = Diagnostic::error(Code::Conflict, "x");
        assert_eq!(in_line(&d), None);
        assert_eq!(
            in_line(&d.clone().on(declared.clone())).as_deref(),
            Some("SupersetRole/finance")
        );
        assert_eq!(
            in_line(&d.clone().on(declared).about(role.clone())).as_deref(),
            Some("SupersetRole \"Finance\"")
        );
        assert_eq!(
            in_line(&d.clone().about(role)).as_deref(),
            Some("SupersetRole \"Finance\" (in Superset, not declared)")
        );
        let empty = d.because(Reason::EmptyKind {
            kind: Kind::SupersetUser,
            managed: 2,
        });
        assert_eq!(in_line(&empty).as_deref(), Some("SupersetUser"));
        let json = serde_json::to_value(&empty).unwrap();
        assert_eq!(json["reason"]["code"], "empty-kind");
        assert!(json.get("resource").is_none() && json.get("object").is_none());
    }

    #[test]
    fn text_rendering_points_at_the_column() {
        let d = Diagnostic::error(Code::UnknownField, "unknown field `crontb`")
            .at(Some(SourceLocation {
                file: "a.yaml".into(),
                line: 7,
                column: 3,
            }))
            .field("spec.crontb")
            .hint("did you mean `crontab`?");
        let text = render_text(&d, Some("  crontb: '0 8 * * 1'"));
        assert!(
            text.starts_with("error[unknown-field]: unknown field `crontb`\n  --> a.yaml:7:3\n")
        );
        assert!(text.contains("   7|   crontb: '0 8 * * 1'\n    |   ^\n"));
        assert!(text.contains("= hint: did you mean `crontab`?"));
    }
}
