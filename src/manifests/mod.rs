//! Loading manifests: sources → YAML documents (multi-document files, `kind: List`) → checked
//! against each kind's strict schema and CEL rules → typed resources, each remembering where it
//! came from so later checks can point at file:line:column. The IO edge of the declared side:
//! files, standard input, git revisions and the manifest cache.

mod cache;
mod cache_sweep;
mod documents;
mod encoding;
mod fast_yaml;
pub mod git_revision;
mod schema_check;
pub mod source;
pub mod yaml_tree;

use std::sync::{Arc, OnceLock};

use crate::diagnostic::{Code, Diagnostic, SourceLocation, closest};
use crate::resources::{API_GROUP, API_GROUP_VERSION, Kind, Resource};

pub use cache::{ManifestCache, Place};
pub use cache_sweep::CacheLimits;
pub use source::{IGNORE_FILE, SourceFile, read_sources};
pub use yaml_tree::{Node, NodeValue, PathStep, Position, display_path, parse_path};

/// A typed object and where it was declared.
#[derive(Clone, Debug)]
pub struct LoadedObject {
    /// The object.
    pub resource: Resource,
    /// Index of its source in [`LoadedSet::sources`]; none for an object built in code or
    /// received from an API (it has no position).
    pub source: Option<usize>,
    /// Where it stands in that source.
    pub place: cache::Place,
    /// Its YAML node, for positions of fields: kept from parsing, or parsed again from the
    /// source when the object came from the manifest cache and a position is needed.
    pub node: OnceLock<Arc<Node>>,
    /// For an object from the manifest cache: its source's YAML documents, parsed at most once
    /// and shared by every object of that source, when the first of them needs a position.
    pub source_tree: Option<Arc<OnceLock<Vec<Node>>>>,
}

impl LoadedObject {
    /// The object's YAML node. A cached object's source is parsed once for all its objects.
    pub fn node(&self, sources: &[SourceFile]) -> &Node {
        self.node.get_or_init(|| {
            let Some(source) = self.source else {
                return Arc::new(Node {
                    position: Position { line: 1, column: 1 },
                    value: NodeValue::Null,
                });
            };
            let parse = || {
                cache::note_reparse();
                parse_yaml(&sources[source].text).unwrap_or_default()
            };
            let parsed_here;
            let documents = match &self.source_tree {
                Some(tree) => tree.get_or_init(parse),
                None => {
                    parsed_here = parse();
                    &parsed_here
                }
            };
            let document = documents.get(self.place.document);
            let node = match (document, self.place.item) {
                (Some(document), Some(item)) => match document.get("items").map(|n| &n.value) {
                    Some(NodeValue::Seq(items)) => items.get(item),
                    _ => None,
                },
                (document, _) => document,
            };
            Arc::new(node.cloned().unwrap_or(Node {
                position: Position { line: 1, column: 1 },
                value: NodeValue::Null,
            }))
        })
    }
}

/// Parses every YAML document of `text` like [`parse_yaml`], and says whether the fast path
/// was taken (it refuses duplicate keys, so only the other path's trees can hold them).
fn parse_yaml_checked(text: &str) -> Result<(Vec<Node>, bool), serde_saphyr::Error> {
    match fast_yaml::parse_documents(text) {
        Some(documents) => Ok((documents, true)),
        None => serde_saphyr::from_multiple_with_options(text, yaml_options()).map(|d| (d, false)),
    }
}

/// Parses every YAML document of `text`: the fast path when it applies, else serde-saphyr (which
/// also words the errors).
fn parse_yaml(text: &str) -> Result<Vec<Node>, serde_saphyr::Error> {
    match fast_yaml::parse_documents(text) {
        Some(documents) => Ok(documents),
        None => serde_saphyr::from_multiple_with_options(text, yaml_options()),
    }
}

