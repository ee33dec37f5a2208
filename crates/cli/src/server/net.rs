//! Sockets: TCP and WebSocket connections, each a task that moves bytes between its socket
//! and the broker task. Every buffer the broker hands out for a connection leaves as one
//! write (one WebSocket frame), so packets made in the same turn travel together.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tabmq_broker::ConnId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// From a connection task to the broker task.
pub enum Event {
    Open {
        peer: String,
        out: mpsc::UnboundedSender<Out>,
        id: oneshot::Sender<ConnId>,
    },
    Data(ConnId, Vec<u8>),
    Closed(ConnId),
}

/// From the broker task to a connection task.
pub enum Out {
    Bytes(Bytes),
    Close,
}

async fn open(
    events: &mpsc::UnboundedSender<Event>,
    peer: String,
) -> Option<(ConnId, mpsc::UnboundedReceiver<Out>)> {
    let (out, out_rx) = mpsc::unbounded_channel();
    let (id_tx, id_rx) = oneshot::channel();
    events
        .send(Event::Open {
            peer,
            out,
            id: id_tx,
        })
        .ok()?;
    Some((id_rx.await.ok()?, out_rx))
}

/// Most bytes one write gathers: enough to batch a burst, little enough to stay fair.
const BATCH_LIMIT: usize = 256 * 1024;

/// The next buffer to write, with whatever else is already waiting appended into `batch`
/// (left empty when only one buffer was there): under load, the packets of many broker
/// turns leave in one write, or one WebSocket frame. `None` once the connection is to end.
async fn next_batch(
    out_rx: &mut mpsc::UnboundedReceiver<Out>,
    batch: &mut Vec<u8>,
) -> Option<Bytes> {
    batch.clear();
    let Out::Bytes(first) = out_rx.recv().await? else {
        return None;
    };
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

pub async fn serve_tcp(stream: TcpStream, events: mpsc::UnboundedSender<Event>) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let Some((id, mut out_rx)) = open(&events, peer).await else {
        return;
    };
    let (mut rd, mut wr) = stream.into_split();
    let mut writer = tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(first) = next_batch(&mut out_rx, &mut batch).await {
            let bytes: &[u8] = if batch.is_empty() { &first } else { &batch };
            if wr.write_all(bytes).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            read = rd.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if events.send(Event::Data(id, buf[..n].to_vec())).is_err() {
                        break;
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

pub async fn serve_websocket(stream: TcpStream, events: mpsc::UnboundedSender<Event>) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, choose_subprotocol).await else {
        return;
    };
    let Some((id, mut out_rx)) = open(&events, peer).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let mut writer = tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(first) = next_batch(&mut out_rx, &mut batch).await {
            let frame = if batch.is_empty() {
                first
            } else {
                Bytes::from(std::mem::take(&mut batch))
            };
            if sink.send(Message::Binary(frame)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Binary(data))) => {
                    if events.send(Event::Data(id, data.to_vec())).is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                // [MQTT-6.0.0-1]: MQTT travels in binary frames; anything else ends it.
                _ => break,
            },
            _ = &mut writer => break,
        }
    }
    let _ = events.send(Event::Closed(id));
}
