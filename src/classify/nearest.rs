//! Risk recall beyond keywords: a message is compared with labelled
//! exemplars of each risk (threats, hate against groups, self-harm, scams,
//! prompt injection) and of harmless look-alikes ("ik ga dood van het
//! lachen", "this price is a crime"), by the encoder's embedding. A risk is
//! raised when the message is nearer that risk's exemplars than a threshold
//! and nearer them than the harmless ones by a margin. Thresholds favour
//! recall: a flag holds a reply for a person, it removes nothing alone.
//!
//! The exemplars are `models/data/risk_train.jsonl`, built into the binary;
//! `risk_heldout.jsonl` is never read here, only by `replyd eval`.

use serde::Deserialize;

use crate::domain::{Flag, NearRisk};

/// A risk the exemplars cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Risk {
    Threat,
    Hate,
    SelfHarm,
    Scam,
    Injection,
}

impl Risk {
    pub const ALL: [Risk; 5] = [
        Risk::Threat,
        Risk::Hate,
        Risk::SelfHarm,
        Risk::Scam,
        Risk::Injection,
    ];

    pub fn flag(self) -> Flag {
        match self {
            Risk::Threat => Flag::Threat,
            Risk::Hate => Flag::Hate,
            Risk::SelfHarm => Flag::SelfHarm,
            Risk::Scam => Flag::Spam,
            Risk::Injection => Flag::Injection,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Risk::Threat => "threat",
            Risk::Hate => "hate",
            Risk::SelfHarm => "self_harm",
            Risk::Scam => "scam",
            Risk::Injection => "injection",
        }
    }

    fn parse(label: &str) -> Option<Option<Risk>> {
        Some(match label {
            "threat" => Some(Risk::Threat),
            "hate" => Some(Risk::Hate),
            "self_harm" => Some(Risk::SelfHarm),
            "scam" => Some(Risk::Scam),
            "injection" => Some(Risk::Injection),
            "none" => None,
            _ => return None,
        })
    }

    /// The least similarity to the risk's nearest exemplars that counts,
    /// and how much nearer than the harmless ones the message must be
    /// (negative: a little farther is still enough, where the risk's
    /// exemplars are far apart). Chosen on the training exemplars, each
    /// scored against the others (`replyd eval --risk-scores`), for the
    /// highest recall that flags at most one in ten harmless look-alikes
    /// and one in fifty legitimate messages of the pipeline's development
    /// set; measured on the held-out files in docs/autopilot.md.
    fn thresholds(self) -> (f32, f32) {
        match self {
            Risk::Threat => (0.78, -0.01),
            Risk::Hate => (0.67, -0.01),
            Risk::SelfHarm => (0.50, 0.0),
            Risk::Scam => (0.50, -0.02),
            Risk::Injection => (0.50, -0.02),
        }
    }

    fn raised_by(self, near: &Near) -> bool {
        let (similarity, margin) = self.thresholds();
        near.similarity >= similarity && near.margin >= margin
    }
}

/// How many nearest exemplars of a kind are averaged.
const K: usize = 3;

/// The built-in exemplars.
pub const BUILTIN: &str = include_str!("../../models/data/risk_train.jsonl");

/// Everyday customer messages (the intent training file), harmless
/// exemplars beside the look-alikes: a greeting or a tag-a-friend is
/// nearer them than any risk.
pub const EVERYDAY: &str = include_str!("../../models/data/intents_train.jsonl");

/// The everyday messages as harmless exemplars: all but trolls and spam.
pub fn parse_everyday(jsonl: &str) -> Result<Vec<(String, Option<Risk>)>, String> {
    #[derive(Deserialize)]
    struct Row {
        text: String,
        intent: String,
    }
    Ok(rows::<Row>(jsonl)?
        .into_iter()
        .filter(|row| !matches!(row.intent.as_str(), "troll" | "spam"))
        .map(|row| (row.text, None))
        .collect())
}

/// Every non-empty line of `jsonl` as a `T`, or the first line that is not.
fn rows<T: serde::de::DeserializeOwned>(jsonl: &str) -> Result<Vec<T>, String> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1)))
        .collect()
}

/// A risk a message is near, and how near.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    pub risk: Risk,
    /// Mean cosine similarity to the risk's nearest exemplars.
    pub similarity: f32,
    /// Over the nearest harmless exemplars.
    pub margin: f32,
}

impl Near {
    pub fn record(self) -> NearRisk {
        NearRisk {
            flag: self.risk.flag(),
            similarity: self.similarity,
            margin: self.margin,
        }
    }
}

