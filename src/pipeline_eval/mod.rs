//! `replyd eval --pipeline`: labelled messages through classify → decide →
//! draft → check → gate, exactly as the daemon runs them (the same
//! classifier, [`crate::decide::decide`] and
//! [`crate::pipeline::draft_actions`]), with every action kind allowed to go
//! out alone, so that only the playbook and the risk gate stand between a
//! message and a harmful outcome. Nothing is stored or sent.
//!
//! What it reports is what must never happen: a harmful text that would go
//! out, a legitimate message removed or its author blocked, a prospect
//! blocked, a risky message not held; then how often the playbook did its
//! job, and the confusion of expected against actual outcome per language.

pub mod hostile;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::app::{build_classifier, build_drafter};
use crate::classify::rules::Rules;
use crate::config::{Config, LlmConfig};
use crate::decide::lead::LeadFacts;
use crate::decide::{self, Context, Subject};
use crate::domain::{ActionKind, ActionStatus, Kind, Platform};
use crate::draft::guardrails::{DraftCheck, Purpose};

/// What should become of a message, as the playbook promises.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A personal thank-you goes out.
    Thank,
    /// An apology moving the conversation to private goes out.
    ApologizeDm,
    /// The question is answered or acknowledged.
    Answer,
    /// A reply or a like shows the message was seen.
    Acknowledge,
    /// The pre-qualifying questions (or the lead's thanks) go out.
    Prequalify,
    /// The comment is hidden at once.
    Hide,
    /// The message is deleted (where it can be) and its author blocked.
    DeleteBlock,
    /// Nothing goes out: a person decides.
    Hold,
    /// Nothing at all.
    Ignore,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Thank => "thank",
            Outcome::ApologizeDm => "apologize_dm",
            Outcome::Answer => "answer",
            Outcome::Acknowledge => "acknowledge",
            Outcome::Prequalify => "prequalify",
            Outcome::Hide => "hide",
            Outcome::DeleteBlock => "delete_block",
            Outcome::Hold => "hold",
            Outcome::Ignore => "ignore",
        }
    }

    /// A message from a customer or a prospect, which must never be
    /// removed nor its author blocked.
    fn is_legitimate(self) -> bool {
        matches!(
            self,
            Outcome::Thank
                | Outcome::ApologizeDm
                | Outcome::Answer
                | Outcome::Acknowledge
                | Outcome::Prequalify
        )
    }
}

/// Which LLM drafts, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LlmChoice {
    /// The one in the configuration, or templates only when none is.
    Configured,
    /// A built-in stand-in that drafts insults, money promises, links,
    /// other languages and echoed personal data.
    Hostile,
}

#[derive(Debug, clap::Args)]
pub struct PipelineArgs {
    /// Which LLM drafts (`--pipeline` only).
    #[arg(long, value_enum, default_value_t = LlmChoice::Configured)]
    pub llm: LlmChoice,
}

/// One labelled message.
#[derive(Debug, Deserialize)]
struct Row {
    text: String,
    platform: Platform,
    kind: Kind,
    lang: Option<String>,
    expected: Outcome,
    /// `praise`, `threat`, `complaint_pii_public`...: reported, not judged.
    #[serde(default)]
    category: Option<String>,
}

fn read_rows(path: &Path) -> anyhow::Result<Vec<Row>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut rows = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}: unreadable", path.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: Row = serde_json::from_str(&line).with_context(|| {
            format!(
                "{}:{}: not a pipeline row (text, platform, kind, expected)",
                path.display(),
                n + 1
            )
        })?;
        rows.push(row);
    }
    anyhow::ensure!(!rows.is_empty(), "{}: no rows", path.display());
    Ok(rows)
}

/// What happened to one message.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub line: usize,
    pub lang: String,
    pub category: Option<String>,
    pub text: String,
    pub expected: Outcome,
    pub actual: Outcome,
    /// The playbook's summary and its reasons, to see why.
    pub decision: String,
    pub reasons: Vec<String>,
    /// `kind: status` of every action, in plan order.
    pub actions: Vec<String>,
    /// Texts that would go out although they must not, each with why.
    pub harmful: Vec<String>,
}

/// A share of the cases that did what they must.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Rate {
    pub ok: usize,
    pub of: usize,
}

impl Rate {
    fn count(&mut self, ok: bool) {
        self.of += 1;
        self.ok += usize::from(ok);
    }

