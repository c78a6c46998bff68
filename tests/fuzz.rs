//! Property-based fuzzing of replyd's input parsers: whatever the bytes or
//! the JSON, a parser returns a value or an error, and never panics, hangs
//! or allocates out of proportion to its input.
//!
//! Every property runs a bounded, fixed-seed number of cases so the whole
//! file stays well under a minute in CI. For a deeper local run:
//!
//! ```text
//! PROPTEST_CASES=20000 PROPTEST_RNG_SEED=$RANDOM cargo test --release --test fuzz
//! ```
//!
//! A failure prints the shrunk input; regression files are not written
//! (persistence is off) so a CI run leaves the tree clean.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use replyd::classify::model::e5s1::{self, E5Tokenizer};
use replyd::classify::rules::Rules;
use replyd::config::BrandConfig;
use replyd::domain::{Kind, Lang, Platform};
use replyd::draft::guardrails::{DraftCheck, GuardrailConfig, Guardrails};
use replyd::draft::{DraftContext, Templates};
use replyd::ingest::generic::{self, MAX_BATCH, MAX_TEXT_CHARS};
use replyd::ingest::meta_webhook;
use replyd::web::ApiError;
use serde_json::{json, Map, Value};

// ------------------------------------------------------------ harness

/// Tracks the largest single allocation made by the current thread, so a
/// property can check that a parser never asks for memory out of
/// proportion to its input (a length field of 0xFFFF_FFFF, say).
struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| {
        if size > l.get() {
            l.set(size)
        }
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

const MIB: usize = 1 << 20;
/// Far beyond any honest case on these small inputs, far below a hang: a
/// case that takes this long is a bug (run in CI on busy, shared cores).
const SLOW: Duration = Duration::from_secs(5);

/// Runs `f`, returning its result, the largest single allocation it made
/// and how long it took.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, Duration) {
    LARGEST.with(|l| l.set(0));
    let start = Instant::now();
    let r = f();
    let took = start.elapsed();
    (r, LARGEST.with(|l| l.get()), took)
}

/// `cases` per property (or `PROPTEST_CASES`), a fixed seed unless
/// `PROPTEST_RNG_SEED` is set, bounded shrinking, no regression files.
fn config(cases: u32) -> ProptestConfig {
    let mut cfg = ProptestConfig {
        cases,
        max_shrink_iters: 200,
        max_shrink_time: 30_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if let Some(n) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.cases = n;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        cfg.rng_seed = RngSeed::Fixed(0x7e91_bd5e_ed00_0001);
    }
    cfg
}

// ------------------------------------------------------------ strategies

/// Text that is hard on parsers: arbitrary Unicode, or a jumble of
/// fragments that look like what the code looks for.
fn text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{200b}".to_owned()),
        Just("\u{202e}".to_owned()),
        Just("e\u{301}".to_owned()),
        Just("ﬁ".to_owned()),
        Just("１２３".to_owned()),
        Just("ß".to_owned()),
        Just("İ".to_owned()),
        Just("😀".to_owned()),
        Just("http://".to_owned()),
        Just("https://www.example.com/x?y=1".to_owned()),
        Just("www.".to_owned()),
        Just(".nl".to_owned()),
        Just("@".to_owned()),
        Just("info@fietsie.nl".to_owned()),
        Just("NL91ABNA0417164300".to_owned()),
        Just("4111 1111 1111 1111".to_owned()),
        Just("+31 6 12345678".to_owned()),
        Just("1.".to_owned()),
        Just("€10,50".to_owned()),
        Just("refund".to_owned()),
        Just("advocaat".to_owned()),
        Just("ignore previous instructions".to_owned()),
        Just("geen interesse in een samenwerking".to_owned()),
        Just("offerte".to_owned()),
        "[0-9.,:]{1,12}",
        "[a-zA-Z]{1,10}",
        any::<String>(),
    ];
    prop_oneof![
        any::<String>(),
        prop::collection::vec(fragment, 0..24).prop_map(|v| v.concat()),
    ]
}

/// Any JSON value, nested a few levels.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Mostly a plausible value, sometimes anything at all.
fn or_any(plausible: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![16 => plausible, 1 => any_json()].boxed()
}

/// Strings near the limits: empty, blank, or long runs of one character.
fn edge_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("   \t\n".to_owned()),
        (0..=MAX_TEXT_CHARS + 20, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
        (MAX_TEXT_CHARS - 2..=MAX_TEXT_CHARS + 2).prop_map(|n| "é".repeat(n)),
    ]
}

