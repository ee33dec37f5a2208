//! A subscriber card's subscription as a value: what SUBACK granted, what is still
//! waiting for one, and the last refusal. `subscribe.rs` drives it; the card shows it.

use tabmq_core::QoS;

/// A filter and a QoS: asked for, or granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterQos {
    pub filter: String,
    pub qos: QoS,
}

/// What a card's subscription is, from the client's and the broker's answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardSubscription {
    /// What the last granting SUBACK gave: the filter and the granted QoS.
    pub granted: Option<FilterQos>,
    /// Asked for and not answered yet.
    pub waiting: Option<FilterQos>,
    /// Why the last request failed, in words with its code.
    pub refusal: Option<String>,
    /// Requests made; an answer to an older one than the latest is ignored.
    pub asked: u64,
}

impl CardSubscription {
    /// The card's status line.
    pub fn summary(&self) -> String {
        let granted = self
            .granted
            .as_ref()
            .map(|g| format!("Subscribed to {} (granted QoS {})", g.filter, g.qos.as_u8()));
        match (&self.waiting, granted) {
            (Some(w), _) => format!(
                "Subscribing to {} (QoS {}): waiting for SUBACK",
                w.filter,
                w.qos.as_u8()
            ),
            (None, Some(g)) => g,
            (None, None) => "Not subscribed".to_owned(),
        }
    }
}
