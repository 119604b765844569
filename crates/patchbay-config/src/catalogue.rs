//! The built-in provider catalogue, embedded at compile time by `build.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde_norway::Value as Tree;

use crate::errors::{ConfigError, ConfigErrors, Report};
use crate::provider::ProviderDefinition;
use crate::provider_check::{Origin, check_provider};
use crate::source;
use crate::typed::deserialize_at;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/providers.rs"));
}

/// Provider definitions by id, also found by the integration type Paragon gives the same
/// service (`paragonType`), so a document written with Paragon's names finds its providers.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    providers: BTreeMap<String, ProviderDefinition>,
    /// Paragon's integration type to provider id, where the two differ.
    aliases: BTreeMap<String, String>,
    errors: Vec<CatalogueError>,
}

/// A catalogue file that failed validation; the file is left out of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueError {
    /// The file name, `slack.yaml`.
    pub file: String,
    pub error: ConfigError,
}

impl fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.error.path.is_empty() {
            write!(f, "providers/{}: {}", self.file, self.error.message)
        } else {
            write!(
                f,
                "providers/{}: {}: {}",
                self.file, self.error.path, self.error.message
            )
        }
    }
}

/// The embedded catalogue, parsed once on first use.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: LazyLock<Catalogue> =
        LazyLock::new(|| Catalogue::from_files(embedded::FILES.iter().copied()));
    &CATALOGUE
}

impl Catalogue {
    /// Builds a catalogue from `(file name, YAML text)` pairs. A file that fails validation is
    /// left out and its errors kept (see [`Catalogue::errors`]): one broken file must not take
    /// every other provider down with it.
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut catalogue = Self::default();
        for (file, text) in files {
            let stem = file.strip_suffix(".yaml").unwrap_or(file);
            let result = parse_provider(text).and_then(|definition| {
                let errors = catalogue_rules(&definition, stem);
                if errors.is_empty() {
                    Ok(definition)
                } else {
                    Err(ConfigErrors(errors))
                }
            });
            match result {
                Ok(definition) if catalogue.providers.contains_key(&definition.id) => {
                    catalogue.errors.push(CatalogueError {
                        file: file.to_owned(),
                        error: ConfigError::new(
                            "id",
                            format!("duplicate provider `{}`", definition.id),
                        ),
                    });
                }
                Ok(definition) => {
                    catalogue
                        .providers
                        .insert(definition.id.clone(), definition);
                }
                Err(errors) => {
                    catalogue
                        .errors
                        .extend(errors.into_iter().map(|error| CatalogueError {
                            file: file.to_owned(),
                            error,
                        }))
                }
            }
        }
        catalogue.index_paragon_types();
        catalogue
    }

    /// Fills [`Self::aliases`]. A Paragon type that is another provider's id, or that two
    /// providers claim, would make a name mean two things: that file is reported instead.
    fn index_paragon_types(&mut self) {
        let Self {
            providers,
            aliases,
            errors,
        } = self;
        for provider in providers.values() {
            let Some(alias) = &provider.paragon_type else {
                continue;
            };
            if *alias == provider.id {
                continue;
            }
            let clash = if providers.contains_key(alias) {
                Some(format!("`{alias}` is the id of another provider"))
            } else {
                aliases
                    .get(alias)
                    .map(|other| format!("`{alias}` is already the Paragon type of `{other}`"))
            };
            match clash {
                Some(message) => errors.push(CatalogueError {
                    file: format!("{}.yaml", provider.id),
                    error: ConfigError::new("paragonType", message),
                }),
                None => {
                    aliases.insert(alias.clone(), provider.id.clone());
                }
            }
        }
    }

    /// A provider by id.
    pub fn get(&self, id: &str) -> Option<&ProviderDefinition> {
        self.providers.get(id)
    }

    /// A provider by id or by its Paragon integration type (`google-calendar` or
    /// `googleCalendar`).
    pub fn find(&self, name: &str) -> Option<&ProviderDefinition> {
        self.get(name).or_else(|| {
            let id = self.aliases.get(name)?;
            self.providers.get(id)
        })
    }

    /// The providers filed under `category` (when given) whose id, name or Paragon type
    /// contains `text` (when given, compared without case), sorted by id.
    pub fn search<'a>(
        &'a self,
        category: Option<&'a str>,
        text: Option<&str>,
    ) -> impl Iterator<Item = &'a ProviderDefinition> {
        let text = text.map(str::to_lowercase);
        self.iter().filter(move |provider| {
            let in_category =
                category.is_none_or(|category| provider.categories.iter().any(|c| c == category));
            let matches = text.as_deref().is_none_or(|text| {
                [
                    Some(&provider.id),
                    Some(&provider.name),
                    provider.paragon_type.as_ref(),
                ]
                .into_iter()
                .flatten()
                .any(|name| name.to_lowercase().contains(text))
            });
            in_category && matches
        })
    }

    /// Every name [`Self::find`] answers to.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.providers
            .keys()
            .chain(self.aliases.keys())
            .map(String::as_str)
    }

    /// Every provider, sorted by id.
    pub fn iter(&self) -> impl Iterator<Item = &ProviderDefinition> {
        self.providers.values()
    }

    pub fn len(&self) -> usize {
        self.providers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// The files left out, with why. Empty for the embedded catalogue (a test keeps it so).
    pub fn errors(&self) -> &[CatalogueError] {
        &self.errors
    }
}

/// What a file needs to be in the catalogue beyond being a valid definition: its id is its
/// file name, and it has what catalogue pages show (a category and a brand colour).
/// [`parse_provider`] leaves these out so a test can build a definition from a few lines.
fn catalogue_rules(definition: &ProviderDefinition, stem: &str) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    if definition.id != stem {
        errors.push(ConfigError::new(
            "id",
            format!("`{}` must equal the file name `{stem}`", definition.id),
        ));
    }
    if definition.categories.is_empty() {
        errors.push(ConfigError::new(
            "categories",
            "missing: a catalogue provider is filed under at least one category",
        ));
    }
    if definition.brand_color.is_none() {
        errors.push(ConfigError::new(
            "brandColor",
            "missing field `brandColor`: catalogue pages show every provider in its colour",
        ));
    }
    errors
}

/// Parses and validates one provider file (paths are relative to the file: `auth.tokenUrl`).
pub fn parse_provider(text: &str) -> Result<ProviderDefinition, ConfigErrors> {
    let one = |error: ConfigError| ConfigErrors(vec![error]);
    let tree = source::parse(text).map_err(one)?;
    if !matches!(tree, Tree::Mapping(_)) {
        let found = source::describe(&tree);
        return Err(one(ConfigError::new(
            "",
            format!("expected a provider definition (a mapping), found {found}"),
        )));
    }
    let definition = deserialize_at::<ProviderDefinition>(&tree, "").map_err(one)?;
    let mut report = Report::default();
    check_provider(&definition, "", Origin::Catalogue, &mut report);
    report.finish(definition)
}