/// Everything read from a set of paths: the sources, the objects that passed the per-object
/// checks, and the diagnostics found so far.
#[derive(Debug, Default)]
pub struct LoadedSet {
    /// Every source read.
    pub sources: Vec<SourceFile>,
    /// Objects that passed schema and CEL checks, in source order.
    pub objects: Vec<LoadedObject>,
    /// Every problem found while loading.
    pub diagnostics: Vec<Diagnostic>,
    /// Number of object documents seen, valid or not.
    pub documents: usize,
    /// Whether the checks of the set alone ([`crate::policy::check_set_alone`]) have run and
    /// their findings are in `diagnostics`.
    pub checked_alone: bool,
}

impl LoadedSet {
    /// The declared resources built in code or received from an API: no sources, so
    /// diagnostics name the resource and field, not a position.
    pub fn from_resources(resources: impl IntoIterator<Item = Resource>) -> LoadedSet {
        let objects: Vec<LoadedObject> = resources
            .into_iter()
            .map(|resource| LoadedObject {
                resource,
                source: None,
                place: cache::Place {
                    document: 0,
                    item: None,
                },
                node: OnceLock::new(),
                source_tree: None,
            })
            .collect();
        let mut set = LoadedSet {
            documents: objects.len(),
            objects,
            ..LoadedSet::default()
        };
        if set.documents == 0 {
            set.diagnostics.push(
                Diagnostic::error(Code::NoManifests, "no resources were given").hint(
                    "an empty declared set would delete every managed object; allow it on purpose (allow_empty_kinds)",
                ),
            );
        }
        set
    }

    /// Where the field at `path` of object `index` is declared (its key when present, else
    /// the nearest enclosing node); none for an object without a source.
    pub fn location(&self, index: usize, path: &[PathStep]) -> Option<SourceLocation> {
        let object = &self.objects[index];
        let source = object.source?;
        let (position, _) = object.node(&self.sources).locate(path);
        Some(self.source_location(source, position))
    }

    /// The digest of the sources the set was loaded from (plan files record it).
    pub fn digest(&self) -> String {
        crate::plan::plan_file::manifest_digest(
            self.sources
                .iter()
                .map(|s| (s.name.as_str(), s.text.as_str())),
        )
    }

    fn source_location(&self, source: usize, position: Position) -> SourceLocation {
        SourceLocation {
            file: self.sources[source].name.clone(),
            line: position.line,
            column: position.column,
        }
    }

    /// The source line a location points at, for rendering.
    pub fn source_line(&self, location: &SourceLocation) -> Option<&str> {
        self.sources
            .iter()
            .find(|s| s.name == location.file)?
            .line(location.line)
    }

    /// Whether any error was found.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Accepts empty input on purpose (`--allow-empty-kinds`: every managed object is to go):
    /// "no manifests found" becomes a warning.
    pub fn allow_no_manifests(&mut self) {
        for d in &mut self.diagnostics {
            if d.code == Code::NoManifests {
                d.severity = crate::diagnostic::Severity::Warning;
                d.hint =
                    Some("empty kinds allowed: every object steward manages is deleted".into());
                d.reason = Some(crate::reason::Reason::EmptyKindsAllowed);
            }
        }
    }
}

/// Reads and checks every manifest under `paths`, with no manifest cache. Input with no
/// manifest at all (an empty directory, a file with no document) is an error, so a mistyped
/// path does not pass.
pub fn load_paths(paths: &[String]) -> LoadedSet {
    load_paths_with(paths, &ManifestCache::off())
}

/// [`load_paths`] with the caller's manifest cache.
pub fn load_paths_with(paths: &[String], cache: &ManifestCache) -> LoadedSet {
    let (sources, diagnostics) = read_sources(paths);
    let mut set = load_sources_with(sources, cache);
    set.diagnostics.splice(0..0, diagnostics);
    if set.documents == 0 && !set.has_errors() {
        set.diagnostics
            .push(source::no_manifests_in(&paths.join(" ")));
    }
    set
}

