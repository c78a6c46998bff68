use std::path::Path;

use super::load::without_value;
use super::*;
use crate::domain::ActionKind;

fn load(file: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_sources(
        Path::new("replyd.toml"),
        file,
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        &Overrides::default(),
    )
}

#[test]
fn defaults_apply_without_a_file() {
    let config = load("", &[]).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database_url.expose(), "sqlite://replyd.db");
}

#[test]
fn environment_overrides_the_file() {
    let config = load(
        "listen = \"127.0.0.1:9000\"\n[pipeline]\nconcurrency = 2\n",
        &[
            ("REPLYD_PIPELINE__CONCURRENCY", "7"),
            ("REPLYD_POLICY__AUTO_SEND", "[\"hide\"]"),
        ],
    )
    .unwrap();
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.pipeline.concurrency, 7);
    assert_eq!(config.policy.auto_send, vec![ActionKind::Hide]);
}

#[test]
fn unknown_file_key_names_key_and_line() {
    let err = load("[pipeline]\nconcurency = 2\n", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("concurency"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn unknown_env_key_names_the_variable() {
    let err = load("", &[("REPLYD_PIPELINE__NOPE", "1")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("REPLYD_PIPELINE__NOPE"), "{err}");
}

#[test]
fn bad_value_names_the_key() {
    let err = load("[policy]\nmin_confidence = 3.0\n", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("policy.min_confidence"), "{err}");
}

#[test]
fn a_second_member_needs_both_its_adapters_and_its_heads() {
    let err = load(
        "[model]\nsecond_adapters_dir = \"/srv/second/adapters\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("model.second_heads_dir"), "{err}");
    let err = load(
        "",
        &[("REPLYD_MODEL__SECOND_HEADS_DIR", "/srv/second/heads")],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("model.second_adapters_dir"), "{err}");
    let both = load(
        "[model]\nsecond_adapters_dir = \"/a\"\nsecond_heads_dir = \"/h\"\n",
        &[("REPLYD_MODEL__ENSEMBLE", "false")],
    )
    .unwrap();
    assert!(!both.model.ensemble);
    assert!(load("", &[]).unwrap().model.ensemble, "on by default");
}

#[test]
fn the_shipped_example_is_a_valid_config() {
    let example = include_str!("../../replyd.example.toml");
    load(example, &[]).expect("replyd.example.toml loads");
}

#[test]
fn secrets_never_print() {
    let config = load(
        "[[connectors.webhook]]\nplatform = \"shop\"\nurl = \"http://x\"\nsecret = \"hunter2\"\n",
        &[],
    )
    .unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(
        !printed.contains("replyd.db"),
        "database URLs can hold passwords"
    );
}

const META: &str = "[meta]\napp_secret = \"appsecret1\"\nverify_token = \"vt\"\n\
    [[meta.pages]]\nid = \"1234\"\nplatform = \"instagram\"\naccess_token = \"EAAtoken\"\n";

#[test]
fn meta_section_parses_with_defaults_and_hides_its_secrets() {
    let config = load(META, &[]).unwrap();
    let meta = config.meta.as_ref().unwrap();
    assert_eq!(meta.graph_url, "https://graph.facebook.com/v21.0");
    assert_eq!(meta.page("1234").unwrap().platform, MetaPlatform::Instagram);
    let printed = format!("{config:?}");
    for secret in ["appsecret1", "EAAtoken"] {
        assert!(!printed.contains(secret), "{printed}");
    }
}

#[test]
fn meta_section_is_checked() {
    let err = load(&META.replace("\"1234\"", "\"12/34\""), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("meta.pages[0].id"), "{err}");
    let err = load(
        &META.replace("platform = \"instagram\"", "platform = \"tiktok\""),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("meta.pages[0].platform") && err.contains("line 6"),
        "{err}"
    );
    assert!(!err.contains("tiktok"), "values are never echoed: {err}");
    let err = load(&META.replace("vt", ""), &[]).unwrap_err().to_string();
    assert!(err.contains("meta.verify_token"), "{err}");
    let capped = META.replace("[[meta.pages]]", "max_pause_secs = 0\n[[meta.pages]]");
    let err = load(&capped, &[]).unwrap_err().to_string();
    assert!(err.contains("meta.max_pause_secs"), "{err}");
}

#[test]
fn a_syntax_error_names_file_line_and_column_but_never_the_line() {
    let err = load(
        "[meta]\napp_secret = \"s3cr3t-value\nverify_token = \"vt\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("s3cr3t"), "{err}");
    for part in ["replyd.toml", "line 2", "column"] {
        assert!(err.contains(part), "{part}: {err}");
    }
}

#[test]
fn a_value_the_key_cannot_take_is_named_by_key_not_echoed() {
    let err = load(
        "[meta]\napp_secret = 918273645\nverify_token = \"vt\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("918273645"), "{err}");
    assert!(
        err.contains("meta.app_secret") && err.contains("line 2"),
        "{err}"
    );
    let err = load("", &[("REPLYD_PIPELINE__CONCURRENCY", "-918273645")])
        .unwrap_err()
        .to_string();
    assert!(!err.contains("918273645"), "{err}");
    assert!(err.contains("REPLYD_PIPELINE__CONCURRENCY"), "{err}");
    let err = load("[policy]\ntroll_action = \"s3cr3t\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(!err.contains("s3cr3t"), "{err}");
    assert!(err.contains("policy.troll_action"), "{err}");
}

#[test]
fn numeric_looking_env_values_are_strings_where_the_key_wants_a_string() {
    let config = load(
        META,
        &[
            ("REPLYD_META__VERIFY_TOKEN", "918273645"),
            ("REPLYD_META__APP_SECRET", "true"),
            ("REPLYD_BRAND__NAME", "1e3"),
            ("REPLYD_PIPELINE__CONCURRENCY", "7"),
        ],
    )
    .unwrap();
    let meta = config.meta.as_ref().unwrap();
    assert_eq!(meta.verify_token.expose(), "918273645");
    assert_eq!(meta.app_secret.expose(), "true");
    assert_eq!(config.brand.name, "1e3");
    assert_eq!(config.pipeline.concurrency, 7, "numbers stay numbers");
}

#[test]
fn public_urls_are_origins() {
    let config = load(
        "[console]\npublic_urls = [\"https://replyd.example.com/\"]\n",
        &[],
    )
    .unwrap();
    assert_eq!(config.console.public_urls.len(), 1);
    for bad in ["replyd.example.com", "https://replyd.example.com/console"] {
        let err = load(&format!("[console]\npublic_urls = [\"{bad}\"]\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("console.public_urls[0]"), "{err}");
    }
}

#[test]
fn messages_lose_the_values_they_quote() {
    assert_eq!(
        without_value("invalid type: integer `918273645`, expected a string"),
        "invalid type: integer, expected a string"
    );
    assert_eq!(
        without_value("invalid type: string \"a, expected b\", expected u32"),
        "invalid type: string, expected u32"
    );
    assert_eq!(
        without_value("unknown variant `hunter2`, expected `hide` or `ignore`"),
        "unknown variant, expected `hide` or `ignore`"
    );
    assert_eq!(
        without_value("unknown field `nope`, expected `a`"),
        "unknown field `nope`, expected `a`"
    );
}
