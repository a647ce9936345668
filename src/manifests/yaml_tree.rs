//! A YAML document as a tree of nodes that remember where they stand in the source, parsed by
//! serde-saphyr; the loader converts it to JSON for schema checks and uses it to turn a field
//! path back into a line and column.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// 1-based line and column of a node or key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// A YAML node and its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub position: Position,
    /// The node's value.
    pub value: NodeValue,
}

/// The value of a YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// `null` or `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits i64.
    Int(i64),
    /// An unsigned integer above i64::MAX.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order, keys with their own positions.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key starts.
    pub position: Position,
}

/// One step of a path into a node tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

impl Node {
    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Follows `path` as far as it goes: the deepest node reached, the key that led to it
    /// (when the last step taken was a key), and whether the whole path was found.
    fn walk(&self, path: &[PathStep]) -> (&Node, Option<&Key>, bool) {
        let mut node = self;
        let mut via = None;
        for step in path {
            let next = match (step, &node.value) {
                (PathStep::Key(k), NodeValue::Map(entries)) => entries
                    .iter()
                    .find(|(key, _)| &key.name == k)
                    .map(|(key, v)| (Some(key), v)),
                (PathStep::Index(n), NodeValue::Seq(items)) => items.get(*n).map(|v| (None, v)),
                _ => None,
            };
            match next {
                Some((key, n)) => (via, node) = (key, n),
                None => return (node, None, false),
            }
        }
        (node, via, true)
    }

    /// Where the field at `path` is declared: its key when the path ends in a key, else the
    /// node; the nearest enclosing node when the path is not all there. Also whether it was.
    pub fn locate(&self, path: &[PathStep]) -> (Position, bool) {
        let (node, key, found) = self.walk(path);
        (key.map_or(node.position, |k| k.position), found)
    }

    /// The position of the value (not the key) at `path`, falling back to the deepest node.
    pub fn locate_value(&self, path: &[PathStep]) -> Position {
        self.walk(path).0.position
    }

    /// Keys set twice in one mapping (YAML requires them unique; the parser passes both
    /// through so both places can be named): the path of the second, and the first's position.
    /// With `deep` false only this node's own keys are looked at.
    pub fn duplicate_keys(&self, deep: bool) -> Vec<(Vec<PathStep>, Position, Position)> {
        let mut found = Vec::new();
        self.collect_duplicates(&mut Vec::new(), deep, &mut found);
        found
    }

    fn collect_duplicates(
        &self,
        path: &mut Vec<PathStep>,
        deep: bool,
        found: &mut Vec<(Vec<PathStep>, Position, Position)>,
    ) {
        match &self.value {
            NodeValue::Map(entries) => {
                let mut seen = std::collections::HashMap::with_capacity(entries.len());
                for (key, value) in entries {
                    if let Some(first) = seen.insert(key.name.as_str(), key.position) {
                        seen.insert(key.name.as_str(), first);
                        let mut at = path.clone();
                        at.push(PathStep::Key(key.name.clone()));
                        found.push((at, first, key.position));
                    }
                    if deep {
                        path.push(PathStep::Key(key.name.clone()));
                        value.collect_duplicates(path, deep, found);
                        path.pop();
                    }
                }
            }
            NodeValue::Seq(items) if deep => {
                for (i, item) in items.iter().enumerate() {
                    path.push(PathStep::Index(i));
                    item.collect_duplicates(path, deep, found);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// The node as JSON (the form the schema checks and serde work on).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::UInt(u) => Value::from(*u),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Renders a path as `spec.recipients.email.to[0]`.
pub fn display_path(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathStep::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Parses a field path such as `spec.recipients.email.to[2]` (the form [`display_path`]
/// writes, and the form CEL errors use) into steps.
pub fn parse_path(path: &str) -> Vec<PathStep> {
    let mut steps = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            steps.push(PathStep::Key(key.to_owned()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let close = stripped.find(']').unwrap_or(stripped.len());
            let inner = stripped[..close].trim_matches(|c| c == '\'' || c == '"');
            match inner.parse::<usize>() {
                Ok(i) => steps.push(PathStep::Index(i)),
                Err(_) => steps.push(PathStep::Key(inner.to_owned())),
            }
            rest = stripped.get(close + 1..).unwrap_or("");
        }
    }
    steps
}

fn position_of<T>(spanned: &Spanned<T>) -> Position {
    Position {
        line: spanned.referenced.line() as u32,
        column: spanned.referenced.column() as u32,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeValue>::deserialize(deserializer)?;
        Ok(Node {
            position: position_of(&spanned),
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::UInt(v), NodeValue::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let position = position_of(&key);
            let value = map.next_value::<Node>()?;
            entries.push((
                Key {
                    name: key.value.0,
                    position,
                },
                value,
            ));
        }
        Ok(NodeValue::Map(entries))
    }
}

/// A mapping key: any scalar, kept as its text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<KeyText, E> {
                Ok(KeyText(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".to_owned()))
            }
        }
        deserializer.deserialize_string(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let text = "a: 1\nb:\n  - x\n  - {c: true, d: ~}\n";
        let docs: Vec<Node> = serde_saphyr::from_multiple(text).unwrap();
        let root = &docs[0];
        assert_eq!(root.get("a").unwrap().value, NodeValue::Int(1));
        let path = [
            PathStep::Key("b".into()),
            PathStep::Index(1),
            PathStep::Key("d".into()),
        ];
        assert_eq!(
            root.locate(&path),
            (
                Position {
                    line: 4,
                    column: 15
                },
                true
            )
        );
        assert_eq!(
            root.locate_value(&path[..2]),
            Position { line: 4, column: 5 }
        );
        assert_eq!(
            root.to_json(),
            serde_json::json!({"a": 1, "b": ["x", {"c": true, "d": null}]})
        );
    }
}
