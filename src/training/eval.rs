//! Classification metrics: per-class precision, recall and F1, macro-F1,
//! the confusion matrix and a per-language breakdown, computed from
//! `(gold, predicted, lang)` triples.
//!
//! Labels are any `Copy + Eq + Display` type (the domain enums, or `&str`),
//! and the report stores their names, so one report type serves every head
//! and serialises the same way for `--json`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("no rows to evaluate")]
    Empty,
    #[error("label `{0}` is not one of the report's classes")]
    UnknownLabel(String),
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold rows of this class.
    pub support: usize,
}

/// The headline numbers of one language's rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LangMetrics {
    pub rows: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub rows: usize,
    pub accuracy: f64,
    /// Mean F1 over the classes that occur (as gold or as prediction): a
    /// class absent from both says nothing about the classifier.
    pub macro_f1: f64,
    pub classes: Vec<ClassMetrics>,
    /// `confusion[gold][predicted]`, indexed like `classes`.
    pub confusion: Vec<Vec<usize>>,
    /// Keyed by language tag; rows without a language are left out here
    /// (they still count in the totals).
    pub per_lang: BTreeMap<String, LangMetrics>,
}

impl EvalReport {
    /// Scores predictions against gold labels. `classes` fixes the order of
    /// the table and the confusion matrix; a label outside it is an error
    /// rather than silently dropped, since it means the caller mixed up sets.
    pub fn compute<L, S>(classes: &[L], rows: &[(L, L, Option<S>)]) -> Result<EvalReport, EvalError>
    where
        L: Copy + PartialEq + fmt::Display,
        S: AsRef<str>,
    {
        if rows.is_empty() {
            return Err(EvalError::Empty);
        }
        let index = |l: L| {
            classes
                .iter()
                .position(|c| *c == l)
                .ok_or_else(|| EvalError::UnknownLabel(l.to_string()))
        };
        let n = classes.len();
        let mut confusion = vec![vec![0usize; n]; n];
        let mut by_lang: BTreeMap<String, Vec<Vec<usize>>> = BTreeMap::new();
        for (gold, pred, lang) in rows {
            let (g, p) = (index(*gold)?, index(*pred)?);
            confusion[g][p] += 1;
            if let Some(lang) = lang {
                by_lang
                    .entry(lang.as_ref().to_owned())
                    .or_insert_with(|| vec![vec![0; n]; n])[g][p] += 1;
            }
        }
        let names: Vec<String> = classes.iter().map(|c| c.to_string()).collect();
        let classes = class_metrics(&confusion, &names);
        let per_lang = by_lang
            .iter()
            .map(|(lang, m)| {
                let lm = LangMetrics {
                    rows: total(m),
                    accuracy: accuracy(m),
                    macro_f1: macro_f1(&class_metrics(m, &names), m),
                };
                (lang.clone(), lm)
            })
            .collect();
        Ok(EvalReport {
            rows: rows.len(),
            accuracy: accuracy(&confusion),
            macro_f1: macro_f1(&classes, &confusion),
            classes,
            confusion,
            per_lang,
        })
    }

    /// The mean of the per-language macro-F1s: every language weighs the
    /// same, however many rows it has.
    pub fn lang_average_macro_f1(&self) -> Option<f64> {
        if self.per_lang.is_empty() {
            return None;
        }
        let sum: f64 = self.per_lang.values().map(|m| m.macro_f1).sum();
        Some(sum / self.per_lang.len() as f64)
    }

    pub fn class(&self, label: &str) -> Option<&ClassMetrics> {
        self.classes.iter().find(|c| c.label == label)
    }
}

fn total(m: &[Vec<usize>]) -> usize {
    m.iter().flatten().sum()
}

fn accuracy(m: &[Vec<usize>]) -> f64 {
    let correct: usize = (0..m.len()).map(|i| m[i][i]).sum();
    ratio(correct, total(m))
}