/// Reads and checks manifests from in-memory sources, with no manifest cache.
pub fn load_sources(sources: Vec<SourceFile>) -> LoadedSet {
    load_sources_with(sources, &ManifestCache::off())
}

/// Reads and checks manifests from in-memory sources with the caller's manifest cache. Files
/// are parsed in parallel (one worker per core); results are merged in source order, so output
/// does not depend on timing.
pub fn load_sources_with(sources: Vec<SourceFile>, cache: &ManifestCache) -> LoadedSet {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(sources.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut outcomes: Vec<(usize, FileOutcome)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(source) = sources.get(index) else {
                            break;
                        };
                        done.push((index, load_file(source, index, cache)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a loader thread panicked"))
            .collect()
    });
    outcomes.sort_by_key(|(index, _)| *index);
    // Sized once: growing a vector of 100,000 objects by doubling copied it over and over
    // (about a tenth of org-100k's load), and its abandoned copies raised the peak.
    let objects = outcomes.iter().map(|(_, o)| o.objects.len()).sum();
    let diagnostics = outcomes.iter().map(|(_, o)| o.diagnostics.len()).sum();
    let mut set = LoadedSet {
        sources,
        objects: Vec::with_capacity(objects),
        diagnostics: Vec::with_capacity(diagnostics),
        documents: 0,
        checked_alone: false,
    };
    for (_, outcome) in outcomes {
        set.objects.extend(outcome.objects);
        set.diagnostics.extend(outcome.diagnostics);
        set.documents += outcome.documents;
    }
    set
}

/// What one file yielded.
#[derive(Default)]
struct FileOutcome {
    objects: Vec<LoadedObject>,
    diagnostics: Vec<Diagnostic>,
    documents: usize,
}

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        budget: serde_saphyr::budget! {
            max_documents: 1_000_000,
            max_nodes: 100_000_000,
            max_total_scalar_bytes: 1 << 30,
        },
    }
}

fn load_file(source: &SourceFile, index: usize, cache: &ManifestCache) -> FileOutcome {
    let mut out = FileOutcome::default();
    if let Some((documents, objects)) = cache.lookup(&source.text) {
        out.documents = documents;
        let tree = Arc::new(OnceLock::new());
        out.objects = objects
            .into_iter()
            .map(|(resource, place)| LoadedObject {
                resource,
                source: Some(index),
                place,
                node: OnceLock::new(),
                source_tree: Some(tree.clone()),
            })
            .collect();
        return out;
    }
    let (documents, unique_keys) = parse_each_document(source, &mut out);
    out.objects.reserve_exact(documents.len());
    for (number, document) in documents.into_iter().enumerate() {
        if document.value == NodeValue::Null {
            continue;
        }
        let is_list = document.get("kind").and_then(Node::as_str) == Some("List");
        if !unique_keys && report_duplicate_keys(&mut out, source, &document, !is_list) {
            out.documents += 1;
            continue;
        }
        if is_list {
            match document.get("items").map(|n| &n.value) {
                Some(NodeValue::Seq(items)) => {
                    for (item, node) in items.iter().enumerate() {
                        let place = cache::Place {
                            document: number,
                            item: Some(item),
                        };
                        if !unique_keys && report_duplicate_keys(&mut out, source, node, true) {
                            out.documents += 1;
                            continue;
                        }
                        load_object(&mut out, source, index, place, node.clone());
                    }
                }
                _ => out.diagnostics.push(
                    Diagnostic::error(
                        Code::NotAResource,
                        "a `kind: List` needs a sequence `items`",
                    )
                    .at(Some(location_of(source, document.position)))
                    .field("items"),
                ),
            }
        } else {
            let place = cache::Place {
                document: number,
                item: None,
            };
            load_object(&mut out, source, index, place, document);
        }
    }
    if out.diagnostics.is_empty() {
        let objects: Vec<_> = out.objects.iter().map(|o| (&o.resource, o.place)).collect();
        cache.store(&source.text, out.documents, &objects);
        // A clean source is held like a cached one: its YAML trees go (they outweigh the
        // resources several times: 270 MB of org-100k's peak), and a position, when one is
        // needed, parses the source again once for all its objects.
        let tree = Arc::new(OnceLock::new());
        for object in &mut out.objects {
            object.node = OnceLock::new();
            object.source_tree = Some(tree.clone());
        }
    }
    out
}

