//! Precision and recall of lead detection on a labelled JSONL file (`text`,
//! `lang`, `lead`), with whichever classifier the configuration builds.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::detect::detect;
use crate::classify::Classifier;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
    #[error("classifying line {line}: {message}")]
    Classify { line: usize, message: String },
}

#[derive(Debug, Deserialize)]
struct Labelled {
    text: String,
    lang: Option<String>,
    lead: bool,
}

#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
}

impl Counts {
    fn add(&mut self, truth: bool, predicted: bool) {
        match (truth, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Debug, Serialize)]
pub struct Mistake {
    pub expected: bool,
    pub text: String,
    pub detection: super::Detection,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub classifier: String,
    pub total: Counts,
    pub by_lang: BTreeMap<String, Counts>,
    /// Misclassified texts, for tuning.
    pub mistakes: Vec<Mistake>,
}

pub async fn evaluate(
    path: &Path,
    classifier: &dyn Classifier,
    min_score: f64,
    own_handles: &[String],
) -> Result<Report, EvalError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut report = Report {
        classifier: classifier.name().to_owned(),
        total: Counts::default(),
        by_lang: BTreeMap::new(),
        mistakes: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Labelled = serde_json::from_str(line).map_err(|e| EvalError::Line {
            path: shown.clone(),
            line: i + 1,
            message: e.to_string(),
        })?;
        let c = classifier
            .classify(&row.text, row.lang.as_deref())
            .await
            .map_err(|e| EvalError::Classify {
                line: i + 1,
                message: e.to_string(),
            })?;
        let detection = detect(&row.text, &c, min_score, own_handles);
        let predicted = detection.is_lead;
        report.total.add(row.lead, predicted);
        report
            .by_lang
            .entry(row.lang.unwrap_or_else(|| "?".into()))
            .or_default()
            .add(row.lead, predicted);
        if predicted != row.lead {
            report.mistakes.push(Mistake {
                expected: row.lead,
                text: row.text,
                detection,
            });
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::rules::Rules;
    use crate::classify::RulesClassifier;
    use std::sync::Arc;

    /// The measurement docs/leads.md reports, with the rules classifier.
    #[tokio::test]
    async fn heldout_precision_and_recall() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/data/leads_heldout.jsonl");
        let classifier = RulesClassifier::new(Arc::new(Rules::builtin()));
        let report = evaluate(&path, &classifier, 0.5, &[]).await.unwrap();
        for m in &report.mistakes {
            let what = if m.expected { "MISSED" } else { "FALSE " };
            eprintln!("{what} {} {:?}", m.text, m.detection.reasons);
        }
        let (p, r) = (report.total.precision(), report.total.recall());
        eprintln!("precision {p:.3} recall {r:.3} {:?}", report.total);
        assert!(p >= 0.9 && r >= 0.9, "precision {p:.3}, recall {r:.3}");
    }
}
