//! The topic tree as an ARIA tree: a `treeitem` per visible level with `aria-level`,
//! `aria-expanded`, `aria-setsize` and `aria-posinset`, one focusable item at a time, and
//! the keyboard of the WAI-ARIA tree pattern (arrows, Home, End, Enter, Space).

use super::state::Explorer;
use leptos::prelude::*;
use leptos::tachys::html::attribute::custom::custom_attribute;
use leptos::tachys::view::add_attr::AddAnyAttr;
use std::collections::HashMap;
use tabmq_dashboard::{payload, NodeId, TopicTree};
use wasm_bindgen::JsCast;

/// One visible row, as drawn at the last tick.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    id: NodeId,
    level: usize,
    name: String,
    has_children: bool,
    expanded: bool,
    set_size: usize,
    pos_in_set: usize,
    messages: u64,
    topics: u64,
    /// Set when a message was published to exactly this level.
    topic: Option<TopicLine>,
}

#[derive(Clone, Debug, PartialEq)]
struct TopicLine {
    last: String,
    age_ms: u64,
    per_second: f64,
    retained: bool,
    stale: bool,
}

/// The rows a tree shows with `expanded` open, in order.
fn visible_rows(
    tree: &TopicTree,
    expanded: &std::collections::HashSet<NodeId>,
    now_ms: u64,
) -> Vec<Row> {
    let mut rows = Vec::new();
    // Depth first, children by name; a stack of (node, level, position, siblings).
    let mut stack: Vec<(NodeId, usize, usize, usize)> = Vec::new();
    let push_children =
        |stack: &mut Vec<(NodeId, usize, usize, usize)>, parent: NodeId, level: usize| {
            if let Some(node) = tree.node(parent) {
                let n = node.children().len();
                for (i, child) in node
                    .children()
                    .enumerate()
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    stack.push((child, level, i + 1, n));
                }
            }
        };
    push_children(&mut stack, NodeId::ROOT, 1);
    while let Some((id, level, pos, size)) = stack.pop() {
        let Some(node) = tree.node(id) else { continue };
        let open = expanded.contains(&id);
        let topic = if node.topic().is_some() {
            tree.topic_of(id)
        } else {
            String::new()
        };
        rows.push(Row {
            id,
            level,
            name: node.name().to_owned(),
            has_children: node.has_children(),
            expanded: open,
            set_size: size,
            pos_in_set: pos,
            messages: node.subtree_messages(),
            topics: node.subtree_topics(),
            topic: node.topic().map(|t| TopicLine {
                last: t
                    .last()
                    .map_or_else(String::new, |m| payload::summary(&topic, &m.payload, 60)),
                age_ms: t.age_ms(now_ms),
                per_second: t.per_second(now_ms),
                retained: t.retained,
                stale: t.is_stale(now_ms),
            }),
        });
        if open {
            push_children(&mut stack, id, level + 1);
        }
    }
    rows
}

/// "1 msg", "2 msgs".
fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// "3 s", "2 min", "1 h": how long ago.
pub fn age_label(ms: u64) -> String {
    match ms / 1_000 {
        0 => format!("{ms} ms"),
        s @ 1..=119 => format!("{s} s"),
        s @ 120..=7_199 => format!("{} min", s / 60),
        s => format!("{} h", s / 3_600),
    }
}

fn dom_id(id: NodeId) -> String {
    format!("explorer-node-{}", id.as_u32())
}

/// Focuses `id`'s item; whether it was there to focus.
fn focus(id: NodeId) -> bool {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&dom_id(id)))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    element.is_some_and(|e| e.focus().is_ok())
}

