//! The I/O shell of `tabmq pub` and `tabmq sub`: the core's [`ClientMachine`] over TCP,
//! blocking, on one thread. Reconnecting, backoff, the connect timeout, keepalive,
//! resubscribing and which command completes when are the machine's decisions, the same
//! ones the npm package and the web-sys client make; this file opens and closes sockets
//! when told, moves bytes and waits for the machine's one deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant as StdInstant};
use tabmq_core::{
    Action, Backoff, BrokerUrl, ClientMachine, ClientOptions, ClientSession, CloseReason,
    ConnectionPolicy, End, Instant, MachineEvent, Transmit, TransportId,
};

/// Where to connect and how to behave when the connection drops.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// Reconnect after a drop (with backoff); otherwise a drop ends the run.
    pub reconnect: bool,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

/// Why the client stopped. The environment or the broker is at fault.
#[derive(Debug)]
pub enum NetError {
    /// The TCP connection could not be made and reconnecting is off.
    Connect(std::io::Error),
    /// Gave up: no progress for this long.
    Stalled(Duration),
    /// The broker refused CONNECT with this code.
    Refused(u8),
    /// The connection ended and reconnecting is off.
    Closed,
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Connect(e) => write!(f, "could not connect: {e}"),
            NetError::Stalled(d) => write!(f, "no progress for {}s; giving up", d.as_secs()),
            NetError::Refused(code) => {
                write!(f, "the broker refused the connection (0x{code:02x})")
            }
            NetError::Closed => f.write_str("the connection closed"),
        }
    }
}

/// What a command does with the client's events, and when it is finished.
pub trait Handler {
    /// Gives commands to `machine` (with tokens of its own) and hears how they end.
    fn on_event(&mut self, machine: &mut ClientMachine, now: Instant, event: &MachineEvent);
    fn done(&self, machine: &ClientMachine) -> bool;
    /// Why the command failed, once it is done; `None` if it succeeded.
    fn failure(&mut self) -> Option<String>;
}

/// The machine plus a socket; time is measured from `start`.
pub struct NativeClient {
    pub machine: ClientMachine,
    stream: Option<(TransportId, TcpStream)>,
    start: StdInstant,
    reconnect: bool,
    /// Why the last attempt to open a socket failed.
    last_error: Option<std::io::Error>,
}

