//! A native MQTT client over TCP on the core's engine: blocking, one thread, reconnecting
//! with exponential backoff and full jitter, and resuming its session.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant as StdInstant};
use tabmq_core::{
    Backoff, ClientEngine, ClientEvent, ClientOptions, ClientSession, CloseReason, ConnectionState,
    Instant,
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
    fn on_event(&mut self, engine: &mut ClientEngine, now: Instant, event: &ClientEvent);
    fn done(&self, engine: &ClientEngine) -> bool;
    /// Why the command failed, once it is done; `None` if it succeeded.
    fn failure(&mut self) -> Option<String>;
}

/// The engine plus a socket; time is measured from `start`.
pub struct NativeClient {
    pub engine: ClientEngine,
    endpoint: Endpoint,
    stream: Option<TcpStream>,
    start: StdInstant,
    failures: u32,
    rng: u64,
}

impl NativeClient {
    pub fn new(options: ClientOptions, endpoint: Endpoint) -> NativeClient {
        let seed = StdInstant::now().elapsed().as_nanos() as u64 ^ u64::from(std::process::id());
        NativeClient {
            engine: ClientEngine::new(options, ClientSession::new()),
            endpoint,
            stream: None,
            start: StdInstant::now(),
            failures: 0,
            rng: seed | 1,
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_millis(self.start.elapsed().as_millis() as u64)
    }

    /// Full jitter: a random wait between zero and the capped exponential step.
    fn backoff(&mut self) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        Backoff::new(self.endpoint.backoff_min, self.endpoint.backoff_max)
            .with_failures(self.failures)
            .next_delay(self.rng)
    }

    /// One attempt at a TCP connection; on success CONNECT is queued. A failed attempt
    /// leaves the stream empty for the run loop's backoff, or is an error when reconnecting
    /// is off.
    fn open(&mut self) -> Result<(), NetError> {
        match TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port)) {
            Ok(stream) => {
                // Small reads keep the loop responsive to timers; Nagle off so acks leave at once.
                let _ = stream.set_nodelay(true);
                let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
                self.stream = Some(stream);
                let now = self.now();
                // A fresh transport always finds the engine disconnected.
                let _ = self.engine.connect(now);
                Ok(())
            }
            Err(e) if !self.endpoint.reconnect => Err(NetError::Connect(e)),
            Err(_) => {
                self.failures += 1;
                Ok(())
            }
        }
    }

    fn drop_connection(&mut self) {
        self.stream = None;
        let now = self.now();
        self.engine.connection_lost(now);
    }

    /// Writes what the engine produced. A failed write drops the connection.
    fn flush(&mut self) {
        while let Some(bytes) = self.engine.poll_transmit() {
            let Some(stream) = self.stream.as_mut() else {
                continue;
            };
            if stream.write_all(&bytes).is_err() {
                self.drop_connection();
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
        loop {
            // Events first: a Closed left over from the old connection must be seen before
            // a new one is opened, not after.
            self.flush();
            while let Some(event) = self.engine.poll_event() {
                last_progress = StdInstant::now();
                if matches!(event, ClientEvent::Connected { .. }) {
                    self.failures = 0;
                }
                if let ClientEvent::Closed(reason) = &event {
                    if self.engine.state() == ConnectionState::Disconnected {
                        self.stream = None;
                    }
                    self.failures += 1;
                    if let CloseReason::Refused(code) = reason {
                        return Err(NetError::Refused(code.0));
                    }
                }
                let now = self.now();
                handler.on_event(&mut self.engine, now, &event);
                self.flush();
            }
            if handler.done(&self.engine) {
                return Ok(());
            }
            if last_progress.elapsed() > stall_after {
                return Err(NetError::Stalled(stall_after));
            }
            if self.stream.is_none() {
                if !self.endpoint.reconnect && self.failures > 0 {
                    return Err(NetError::Closed);
                }
                if self.failures > 0 {
                    let wait = self.backoff();
                    std::thread::sleep(wait);
                }
                self.open()?;
                continue;
            }
            let read = self.stream.as_mut().map(|s| s.read(&mut buf));
            match read {
                Some(Ok(0)) => self.drop_connection(),
                Some(Ok(n)) => {
                    let now = self.now();
                    self.engine.handle_bytes(&buf[..n], now);
                }
                Some(Err(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                }
                Some(Err(_)) => self.drop_connection(),
                None => {}
            }
            let now = self.now();
            if self.engine.poll_timeout().is_some_and(|t| t <= now) {
                self.engine.handle_timeout(now);
            }
        }
    }

    /// Sends DISCONNECT and closes the socket.
    pub fn disconnect(&mut self) {
        if self.engine.state() != ConnectionState::Disconnected {
            let now = self.now();
            self.engine.disconnect(now);
            self.flush();
        }
        if let Some(stream) = self.stream.take() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
