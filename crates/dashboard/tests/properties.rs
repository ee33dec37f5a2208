//! Property tests of the dashboard's data model, natively: whatever the messages, the
//! tree's counts add up and its bounds hold, a path prints and parses back, the history's
//! stored copy equals the kept one after any sequence of records, trims and reloads, and
//! downsampling keeps a window's extremes.

use proptest::prelude::*;
use std::collections::{BTreeMap, VecDeque};
use tabmq_dashboard::payload::{self, Format};
use tabmq_dashboard::{
    downsample, Cadence, History, HistoryLimits, JsonPath, NodeId, Point, Step, StoreOp, TopicTree,
    TreeLimits, STALE_AFTER_INTERVALS,
};
use tabmq_dashboard::{Board, Widget, WidgetKind};

fn topic() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["", "a", "b", "home", "temp", "+x", "ü"]),
        1..5,
    )
    .prop_map(|levels| levels.join("/"))
}

proptest! {
    #[test]
    fn tree_counts_add_up_and_bounds_hold(
        msgs in prop::collection::vec((topic(), prop::collection::vec(any::<u8>(), 0..40), any::<bool>(), 0u64..5_000), 0..200),
        max_nodes in 1usize..40,
    ) {
        let limits = TreeLimits { max_nodes, recent_per_topic: 3, payload_budget: 200, head_over_budget: 4 };
        let mut tree = TopicTree::new(limits);
        let mut accepted = 0u64;
        for (t, p, retain, at) in &msgs {
            if tree.insert(t, p, *retain, 1, *at).is_some() {
                accepted += 1;
            }
        }
        prop_assert_eq!(tree.messages(), accepted);
        prop_assert_eq!(tree.refused(), msgs.len() as u64 - accepted);
        prop_assert!(tree.len() <= max_nodes.max(1));
        let mut kept_bytes = 0;
        let mut stack = vec![NodeId::ROOT];
        while let Some(id) = stack.pop() {
            let node = tree.node(id).unwrap();
            let own = node.topic().map_or(0, |t| t.messages);
            let children: u64 = node.children().map(|c| tree.node(c).unwrap().subtree_messages()).sum();
            prop_assert_eq!(node.subtree_messages(), own + children);
            let topics: u64 = node.children().map(|c| tree.node(c).unwrap().subtree_topics()).sum();
            prop_assert_eq!(node.subtree_topics(), u64::from(node.topic().is_some()) + topics);
            if id != NodeId::ROOT {
                prop_assert_eq!(tree.find(&tree.topic_of(id)), Some(id));
            }
            if let Some(t) = node.topic() {
                prop_assert!(!t.recent().is_empty() && t.recent().len() <= 3);
                kept_bytes += t.recent().iter().map(|m| m.payload.len()).sum::<usize>();
                for m in t.recent() {
                    prop_assert!(m.payload.len() <= m.full_len);
                }
            }
            stack.extend(node.children());
        }
        prop_assert_eq!(tree.payload_bytes(), kept_bytes);
        prop_assert!(kept_bytes <= 200 + 4 * tree.topics() as usize);
    }

    #[test]
    fn a_path_prints_and_parses_back_and_selects_its_leaf(
        steps in prop::collection::vec(prop_oneof![
            "[a-z .'\\[\\]\"\\\\]{0,6}".prop_map(Step::Key),
            (0usize..4).prop_map(Step::Index),
        ], 0..5),
        leaf in -1e9f64..1e9,
    ) {
        let mut doc = serde_json::json!(leaf);
        for step in steps.iter().rev() {
            doc = match step {
                Step::Key(k) => serde_json::json!({ k.clone(): doc }),
                Step::Index(n) => {
                    let mut items = vec![serde_json::Value::Null; *n + 1];
                    items[*n] = doc;
                    serde_json::Value::Array(items)
                }
            };
        }
        let path = JsonPath::parse(&steps_path(&steps)).unwrap();
        prop_assert_eq!(path.steps(), &steps[..]);
        let printed = path.to_string();
        prop_assert_eq!(JsonPath::parse(&printed).unwrap(), path.clone());
        prop_assert_eq!(path.number(&doc), Some(leaf));
    }

    #[test]
    fn any_text_parses_or_errs_without_panicking(text in ".{0,20}") {
        let _ = JsonPath::parse(&text);
    }

    #[test]
    fn stored_history_equals_the_kept_one_across_reloads(
        ops in prop::collection::vec(prop_oneof![
            8 => (0usize..3, 0u64..50, -100.0f64..100.0).prop_map(|(s, dt, v)| Op::Record(s, dt, v)),
            1 => (0u64..200).prop_map(Op::Expire),
            1 => Just(Op::Reload),
            1 => (1usize..6, 1u64..300, 1usize..4).prop_map(|(p, a, s)| Op::Limits(p, a, s)),
            1 => Just(Op::Clear),
        ], 0..120),
    ) {
        let mut limits = HistoryLimits { max_points: 5, max_age_ms: 150, max_series: 2 };
        let mut history = History::new(limits);
        let mut storage: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        let mut now = 1_000u64;
        for op in ops {
            match op {
                Op::Record(s, dt, v) => {
                    now += dt;
                    history.record(&format!("s{s}"), now, v);
                }
                Op::Expire(dt) => {
                    now += dt;
                    history.expire(now);
                }
                Op::Reload => {
                    flush(&mut history, &mut storage);
                    history = History::new(limits);
                    for (s, points) in &storage {
                        history.restore(s, points.clone(), now);
                    }
                }
                Op::Limits(p, a, s) => {
                    limits = HistoryLimits { max_points: p, max_age_ms: a, max_series: s };
                    history.set_limits(limits, now);
                }
                Op::Clear => history.clear(),
            }
            for s in history.series() {
                let points = history.points(s).unwrap();
                prop_assert!(points.len() <= limits.max_points);
                prop_assert!(points.iter().zip(points.iter().skip(1)).all(|(a, b)| a.at_ms <= b.at_ms));
            }
            prop_assert!(history.series().count() <= limits.max_series);
        }
        flush(&mut history, &mut storage);
        storage.retain(|_, points| !points.is_empty());
        let kept: BTreeMap<String, Vec<Point>> = history
            .series()
            .map(|s| (s.to_owned(), history.points(s).unwrap().iter().copied().collect::<Vec<_>>()))
            .filter(|(_, p)| !p.is_empty())
            .collect();
        prop_assert_eq!(storage, kept);
    }

    #[test]
    fn downsampling_keeps_the_windows_ends_and_extremes(
        steps in prop::collection::vec((0u64..30, -1e3f64..1e3), 1..600),
        buckets in 1usize..40,
        from_frac in 0.0f64..0.5,
    ) {
        let mut at = 0;
        let points: VecDeque<Point> = steps.iter().map(|(dt, v)| { at += dt; Point { at_ms: at, value: *v } }).collect();
        let from = (at as f64 * from_frac) as u64;
        let drawn = downsample(&points, from, at, buckets);
        let window: Vec<Point> = points.iter().copied().filter(|p| p.at_ms >= from && p.at_ms <= at).collect();
        prop_assert!(drawn.len() <= window.len().min(buckets * 4));
        prop_assert!(drawn.iter().all(|p| window.contains(p)));
        prop_assert!(drawn.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        if let (Some(first), Some(last)) = (window.first(), window.last()) {
            prop_assert_eq!(drawn.first(), Some(first));
            prop_assert_eq!(drawn.last(), Some(last));
            let max = window.iter().map(|p| p.value).fold(f64::MIN, f64::max);
            let min = window.iter().map(|p| p.value).fold(f64::MAX, f64::min);
            prop_assert!(drawn.iter().any(|p| p.value == max));
            prop_assert!(drawn.iter().any(|p| p.value == min));
        }
    }

    #[test]
    fn stale_only_past_three_usual_intervals_and_then_for_good(
        gaps in prop::collection::vec(0u64..1_000, 1..30),
        probe in 0u64..10_000,
    ) {
        let mut c = Cadence::default();
        let mut at = 10_000;
        c.observe(at);
        for g in &gaps {
            at += g;
            c.observe(at);
        }
        let usual = c.usual_interval_ms().unwrap();
        let now = at + probe;
        prop_assert_eq!(c.is_stale(now), probe > usual.max(1) * STALE_AFTER_INTERVALS);
        if c.is_stale(now) {
            prop_assert!(c.is_stale(now + 1));
        }
    }

    #[test]
    fn any_bytes_render_or_err_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        use base64::Engine as _;
        for format in Format::ALL {
            let _ = payload::render(&bytes, format);
        }
        let _ = payload::guess("spBv1.0/g/DDATA/n/d", &bytes);
        let b64 = payload::render(&bytes, Format::Base64).unwrap();
        prop_assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).unwrap(), bytes.clone());
        let hex = payload::render(&bytes, Format::Hex).unwrap();
        let back: Vec<u8> = hex.split(' ').filter(|h| !h.is_empty()).map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
        prop_assert_eq!(back, bytes);
    }
}