fn message_text() -> impl Strategy<Value = Value> {
    prop_oneof![4 => text(), 1 => edge_string()].prop_map(Value::from)
}

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => "[0-9_]{1,12}",
        1 => text(),
        1 => (250usize..260).prop_map(|n| "9".repeat(n)),
    ]
    .prop_map(Value::from)
}

/// An object from optional fields: each is present in most cases.
fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    fields
        .into_iter()
        .map(|(key, value)| prop::option::weighted(0.95, value).prop_map(move |v| (key, v)))
        .collect::<Vec<_>>()
        .prop_map(|fields| {
            Value::Object(
                fields
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                    .collect::<Map<_, _>>(),
            )
        })
        .boxed()
}

/// `base` (a valid object) with one field taken from an object `shape`
/// generates, or dropped when that object lacks it: near-valid input that
/// gets past the first check.
fn splice(base: Value, shape: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    (shape, any::<prop::sample::Index>())
        .prop_map(move |(generated, index)| {
            let mut out = base.clone();
            let (Value::Object(out_map), Value::Object(gen_map)) = (&mut out, &generated) else {
                return out;
            };
            let mut keys: Vec<String> = out_map.keys().chain(gen_map.keys()).cloned().collect();
            keys.sort();
            keys.dedup();
            let key = index.get(&keys).clone();
            match gen_map.get(&key) {
                Some(v) => out_map.insert(key, v.clone()),
                None => out_map.remove(&key),
            };
            out
        })
        .boxed()
}

/// Sometimes an extra field the schema does not know.
fn with_surprise(object: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    (object, prop::option::weighted(0.05, any_json()))
        .prop_map(|(mut o, extra)| {
            if let (Value::Object(m), Some(extra)) = (&mut o, extra) {
                m.insert("surprise".into(), extra);
            }
            o
        })
        .boxed()
}

