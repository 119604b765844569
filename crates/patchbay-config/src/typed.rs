//! From the syntax tree to typed values, with the path of the first serde error.
//!
//! serde stops at the first error of one `deserialize` call, so the document is deserialized
//! piece by piece (settings, each integration, each workflow): an error in one piece does not
//! hide the errors of the others.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Deserializer, Error as _, MapAccess, Visitor};
use serde_norway::Value as Tree;
use serde_path_to_error::Segment;

use crate::errors::{ConfigError, Report, field};

/// The key that names the variant of every tagged object (`auth`, `trigger`, steps).
pub(crate) const TAG: &str = "type";

/// Deserializes `tree` (found at `path`) as a `T`, or records where and why it is not one.
pub(crate) fn typed<T: DeserializeOwned>(
    tree: &Tree,
    path: &str,
    report: &mut Report,
) -> Option<T> {
    match deserialize_at(tree, path) {
        Ok(value) => Some(value),
        Err(error) => {
            report.push(error);
            None
        }
    }
}

pub(crate) fn deserialize_at<T: DeserializeOwned>(
    tree: &Tree,
    path: &str,
) -> Result<T, ConfigError> {
    // Tagged objects are read in one streaming pass (which keeps the path of errors inside
    // them) only when the tag comes first; see `deserialize_tagged`.
    let tree = tags_first(tree);
    serde_path_to_error::deserialize(&tree).map_err(|error| {
        let mut at = path.to_owned();
        for segment in error.path().iter() {
            match segment {
                Segment::Seq { index } => at.push_str(&format!("[{index}]")),
                Segment::Map { key } => at = field(&at, key),
                Segment::Enum { variant } => at = field(&at, variant),
                Segment::Unknown => at = field(&at, "?"),
            }
        }
        let message = error.inner().to_string();
        // serde reports a missing field at its parent; pointing at the field itself is what a
        // reader of `integrations.acme.auth.tokenUrl: missing field` expects.
        if let Some(name) = backticked_after(&message, "missing field `") {
            at = field(&at, name);
        }
        ConfigError::new(at, message)
    })
}

fn backticked_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// A copy of `tree` in which every mapping that has a `type` key has it first.
fn tags_first(tree: &Tree) -> Tree {
    match tree {
        Tree::Sequence(items) => Tree::Sequence(items.iter().map(tags_first).collect()),
        Tree::Mapping(mapping) => {
            let mut ordered = serde_norway::Mapping::with_capacity(mapping.len());
            let tag = Tree::String(TAG.to_owned());
            if let Some(value) = mapping.get(&tag) {
                ordered.insert(tag.clone(), tags_first(value));
            }
            for (key, value) in mapping {
                if key != &tag {
                    ordered.insert(key.clone(), tags_first(value));
                }
            }
            Tree::Mapping(ordered)
        }
        Tree::Tagged(tagged) => Tree::Tagged(Box::new(serde_norway::value::TaggedValue {
            tag: tagged.tag.clone(),
            value: tags_first(&tagged.value),
        })),
        scalar => scalar.clone(),
    }
}

/// An enum stored as an object whose `type` key names the variant (`{type: request, ...}`).
///
/// serde's derived internally tagged enums buffer the object before choosing the variant, which
/// loses the path of any error inside it; this reads the tag first and then deserializes the
/// variant straight from the rest of the same map.
pub(crate) trait Tagged: Sized {
    /// The variant names, as a unit enum deserialized from the tag's value.
    type Kind: DeserializeOwned;
    const EXPECTING: &'static str;

    fn variant<'de, D: Deserializer<'de>>(kind: Self::Kind, rest: D) -> Result<Self, D::Error>;
}

pub(crate) fn deserialize_tagged<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Tagged,
{
    deserializer.deserialize_map(TaggedVisitor(PhantomData))
}

struct TaggedVisitor<T>(PhantomData<T>);

impl<'de, T: Tagged> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Err(A::Error::missing_field(TAG));
        };
        if first == TAG {
            let kind = map.next_value::<T::Kind>()?;
            return T::variant(kind, MapAccessDeserializer::new(map));
        }
        // The tag comes later (JSON read back from storage, whose key order is not kept):
        // buffer the rest; errors are then reported at the object, not inside it.
        let mut rest = serde_json::Map::new();
        let mut kind = None;
        let mut key = Some(first);
        while let Some(name) = key {
            if name == TAG {
                kind = Some(map.next_value::<T::Kind>()?);
            } else {
                rest.insert(name, map.next_value::<serde_json::Value>()?);
            }
            key = map.next_key::<String>()?;
        }
        let kind = kind.ok_or_else(|| A::Error::missing_field(TAG))?;
        T::variant(kind, serde_json::Value::Object(rest)).map_err(A::Error::custom)
    }
}

/// The body of a variant that has no fields: rejects any key but the tag.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoFields {}