proptest! {
    #[test]
    fn boards_round_trip_through_json_and_links(
        widgets in prop::collection::vec((0usize..6, topic(), "[a-zA-Z °%]{0,8}", 0u8..3, any::<bool>(), -500i32..500), 0..12),
    ) {
        let mut board = Board::default();
        for (kind, filter, title, qos, retain, tenths) in widgets {
            // Numbers as a person types them in the form (serde_json reads back the
            // shortest decimal of an f64, which for a computed one may be one ulp off).
            let min = f64::from(tenths) / 10.0;
            let kind = WidgetKind::ALL[kind];
            // A valid, wildcard-free topic: one the widgets that publish can publish to.
            let topic = if filter.is_empty() { "x".to_owned() } else { filter.replace('+', "plus") };
            let max = f64::from(tenths + 100) / 10.0;
            let w = Widget { title, qos, retain, min, max, topic: topic.clone(), ..Widget::new(kind, &topic) };
            board.add(w).unwrap();
        }
        prop_assert_eq!(Board::from_json(&board.to_json()).unwrap(), board.clone());
        prop_assert_eq!(Board::from_url_param(&board.to_url_param()).unwrap(), board);
    }

    #[test]
    fn any_text_is_a_board_or_an_error(text in ".{0,200}", b64 in "[A-Za-z0-9_-]{0,200}") {
        let _ = Board::from_json(&text);
        let _ = Board::from_url_param(&b64);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Record(usize, u64, f64),
    Expire(u64),
    Reload,
    Limits(usize, u64, usize),
    Clear,
}

/// Replays the history's storage operations into a map, as the lab's IndexedDB shell does.
fn flush(history: &mut History, storage: &mut BTreeMap<String, Vec<Point>>) {
    let mut rounds = 0;
    while let Some(op) = history.poll_store() {
        rounds += 1;
        assert!(rounds < 10_000, "poll_store never ran dry");
        match op {
            StoreOp::Clear => storage.clear(),
            StoreOp::DropBefore { series, at_ms } => {
                if let Some(points) = storage.get_mut(&series) {
                    points.retain(|p| p.at_ms >= at_ms);
                }
            }
            StoreOp::Append { series, points } => storage.entry(series).or_default().extend(points),
        }
    }
}

/// `steps` in bracket form, which carries any key.
fn steps_path(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Index(n) => out.push_str(&format!("[{n}]")),
            Step::Key(k) => out.push_str(&format!(
                "['{}']",
                k.replace('\\', "\\\\").replace('\'', "\\'")
            )),
        }
    }
    out
}