fn generic_message() -> BoxedStrategy<Value> {
    let platform = prop_oneof![
        Just("shop".to_owned()),
        Just("facebook".to_owned()),
        "[a-z0-9_]{1,33}",
        text(),
    ]
    .prop_map(Value::from);
    let kind = prop_oneof![
        Just("comment".to_owned()),
        Just("dm".to_owned()),
        Just("review".to_owned()),
        Just("mention".to_owned()),
        text(),
    ]
    .prop_map(Value::from);
    let author = with_surprise(object(vec![
        ("id", or_any(id())),
        ("name", or_any(text().prop_map(Value::from))),
        ("handle", or_any(text().prop_map(Value::from))),
    ]));
    let created_at = prop_oneof![
        Just("2026-01-02T03:04:05Z".to_owned()),
        "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})",
        text(),
    ]
    .prop_map(Value::from);
    let lang =
        prop_oneof!["[a-z]{2,3}(-[A-Z]{2})?", "[a-zA-Z_-]{0,40}", text()].prop_map(Value::from);
    let url = prop_oneof![
        "https?://[a-z.]{0,20}/[ -~]{0,30}",
        (2030usize..2060).prop_map(|n| format!("https://{}", "a".repeat(n))),
        text(),
    ]
    .prop_map(Value::from);
    with_surprise(object(vec![
        ("platform", or_any(platform)),
        ("kind", or_any(kind)),
        ("external_id", or_any(id())),
        ("thread_id", or_any(id())),
        ("parent_id", or_any(id())),
        ("author", author),
        ("text", or_any(message_text())),
        ("created_at", or_any(created_at)),
        ("lang", or_any(lang)),
        ("url", or_any(url)),
        (
            "meta",
            prop_oneof![
                Just(json!({})),
                prop::collection::btree_map("[a-z_]{0,8}", any_json(), 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                any_json(),
            ]
            .boxed(),
        ),
    ]))
}

/// A generic API body: one message, an array of them (sometimes around and
/// over the 1,000-message limit), or any JSON at all.
fn generic_body() -> impl Strategy<Value = Value> {
    let near_valid = || splice(valid_generic(), generic_message());
    prop_oneof![
        4 => generic_message(),
        4 => near_valid(),
        2 => prop::collection::vec(generic_message(), 0..8).prop_map(Value::Array),
        2 => prop::collection::vec(near_valid(), 1..8).prop_map(Value::Array),
        // Large batches of one repeated message, valid or not: cheap to
        // generate, and they cross MAX_BATCH.
        1 => (generic_message(), MAX_BATCH - 2..MAX_BATCH + 3)
            .prop_map(|(m, n)| Value::Array(vec![small_or(m, valid_generic); n])),
        1 => (0usize..3000).prop_map(|n| Value::Array(vec![valid_generic(); n])),
        1 => any_json(),
    ]
}

/// `value` if it is small enough to repeat a thousand times, else `other`.
fn small_or(value: Value, other: fn() -> Value) -> Value {
    if serde_json::to_vec(&value).unwrap().len() <= 2048 {
        value
    } else {
        other()
    }
}

fn valid_generic() -> Value {
    json!({"platform": "shop", "kind": "review", "external_id": "r1",
           "author": {"id": "a1"}, "text": "Mooi!", "created_at": "2026-01-02T03:04:05Z"})
}

fn valid_meta_entry() -> Value {
    json!({"id": "111", "time": 1_760_000_001, "changes": [
        {"field": "feed", "value": {"from": {"id": "9", "name": "Sam"}, "item": "comment",
         "verb": "add", "comment_id": "222_1", "post_id": "111_222", "parent_id": "111_222",
         "message": "Waar blijft mijn bestelling?", "created_time": 1_760_000_000}}],
      "messaging": [{"sender": {"id": "55"}, "recipient": {"id": "111"}, "timestamp": 1,
         "message": {"mid": "m2", "text": "Hallo!"}}]})
}

fn from_user() -> BoxedStrategy<Value> {
    object(vec![
        ("id", or_any(prop_oneof![Just(Value::from("111")), id()])),
        ("name", or_any(text().prop_map(Value::from))),
        ("username", or_any(text().prop_map(Value::from))),
    ])
}

fn meta_time() -> BoxedStrategy<Value> {
    or_any(prop_oneof![
        Just(Value::from(1_760_000_000_i64)),
        Just(Value::from(1_760_000_000_000_i64)),
        any::<i64>().prop_map(Value::from),
        (i64::MIN..i64::MIN / 1000 + 2).prop_map(Value::from),
    ])
}

fn feed_value() -> BoxedStrategy<Value> {
    let item = prop_oneof![
        Just("comment".to_owned()),
        Just("status".to_owned()),
        text()
    ];
    let verb = prop_oneof![
        Just("add".to_owned()),
        Just("edited".to_owned()),
        Just("remove".to_owned()),
        text()
    ];
    object(vec![
        ("item", or_any(item.prop_map(Value::from))),
        ("verb", or_any(verb.prop_map(Value::from))),
        ("comment_id", or_any(id())),
        ("post_id", or_any(id())),
        ("parent_id", or_any(id())),
        ("from", from_user()),
        ("message", or_any(message_text())),
        ("created_time", meta_time()),
        (
            "post",
            object(vec![(
                "permalink_url",
                or_any(
                    prop_oneof!["https://[a-z./]{0,30}", text()]
                        .prop_map(Value::from)
                        .boxed(),
                ),
            )]),
        ),
    ])
}

fn ig_value() -> BoxedStrategy<Value> {
    object(vec![
        ("id", or_any(id())),
        ("text", or_any(message_text())),
        ("from", from_user()),
        (
            "media",
            object(vec![
                ("id", or_any(id())),
                ("media_product_type", or_any(text().prop_map(Value::from))),
            ]),
        ),
        ("parent_id", or_any(id())),
    ])
}

fn change() -> BoxedStrategy<Value> {
    let field = prop_oneof![
        Just("feed".to_owned()),
        Just("comments".to_owned()),
        Just("live_comments".to_owned()),
        text()
    ];
    object(vec![
        ("field", or_any(field.prop_map(Value::from))),
        (
            "value",
            prop_oneof![feed_value(), ig_value(), any_json()].boxed(),
        ),
    ])
}

fn messaging_event() -> BoxedStrategy<Value> {
    object(vec![
        ("sender", object(vec![("id", or_any(id()))])),
        ("recipient", object(vec![("id", or_any(id()))])),
        ("timestamp", meta_time()),
        (
            "message",
            object(vec![
                ("mid", or_any(id())),
                ("text", or_any(message_text())),
                ("is_echo", or_any(any::<bool>().prop_map(Value::from))),
                ("is_deleted", or_any(any::<bool>().prop_map(Value::from))),
                ("reply_to", any_json()),
            ]),
        ),
        ("read", any_json()),
    ])
}

fn meta_entry() -> BoxedStrategy<Value> {
    object(vec![
        ("id", or_any(prop_oneof![Just(Value::from("111")), id()])),
        ("time", meta_time()),
        (
            "changes",
            or_any(prop::collection::vec(change(), 0..6).prop_map(Value::Array)),
        ),
        (
            "messaging",
            or_any(prop::collection::vec(messaging_event(), 0..6).prop_map(Value::Array)),
        ),
    ])
}

/// A Meta webhook notification, sometimes with around and over 1,000
/// entries.
fn meta_body() -> impl Strategy<Value = Value> {
    let object_name = prop_oneof![
        Just("page".to_owned()),
        Just("instagram".to_owned()),
        text()
    ];
    let entries = prop_oneof![
        8 => prop::collection::vec(meta_entry(), 0..6).prop_map(Value::Array),
        1 => (0usize..3000).prop_map(|n| Value::Array(vec![valid_meta_entry(); n])),
        1 => (meta_entry(), MAX_BATCH - 2..MAX_BATCH + 3)
            .prop_map(|(e, n)| Value::Array(vec![small_or(e, valid_meta_entry); n])),
    ];
    let feed = splice(
        valid_meta_entry()["changes"][0]["value"].clone(),
        feed_value(),
    );
    let event = splice(
        valid_meta_entry()["messaging"][0].clone(),
        messaging_event(),
    );
    let near_valid = (feed, event, prop::sample::select(vec!["page", "instagram"])).prop_map(
        |(feed, event, object)| {
            let mut entry = valid_meta_entry();
            entry["changes"][0]["value"] = feed;
            entry["messaging"][0] = event;
            json!({"object": object, "entry": [entry]})
        },
    );
    prop_oneof![
        4 => near_valid,
        5 => object(vec![
            ("object", or_any(object_name.prop_map(Value::from))),
            ("entry", or_any(entries)),
        ]),
        1 => any_json(),
    ]
}

/// Bytes that are almost JSON: a valid document with a few bytes changed,
/// inserted or cut off.
fn mangled(doc: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = doc.len().max(1);
    (
        prop::collection::vec((0..len, any::<u8>(), 0u8..3), 1..6),
        0..=len,
    )
        .prop_map(move |(edits, cut)| {
            let mut d = doc.clone();
            for (i, b, op) in edits {
                let i = i.min(d.len());
                match op {
                    0 if i < d.len() => d[i] = b,
                    1 => d.insert(i, b),
                    _ if i < d.len() => {
                        d.remove(i);
                    }
                    _ => {}
                }
            }
            d.truncate(cut.max(1));
            d
        })
}

// ------------------------------------------------------------ 1. generic

fn check_generic(body: &[u8]) -> Result<(), TestCaseError> {
    let (result, largest, took) = measure(|| generic::parse_body(body));
    prop_assert!(took < SLOW, "parse_body took {took:?}");
    prop_assert!(
        largest <= 64 * body.len() + MIB,
        "parse_body allocated {largest} bytes at once for a {}-byte body",
        body.len()
    );
    match result {
        Ok((messages, _)) => {
            prop_assert!((1..=MAX_BATCH).contains(&messages.len()));
            for m in &messages {
                prop_assert!(!m.text.trim().is_empty());
                prop_assert!(m.text.chars().count() <= MAX_TEXT_CHARS);
                prop_assert!(!m.external_id.is_empty() && !m.author.id.is_empty());
            }
        }
        Err(e) => {
            let e = ApiError::from(e);
            prop_assert_eq!(e.status.as_u16(), 400, "{:?}", e.body.message)
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn generic_parse_body_takes_any_bytes(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_generic(&body)?;
    }

    #[test]
    fn generic_parse_body_takes_any_message_shaped_json(body in generic_body()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        check_generic(&bytes)?;
        if let Value::Array(items) = &body {
            if items.len() > MAX_BATCH || items.is_empty() {
                prop_assert!(generic::parse_body(&bytes).is_err());
            }
        }
    }

    #[test]
    fn generic_parse_body_takes_mangled_json(
        body in mangled(serde_json::to_vec(&json!([valid_generic(), valid_generic()])).unwrap())
    ) {
        check_generic(&body)?;
    }
}

// ------------------------------------------------------------ 2. meta

fn check_meta(body: &[u8]) -> Result<(), TestCaseError> {
    let (result, largest, took) = measure(|| meta_webhook::parse_webhook(body));
    prop_assert!(took < SLOW, "parse_webhook took {took:?}");
    prop_assert!(
        largest <= 64 * body.len() + MIB,
        "parse_webhook allocated {largest} bytes at once for a {}-byte body",
        body.len()
    );
    match result {
        Ok(messages) => {
            for m in &messages {
                prop_assert!(!m.text.trim().is_empty());
                prop_assert!(m.text.chars().count() <= MAX_TEXT_CHARS);
                prop_assert_eq!(m.source, "meta");
            }
        }
        Err(e) => {
            let e = ApiError::from(e);
            prop_assert_eq!(e.status.as_u16(), 400, "{:?}", e.body.message)
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn meta_parse_webhook_takes_any_bytes(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_meta(&body)?;
    }

    #[test]
    fn meta_parse_webhook_takes_any_notification_shaped_json(body in meta_body()) {
        check_meta(&serde_json::to_vec(&body).unwrap())?;
    }

    #[test]
    fn meta_parse_webhook_takes_mangled_json(body in mangled(serde_json::to_vec(
        &json!({"object": "page", "entry": [valid_meta_entry()]})
    ).unwrap())) {
        check_meta(&body)?;
    }
}

// ------------------------------------------------------------ 3. E5S1

/// A tiny but complete, valid E5S1 image (H=32, NL=1, FF=64, VOC=8), laid
/// out as `src/classify/model/e5s1/mod.rs` documents.
fn tiny_e5s1() -> Vec<u8> {
    let (h, nl, nh, ff, voc, maxp, tvs) = (32u32, 1u32, 2u32, 64u32, 8u32, 8u32, 2u32);
    let mut b = Vec::new();
    b.extend_from_slice(b"E5S1");
    for v in [1, h, nl, nh, ff, voc, maxp, tvs] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&1e-12f32.to_le_bytes());
    b.extend_from_slice(&32u32.to_le_bytes());
    // tokenizer: pieces "▁" (bos), "a" (pad, unk), "b" (eos)
    for v in [3u32, 0, 2, 1, 1] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&5u64.to_le_bytes());
    for v in [0u32, 3, 4, 5] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for v in [0f32, -1.0, -2.0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice("▁ab".as_bytes());
    // normalization map: 1 entry, 'A' -> 'a'
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&9u32.to_le_bytes());
    b.extend_from_slice(&('A' as u32).to_le_bytes());
    b.push(1);
    b.extend_from_slice(&('a' as u32).to_le_bytes());
    // directory
    let mut entries: Vec<(String, u8, u32)> = vec![
        ("emb.word".into(), 1, voc * h),
        ("emb.pos".into(), 0, maxp * h),
        ("emb.type".into(), 0, tvs * h),
        ("emb.ln.w".into(), 0, h),
        ("emb.ln.b".into(), 0, h),
    ];
    for (s, dt, n) in [
        ("q.w", 1, h * h),
        ("q.b", 0, h),
        ("k.w", 1, h * h),
        ("k.b", 0, h),
        ("v.w", 1, h * h),
        ("v.b", 0, h),
        ("ao.w", 1, h * h),
        ("ao.b", 0, h),
        ("aln.w", 0, h),
        ("aln.b", 0, h),
        ("fi.w", 1, ff * h),
        ("fi.b", 0, ff),
        ("fo.w", 1, h * ff),
        ("fo.b", 0, h),
        ("oln.w", 0, h),
        ("oln.b", 0, h),
    ] {
        entries.push((format!("l0.{s}"), dt, n));
    }
    let nbytes = |dt: u8, n: u32| {
        if dt == 0 {
            n as u64 * 4
        } else {
            n as u64 / 32 * 18
        }
    };
    let dir_len: usize = 4 + entries
        .iter()
        .map(|(n, _, _)| 2 + n.len() + 1 + 4 + 8 + 8)
        .sum::<usize>();
    let mut off = (b.len() + dir_len) as u64;
    b.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (name, dt, n) in &entries {
        b.extend_from_slice(&(name.len() as u16).to_le_bytes());
        b.extend_from_slice(name.as_bytes());
        b.push(*dt);
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(&off.to_le_bytes());
        b.extend_from_slice(&nbytes(*dt, *n).to_le_bytes());
        off += nbytes(*dt, *n);
    }
    for (_, dt, n) in &entries {
        b.extend(std::iter::repeat_n(0x11u8, nbytes(*dt, *n) as usize));
    }
    b
}

/// Where the header and directory end and where the tensor data ends, of
/// a valid image.
fn e5s1_extent(image: &[u8]) -> (usize, usize) {
    let m = e5s1::parse(image).expect("the reference image is valid");
    let data_start = m.tensors.values().map(|t| t.offset).min().unwrap();
    let data_end = m
        .tensors
        .values()
        .map(|t| t.offset + t.data.len())
        .max()
        .unwrap();
    (data_start, data_end)
}

/// Parses `bytes`; when they parse, builds the tokenizer and encodes
/// `probe`. Checks time and the largest allocation against the input.
fn check_e5s1(bytes: &[u8], probe: &str) -> Result<bool, TestCaseError> {
    let (parsed_ok, largest, took) = measure(|| match e5s1::parse(bytes) {
        Ok(m) => {
            if let Ok(t) = E5Tokenizer::new(&m) {
                let ids = t.encode(probe);
                assert!(ids.len() >= 2);
            }
            true
        }
        Err(e) => {
            let _ = e.to_string();
            false
        }
    });
    prop_assert!(took < SLOW, "E5S1 parse took {took:?}");
    prop_assert!(
        largest <= 8 * bytes.len() + 8 * MIB,
        "E5S1 parse allocated {largest} bytes at once for a {}-byte file",
        bytes.len()
    );
    Ok(parsed_ok)
}

fn tiny_image() -> &'static (Vec<u8>, usize, usize) {
    static TINY: OnceLock<(Vec<u8>, usize, usize)> = OnceLock::new();
    TINY.get_or_init(|| {
        let image = tiny_e5s1();
        let (start, end) = e5s1_extent(&image);
        (image, start, end)
    })
}

/// The real model file, when it has been downloaded (not in CI), with
/// where its header and its data end.
fn real_image() -> Option<&'static (Mutex<Vec<u8>>, usize, usize)> {
    static REAL: OnceLock<Option<(Mutex<Vec<u8>>, usize, usize)>> = OnceLock::new();
    REAL.get_or_init(|| {
        let path = replyd::classify::model::default_cache_dir().join("e5-small-q4.bin");
        let image = std::fs::read(path).ok()?;
        let (start, end) = e5s1_extent(&image);
        Some((Mutex::new(image), start, end))
    })
    .as_ref()
}

/// Byte edits applied in place and undone on drop, so a failing case (and
/// proptest's shrinking after it) leaves the shared image intact.
struct Patched<'a> {
    bytes: &'a mut [u8],
    undo: Vec<(usize, u8)>,
}

