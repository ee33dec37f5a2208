//! What a card's fields hold, kept per tab (sessionStorage) so a reload brings back each
//! card as it was: a publisher's topic, payload and options, a subscriber's colour and
//! options, and which cards were added. Another tab starts from the defaults.

use leptos::prelude::*;
use serde_json::{Map, Value};

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn key(card: &str) -> String {
    format!("tabmq-lab:{card}:fields")
}

/// The fields `card` kept on an earlier load of this tab.
#[derive(Default)]
pub struct Kept(Map<String, Value>);

impl Kept {
    pub fn load(card: &str) -> Kept {
        storage()
            .and_then(|s| s.get_item(&key(card)).ok().flatten())
            .and_then(|text| serde_json::from_str(&text).ok())
            .map(Kept)
            .unwrap_or_default()
    }

    /// A text field, kept and followed: it starts as kept (or `default`), and every change
    /// is kept again.
    pub fn text(&self, card: &str, name: &'static str, default: &str) -> RwSignal<String> {
        let kept = self.0.get(name).and_then(Value::as_str).unwrap_or(default);
        let signal = RwSignal::new(kept.to_owned());
        let card = card.to_owned();
        Effect::new(move |_| keep(&card, name, Value::from(signal.get())));
        signal
    }

    /// A checkbox, kept and followed.
    pub fn flag(&self, card: &str, name: &'static str, default: bool) -> RwSignal<bool> {
        let kept = self.0.get(name).and_then(Value::as_bool).unwrap_or(default);
        let signal = RwSignal::new(kept);
        let card = card.to_owned();
        Effect::new(move |_| keep(&card, name, Value::from(signal.get())));
        signal
    }

    /// A number field's kept value, if any (for typed signals the card follows itself).
    pub fn number(&self, name: &str) -> Option<u64> {
        self.0.get(name).and_then(Value::as_u64)
    }
}

/// Keeps one field of `card`; a full or missing sessionStorage only loses the memory.
pub fn keep(card: &str, name: &str, value: Value) {
    let Some(s) = storage() else { return };
    let mut all: Map<String, Value> = s
        .get_item(&key(card))
        .ok()
        .flatten()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    all.insert(name.to_owned(), value);
    let _ = s.set_item(&key(card), &Value::Object(all).to_string());
}

const ADDED: &str = "tabmq-lab:added-cards";

/// The cards added in this tab (`publisher-2`, `subscriber-3`, ...), to add again.
pub fn added_cards() -> Vec<String> {
    storage()
        .and_then(|s| s.get_item(ADDED).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Keeps the list of added cards.
pub fn keep_added_cards(names: &[String]) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(names)) {
        let _ = s.set_item(ADDED, &text);
    }
}