/// 0 when the denominator is 0, as sklearn's `zero_division=0`.
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn class_metrics(m: &[Vec<usize>], names: &[String]) -> Vec<ClassMetrics> {
    (0..m.len())
        .map(|i| {
            let tp = m[i][i];
            let support: usize = m[i].iter().sum();
            let predicted: usize = m.iter().map(|row| row[i]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassMetrics {
                label: names[i].clone(),
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect()
}

fn macro_f1(classes: &[ClassMetrics], m: &[Vec<usize>]) -> f64 {
    let present: Vec<f64> = classes
        .iter()
        .enumerate()
        .filter(|(i, c)| c.support > 0 || m.iter().any(|row| row[*i] > 0))
        .map(|(_, c)| c.f1)
        .collect();
    if present.is_empty() {
        0.0
    } else {
        present.iter().sum::<f64>() / present.len() as f64
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .classes
            .iter()
            .map(|c| c.label.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(f, "{:width$}  precision  recall     f1  support", "class")?;
        for c in &self.classes {
            writeln!(
                f,
                "{:width$}  {:>9.3}  {:>6.3}  {:>5.3}  {:>7}",
                c.label, c.precision, c.recall, c.f1, c.support
            )?;
        }
        writeln!(
            f,
            "rows {}  accuracy {:.3}  macro-F1 {:.3}",
            self.rows, self.accuracy, self.macro_f1
        )?;
        writeln!(f, "confusion (rows gold, columns predicted):")?;
        write!(f, "{:width$}", "")?;
        for c in &self.classes {
            write!(f, " {:>6.6}", c.label)?;
        }
        writeln!(f)?;
        for (c, row) in self.classes.iter().zip(&self.confusion) {
            write!(f, "{:width$}", c.label)?;
            for v in row {
                write!(f, " {v:>6}")?;
            }
            writeln!(f)?;
        }
        if !self.per_lang.is_empty() {
            writeln!(f, "per language:  rows  accuracy  macro-F1")?;
            for (lang, m) in &self.per_lang {
                writeln!(
                    f,
                    "  {lang:10} {:>6}  {:>8.3}  {:>8.3}",
                    m.rows, m.accuracy, m.macro_f1
                )?;
            }
            if let Some(avg) = self.lang_average_macro_f1() {
                writeln!(f, "  language-averaged macro-F1 {avg:.3}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Sentiment;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Worked by hand. Gold/predicted over classes a, b, c:
    ///   a→a, a→a, a→b, b→b, b→c, c→c  (en: first four, nl: last two)
    /// a: tp 2, predicted 2, support 3 → P 1, R 2/3, F1 0.8
    /// b: tp 1, predicted 2, support 2 → P 1/2, R 1/2, F1 1/2
    /// c: tp 1, predicted 2, support 1 → P 1/2, R 1, F1 2/3
    /// macro-F1 = (0.8 + 0.5 + 2/3) / 3 = 0.65555…, accuracy 4/6.
    #[test]
    fn hand_computed_example() {
        let rows = [
            ("a", "a", Some("en")),
            ("a", "a", Some("en")),
            ("a", "b", Some("en")),
            ("b", "b", Some("en")),
            ("b", "c", Some("nl")),
            ("c", "c", Some("nl")),
        ];
        let r = EvalReport::compute(&["a", "b", "c"], &rows).unwrap();
        assert_eq!(r.rows, 6);
        assert!(close(r.accuracy, 4.0 / 6.0));
        let a = r.class("a").unwrap();
        assert!(close(a.precision, 1.0) && close(a.recall, 2.0 / 3.0) && close(a.f1, 0.8));
        let b = r.class("b").unwrap();
        assert!(close(b.precision, 0.5) && close(b.recall, 0.5) && close(b.f1, 0.5));
        let c = r.class("c").unwrap();
        assert!(close(c.precision, 0.5) && close(c.recall, 1.0) && close(c.f1, 2.0 / 3.0));
        assert!(close(r.macro_f1, (0.8 + 0.5 + 2.0 / 3.0) / 3.0));
        assert_eq!(
            r.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );

        // en: a→a ×2, a→b, b→b. a: P 1, R 2/3, F1 0.8; b: P 1/2, R 1, F1 2/3;
        // c never occurs in English, so it is left out of the mean.
        let en = &r.per_lang["en"];
        assert_eq!(en.rows, 4);
        assert!(close(en.accuracy, 0.75));
        assert!(close(en.macro_f1, (0.8 + 2.0 / 3.0) / 2.0));
        // nl: b→c, c→c. b: F1 0; c: P 1/2, R 1, F1 2/3.
        let nl = &r.per_lang["nl"];
        assert!(close(nl.macro_f1, (0.0 + 2.0 / 3.0) / 2.0));
        assert!(close(
            r.lang_average_macro_f1().unwrap(),
            (en.macro_f1 + nl.macro_f1) / 2.0
        ));
    }

    #[test]
    fn works_on_domain_enums_and_renders() {
        use Sentiment::*;
        let rows: Vec<(Sentiment, Sentiment, Option<&str>)> =
            vec![(Negative, Negative, None), (Positive, Neutral, None)];
        let r = EvalReport::compute(Sentiment::ALL, &rows).unwrap();
        assert!(r.per_lang.is_empty());
        assert!(close(r.accuracy, 0.5));
        let table = r.to_string();
        assert!(
            table.contains("negative") && table.contains("macro-F1"),
            "{table}"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["confusion"][2][1], 1);
    }

    #[test]
    fn rejects_unknown_labels_and_empty_input() {
        let rows = [("a", "z", None::<&str>)];
        assert_eq!(
            EvalReport::compute(&["a", "b"], &rows),
            Err(EvalError::UnknownLabel("z".into()))
        );
        let none: [(&str, &str, Option<&str>); 0] = [];
        assert_eq!(EvalReport::compute(&["a"], &none), Err(EvalError::Empty));
    }
}