/// The topic tree, redrawn at each tick.
#[component]
pub fn TopicTreeView() -> impl IntoView {
    let explorer = expect_context::<Explorer>();
    let rows = Memo::new(move |_| {
        let now = explorer.now_ms.get();
        explorer
            .expanded
            .with(|open| explorer.tree.with_value(|t| visible_rows(t, open, now)))
    });
    let by_id = Memo::new(move |_| {
        rows.with(|r| {
            r.iter()
                .map(|row| (row.id, row.clone()))
                .collect::<HashMap<_, _>>()
        })
    });
    // The one item in the tab order: the focused one, else the selected one, else the first.
    let focused = RwSignal::new(None::<NodeId>);
    let tab_stop = Memo::new(move |_| {
        let ids: Vec<NodeId> = rows.with(|r| r.iter().map(|row| row.id).collect());
        focused
            .get()
            .or(explorer.selected.get())
            .filter(|id| ids.contains(id))
            .or_else(|| ids.first().copied())
    });
    let toggle = move |id: NodeId| {
        explorer.expanded.update(|open| {
            if !open.remove(&id) {
                open.insert(id);
            }
        });
    };
    let move_to = move |id: NodeId| {
        focused.set(Some(id));
        // A row just made (its parent opened by this key) is focused once it is drawn.
        if !focus(id) {
            request_animation_frame(move || {
                focus(id);
            });
        }
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let list = rows.get_untracked();
        let Some(current) = tab_stop.get_untracked() else {
            return;
        };
        let Some(at) = list.iter().position(|r| r.id == current) else {
            return;
        };
        let row = &list[at];
        match ev.key().as_str() {
            "ArrowDown" => {
                if let Some(next) = list.get(at + 1) {
                    move_to(next.id);
                }
            }
            "ArrowUp" => {
                if let Some(prev) = at.checked_sub(1).and_then(|i| list.get(i)) {
                    move_to(prev.id);
                }
            }
            "ArrowRight" if row.has_children && !row.expanded => toggle(row.id),
            "ArrowRight" if row.expanded => {
                if let Some(child) = list.get(at + 1) {
                    move_to(child.id);
                }
            }
            "ArrowLeft" if row.expanded => toggle(row.id),
            "ArrowLeft" => {
                let parent = explorer
                    .tree
                    .with_value(|t| t.node(row.id).and_then(|n| n.parent()));
                if let Some(parent) = parent.filter(|p| *p != NodeId::ROOT) {
                    move_to(parent);
                }
            }
            "Home" => {
                if let Some(first) = list.first() {
                    move_to(first.id);
                }
            }
            "End" => {
                if let Some(last) = list.last() {
                    move_to(last.id);
                }
            }
            "Enter" | " " => explorer.selected.set(Some(row.id)),
            _ => return,
        }
        ev.prevent_default();
    };
    let ids = move || rows.with(|r| r.iter().map(|row| row.id).collect::<Vec<_>>());
    view! {
        <div class="topic-tree" role="tree" aria-label="Topics" on:keydown=on_key data-testid="topic-tree">
            <For
                each=ids
                key=|id| *id
                children=move |id| {
                    let row = move || by_id.with(|m| m.get(&id).cloned());
                    let field = move |f: fn(&Row) -> String| move || row().map(|r| f(&r)).unwrap_or_default();
                    let topic = move || row().and_then(|r| r.topic);
                    view! {
                        <div
                            class="treeitem"
                            role="treeitem"
                            id=dom_id(id)
                            aria-label=field(|r| r.name.clone())
                            aria-setsize=field(|r| r.set_size.to_string())
                            aria-posinset=field(|r| r.pos_in_set.to_string())
                            aria-expanded=move || row().filter(|r| r.has_children).map(|r| r.expanded.to_string())
                            aria-selected=move || (explorer.selected.get() == Some(id)).to_string()
                            tabindex=move || if tab_stop.get() == Some(id) { "0" } else { "-1" }
                            data-topic=move || explorer.tree.with_value(|t| t.topic_of(id))
                            data-stale=move || topic().filter(|t| t.stale).map(|_| "true")
                            style=move || format!("padding-left: {}rem", row().map_or(0, |r| r.level - 1) as f64 * 1.1 + 0.3)
                            on:click=move |_| {
                                explorer.selected.set(Some(id));
                                focused.set(Some(id));
                            }
                            on:focus=move |_| focused.set(Some(id))
                        >
                            <span
                                class="twisty"
                                aria-hidden="true"
                                on:click=move |ev| {
                                    ev.stop_propagation();
                                    toggle(id);
                                }
                            >
                                {move || match row() {
                                    Some(r) if r.has_children && r.expanded => "▾",
                                    Some(r) if r.has_children => "▸",
                                    _ => "",
                                }}
                            </span>
                            <span class="level">{field(|r| if r.name.is_empty() { "(empty)".to_owned() } else { r.name.clone() })}</span>
                            <span class="badge" data-testid="message-count">{field(|r| plural(r.messages, "msg"))}</span>
                            <Show when=move || row().is_some_and(|r| r.has_children)>
                                <span class="badge" data-testid="topic-count">{field(|r| plural(r.topics, "topic"))}</span>
                            </Show>
                            {move || topic().map(|t| view! {
                                <span class="value" data-testid="last-value">{t.last}</span>
                                <span class="age" data-testid="age">{age_label(t.age_ms)}</span>
                                <span class="rate" data-testid="rate">{format!("{:.1}/s", t.per_second)}</span>
                                {t.retained.then(|| view! { <span class="badge" data-testid="retained">"retained"</span> })}
                                {t.stale.then(|| view! { <span class="badge warn" data-testid="stale">"stale"</span> })}
                            })}
                        </div>
                    }
                    // tachys has no `aria-level` among its ARIA attributes.
                    .add_any_attr(custom_attribute("aria-level", field(|r| r.level.to_string())))
                }
            />
        </div>
    }
}
