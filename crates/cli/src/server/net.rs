//! Sockets: TCP, WebSocket and TLS connections, each a task that moves bytes between its
//! stream and the broker task. Every buffer the broker hands out for a connection leaves
//! as one write (one WebSocket frame), so packets made in the same turn travel together.
//! A connection task reports what it has written, so the broker knows what a slow reader
//! holds, and stops reading while the broker has paused it (both through
//! [`conn_link`](super::conn_link)).

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::io;
use tabmq_broker::ConnId;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use super::conn_link::{self, BrokerEnd, ConnEnd, ReadCredit};

/// From a connection task to the broker task.
pub enum Event {
    Open {
        peer: String,
        listener: usize,
        /// The TLS client certificate's identity, as the listener names clients.
        identity: Option<String>,
        /// What to write, and whether to read.
        link: BrokerEnd,
        id: oneshot::Sender<ConnId>,
    },
    /// Bytes read, with the read credit they hold until the broker task is done with them.
    Data(ConnId, Bytes, ReadCredit),
    /// This many bytes the broker handed out were written to the socket.
    Written(ConnId, usize),
    Closed(ConnId),
}

/// What a connection task needs besides its stream.
pub struct Link {
    pub events: mpsc::UnboundedSender<Event>,
    pub peer: String,
    pub listener: usize,
    pub identity: Option<String>,
}

/// Tells the broker task of a new connection; its id, and the connection's end of the link.
async fn open(link: &Link) -> Option<(ConnId, ConnEnd)> {
    let (broker_end, conn_end) = conn_link::link();
    let (id_tx, id_rx) = oneshot::channel();
    link.events
        .send(Event::Open {
            peer: link.peer.clone(),
            listener: link.listener,
            identity: link.identity.clone(),
            link: broker_end,
            id: id_tx,
        })
        .ok()?;
    Some((id_rx.await.ok()?, conn_end))
}

/// Most bytes one write gathers: enough to batch a burst of small packets, little enough
/// to stay fair. A buffer at least this big is written on its own, uncopied.
const BATCH_LIMIT: usize = 64 * 1024;

/// The next bytes to write: one buffer as it came, or (under load) the small buffers of
/// many broker turns gathered into `batch`, so they leave in one write or one WebSocket
/// frame. `None` once the connection is to end.
async fn next_batch(out_rx: &ConnEnd, batch: &mut Vec<u8>) -> Option<Bytes> {
    if batch.capacity() > 2 * BATCH_LIMIT {
        // A burst's buffer is not kept for an idle connection.
        *batch = Vec::new();
    }
    batch.clear();
    let first = out_rx.recv().await?;
    if first.len() >= BATCH_LIMIT {
        return Some(first);
    }
    while batch.len() + first.len() < BATCH_LIMIT {
        let Some(more) = out_rx.try_recv() else { break };
        if batch.is_empty() {
            batch.extend_from_slice(&first);
        }
        batch.extend_from_slice(&more);
    }
    Some(first)
}

/// Reads start at this size, so thousands of stalled connections cost little; they
/// double while reads fill them, up to [`READ_MAX`], and halve while reads use a quarter.
const READ_START: usize = 512;
const READ_MAX: usize = 64 * 1024;

/// The read side of a byte stream: each read in a buffer of its own, handed to the broker
/// task as it is (no copy).
pub trait ReadSide: Send + 'static {
    /// The next bytes, at most `limit`; none at the end of the stream.
    fn read_next(&mut self, limit: usize) -> impl Future<Output = io::Result<BytesMut>> + Send;
}

/// Plain TCP waits until the socket is readable before it makes a buffer: an idle
/// connection holds none.
impl ReadSide for tokio::net::tcp::OwnedReadHalf {
    async fn read_next(&mut self, limit: usize) -> io::Result<BytesMut> {
        loop {
            self.readable().await?;
            let mut buf = BytesMut::with_capacity(limit);
            match self.try_read_buf(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                read => return read.map(|_| buf),
            }
        }
    }
}

/// Any other stream (TLS) reads into a buffer it holds while it waits.
impl<S: AsyncRead + Send + 'static> ReadSide for tokio::io::ReadHalf<S> {
    async fn read_next(&mut self, limit: usize) -> io::Result<BytesMut> {
        let mut buf = BytesMut::with_capacity(limit);
        self.read_buf(&mut buf).await?;
        Ok(buf)
    }
}