    pub fn percent(&self) -> f64 {
        if self.of == 0 {
            100.0
        } else {
            100.0 * self.ok as f64 / self.of as f64
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} ({:.1} %)", self.ok, self.of, self.percent())
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub rows: usize,
    /// Harmful texts that would go out.
    pub harmful_out: Vec<String>,
    /// Complaints, feedback, questions, praise, leads removed or blocked.
    pub legitimate_removed: Vec<String>,
    pub prospects_blocked: Vec<String>,
    /// Risky messages (expected `hold`) held with nothing out.
    pub risky_held: Rate,
    /// Spam, scam, hate and threats removed or hidden (DMs and reviews:
    /// blocked or reported, never answered).
    pub harm_removed: Rate,
    /// Positive and neutral messages thanked or liked.
    pub positive_acknowledged: Rate,
    /// Expected outcome as the actual one.
    pub exact: Rate,
    pub exact_by_lang: BTreeMap<String, Rate>,
    /// `expected -> actual`: count.
    pub confusion: BTreeMap<String, usize>,
    pub cases: Vec<Case>,
}

pub async fn run(config: &Config, file: &Path, args: &PipelineArgs) -> anyhow::Result<Report> {
    let rows = read_rows(file)?;
    let mut config = config.clone();
    // Every action may go out alone: only the playbook and the gate judge.
    config.policy.auto_send = ActionKind::ALL.to_vec();
    config.policy.auto_send_by_platform.clear();
    let hostile = match args.llm {
        LlmChoice::Configured => None,
        LlmChoice::Hostile => {
            let llm = hostile::HostileLlm::default();
            let addr = llm.start().await?;
            config.llm = Some(LlmConfig {
                base_url: format!("http://{addr}/v1"),
                model: "hostile".into(),
                api_key_env: "REPLYD_EVAL_NO_KEY".into(),
                timeout_secs: 10,
            });
            Some(llm)
        }
    };
    let rules = Arc::new(Rules::new(&config.rules)?);
    let classifier = build_classifier(&config, rules.clone()).await?;
    let drafter = build_drafter(&config, rules, Some(classifier.clone()))?;

    let mut report = Report {
        rows: rows.len(),
        ..Report::default()
    };
    for (i, row) in rows.iter().enumerate() {
        let c = classifier
            .classify(&row.text, row.lang.as_deref())
            .await
            .map_err(|e| anyhow::anyhow!("classifying row {}: {e}", i + 1))?;
        let detection = crate::leads::detect(
            &row.text,
            &c,
            config.leads.min_score,
            &config.leads.own_handles,
        );
        let lead = LeadFacts {
            enabled: config.leads.enabled,
            is_lead: detection.is_lead,
            score: detection.score,
            reasons: detection.reasons,
            open_lead: None,
            prequalify_in_private: false,
        };
        let subject = Subject {
            platform: &row.platform,
            kind: row.kind,
            text: &row.text,
            author_id: "eval",
            author_handle: None,
            reach: None,
            first_contact: true,
        };
        let context = Context {
            classification: &c,
            lead: &lead,
            policy: &config.policy,
            facts: &drafter.facts,
        };
        let plan = decide::decide(&subject, &context);
        let seed = format!("eval-{i}");
        let planned =
            crate::pipeline::draft_actions(&drafter, &subject, &context, &plan, Some("Sam"), &seed)
                .await?;

        let out = |kind: ActionKind| {
            planned
                .iter()
                .any(|a| a.kind == kind && a.status == ActionStatus::Pending)
        };
        let removed = out(ActionKind::Delete) || out(ActionKind::Block);
        let mut harmful = Vec::new();
        let mut answered = Vec::new();
        for (proposal, action) in plan.proposals.iter().zip(&planned) {
            let (Some(template), Some(text)) = (proposal.template, action.text.as_deref()) else {
                continue;
            };
            if action.status != ActionStatus::Pending {
                continue;
            }
            answered.push(outcome_of_template(template));
            if hostile.as_ref().is_some_and(|h| h.wrote(text)) {
                harmful.push(format!("the hostile LLM's draft: {text}"));
            }
            let failures = drafter.guardrails.check(&DraftCheck {
                text,
                expected_lang: None,
                public: proposal.public,
                platform: &row.platform,
                kind: row.kind,
                message_text: &row.text,
                facts_text: drafter.facts.all_text(),
                purpose: Purpose::of_template(template),
            });
            if !failures.is_empty() {
                harmful.push(format!("{}: {text}", failures.join("; ")));
            }
            if row.expected == Outcome::Hold || row.expected == Outcome::DeleteBlock {
                harmful.push(format!("answered instead of held or removed: {text}"));
            }
        }
        let held = planned.iter().any(|a| a.status == ActionStatus::Held);
        let actual = if removed {
            Outcome::DeleteBlock
        } else if out(ActionKind::Hide) {
            Outcome::Hide
        } else if let Some(best) = answered.iter().min() {
            *best
        } else if out(ActionKind::Like) {
            Outcome::Acknowledge
        } else if held {
            Outcome::Hold
        } else {
            Outcome::Ignore
        };

        let lang = row
            .lang
            .clone()
            .or_else(|| c.lang.map(|l| l.to_string()))
            .unwrap_or_else(|| "?".into());
        let line = format!("{}: [{lang}] {}", i + 1, snippet(&row.text));
        if !harmful.is_empty() {
            report
                .harmful_out
                .extend(harmful.iter().map(|h| format!("{line} -> {h}")));
        }
        if row.expected.is_legitimate() && removed {
            report.legitimate_removed.push(line.clone());
        }
        if row.expected == Outcome::Prequalify && out(ActionKind::Block) {
            report.prospects_blocked.push(line.clone());
        }
        if row.expected == Outcome::Hold {
            report
                .risky_held
                .count(answered.is_empty() && !removed && held);
        }
        let harm =
            row.expected == Outcome::DeleteBlock || row.category.as_deref() == Some("threat");
        if harm {
            let dealt_with = match row.kind {
                Kind::Comment | Kind::Mention => removed || out(ActionKind::Hide),
                // Nothing can be removed: blocked, or the block held for a
                // person (reported).
                Kind::Dm | Kind::Review => planned.iter().any(|a| {
                    a.kind == ActionKind::Block
                        && matches!(a.status, ActionStatus::Pending | ActionStatus::Held)
                }),
            };
            report.harm_removed.count(dealt_with && answered.is_empty());
        }
        let positive = matches!(row.category.as_deref(), Some("praise" | "neutral"));
        if positive {
            report
                .positive_acknowledged
                .count(!answered.is_empty() || out(ActionKind::Like));
        }
        let exact = actual == row.expected;
        report.exact.count(exact);
        report
            .exact_by_lang
            .entry(lang.clone())
            .or_default()
            .count(exact);
        *report
            .confusion
            .entry(format!("{} -> {}", row.expected.as_str(), actual.as_str()))
            .or_default() += 1;
        report.cases.push(Case {
            line: i + 1,
            lang,
            category: row.category.clone(),
            text: row.text.clone(),
            expected: row.expected,
            actual,
            decision: plan.summary.clone(),
            reasons: plan.reasons.clone(),
            actions: planned
                .iter()
                .map(|a| {
                    // Why an action waits is what a reader of the report
                    // needs to judge it.
                    let held: Vec<&str> = crate::pipeline::held_reasons(&a.reasons).collect();
                    if held.is_empty() {
                        format!("{}: {}", a.kind, a.status)
                    } else {
                        format!("{}: {} ({})", a.kind, a.status, held.join("; "))
                    }
                })
                .collect(),
            harmful,
        });
    }
    Ok(report)
}

/// The playbook's step a template serves, as an outcome.
fn outcome_of_template(template: &str) -> Outcome {
    match template {
        t if t.ends_with(".complaint") => Outcome::ApologizeDm,
        "thank.praise" => Outcome::Thank,
        "prequalify.lead" | "acknowledge.lead" => Outcome::Prequalify,
        t if t.starts_with("answer.") || t == "acknowledge.question" => Outcome::Answer,
        _ => Outcome::Acknowledge,
    }
}

fn snippet(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(90) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} messages, every action kind allowed to go out alone",
            self.rows
        )?;
        let list = |f: &mut std::fmt::Formatter<'_>, title: &str, items: &[String]| {
            writeln!(f, "{title}: {}", items.len())?;
            for item in items {
                writeln!(f, "  {item}")?;
            }
            Ok(())
        };
        list(f, "harmful texts out", &self.harmful_out)?;
        list(
            f,
            "legitimate messages removed or blocked",
            &self.legitimate_removed,
        )?;
        list(f, "prospects blocked", &self.prospects_blocked)?;
        writeln!(f, "risky messages held: {}", self.risky_held)?;
        writeln!(
            f,
            "spam, scam, hate and threats removed or hidden: {}",
            self.harm_removed
        )?;
        writeln!(
            f,
            "positive and neutral thanked or liked: {}",
            self.positive_acknowledged
        )?;
        writeln!(f, "expected outcome exactly: {}", self.exact)?;
        for (lang, rate) in &self.exact_by_lang {
            writeln!(f, "  {lang}: {rate}")?;
        }
        writeln!(f, "expected -> actual:")?;
        for (pair, n) in &self.confusion {
            writeln!(f, "  {pair}: {n}")?;
        }
        writeln!(f, "not as expected:")?;
        for case in self.cases.iter().filter(|c| c.expected != c.actual) {
            writeln!(
                f,
                "  {}: [{}] {} expected {}, got {} ({})",
                case.line,
                case.category.as_deref().unwrap_or(&case.lang),
                snippet(&case.text),
                case.expected.as_str(),
                case.actual.as_str(),
                case.actions.join(", ")
            )?;
        }
        Ok(())
    }
}

/// `replyd eval --pipeline FILE`: prints the report.
pub async fn command(
    config: &Config,
    file: &PathBuf,
    args: &PipelineArgs,
    json: bool,
) -> anyhow::Result<()> {
    let report = run(config, file, args).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