/// The documents of a source. When the stream does not parse as a whole, each document is
/// parsed on its own (YAML ends a document at a `---` line whatever came before), so one broken
/// document costs only itself. Also whether the trees are known free of duplicate keys.
fn parse_each_document(source: &SourceFile, out: &mut FileOutcome) -> (Vec<Node>, bool) {
    let whole = match parse_yaml_checked(&source.text) {
        Ok(parsed) => return parsed,
        Err(e) => e,
    };
    let pieces = documents::split(&source.text);
    let several = pieces.len() > 1;
    let mut documents = Vec::new();
    let mut failed = false;
    for piece in pieces {
        match parse_yaml_checked(&piece) {
            Ok((found, _)) => documents.extend(found),
            Err(e) => {
                failed = true;
                out.diagnostics.push(yaml_error(source, &e, several));
            }
        }
    }
    if !failed {
        out.diagnostics.push(yaml_error(source, &whole, false));
        documents.clear();
    }
    (documents, false)
}

fn yaml_error(source: &SourceFile, e: &serde_saphyr::Error, several: bool) -> Diagnostic {
    let location = e.location().map(|l| SourceLocation {
        file: source.name.clone(),
        line: l.line() as u32,
        column: l.column() as u32,
    });
    let hint = if several {
        "fix the YAML syntax; this document was not loaded (the file's other documents were)"
    } else {
        "fix the YAML syntax; nothing in this file was loaded"
    };
    Diagnostic::error(
        Code::YamlSyntax,
        format!("invalid YAML: {}", yaml_error_message(e)),
    )
    .at(location)
    .hint(hint)
}

/// Reports keys set twice in `node` (the whole tree when `deep`); whether there were any.
fn report_duplicate_keys(
    out: &mut FileOutcome,
    source: &SourceFile,
    node: &Node,
    deep: bool,
) -> bool {
    let found = node.duplicate_keys(deep);
    for (path, first, again) in &found {
        let shown = display_path(path);
        let (first_at, again_at) = if first.line == again.line {
            (
                format!("line {}, column {}", first.line, first.column),
                format!("column {}", again.column),
            )
        } else {
            (
                format!("line {}", first.line),
                format!("line {}", again.line),
            )
        };
        out.diagnostics.push(
            Diagnostic::error(
                Code::YamlSyntax,
                format!("duplicate key `{shown}`: set on {first_at} and again on {again_at}"),
            )
            .at(Some(location_of(source, *again)))
            .field(shown.clone())
            .hint("a key may appear once in a mapping: keep one of the two; this document was not loaded"),
        );
    }
    !found.is_empty()
}

fn yaml_error_message(e: &serde_saphyr::Error) -> String {
    let options = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
    let rendered = e.render_with_options(options);
    let first = rendered.lines().next().unwrap_or("").trim();
    // serde-saphyr appends " at line L column C"; the location is reported separately.
    match first.rfind(" at line ") {
        Some(cut) => first[..cut].to_owned(),
        None => first.to_owned(),
    }
}

fn location_of(source: &SourceFile, position: Position) -> SourceLocation {
    SourceLocation {
        file: source.name.clone(),
        line: position.line,
        column: position.column,
    }
}

