//! Reading a `Config`: the file, then the `REPLYD_*` environment, then
//! the command line, with errors that name where a value came from and
//! never the value.

use std::net::SocketAddr;
use std::path::Path;

use super::{Config, ConfigError};

const ENV_PREFIX: &str = "REPLYD_";

/// Overrides given on the command line; they win over file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
}

impl Config {
    /// Reads `path` (or `./replyd.toml` when it exists), then the process
    /// environment, then `overrides`.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let default_path = Path::new("replyd.toml");
        let path = match path {
            Some(p) => Some(p),
            None if default_path.exists() => Some(default_path),
            None => None,
        };
        let file_text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_owned(),
                source,
            })?,
            None => String::new(),
        };
        Self::from_sources(
            path.unwrap_or(default_path),
            &file_text,
            std::env::vars(),
            overrides,
        )
    }

    /// The pure part of [`Config::load`], testable without touching the process.
    pub fn from_sources(
        path: &Path,
        file_text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        // Parse the file alone first: its errors then carry line and column.
        // toml's own rendering of an error quotes the offending line, which
        // may hold a secret, so only its bare message is kept.
        let file_error = |e: toml::de::Error, key: Option<String>| ConfigError::File {
            path: path.to_owned(),
            line_column: e.span().map(|span| line_column(file_text, span.start)),
            key,
            message: without_value(e.message()),
        };
        serde_path_to_error::deserialize::<_, Config>(toml::Deserializer::new(file_text)).map_err(
            |e| {
                let key = key_of(&e);
                file_error(e.into_inner(), key)
            },
        )?;
        let mut table: toml::Table = toml::from_str(file_text).map_err(|e| file_error(e, None))?;

        let mut env_vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        env_vars.sort();
        if let Some(url) = overrides.database_url.clone() {
            table.insert("database_url".into(), toml::Value::String(url));
        }
        for (var, raw) in &env_vars {
            let path: Vec<String> = var[ENV_PREFIX.len()..]
                .split("__")
                .map(|part| part.to_ascii_lowercase())
                .collect();
            // Deserialize after each variable so an error names the variable.
            let mut set = |value: toml::Value| {
                set_path(&mut table, &path, value)?;
                serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(table.clone()))
                    .map(drop)
                    .map_err(|e| without_value(e.inner().message()))
            };
            // Typed first, so `8`, `true` and `["hide"]` reach numbers, flags
            // and lists. A token or password may look like a number or a
            // flag (`918273645`); when the key refuses the typed value, the
            // raw text is tried as a string. The config's own types decide,
            // so no list of string keys has to be kept in step with them.
            let typed = parse_env_value(raw);
            let as_text = (!typed.is_str()).then(|| toml::Value::String(raw.clone()));
            let outcome = match (set(typed), as_text) {
                (Err(first), Some(text)) => set(text).map_err(|_| first),
                (outcome, _) => outcome,
            };
            outcome.map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
        }

        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError::Invalid {
                key: e.path().to_string(),
                message: without_value(e.inner().message()),
            })?;
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        config.validate()?;
        Ok(config)
    }
}

/// The 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// The key an error is about; none for the file as a whole.
fn key_of<E>(e: &serde_path_to_error::Error<E>) -> Option<String> {
    Some(e.path().to_string()).filter(|p| p != ".")
}

/// A deserializer's message without the value it was given, which may be a
/// secret. serde words it `invalid type: string "s3cr3t", expected a
/// string` and the domain types `unknown value `x`, expected one of: ...`:
/// whatever is quoted before the last "expected" goes, and what follows
/// "expected" comes from the config's own types. Multi-line messages are
/// joined into one line.
pub(super) fn without_value(message: &str) -> String {
    let message = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    // These quote a key, never a value.
    if ["unknown field", "missing field", "duplicate"]
        .iter()
        .any(|start| message.starts_with(start))
    {
        return message;
    }
    let (said, expected) = message.split_at(message.rfind("expected").unwrap_or(message.len()));
    let said = said[..said.find(['`', '"', '\'']).unwrap_or(said.len())]
        .trim_end()
        .trim_end_matches([',', ';', ':'])
        .trim_end();
    match (said.is_empty(), expected.is_empty()) {
        (_, true) => said.to_owned(),
        (true, false) => expected.to_owned(),
        (false, false) => format!("{said}, {expected}"),
    }
}

fn parse_env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a section"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}
