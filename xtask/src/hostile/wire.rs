//! Raw MQTT clients for the hostile scenarios: blocking loopback sockets that send what
//! they are told (valid or not), read when asked, and never retry.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use tabmq_core::{
    decode, encode_to_vec, Ack, BytesMut, Connect, LastWill, Packet, PacketId, Properties,
    ProtocolVersion, Publish, QoS, Subscribe, SubscribeFilter,
};

pub struct Client {
    pub stream: TcpStream,
    pub version: ProtocolVersion,
    inbox: BytesMut,
    scratch: Vec<u8>,
}

pub fn id(n: usize) -> PacketId {
    PacketId::new((n % 65_535 + 1) as u16).unwrap_or(PacketId::MIN)
}

pub fn connect_packet(version: ProtocolVersion, client_id: &str, will: Option<LastWill>) -> Packet {
    Packet::Connect(Connect {
        protocol: version,
        client_id: client_id.to_owned(),
        clean_start: true,
        keep_alive: 60,
        will,
        ..Connect::default()
    })
}

pub fn publish(topic: &str, payload: Vec<u8>, qos: QoS, n: usize, retain: bool) -> Packet {
    Packet::Publish(Publish {
        qos,
        retain,
        topic: topic.into(),
        packet_id: (qos != QoS::AtMostOnce).then(|| id(n)),
        payload: payload.into(),
        properties: Properties::default(),
        dup: false,
    })
}

pub fn subscribe(filters: &[String], qos: QoS, n: usize) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: id(n),
        filters: filters
            .iter()
            .map(|f| SubscribeFilter::new(f.clone(), qos))
            .collect(),
        properties: Properties::default(),
    })
}

impl Client {
    /// A TCP connection, nothing sent yet.
    pub fn raw(addr: SocketAddr) -> Result<Client, String> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Client {
            stream,
            version: ProtocolVersion::V311,
            inbox: BytesMut::new(),
            scratch: vec![0; 16 * 1024],
        })
    }

    /// Connected: CONNECT sent and CONNACK 0 read.
    pub fn open(
        addr: SocketAddr,
        version: ProtocolVersion,
        client_id: &str,
    ) -> Result<Client, String> {
        Client::open_with(addr, connect_packet(version, client_id, None))
    }

    pub fn open_with(addr: SocketAddr, connect: Packet) -> Result<Client, String> {
        let mut c = Client::raw(addr)?;
        if let Packet::Connect(p) = &connect {
            c.version = p.protocol;
        }
        c.send(&connect)?;
        match c.next(Instant::now() + Duration::from_secs(10))? {
            Some(Packet::ConnAck(a)) if a.code.0 == 0 => Ok(c),
            other => Err(format!("no CONNACK 0 but {other:?}")),
        }
    }

    pub fn send(&mut self, packet: &Packet) -> Result<(), String> {
        let bytes = encode_to_vec(packet, self.version).map_err(|e| e.to_string())?;
        self.write(&bytes)
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream.write_all(bytes).map_err(|e| e.to_string())
    }

    /// The next packet, `None` at `deadline`; an error once the broker closed it.
    pub fn next(&mut self, deadline: Instant) -> Result<Option<Packet>, String> {
        loop {
            if let Some(p) =
                decode(&mut self.inbox, self.version, usize::MAX).map_err(|e| e.to_string())?
            {
                return Ok(Some(p));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.stream
                .set_read_timeout(Some(left.min(Duration::from_millis(20))))
                .map_err(|e| e.to_string())?;
            match self.stream.read(&mut self.scratch) {
                Ok(0) => return Err("closed by the broker".into()),
                Ok(n) => self.inbox.extend_from_slice(&self.scratch[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Reads until a packet `want` accepts arrives (acknowledging deliveries on the way).
    pub fn until(
        &mut self,
        deadline: Instant,
        mut want: impl FnMut(&Packet) -> bool,
    ) -> Result<Option<Packet>, String> {
        while let Some(p) = self.next(deadline)? {
            self.acknowledge(&p)?;
            if want(&p) {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// What a well-behaved receiver answers.
    pub fn acknowledge(&mut self, p: &Packet) -> Result<(), String> {
        match p {
            Packet::Publish(m) => match (m.qos, m.packet_id) {
                (QoS::AtLeastOnce, Some(id)) => self.send(&Packet::PubAck(Ack::new(id))),
                (QoS::ExactlyOnce, Some(id)) => self.send(&Packet::PubRec(Ack::new(id))),
                _ => Ok(()),
            },
            Packet::PubRec(a) => self.send(&Packet::PubRel(Ack::new(a.packet_id))),
            Packet::PubRel(a) => self.send(&Packet::PubComp(Ack::new(a.packet_id))),
            _ => Ok(()),
        }
    }

    /// SUBSCRIBE and its SUBACK.
    pub fn subscribe(&mut self, filter: &str, qos: QoS) -> Result<(), String> {
        self.send(&subscribe(&[filter.to_owned()], qos, 1))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        match self.until(deadline, |p| matches!(p, Packet::SubAck(_)))? {
            Some(_) => Ok(()),
            None => Err(format!("no SUBACK for {filter}")),
        }
    }
}
