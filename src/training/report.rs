//! What a training run reports: the heads scored on every labelled file,
//! the manifest written beside them, and the table the CLI prints.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::data::{Example, FileInfo};
use super::eval::{EvalError, EvalReport};
use super::fit::FitInfo;
use super::train::{io_err, HyperParams, TrainError};
use crate::classify::heads::{Heads, HEADS_FILE};
use crate::domain::{Intent, Sentiment};

/// Written beside the heads (and the adapters) to say how they were made.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Scores of one evaluation file for one signal.
#[derive(Debug, Clone, Serialize)]
pub struct FileEval {
    pub file: String,
    /// `sentiment`, `sentiment_polarity` (argmax over negative/positive on
    /// the non-neutral rows), `intent`, `hate` or `offensive`.
    pub signal: String,
    pub report: EvalReport,
}

/// Scores `heads` on every labelled signal of `examples`.
pub fn evaluate_examples(
    heads: &Heads,
    file: &str,
    examples: &[Example],
    embeddings: &dyn Fn(&str) -> Option<Vec<f32>>,
) -> Result<Vec<FileEval>, TrainError> {
    let mut sent = Vec::new();
    let mut polarity = Vec::new();
    let mut intent = Vec::new();
    let mut hate = Vec::new();
    let mut offensive = Vec::new();
    for ex in examples {
        let Some(x) = embeddings(&ex.text) else {
            continue;
        };
        let out = heads.try_predict_one(&x)?;
        let lang = ex.lang.clone();
        if let Some(gold) = ex.sentiment {
            sent.push((gold, out.sentiment.label, lang.clone()));
            if gold != Sentiment::Neutral {
                polarity.push((gold, out.sentiment.polarity(), lang.clone()));
            }
        }
        if let Some(gold) = ex.intent {
            intent.push((gold, out.intent.label, lang.clone()));
        }
        if let Some(gold) = ex.hate {
            hate.push((gold, out.toxicity.hate >= 0.5, lang.clone()));
        }
        if let Some(gold) = ex.offensive {
            offensive.push((gold, out.toxicity.offensive >= 0.5, lang.clone()));
        }
    }
    let mut evals = Vec::new();
    let mut add = |signal: &str, report: Result<EvalReport, EvalError>| -> Result<(), TrainError> {
        match report {
            Ok(report) => {
                evals.push(FileEval {
                    file: file.to_owned(),
                    signal: signal.to_owned(),
                    report,
                });
                Ok(())
            }
            // A file without this label simply has nothing to score.
            Err(EvalError::Empty) => Ok(()),
            Err(e) => Err(e.into()),
        }
    };
    add("sentiment", EvalReport::compute(Sentiment::ALL, &sent))?;
    add(
        "sentiment_polarity",
        EvalReport::compute(&[Sentiment::Negative, Sentiment::Positive], &polarity),
    )?;
    add("intent", EvalReport::compute(Intent::ALL, &intent))?;
    add("hate", EvalReport::compute(&[false, true], &hate))?;
    add("offensive", EvalReport::compute(&[false, true], &offensive))?;
    Ok(evals)
}

/// Everything a run produced; written as `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub format: &'static str,
    pub encoder_id: String,
    pub files: Vec<FileInfo>,
    pub hyper_params: HyperParams,
    /// Keyed by head: `sentiment`, `intent`, `toxicity`.
    pub fits: BTreeMap<String, FitInfo>,
    /// Scores on the validation split carved from the training files.
    pub validation: Vec<FileEval>,
    /// Scores on the evaluation files (never trained on).
    pub evaluation: Vec<FileEval>,
    pub texts_embedded: usize,
    pub embed_seconds: f64,
    pub train_seconds: f64,
}

impl TrainReport {
    /// The report of `signal` on the evaluation file named `file_name`.
    pub fn eval(&self, file_name: &str, signal: &str) -> Option<&EvalReport> {
        self.evaluation
            .iter()
            .find(|e| {
                e.signal == signal
                    && Path::new(&e.file)
                        .file_name()
                        .is_some_and(|f| f == file_name)
            })
            .map(|e| &e.report)
    }
}

pub(super) fn write_outputs(
    dir: &Path,
    heads: &Heads,
    report: &TrainReport,
) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut meta = HashMap::new();
    meta.insert("format".to_owned(), report.format.to_owned());
    meta.insert("encoder_id".to_owned(), report.encoder_id.clone());
    let bytes = heads.to_safetensors(meta)?;
    let path = dir.join(HEADS_FILE);
    std::fs::write(&path, bytes).map_err(io_err(&path))?;
    let path = dir.join(MANIFEST_FILE);
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(&path, json + "\n").map_err(io_err(&path))?;
    Ok(())
}

/// One line per scored file and signal, for the CLI.
impl std::fmt::Display for TrainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<28} {:<19} {:>6} {:>8} {:>8} {:>9}",
            "file", "signal", "rows", "accuracy", "macro-F1", "lang-avg"
        )?;
        for e in self.validation.iter().chain(&self.evaluation) {
            let name = Path::new(&e.file)
                .file_name()
                .map_or(e.file.clone(), |n| n.to_string_lossy().into_owned());
            let avg = e
                .report
                .lang_average_macro_f1()
                .map_or("-".to_owned(), |a| format!("{a:.3}"));
            writeln!(
                f,
                "{:<28} {:<19} {:>6} {:>8.3} {:>8.3} {:>9}",
                name, e.signal, e.report.rows, e.report.accuracy, e.report.macro_f1, avg
            )?;
        }
        for (head, fit) in &self.fits {
            writeln!(
                f,
                "{head}: hidden {} x{}, best epochs {:?}, validation macro-F1 {:.3} (members {:.3?}), T {:?}, NLL {:.3} -> {:.3}, ECE {:.3?} -> {:.3?}",
                fit.hidden, fit.ensemble, fit.best_epoch, fit.validation_macro_f1, fit.member_validation_macro_f1, fit.temperature, fit.nll_uncalibrated, fit.nll_calibrated, fit.ece_uncalibrated, fit.ece_calibrated
            )?;
        }
        writeln!(
            f,
            "embedded {} texts in {:.0}s, trained in {:.0}s",
            self.texts_embedded, self.embed_seconds, self.train_seconds
        )
    }
}
