//! The broker a client connects to, read from its URL once, for every client: the web-sys
//! client, the npm package and the CLI parse the same way and refuse the same mistakes.
//!
//! `ws://` and `wss://` reach a broker over WebSocket, `mqtt://` and `mqtts://` over TCP
//! (native only), and `tab://NAME[?shared][&persist=indexeddb]` the broker in a Worker of
//! this tab or, with `shared`, the one every tab of the origin shares.

use crate::prelude::*;
use core::fmt;

/// Where a client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokerUrl {
    /// `ws://` or `wss://`: the URL as given.
    WebSocket(String),
    /// `mqtt://HOST[:PORT]` (or `mqtts://`): port 1883 (8883) when none is given.
    Tcp { host: String, port: u16, tls: bool },
    /// `tab://NAME`: a broker in a worker of the page.
    InTab(TabUrl),
}

/// The parts of a `tab://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabUrl {
    pub name: String,
    /// One broker for every tab of the origin (a SharedWorker).
    pub shared: bool,
    /// `persist=indexeddb`: the broker keeps its state (persistent sessions with their
    /// queues, retained messages) in IndexedDB, across reloads.
    pub persist: bool,
}

/// Why a URL names no broker. The caller is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokerUrlError {
    /// Not `ws://`, `wss://`, `mqtt://`, `mqtts://` or `tab://`.
    UnsupportedScheme(String),
    /// `tab://` without a name, or with a path.
    MissingName(String),
    /// A `tab://` parameter this version does not know: refused rather than ignored, so a
    /// misspelt `?shraed` does not silently give a private broker.
    UnknownParameter { url: String, parameter: String },
    /// `mqtt://` with a port that is not a number from 1 to 65535.
    BadPort(String),
}

impl fmt::Display for BrokerUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerUrlError::UnsupportedScheme(url) => {
                write!(
                    f,
                    "{url}: use ws://, wss://, mqtt://, mqtts:// or tab://NAME[?shared]"
                )
            }
            BrokerUrlError::MissingName(url) => {
                write!(f, "{url}: the broker needs a name, as in tab://lab")
            }
            BrokerUrlError::UnknownParameter { url, parameter } => {
                write!(f, "{url}: unknown parameter \"{parameter}\"")
            }
            BrokerUrlError::BadPort(url) => write!(f, "{url}: the port must be 1 to 65535"),
        }
    }
}

impl core::error::Error for BrokerUrlError {}

impl BrokerUrlError {
    /// The stable code every client reports it with (the npm package's `Error.code`).
    pub fn error_code(&self) -> &'static str {
        "INVALID_URL"
    }
}