fn load_object(
    out: &mut FileOutcome,
    source: &SourceFile,
    index: usize,
    place: cache::Place,
    node: Node,
) {
    out.documents += 1;
    let here = |path: &[PathStep]| location_of(source, node.locate(path).0);
    if !matches!(node.value, NodeValue::Map(_)) {
        out.diagnostics.push(
            Diagnostic::error(
                Code::NotAResource,
                "a document must be a mapping with apiVersion, kind, metadata and spec",
            )
            .at(Some(here(&[]))),
        );
        return;
    }
    let api_version = node.get("apiVersion").and_then(Node::as_str);
    let kind_text = node.get("kind").and_then(Node::as_str);
    let (Some(api_version), Some(kind_text)) = (api_version, kind_text) else {
        let missing = if api_version.is_none() {
            "apiVersion"
        } else {
            "kind"
        };
        out.diagnostics.push(
            Diagnostic::error(
                Code::NotAResource,
                format!("the document has no string `{missing}`"),
            )
            .at(Some(here(&[])))
            .field(missing)
            .hint(format!(
                "every document needs `apiVersion: {API_GROUP_VERSION}` and a `kind`"
            )),
        );
        return;
    };
    let Some(kind) = Kind::parse(kind_text) else {
        let hint = closest(kind_text, Kind::ALL.iter().map(|k| k.as_str()))
            .map(|k| format!("did you mean `{k}`?"))
            .unwrap_or_else(|| {
                let kinds: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("steward kinds are {}", kinds.join(", "))
            });
        out.diagnostics.push(
            Diagnostic::error(Code::UnknownKind, format!("unknown kind `{kind_text}`"))
                .at(Some(here(&[PathStep::Key("kind".into())])))
                .field("kind")
                .hint(hint),
        );
        return;
    };
    let name = node
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or("<unnamed>")
        .to_owned();
    let namespace = node
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Node::as_str);
    let resource_id = crate::resources::ResourceId::new(kind, namespace, name.clone());
    if api_version != API_GROUP_VERSION {
        let hint = if api_version.starts_with(API_GROUP) {
            format!("steward serves only `{API_GROUP_VERSION}`")
        } else {
            format!(
                "use `apiVersion: {API_GROUP_VERSION}`; files that are not steward manifests can be listed in {}",
                IGNORE_FILE
            )
        };
        out.diagnostics.push(
            Diagnostic::error(
                Code::UnknownApiVersion,
                format!("unknown apiVersion `{api_version}` for kind {kind}"),
            )
            .at(Some(here(&[PathStep::Key("apiVersion".into())])))
            .on(resource_id)
            .field("apiVersion")
            .hint(hint),
        );
        return;
    }
    if !kind.namespaced() && namespace.is_some() {
        out.diagnostics.push(
            Diagnostic::warning(
                Code::IneffectiveField,
                format!("{kind} is cluster-scoped; metadata.namespace is ignored"),
            )
            .at(Some(here(&[
                PathStep::Key("metadata".into()),
                PathStep::Key("namespace".into()),
            ])))
            .on(resource_id.clone())
            .field("metadata.namespace")
            .hint("remove metadata.namespace"),
        );
    }

    let json = node.to_json();
    let mut problems = schema_check::structural(kind, &json, &node);
    if problems.is_empty() {
        problems = schema_check::cel_rules(kind, &json, &node);
    }
    if !problems.is_empty() {
        for problem in problems {
            let location = location_of(source, problem.position);
            out.diagnostics.push(
                problem
                    .diagnostic
                    .at(Some(location))
                    .on(resource_id.clone()),
            );
        }
        return;
    }
    match Resource::from_json(kind, json) {
        Ok(resource) => out.objects.push(LoadedObject {
            resource,
            source: Some(index),
            place,
            node: OnceLock::from(Arc::new(node)),
            source_tree: None,
        }),
        Err(e) => out.diagnostics.push(
            Diagnostic::error(Code::WrongType, format!("cannot read {kind}: {e}"))
                .at(Some(here(&[])))
                .on(resource_id),
        ),
    }
}
