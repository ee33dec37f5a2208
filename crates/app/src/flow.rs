//! One message's flow as a value: the packets of both hops, in order. `handshake.rs`
//! assembles flows from the clients' packet events; the handshake view draws them.

/// Which hop a packet crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Between the publisher and the broker.
    Publisher,
    /// Between the broker and the subscriber.
    Subscriber,
}

/// One packet of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub side: Side,
    /// Sent by the client (towards the broker), or received from it.
    pub from_client: bool,
    pub name: &'static str,
    pub packet_id: Option<u16>,
    pub dup: bool,
    /// The QoS of a PUBLISH.
    pub qos: Option<u8>,
    /// Milliseconds since the page loaded.
    pub at_ms: f64,
    /// A fault that hit it ("dropped", "duplicated", "delayed").
    pub fault: Option<&'static str>,
}

/// One application message, from PUBLISH to its last acknowledgement on both hops.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: u64,
    pub topic: String,
    pub payload: Vec<u8>,
    pub publisher: Option<String>,
    pub publisher_id: Option<u16>,
    pub publish_qos: Option<u8>,
    pub subscriber: Option<String>,
    pub subscriber_id: Option<u16>,
    pub delivered_qos: Option<u8>,
    pub steps: Vec<Step>,
}