impl BrokerUrl {
    pub fn parse(url: &str) -> Result<BrokerUrl, BrokerUrlError> {
        if url.starts_with("ws://") || url.starts_with("wss://") {
            return Ok(BrokerUrl::WebSocket(url.to_owned()));
        }
        if let Some(rest) = url.strip_prefix("tab://") {
            return TabUrl::parse_rest(url, rest).map(BrokerUrl::InTab);
        }
        let (rest, tls) = match (url.strip_prefix("mqtt://"), url.strip_prefix("mqtts://")) {
            (Some(rest), _) => (rest, false),
            (_, Some(rest)) => (rest, true),
            _ => return Err(BrokerUrlError::UnsupportedScheme(url.to_owned())),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => match port.parse::<u16>() {
                Ok(p) if p > 0 => (host, p),
                _ => return Err(BrokerUrlError::BadPort(url.to_owned())),
            },
            None => (authority, if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() {
            return Err(BrokerUrlError::MissingName(url.to_owned()));
        }
        Ok(BrokerUrl::Tcp {
            host: host.to_owned(),
            port,
            tls,
        })
    }

    /// [`BrokerUrl::parse`] for a client in a browser, which speaks no TCP: as MQTT.js does
    /// there, `mqtt://` and `mqtts://` mean WebSocket (`ws://`, `wss://`) to the same host
    /// and port. Every browser client reads its URL here.
    pub fn parse_in_browser(url: &str) -> Result<BrokerUrl, BrokerUrlError> {
        let websocket = match (url.strip_prefix("mqtt://"), url.strip_prefix("mqtts://")) {
            (Some(rest), _) => crate::concat(&["ws://", rest]),
            (_, Some(rest)) => crate::concat(&["wss://", rest]),
            _ => return BrokerUrl::parse(url),
        };
        BrokerUrl::parse(&websocket)
    }

    /// Whether reaching it needs the network: the browser's offline state holds attempts
    /// back for these, never for a broker in the tab.
    pub fn needs_network(&self) -> bool {
        !matches!(self, BrokerUrl::InTab(_))
    }
}

impl TabUrl {
    /// Parses `tab://NAME[?shared][&persist=indexeddb]`.
    pub fn parse(url: &str) -> Result<TabUrl, BrokerUrlError> {
        match url.strip_prefix("tab://") {
            Some(rest) => TabUrl::parse_rest(url, rest),
            None => Err(BrokerUrlError::UnsupportedScheme(url.to_owned())),
        }
    }

    fn parse_rest(url: &str, rest: &str) -> Result<TabUrl, BrokerUrlError> {
        let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
        let name = name.trim_end_matches('/');
        if name.is_empty() || name.contains('/') {
            return Err(BrokerUrlError::MissingName(url.to_owned()));
        }
        let (mut shared, mut persist) = (false, false);
        for param in query.split('&').filter(|p| !p.is_empty()) {
            match param {
                "shared" | "shared=1" | "shared=true" => shared = true,
                "persist=indexeddb" => persist = true,
                other => {
                    return Err(BrokerUrlError::UnknownParameter {
                        url: url.to_owned(),
                        parameter: other.to_owned(),
                    })
                }
            }
        }
        Ok(TabUrl {
            name: name.to_owned(),
            shared,
            persist,
        })
    }

    /// The worker's name, which tells it its broker name and whether to persist.
    pub fn worker_name(&self) -> String {
        // Without `format!`: the npm client's wasm leaves `core::fmt` out.
        let suffix = if self.persist { ":persist" } else { "" };
        crate::concat(&["tabmq:", &self.name, suffix])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_parses_and_mistakes_are_refused() -> Result<(), BrokerUrlError> {
        assert_eq!(
            BrokerUrl::parse("ws://h:9001/mqtt"),
            Ok(BrokerUrl::WebSocket("ws://h:9001/mqtt".into()))
        );
        assert_eq!(
            BrokerUrl::parse("mqtt://127.0.0.1:1884"),
            Ok(BrokerUrl::Tcp {
                host: "127.0.0.1".into(),
                port: 1884,
                tls: false
            })
        );
        assert_eq!(
            BrokerUrl::parse("mqtts://h"),
            Ok(BrokerUrl::Tcp {
                host: "h".into(),
                port: 8883,
                tls: true
            })
        );
        // A browser speaks WebSocket for mqtt:// and mqtts://, as MQTT.js does there.
        assert_eq!(
            BrokerUrl::parse_in_browser("mqtt://h:9001/mqtt"),
            Ok(BrokerUrl::WebSocket("ws://h:9001/mqtt".into()))
        );
        assert_eq!(
            BrokerUrl::parse_in_browser("mqtts://h"),
            Ok(BrokerUrl::WebSocket("wss://h".into()))
        );
        assert!(BrokerUrl::parse_in_browser("tab://lab?shraed").is_err());
        let tab = BrokerUrl::parse("tab://lab?shared&persist=indexeddb")?;
        assert_eq!(
            tab,
            BrokerUrl::InTab(TabUrl {
                name: "lab".into(),
                shared: true,
                persist: true
            })
        );
        assert!(!tab.needs_network());
        assert!(matches!(
            BrokerUrl::parse("tab://lab?shraed"),
            Err(BrokerUrlError::UnknownParameter { parameter, .. }) if parameter == "shraed"
        ));
        assert!(matches!(
            BrokerUrl::parse("tab://"),
            Err(BrokerUrlError::MissingName(_))
        ));
        assert!(matches!(
            BrokerUrl::parse("http://h"),
            Err(BrokerUrlError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            BrokerUrl::parse("mqtt://h:0"),
            Err(BrokerUrlError::BadPort(_))
        ));
        Ok(())
    }
}
