//! Sockets: TCP, WebSocket and TLS connections, each a task that moves bytes between its
//! stream and the broker task. Every buffer the broker hands out for a connection leaves
//! as one write (one WebSocket frame), so packets made in the same turn travel together.
//! A connection task reports what it has written, so the broker knows what a slow reader
//! holds, and stops reading while the broker has paused it.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tabmq_broker::ConnId;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// From a connection task to the broker task.
pub enum Event {
    Open {
        peer: String,
        listener: usize,
        /// The TLS client certificate's identity, as the listener names clients.
        identity: Option<String>,
        out: mpsc::UnboundedSender<Out>,
        /// True while the broker wants this connection not read.
        paused: watch::Sender<bool>,
        id: oneshot::Sender<ConnId>,
    },
    /// Bytes read, with the read credit they hold until the broker task is done with
    /// them: a connection has at most [`READS_IN_FLIGHT`] reads waiting, so a fast
    /// publisher cannot pile its stream up in the channel, and a pause takes hold at once.
    Data(ConnId, Vec<u8>, OwnedSemaphorePermit),
    /// This many bytes the broker handed out were written to the socket.
    Written(ConnId, usize),
    Closed(ConnId),
}

/// From the broker task to a connection task.
pub enum Out {
    Bytes(Bytes),
    Close,
}

/// What a connection task needs besides its stream.
pub struct Link {
    pub events: mpsc::UnboundedSender<Event>,
    pub peer: String,
    pub listener: usize,
    pub identity: Option<String>,
}

struct Opened {
    id: ConnId,
    out_rx: mpsc::UnboundedReceiver<Out>,
    paused: watch::Receiver<bool>,
}

async fn open(link: &Link) -> Option<Opened> {
    let (out, out_rx) = mpsc::unbounded_channel();
    let (paused_tx, paused) = watch::channel(false);
    let (id_tx, id_rx) = oneshot::channel();
    link.events
        .send(Event::Open {
            peer: link.peer.clone(),
            listener: link.listener,
            identity: link.identity.clone(),
            out,
            paused: paused_tx,
            id: id_tx,
        })
        .ok()?;
    Some(Opened {
        id: id_rx.await.ok()?,
        out_rx,
        paused,
    })
}

/// Most bytes one write gathers: enough to batch a burst of small packets, little enough
/// to stay fair. A buffer at least this big is written on its own, uncopied.
const BATCH_LIMIT: usize = 64 * 1024;

/// The next bytes to write: one buffer as it came, or (under load) the small buffers of
/// many broker turns gathered into `batch`, so they leave in one write or one WebSocket
/// frame. `None` once the connection is to end.
async fn next_batch(
    out_rx: &mut mpsc::UnboundedReceiver<Out>,
    batch: &mut Vec<u8>,
) -> Option<Bytes> {
    if batch.capacity() > 2 * BATCH_LIMIT {
        // A burst's buffer is not kept for an idle connection.
        *batch = Vec::new();
    }
    batch.clear();
    let Out::Bytes(first) = out_rx.recv().await? else {
        return None;
    };
    if first.len() >= BATCH_LIMIT {
        return Some(first);
    }
    let mut ending = false;
    while batch.len() + first.len() < BATCH_LIMIT {
        match out_rx.try_recv() {
            Ok(Out::Bytes(more)) => {
                if batch.is_empty() {
                    batch.extend_from_slice(&first);
                }
                batch.extend_from_slice(&more);
            }
            Ok(Out::Close) => {
                ending = true;
                break;
            }
            Err(_) => break,
        }
    }
    if ending {
        // Written first; the next call sees the channel closed or empty and ends.
        out_rx.close();
    }
    Some(first)
}

/// Waits while the broker has this connection paused.
async fn while_paused(paused: &mut watch::Receiver<bool>) {
    while *paused.borrow_and_update() {
        if paused.changed().await.is_err() {
            return;
        }
    }
}

/// The read buffer starts small, so thousands of idle or stalled connections cost
/// little, and grows when reads fill it.
const READ_START: usize = 512;
const READ_MAX: usize = 64 * 1024;

/// Reads a connection may have waiting for the broker task.
pub const READS_IN_FLIGHT: usize = 2;

/// One read's credit; waits while the broker task still holds the connection's others.
async fn credit(reads: &std::sync::Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
    reads.clone().acquire_owned().await.ok()
}

pub async fn serve_stream<S>(stream: S, link: Link)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let Some(Opened {
        id,
        mut out_rx,
        mut paused,
    }) = open(&link).await
    else {
        return;
    };
    let events = link.events;
    let (mut rd, mut wr) = tokio::io::split(stream);
    let written = events.clone();
    let mut writer = tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(first) = next_batch(&mut out_rx, &mut batch).await {
            let bytes: &[u8] = if batch.is_empty() { &first } else { &batch };
            if wr.write_all(bytes).await.is_err() {
                break;
            }
            let _ = written.send(Event::Written(id, bytes.len()));
        }
        let _ = wr.shutdown().await;
    });
    let mut buf = vec![0u8; READ_START];
    let reads = std::sync::Arc::new(Semaphore::new(READS_IN_FLIGHT));
    loop {
        tokio::select! {
            read = async {
                let permit = credit(&reads).await;
                while_paused(&mut paused).await;
                (rd.read(&mut buf).await, permit)
            } => match read {
                (Ok(0) | Err(_), _) | (_, None) => break,
                (Ok(n), Some(permit)) => {
                    if events.send(Event::Data(id, buf[..n].to_vec(), permit)).is_err() {
                        break;
                    }
                    if n == buf.len() && buf.len() < READ_MAX {
                        buf.resize(buf.len() * 2, 0);
                    }
                }
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
    let Some(Opened {
        id,
        mut out_rx,
        mut paused,
    }) = open(&link).await
    else {
        return;
    };
    let events = link.events;
    let (mut sink, mut stream) = ws.split();
    let written = events.clone();
    let mut writer = tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(first) = next_batch(&mut out_rx, &mut batch).await {
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
    let reads = std::sync::Arc::new(Semaphore::new(READS_IN_FLIGHT));
    loop {
        tokio::select! {
            message = async {
                let permit = credit(&reads).await;
                while_paused(&mut paused).await;
                (stream.next().await, permit)
            } => match message {
                (Some(Ok(Message::Binary(data))), Some(permit)) => {
                    if events.send(Event::Data(id, data.to_vec(), permit)).is_err() {
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