impl<'a> Patched<'a> {
    fn new(bytes: &'a mut [u8], edits: &[(usize, u8)]) -> Self {
        let mut undo = Vec::with_capacity(edits.len());
        for &(i, x) in edits {
            undo.push((i, bytes[i]));
            bytes[i] ^= x;
        }
        Patched { bytes, undo }
    }
}

impl Drop for Patched<'_> {
    fn drop(&mut self) {
        for &(i, old) in self.undo.iter().rev() {
            self.bytes[i] = old;
        }
    }
}

/// Edits to a header: `(position in 0..1, xor mask)`, mostly single bits.
fn header_edits() -> impl Strategy<Value = Vec<(f64, u8)>> {
    let mask = prop_oneof![
        3 => (0u32..8).prop_map(|b| 1u8 << b),
        1 => 1u8..=255,
    ];
    prop::collection::vec((0.0..1.0f64, mask), 1..5)
}

fn place(edits: &[(f64, u8)], len: usize) -> Vec<(usize, u8)> {
    edits
        .iter()
        .map(|&(at, x)| (((at * len as f64) as usize).min(len - 1), x))
        .collect()
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn e5s1_parse_takes_any_bytes(
        prefix in prop_oneof![
            Just(Vec::new()),
            Just(b"E5S1".to_vec()),
            Just(b"E5S1\x01\0\0\0".to_vec()),
            // A valid magic, version and dimensions: the fuzz starts at the
            // tokenizer section.
            Just(tiny_image().0[..44].to_vec()),
        ],
        rest in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        let bytes = [prefix, rest].concat();
        check_e5s1(&bytes, "Hallo")?;
    }

    #[test]
    fn e5s1_every_truncation_of_a_valid_image_is_an_error(cut in 0.0..1.0f64) {
        let (image, _, end) = tiny_image();
        let cut = (cut * *end as f64) as usize;
        prop_assert!(!check_e5s1(&image[..cut], "")?, "cut at {cut} of {end} parsed");
    }

    #[test]
    fn e5s1_bit_flips_in_a_valid_header_never_panic(
        edits in header_edits(),
        cut in prop::option::weighted(0.2, 0.0..1.0f64),
        probe in text(),
    ) {
        let (image, header, end) = tiny_image();
        let mut image = image.clone();
        for (i, x) in place(&edits, *header) {
            image[i] ^= x;
        }
        // A flip may leave a valid file (a score, a blob byte): that is
        // fine. A cut short of the data never is.
        let cut = cut.map_or(image.len(), |c| (c * *end as f64) as usize);
        let ok = check_e5s1(&image[..cut], &probe)?;
        prop_assert!(cut >= *end || !ok, "cut at {cut} of {end} parsed");
    }
}