/// How long one attempt at a TCP connection may take.
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl NativeClient {
    pub fn new(options: ClientOptions, endpoint: Endpoint) -> NativeClient {
        let seed = StdInstant::now().elapsed().as_nanos() as u64 ^ u64::from(std::process::id());
        let policy = ConnectionPolicy {
            reconnect: endpoint
                .reconnect
                .then(|| Backoff::new(endpoint.backoff_min, endpoint.backoff_max)),
            seed,
            ..ConnectionPolicy::default()
        };
        let url = BrokerUrl::Tcp {
            host: endpoint.host,
            port: endpoint.port,
            tls: false,
        };
        NativeClient {
            machine: ClientMachine::new(options, policy, url, ClientSession::new()),
            stream: None,
            start: StdInstant::now(),
            reconnect: endpoint.reconnect,
            last_error: None,
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_millis(self.start.elapsed().as_millis() as u64)
    }

    fn open(&mut self, transport: TransportId, url: &BrokerUrl) {
        let BrokerUrl::Tcp { host, port, .. } = url else {
            return self.machine.handle_closed(transport, self.now());
        };
        let addrs = (host.as_str(), *port).to_socket_addrs();
        let stream = addrs.and_then(|mut addrs| {
            let addr = addrs
                .next()
                .ok_or_else(|| std::io::Error::new(ErrorKind::NotFound, "no address"))?;
            TcpStream::connect_timeout(&addr, TCP_CONNECT_TIMEOUT)
        });
        match stream {
            Ok(stream) => {
                // Nagle off so acks leave at once.
                let _ = stream.set_nodelay(true);
                self.stream = Some((transport, stream));
                let now = self.now();
                self.machine.handle_opened(transport, now);
            }
            Err(e) => {
                self.last_error = Some(e);
                let now = self.now();
                self.machine.handle_closed(transport, now);
            }
        }
    }

    fn drop_stream(&mut self) {
        if let Some((t, stream)) = self.stream.take() {
            let _ = stream.shutdown(Shutdown::Both);
            let now = self.now();
            self.machine.handle_closed(t, now);
        }
    }

    /// Writes what the machine has and does what it says.
    fn flush(&mut self) {
        for _ in 0..100_000 {
            if let Some(Transmit {
                transport: t,
                bytes,
                ..
            }) = self.machine.poll_transmit()
            {
                let failed = match self.stream.as_mut() {
                    Some((st, stream)) if *st == t => stream.write_all(&bytes).is_err(),
                    _ => false,
                };
                if failed {
                    self.drop_stream();
                }
                continue;
            }
            match self.machine.poll_action() {
                Some(Action::Open { transport, url }) => self.open(transport, &url),
                Some(Action::Close { transport } | Action::Cut { transport }) => {
                    if self.stream.as_ref().is_some_and(|(t, _)| *t == transport) {
                        self.drop_stream();
                    }
                }
                _ => return,
            }
        }
    }

    /// Runs until the handler is done, handing it each event. Returns an error if no event
    /// arrives for `stall_after`, the broker refuses, or the connection ends and reconnecting
    /// is off.
    pub fn run(
        &mut self,
        stall_after: Duration,
        handler: &mut impl Handler,
    ) -> Result<(), NetError> {
        let mut last_progress = StdInstant::now();
        let mut buf = vec![0u8; 64 * 1024];
        let now = self.now();
        self.machine.connect(now);
        loop {
            self.flush();
            while let Some(event) = self.machine.poll_event() {
                // Attempts that fail are not progress: a broker that is gone must end the run.
                if matches!(
                    event,
                    MachineEvent::Connected { .. }
                        | MachineEvent::Message(_)
                        | MachineEvent::Completed { .. }
                ) {
                    last_progress = StdInstant::now();
                }
                match &event {
                    MachineEvent::Closed(CloseReason::Refused(code)) => {
                        return Err(NetError::Refused(code.0))
                    }
                    MachineEvent::TransportFailed if !self.reconnect => {
                        let e = self.last_error.take();
                        return Err(e.map_or(NetError::Closed, NetError::Connect));
                    }
                    MachineEvent::Closed(_) if !self.reconnect => return Err(NetError::Closed),
                    _ => {}
                }
                let now = self.now();
                handler.on_event(&mut self.machine, now, &event);
                self.flush();
            }
            if handler.done(&self.machine) {
                return Ok(());
            }
            if last_progress.elapsed() > stall_after {
                return Err(NetError::Stalled(stall_after));
            }
            // Wait for bytes, or for the machine's deadline, whichever comes first.
            let now = self.now();
            let until = self
                .machine
                .poll_timeout()
                .map_or(Duration::from_millis(50), |t| t - now)
                .clamp(Duration::from_millis(1), Duration::from_millis(50));
            let read = match self.stream.as_mut() {
                Some((t, stream)) => {
                    let _ = stream.set_read_timeout(Some(until));
                    Some((*t, stream.read(&mut buf)))
                }
                None => {
                    std::thread::sleep(until);
                    None
                }
            };
            match read {
                Some((_, Ok(0))) => self.drop_stream(),
                Some((t, Ok(n))) => {
                    let now = self.now();
                    self.machine.handle_bytes(t, &buf[..n], now);
                }
                Some((_, Err(e)))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Some((_, Err(_))) => self.drop_stream(),
                None => {}
            }
            let now = self.now();
            if self.machine.poll_timeout().is_some_and(|t| t <= now) {
                self.machine.handle_timeout(now);
            }
        }
    }

    /// Sends DISCONNECT and closes the socket.
    pub fn disconnect(&mut self) {
        let now = self.now();
        self.machine.end(End::default(), now);
        self.flush();
        if let Some((_, stream)) = self.stream.take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}