/// The next read's limit after a read of `n` bytes under `limit`.
fn next_limit(limit: usize, n: usize) -> usize {
    if n == limit {
        (limit * 2).min(READ_MAX)
    } else if n < limit / 4 {
        (limit / 2).max(READ_START)
    } else {
        limit
    }
}

/// A plain TCP connection.
pub async fn serve_tcp(stream: tokio::net::TcpStream, link: Link) {
    let (rd, wr) = stream.into_split();
    serve_stream(rd, wr, link).await;
}

/// A byte stream's connection (plain TCP, or TLS after its handshake).
pub async fn serve_stream<R, W>(mut rd: R, mut wr: W, link: Link)
where
    R: ReadSide,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let Some((id, conn)) = open(&link).await else {
        return;
    };
    let conn = std::sync::Arc::new(conn);
    let events = link.events;
    let written = events.clone();
    let out_rx = conn.clone();
    let mut writer = tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(first) = next_batch(&out_rx, &mut batch).await {
            let bytes: &[u8] = if batch.is_empty() { &first } else { &batch };
            if wr.write_all(bytes).await.is_err() {
                break;
            }
            let _ = written.send(Event::Written(id, bytes.len()));
        }
        let _ = wr.shutdown().await;
    });
    let mut limit = READ_START;
    loop {
        tokio::select! {
            read = async {
                let permit = conn.credit().await;
                conn.while_paused().await;
                (rd.read_next(limit).await, permit)
            } => match read {
                (Ok(buf), Some(permit)) if !buf.is_empty() => {
                    limit = next_limit(limit, buf.len());
                    if events.send(Event::Data(id, buf.freeze(), permit)).is_err() {
                        break;
                    }
                }
                _ => break,
            },
            // The broker closed it (its last words are written first).
            _ = &mut writer => break,
        }
    }
    let _ = events.send(Event::Closed(id));
}

/// Agrees to the `mqtt` subprotocol when offered [MQTT-6.0.0-3]; a client offering
/// nothing is still served, as Mosquitto does.
#[allow(clippy::result_large_err)]
fn choose_subprotocol(
    request: &Request,
    mut response: Response,
) -> Result<Response, tokio_tungstenite::tungstenite::handshake::server::ErrorResponse> {
    let offered = request
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(str::trim))
        .any(|p| p == "mqtt");
    if offered {
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    }
    Ok(response)
}

pub async fn serve_websocket<S>(stream: S, link: Link)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, choose_subprotocol).await else {
        return;
    };
    let Some((id, conn)) = open(&link).await else {
        return;
    };
    let conn = std::sync::Arc::new(conn);
    let events = link.events;
    let (mut sink, mut stream) = ws.split();
    let written = events.clone();
    let out_rx = conn.clone();
    let mut writer = tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(first) = next_batch(&out_rx, &mut batch).await {
            let frame = if batch.is_empty() {
                first
            } else {
                Bytes::from(std::mem::take(&mut batch))
            };
            let len = frame.len();
            if sink.send(Message::Binary(frame)).await.is_err() {
                break;
            }
            let _ = written.send(Event::Written(id, len));
        }
        let _ = sink.close().await;
    });
    loop {
        tokio::select! {
            message = async {
                let permit = conn.credit().await;
                conn.while_paused().await;
                (stream.next().await, permit)
            } => match message {
                (Some(Ok(Message::Binary(data))), Some(permit)) => {
                    if events.send(Event::Data(id, data, permit)).is_err() {
                        break;
                    }
                }
                (Some(Ok(Message::Ping(_) | Message::Pong(_))), _) => {}
                // [MQTT-6.0.0-1]: MQTT travels in binary frames; anything else ends it.
                _ => break,
            },
            _ = &mut writer => break,
        }
    }
    let _ = events.send(Event::Closed(id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_grow_when_full_and_shrink_when_a_quarter_is_used() {
        assert_eq!(next_limit(READ_START, READ_START), 2 * READ_START);
        assert_eq!(next_limit(READ_MAX, READ_MAX), READ_MAX);
        assert_eq!(next_limit(4096, 100), 2048);
        assert_eq!(next_limit(READ_START, 10), READ_START);
        assert_eq!(next_limit(4096, 2000), 4096);
    }
}