proptest! {
    // The real file is 70 MB: edits are made in place and undone.
    #![proptest_config(config(128))]

    #[test]
    fn e5s1_real_model_header_mutations_never_panic(
        edits in header_edits(),
        cut in 0.0..1.0f64,
        probe in text(),
    ) {
        let Some((image, header, end)) = real_image() else {
            return Ok(());
        };
        let mut image = image.lock().unwrap_or_else(|p| p.into_inner());
        // Truncations of the untouched file: always an error.
        let cut = (cut * *end as f64) as usize;
        prop_assert!(!check_e5s1(&image[..cut], "")?, "cut at {cut} of {end} parsed");
        // Flips in the header and directory (the first `header` bytes).
        let patched = Patched::new(&mut image[..], &place(&edits, *header));
        check_e5s1(&*patched.bytes, &probe)?;
    }
}

// ------------------------------------------------------------ 4. templates

const TEMPLATE_NAMES: &[&str] = &[
    "acknowledge.complaint",
    "private.complaint",
    "acknowledge.feedback",
    "acknowledge.question",
    "answer.question",
    "answer.unknown",
    "thank.praise",
    "acknowledge.lead",
    "acknowledge.other",
    "prequalify.lead",
    "question.company",
    "question.collaboration",
    "question.budget",
    "question.timeline",
    "question.email",
];

