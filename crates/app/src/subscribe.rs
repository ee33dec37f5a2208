//! Subscribing a card, and following the answer into its subscription state
//! (`subscription_state.rs`). The card shows only what SUBACK said: waiting while the SUBSCRIBE is out (or queued until the client connects),
//! then the granted QoS, or the refusal with its reason. The previous filter is dropped only
//! once the new one is granted, so a refused filter leaves the card subscribed as before.
//! Every way a card subscribes (its button, a new connection, a guided scenario) goes
//! through [`subscribe_card`].

use crate::state::{reason_words, ClientSlot};
use crate::subscription_state::FilterQos;
use leptos::prelude::*;
use tabmq_client::CommandError;
use tabmq_core::{Properties, QoS, ReasonCode, SubscribeFilter};

/// Why a SUBSCRIBE failed, for the card: who refused, in words, with the code.
pub fn refusal_text(filter: &str, error: &CommandError) -> String {
    match error {
        CommandError::Failed(code) => broker_refusal(filter, *code),
        CommandError::Refused(e) => {
            format!("Not subscribed to {filter}: the client refused it: {e}")
        }
        CommandError::Lost(_) => {
            format!("Not subscribed to {filter}: the connection ended before SUBACK ({error})")
        }
        _ => format!("Not subscribed to {filter}: {error}"),
    }
}

fn broker_refusal(filter: &str, code: ReasonCode) -> String {
    format!("The broker refused {filter}: {}", reason_words(code))
}

/// Asks for `wanted` on `slot`'s card, and follows the answer into the card's
/// [`CardSubscription`].
pub fn subscribe_card(slot: ClientSlot, wanted: SubscribeFilter) {
    let card = slot.inbox.subscription;
    let filter = wanted.filter.clone();
    let asked = card.get_untracked().asked + 1;
    card.update(|c| {
        c.asked = asked;
        c.waiting = Some(FilterQos {
            filter: filter.clone(),
            qos: wanted.qos,
        });
        c.refusal = None;
    });
    let done = slot.client.with_value(|c| {
        c.as_ref().map(|c| {
            c.client()
                .subscribe_async(vec![wanted], Properties::default())
        })
    });
    let Some(done) = done else {
        card.update(|c| {
            c.waiting = None;
            c.refusal = Some(format!(
                "Not subscribed to {filter}: the client is not connected yet"
            ));
        });
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let answer = done.await;
        if card.get_untracked().asked != asked {
            return;
        }
        let granted = match answer {
            Ok(codes) => match codes.first() {
                Some(code) if code.is_success() => {
                    Ok(QoS::from_u8(code.0).unwrap_or(QoS::AtMostOnce))
                }
                Some(code) => Err(broker_refusal(&filter, *code)),
                None => Err(format!(
                    "Not subscribed to {filter}: SUBACK carried no code"
                )),
            },
            Err(e) => Err(refusal_text(&filter, &e)),
        };
        match granted {
            Ok(qos) => {
                let previous = card.get_untracked().granted.filter(|g| g.filter != filter);
                let granted = FilterQos { filter, qos };
                remember(&slot.name(), &granted);
                card.update(|c| {
                    c.waiting = None;
                    c.granted = Some(granted);
                });
                if let Some(old) = previous {
                    unsubscribe_quietly(slot, old.filter);
                }
            }
            Err(why) => card.update(|c| {
                c.waiting = None;
                c.refusal = Some(why);
            }),
        }
    });
}

fn storage_key(card: &str) -> String {
    format!("tabmq-lab:{card}:subscription")
}

/// Keeps the card's granted filter in localStorage, so a reload subscribes to it again.
fn remember(card: &str, granted: &FilterQos) {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    if let Some(s) = storage {
        // A full or missing localStorage only loses the memory.
        let _ = s.set_item(
            &storage_key(card),
            &format!("{} {}", granted.qos.as_u8(), granted.filter),
        );
    }
}

/// The filter the card was last granted, on an earlier load.
pub fn remembered(card: &str) -> Option<FilterQos> {
    let storage = web_sys::window()?.local_storage().ok()??;
    let text = storage.get_item(&storage_key(card)).ok()??;
    let (qos, filter) = text.split_once(' ')?;
    Some(FilterQos {
        filter: filter.to_owned(),
        qos: QoS::from_u8(qos.parse().ok()?)?,
    })
}

/// Drops a filter the card no longer shows; a failure only goes to the console, since the
/// card's state is the new filter's either way.
fn unsubscribe_quietly(slot: ClientSlot, filter: String) {
    let done = slot.client.with_value(|c| {
        c.as_ref().map(|c| {
            c.client()
                .unsubscribe_async(vec![filter.clone()], Properties::default())
        })
    });
    if let Some(done) = done {
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = done.await {
                web_sys::console::warn_1(&format!("tabmq lab: unsubscribe {filter}: {e}").into());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscription_state::CardSubscription;
    use tabmq_core::ClientError;

    #[test]
    fn the_status_line_says_only_what_suback_said() {
        let mut c = CardSubscription::default();
        assert_eq!(c.summary(), "Not subscribed");
        c.waiting = Some(FilterQos {
            filter: "a/#".into(),
            qos: QoS::ExactlyOnce,
        });
        assert_eq!(
            c.summary(),
            "Subscribing to a/# (QoS 2): waiting for SUBACK"
        );
        c.waiting = None;
        c.granted = Some(FilterQos {
            filter: "a/#".into(),
            qos: QoS::AtLeastOnce,
        });
        assert_eq!(c.summary(), "Subscribed to a/# (granted QoS 1)");
    }

    #[test]
    fn refusals_name_who_refused_and_the_code() {
        let broker = refusal_text("x", &CommandError::Failed(ReasonCode::NOT_AUTHORIZED));
        assert_eq!(broker, "The broker refused x: Not authorized (0x87)");
        let client = refusal_text("", &CommandError::Refused(ClientError::NotConnected));
        assert!(
            client.starts_with("Not subscribed to : the client refused it"),
            "{client}"
        );
    }
}
