//! A client card's connection settings, as the user edits them, kept in localStorage so a
//! reload brings them back.

use serde::{Deserialize, Serialize};
use tabmq_core::{Bytes, ClientOptions, LastWill, ProtocolVersion, QoS};

/// Everything the connection form sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionSettings {
    /// `tab://NAME[?shared]`, `ws://…` or `wss://…`.
    pub url: String,
    /// 4 (3.1.1) or 5.
    pub version: u8,
    pub client_id: String,
    pub clean: bool,
    pub keepalive: u16,
    pub username: String,
    pub password: String,
    pub will_topic: String,
    pub will_payload: String,
    pub will_qos: u8,
    pub will_retain: bool,
    /// MQTT 5 Session Expiry Interval in seconds; empty for none.
    pub session_expiry: String,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            url: crate::page_url::DEFAULT_BROKER.to_owned(),
            version: 4,
            client_id: String::new(),
            clean: true,
            keepalive: 30,
            username: String::new(),
            password: String::new(),
            will_topic: String::new(),
            will_payload: String::new(),
            will_qos: 0,
            will_retain: false,
            session_expiry: String::new(),
        }
    }
}

impl ConnectionSettings {
    /// The client options these settings make; an error names the field at fault.
    pub fn options(&self) -> Result<ClientOptions, String> {
        let protocol = match self.version {
            5 => ProtocolVersion::V5,
            _ => ProtocolVersion::V311,
        };
        let will = if self.will_topic.is_empty() {
            None
        } else {
            tabmq_core::validate_topic_name(&self.will_topic)
                .map_err(|v| format!("Will topic: {v}"))?;
            Some(LastWill {
                topic: self.will_topic.clone(),
                payload: Bytes::from(self.will_payload.clone().into_bytes()),
                qos: QoS::from_u8(self.will_qos).unwrap_or_default(),
                retain: self.will_retain,
                ..LastWill::default()
            })
        };
        let session_expiry_interval = match self.session_expiry.trim() {
            "" => None,
            n => Some(
                n.parse::<u32>()
                    .map_err(|_| "Session expiry: a number of seconds".to_owned())?,
            ),
        };
        Ok(ClientOptions {
            protocol,
            client_id: self.client_id.clone(),
            clean_session: self.clean,
            keep_alive: self.keepalive,
            username: (!self.username.is_empty()).then(|| self.username.clone()),
            password: (!self.password.is_empty())
                .then(|| Bytes::from(self.password.clone().into_bytes())),
            will,
            session_expiry_interval,
            ..ClientOptions::default()
        })
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The settings saved under `key`, if any (and readable).
pub fn load(key: &str) -> Option<ConnectionSettings> {
    let text = storage()?.get_item(&format!("tabmq-lab:{key}")).ok()??;
    serde_json::from_str(&text).ok()
}

/// Saves `settings` under `key`; a full or missing localStorage only loses the memory.
pub fn save(key: &str, settings: &ConnectionSettings) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(settings)) {
        let _ = storage.set_item(&format!("tabmq-lab:{key}"), &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_make_options_and_name_the_bad_field() {
        let mut s = ConnectionSettings {
            version: 5,
            client_id: "lab-1".into(),
            clean: false,
            will_topic: "lab/will".into(),
            will_payload: "gone".into(),
            will_qos: 1,
            session_expiry: "60".into(),
            ..ConnectionSettings::default()
        };
        let o = s.options().unwrap_or_default();
        assert_eq!(o.protocol, ProtocolVersion::V5);
        assert_eq!(o.session_expiry_interval, Some(60));
        assert_eq!(o.will.map(|w| w.qos), Some(QoS::AtLeastOnce));
        s.will_topic = "lab/+".into();
        assert!(s.options().is_err_and(|e| e.starts_with("Will topic")));
        s.will_topic.clear();
        s.session_expiry = "soon".into();
        assert!(s.options().is_err_and(|e| e.starts_with("Session expiry")));
    }

    #[test]
    fn settings_survive_json_and_missing_fields_take_defaults() {
        let s = ConnectionSettings {
            keepalive: 12,
            ..ConnectionSettings::default()
        };
        let text = serde_json::to_string(&s).unwrap_or_default();
        assert_eq!(
            serde_json::from_str::<ConnectionSettings>(&text).ok(),
            Some(s)
        );
        let old: Option<ConnectionSettings> = serde_json::from_str(r#"{"keepalive": 7}"#).ok();
        assert_eq!(old.map(|o| (o.keepalive, o.version)), Some((7, 4)));
    }
}