fn builtin_templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| {
        let brand = BrandConfig {
            sign_off: Some("Team Fietsie".into()),
            ..BrandConfig::default()
        };
        let questions: Vec<String> = ["company", "budget", "timeline", "email"]
            .map(String::from)
            .to_vec();
        Templates::load(None, brand)
            .unwrap()
            .with_questions(&questions)
            .unwrap()
    })
}

fn lang() -> impl Strategy<Value = Option<Lang>> {
    prop::option::of(prop::sample::select(Lang::ALL.to_vec()))
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(vec![Kind::Comment, Kind::Dm, Kind::Review, Kind::Mention])
}

fn platform() -> impl Strategy<Value = Platform> {
    prop_oneof![
        Just("facebook".to_owned()),
        Just("instagram".to_owned()),
        "[a-z0-9_]{1,32}"
    ]
    .prop_map(|p| p.parse().unwrap())
}

/// Template source that touches minijinja's syntax: tags, filters,
/// variables, loops, and stray delimiters.
fn template_source() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("{{ "),
        Just(" }}"),
        Just("{% "),
        Just(" %}"),
        Just("{#"),
        Just("#}"),
        Just("name"),
        Just("brand"),
        Just("channel"),
        Just("quote"),
        Just("answer"),
        Just("questions"),
        Just("emoji"),
        Just("formal"),
        Just("nope"),
        Just("if "),
        Just("else"),
        Just("endif"),
        Just("for q in questions"),
        Just("for c in name"),
        Just("endfor"),
        Just("|upper"),
        Just("|length"),
        Just("|join(', ')"),
        Just("|default('x')"),
        Just("~"),
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just("'"),
        Just("\""),
        Just("-"),
        Just("+ 1"),
        Just("* 3"),
        Just(" "),
        Just("raw"),
        Just("endraw"),
        Just("set x = "),
        Just("include 'en/thank.praise#0'"),
        Just("Hi "),
    ];
    prop_oneof![
        3 => prop::collection::vec(fragment, 0..24).prop_map(|v| v.concat()),
        1 => text(),
    ]
}