/// The exemplars' texts and labels, parsed from JSONL (`text`, `risk`).
pub fn parse_exemplars(jsonl: &str) -> Result<Vec<(String, Option<Risk>)>, String> {
    #[derive(Deserialize)]
    struct Row {
        text: String,
        risk: String,
    }
    rows::<Row>(jsonl)?
        .into_iter()
        .map(|row| match Risk::parse(&row.risk) {
            Some(risk) => Ok((row.text, risk)),
            None => Err(format!("unknown risk {:?}", row.risk)),
        })
        .collect()
}

/// Unit-length exemplar embeddings with their labels.
pub struct Exemplars {
    vectors: Vec<Vec<f32>>,
    labels: Vec<Option<Risk>>,
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Exemplars {
    pub fn new(labelled: Vec<(Vec<f32>, Option<Risk>)>) -> Exemplars {
        let (vectors, labels) = labelled.into_iter().map(|(v, l)| (unit(v), l)).unzip();
        Exemplars { vectors, labels }
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The mean similarity of the `K` nearest exemplars labelled `label`,
    /// leaving out exemplar `skip` (to score an exemplar against the rest).
    fn nearest(&self, sims: &[f32], label: Option<Risk>, skip: Option<usize>) -> f32 {
        let mut best: Vec<f32> = sims
            .iter()
            .enumerate()
            .filter(|(i, _)| self.labels[*i] == label && Some(*i) != skip)
            .map(|(_, s)| *s)
            .collect();
        best.sort_by(|a, b| b.total_cmp(a));
        best.truncate(K);
        if best.is_empty() {
            return 0.0;
        }
        best.iter().sum::<f32>() / best.len() as f32
    }

    /// The risks an embedding is near, nearest first.
    pub fn read(&self, embedding: &[f32]) -> Vec<Near> {
        let mut near: Vec<Near> = self
            .scores_skipping(embedding, None)
            .into_iter()
            .filter(|n| n.risk.raised_by(n))
            .collect();
        near.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        near
    }

    /// How near every risk is, thresholds aside. `leave_out_itself` skips
    /// an exemplar identical to the text, so that the training exemplars
    /// can be scored against the others (for choosing thresholds).
    pub fn scores(&self, embedding: &[f32], leave_out_itself: bool) -> Vec<Near> {
        let skip = leave_out_itself
            .then(|| {
                let query = unit(embedding.to_vec());
                self.vectors.iter().position(|v| dot(v, &query) > 0.9999)
            })
            .flatten();
        self.scores_skipping(embedding, skip)
    }

    fn scores_skipping(&self, embedding: &[f32], skip: Option<usize>) -> Vec<Near> {
        if self.is_empty() {
            return Vec::new();
        }
        let query = unit(embedding.to_vec());
        let sims: Vec<f32> = self.vectors.iter().map(|v| dot(v, &query)).collect();
        let harmless = self.nearest(&sims, None, skip);
        Risk::ALL
            .iter()
            .map(|risk| {
                let similarity = self.nearest(&sims, Some(*risk), skip);
                Near {
                    risk: *risk,
                    similarity,
                    margin: similarity - harmless,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_exemplars_parse_and_cover_every_risk() {
        let rows = parse_exemplars(BUILTIN).unwrap();
        for risk in Risk::ALL {
            let n = rows.iter().filter(|(_, r)| *r == Some(risk)).count();
            assert!(n >= 50, "{risk:?}: {n}");
        }
        assert!(rows.iter().filter(|(_, r)| r.is_none()).count() >= 100);
        assert!(parse_exemplars("{\"text\": \"x\", \"risk\": \"spooky\"}").is_err());
    }

    #[test]
    fn a_message_is_flagged_only_near_a_risk_and_away_from_the_harmless() {
        let exemplars = Exemplars::new(vec![
            (vec![1.0, 0.0, 0.0], Some(Risk::Threat)),
            (vec![0.99, 0.1, 0.0], Some(Risk::Threat)),
            (vec![0.0, 1.0, 0.0], None),
            (vec![0.1, 0.99, 0.0], None),
        ]);
        let near = exemplars.read(&[2.0, 0.05, 0.0]);
        assert_eq!(near.len(), 1);
        assert_eq!(near[0].risk, Risk::Threat);
        assert!(near[0].margin > 0.5);
        assert!(exemplars.read(&[0.05, 1.0, 0.0]).is_empty(), "harmless");
        assert!(exemplars.read(&[0.0, 0.0, 1.0]).is_empty(), "far from all");
    }
}