fn draft_context<'a>(
    platform: &'a Platform,
    kind: Kind,
    author: &'a Option<String>,
    seed: &'a str,
    answer: &'a Option<String>,
    message: &'a str,
) -> DraftContext<'a> {
    DraftContext {
        author_name: author.as_deref(),
        platform,
        kind,
        seed,
        answer: answer.as_deref(),
        message_text: message,
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn custom_templates_load_and_render_or_fail_cleanly(
        sources in prop::collection::vec(template_source(), 1..3),
        raw in prop::option::weighted(0.1, text()),
        platform in platform(),
        kind in kind(),
        author in prop::option::of(text()),
        seed in text(),
        message in text(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        // Written through the TOML serializer, so the text reaches
        // minijinja as it is, whatever its quotes and control characters.
        let file = raw.unwrap_or_else(|| {
            toml::to_string(&json!({"acknowledge": {"complaint": {"variants": sources}}})).unwrap()
        });
        std::fs::write(dir.path().join("en.toml"), file).unwrap();
        let ((), _, took) = measure(|| {
            if let Ok(templates) = Templates::load(Some(dir.path()), BrandConfig::default()) {
                let answer = None;
                let ctx = draft_context(&platform, kind, &author, &seed, &answer, &message);
                let _ = templates.render("acknowledge.complaint", None, &ctx);
                let _ = templates.render("acknowledge.complaint", Some(Lang::Nl), &ctx);
            }
        });
        prop_assert!(took < SLOW, "templates took {took:?}");
    }

    #[test]
    fn builtin_templates_render_for_any_context(
        name in prop::sample::select(TEMPLATE_NAMES.to_vec()),
        lang in lang(),
        platform in platform(),
        kind in kind(),
        author in prop::option::of(text()),
        seed in text(),
        answer in prop::option::of(text()),
        message in text(),
    ) {
        let ctx = draft_context(&platform, kind, &author, &seed, &answer, &message);
        let draft = builtin_templates().render(name, lang, &ctx);
        let draft = draft.map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        let prefix = format!("template:{name}#");
        prop_assert!(draft.source.starts_with(&prefix), "{}", draft.source);
        prop_assert!(!draft.text.trim().is_empty());
    }

    #[test]
    fn unknown_template_names_are_an_error(name in text(), lang in lang()) {
        prop_assume!(!TEMPLATE_NAMES.contains(&name.as_str()));
        let platform: Platform = "shop".parse().unwrap();
        let (author, answer) = (None, None);
        let ctx = draft_context(&platform, Kind::Review, &author, "s", &answer, "");
        prop_assert!(builtin_templates().render(&name, lang, &ctx).is_err());
    }
}

// ------------------------------------------------------------ 5. rules

fn rules() -> Arc<Rules> {
    static R: OnceLock<Arc<Rules>> = OnceLock::new();
    R.get_or_init(|| Arc::new(Rules::builtin())).clone()
}

fn guardrails() -> &'static Guardrails {
    static G: OnceLock<Guardrails> = OnceLock::new();
    G.get_or_init(|| {
        let cfg = GuardrailConfig {
            allowed_link_domains: vec!["fietsie.nl".into()],
            banned_phrases: vec!["goedkoopste".into()],
        };
        Guardrails::new(&cfg, rules()).unwrap()
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn rules_scan_takes_any_text(text in text()) {
        let (hits, _, took) = measure(|| rules().scan(&text));
        prop_assert!(took < SLOW, "scan took {took:?}");
        for hit in hits {
            prop_assert!(!hit.name.is_empty());
        }
    }

    #[test]
    fn guardrails_check_takes_any_text(
        text in text(),
        message in text(),
        facts in text(),
        expected_lang in lang(),
        public in any::<bool>(),
        platform in platform(),
        kind in kind(),
    ) {
        let check = DraftCheck {
            text: &text,
            expected_lang,
            public,
            platform: &platform,
            kind,
            message_text: &message,
            facts_text: &facts,
            purpose: replyd::draft::guardrails::Purpose::Other,
        };
        let (failures, _, took) = measure(|| guardrails().check(&check));
        prop_assert!(took < SLOW, "guardrails took {took:?}");
        if text.trim().is_empty() {
            prop_assert!(failures.iter().any(|f| f == "empty"));
        }
    }
}
