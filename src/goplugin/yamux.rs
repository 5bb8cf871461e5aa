//! A yamux *server* session (spec §2), written for go-plugin's host: it ACKs every inbound
//! stream the moment it arrives (hashicorp yamux ≥ v0.1.1 kills the session when a stream stays
//! un-ACKed for 75 s, and go-plugin opens stdout/stderr streams nobody writes to), answers pings
//! immediately from the reader task, keeps a 256 KiB receive window per stream and respects the
//! peer's send window. One reader task parses frames; one writer task owns the socket's write
//! half so frames never interleave. Hostile input ends the session with a GoAway, never a panic,
//! and nothing is allocated beyond what the receive windows allow.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use super::frame::*;

/// At most this many streams may be open at once; further SYNs are refused with RST.
pub const MAX_STREAMS: usize = 256;
/// Largest Data frame we emit (keeps one stream from hogging the socket).
const MAX_SEND_FRAME: usize = 64 * 1024;
/// hashicorp's ConnectionWriteTimeout: a socket write that takes longer ends the session.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Depth of the writer queue; producers wait when it is full (bounded memory).
const OUT_QUEUE: usize = 64;

/// Errors seen by users of a [`Stream`] or reported when a session ends.
#[derive(Debug, thiserror::Error)]
pub enum YamuxError {
    /// The session is gone (socket closed, protocol error, or shut down locally).
    #[error("yamux: session closed")]
    SessionClosed,
    /// The peer aborted the stream with RST.
    #[error("yamux: stream reset by peer")]
    StreamReset,
    /// We already half-closed this stream.
    #[error("yamux: write after close")]
    WriteClosed,
    /// The peer broke the protocol; the session was ended with GoAway(protocol error).
    #[error("yamux: protocol error: {0}")]
    Protocol(String),
    /// Reading or writing the socket failed.
    #[error("yamux: i/o: {0}")]
    Io(#[from] std::io::Error),
}

enum Outgoing {
    Frame(Header, Vec<u8>),
    Shutdown,
}

#[derive(Default)]
struct StreamState {
    recv_buf: VecDeque<u8>,
    /// Bytes the peer may still send: INITIAL_WINDOW - buffered - pending_delta.
    recv_window: u32,
    /// Consumed bytes not yet granted back with a WindowUpdate.
    pending_delta: u32,
    send_window: u32,
    remote_fin: bool,
    local_fin: bool,
    reset: bool,
    dead: bool,
}

struct StreamShared {
    id: u32,
    state: Mutex<StreamState>,
    readable: Notify,
    writable: Notify,
}

impl StreamShared {
    fn lock(&self) -> MutexGuard<'_, StreamState> {
        // A poisoned lock only means another task panicked mid-update; the state is plain data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn wake(&self) {
        self.readable.notify_waiters();
        self.writable.notify_waiters();
    }
}

struct Shared {
    out: mpsc::Sender<Outgoing>,
    streams: Mutex<HashMap<u32, Arc<StreamShared>>>,
    closed: watch::Sender<bool>,
    remote_go_away: AtomicBool,
}

impl Shared {
    fn streams(&self) -> MutexGuard<'_, HashMap<u32, Arc<StreamShared>>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }
    async fn send(&self, h: Header, payload: Vec<u8>) -> Result<(), YamuxError> {
        self.out
            .send(Outgoing::Frame(h, payload))
            .await
            .map_err(|_| YamuxError::SessionClosed)
    }
    fn mark_dead(&self) {
        let streams: Vec<_> = self.streams().drain().map(|(_, s)| s).collect();
        for s in streams {
            s.lock().dead = true;
            s.wake();
        }
        self.closed.send_replace(true);
    }
    fn forget_if_done(&self, s: &StreamShared) {
        let done = {
            let st = s.lock();
            st.reset || (st.remote_fin && st.local_fin)
        };
        if done {
            self.streams().remove(&s.id);
        }
    }
}

/// One multiplexed stream accepted from the peer. Cheap to clone; all clones are the same
/// stream. Writers should serialise themselves if their messages must stay contiguous.
#[derive(Clone)]
pub struct Stream {
    inner: Arc<StreamShared>,
    session: Arc<Shared>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("id", &self.inner.id)
            .finish()
    }
}

impl Stream {
    /// The yamux stream id (odd: opened by the host).
    pub fn id(&self) -> u32 {
        self.inner.id
    }

    /// Wait for data and append everything buffered to `buf`; `Ok(0)` means the peer
    /// half-closed (EOF). Consumed bytes are granted back to the peer once half the window
    /// has been consumed, as hashicorp does.
    pub async fn read(&self, buf: &mut Vec<u8>) -> Result<usize, YamuxError> {
        loop {
            let notified = self.inner.readable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let grant = {
                let mut st = self.inner.lock();
                if !st.recv_buf.is_empty() {
                    let n = st.recv_buf.len();
                    // Two slice copies, not a byte-at-a-time drain (a measurable share of a
                    // Run's plugin CPU with a few KiB of arguments; see BENCHMARKS.md §1).
                    let (front, back) = st.recv_buf.as_slices();
                    buf.extend_from_slice(front);
                    buf.extend_from_slice(back);
                    st.recv_buf.clear();
                    // n <= INITIAL_WINDOW, so the sum cannot overflow.
                    st.pending_delta = st.pending_delta.saturating_add(n as u32);
                    let grant = if st.pending_delta >= INITIAL_WINDOW / 2 && !st.reset {
                        let d = st.pending_delta;
                        st.pending_delta = 0;
                        st.recv_window = st.recv_window.saturating_add(d);
                        Some(d)
                    } else {
                        None
                    };
                    Some((n, grant))
                } else if st.reset {
                    return Err(YamuxError::StreamReset);
                } else if st.remote_fin {
                    return Ok(0);
                } else if st.dead {
                    return Err(YamuxError::SessionClosed);
                } else {
                    None
                }
            };
            if let Some((n, grant)) = grant {
                if let Some(d) = grant {
                    let h = Header::new(TYPE_WINDOW_UPDATE, 0, self.inner.id, d);
                    // If the session is gone the next read reports it.
                    let _ = self.session.send(h, Vec::new()).await;
                }
                return Ok(n);
            }
            notified.await;
        }
    }

    /// Read exactly `n` bytes into a fresh buffer, returning them and any extra bytes that
    /// arrived in the same chunk. `Ok(None)` on EOF before `n` bytes.
    pub async fn read_exact_with_rest(
        &self,
        n: usize,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>, YamuxError> {
        let mut buf = Vec::new();
        while buf.len() < n {
            if self.read(&mut buf).await? == 0 {
                return Ok(None);
            }
        }
        let rest = buf.split_off(n);
        Ok(Some((buf, rest)))
    }

    /// Write all of `data`, waiting for window updates when the peer's window is exhausted.
    pub async fn write_all(&self, data: &[u8]) -> Result<(), YamuxError> {
        let mut off = 0;
        while off < data.len() {
            let notified = self.inner.writable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let n = {
                let mut st = self.inner.lock();
                if st.reset {
                    return Err(YamuxError::StreamReset);
                }
                if st.dead {
                    return Err(YamuxError::SessionClosed);
                }
                if st.local_fin {
                    return Err(YamuxError::WriteClosed);
                }
                let n = (st.send_window as usize)
                    .min(data.len() - off)
                    .min(MAX_SEND_FRAME);
                // n <= send_window, so this fits in u32.
                st.send_window -= n as u32;
                n
            };
            if n == 0 {
                notified.await;
                continue;
            }
            let chunk = data.get(off..off + n).unwrap_or_default().to_vec();
            let h = Header::new(TYPE_DATA, 0, self.inner.id, n as u32);
            self.session.send(h, chunk).await?;
            off += n;
        }
        Ok(())
    }

    /// Half-close our direction (WindowUpdate|FIN). Idempotent.
    pub async fn close(&self) {
        {
            let mut st = self.inner.lock();
            if st.local_fin || st.reset || st.dead {
                return;
            }
            st.local_fin = true;
        }
        let h = Header::new(TYPE_WINDOW_UPDATE, FLAG_FIN, self.inner.id, 0);
        let _ = self.session.send(h, Vec::new()).await;
        self.session.forget_if_done(&self.inner);
    }

    /// Abort the stream (WindowUpdate|RST).
    pub async fn reset(&self) {
        {
            let mut st = self.inner.lock();
            if st.reset || st.dead {
                return;
            }
            st.reset = true;
        }
        self.inner.wake();
        self.session.streams().remove(&self.inner.id);
        let h = Header::new(TYPE_WINDOW_UPDATE, FLAG_RST, self.inner.id, 0);
        let _ = self.session.send(h, Vec::new()).await;
    }
}

/// A yamux server session over one connection.
pub struct Session {
    shared: Arc<Shared>,
    accept_rx: mpsc::Receiver<Stream>,
    reader: JoinHandle<Result<(), YamuxError>>,
    writer: JoinHandle<()>,
}

impl Session {
    /// Start serving `io` as the yamux server side (the host is the client). Spawns the
    /// reader and writer tasks on the current tokio runtime.
    pub fn server<T>(io: T) -> Session
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (r, w) = tokio::io::split(io);
        let (out_tx, out_rx) = mpsc::channel(OUT_QUEUE);
        let (closed_tx, closed_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            out: out_tx,
            streams: Mutex::new(HashMap::new()),
            closed: closed_tx,
            remote_go_away: AtomicBool::new(false),
        });
        let (accept_tx, accept_rx) = mpsc::channel(MAX_STREAMS);
        let reader_shared = shared.clone();
        let reader = tokio::spawn(async move {
            let res = read_loop(&reader_shared, r, accept_tx).await;
            if let Err(YamuxError::Protocol(_)) = &res {
                let h = Header::new(TYPE_GO_AWAY, 0, 0, GO_AWAY_PROTOCOL_ERROR);
                // Queue the GoAway before declaring the session dead so the writer sends it.
                let _ = reader_shared.out.try_send(Outgoing::Frame(h, Vec::new()));
            }
            reader_shared.mark_dead();
            res
        });
        let writer_shared = shared.clone();
        let writer = tokio::spawn(async move {
            write_loop(w, out_rx, closed_rx).await;
            writer_shared.mark_dead();
        });
        Session {
            shared,
            accept_rx,
            reader,
            writer,
        }
    }

    /// The next inbound stream (already ACKed), or `None` once the session has ended.
    pub async fn accept(&mut self) -> Option<Stream> {
        self.accept_rx.recv().await
    }

    /// Whether the peer sent GoAway (it will open no more streams).
    pub fn remote_go_away(&self) -> bool {
        self.shared.remote_go_away.load(Ordering::Relaxed)
    }

    /// Flush every frame queued so far (e.g. a `Control.Quit` reply), then close the socket.
    /// Waits at most `grace` for the flush.
    pub async fn shutdown(self, grace: Duration) {
        let _ = tokio::time::timeout(grace, self.shared.out.send(Outgoing::Shutdown)).await;
        let mut writer = self.writer;
        if tokio::time::timeout(grace, &mut writer).await.is_err() {
            writer.abort();
        }
        self.reader.abort();
        self.shared.mark_dead();
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: mpsc::Receiver<Outgoing>,
    mut closed: watch::Receiver<bool>,
) {
    loop {
        let item = tokio::select! {
            biased;
            item = rx.recv() => item,
            _ = async { let _ = closed.wait_for(|c| *c).await; } => {
                // Drain what is already queued (e.g. a GoAway), then stop.
                while let Ok(Outgoing::Frame(h, p)) = rx.try_recv() {
                    if write_frame(&mut w, h, &p).await.is_err() {
                        break;
                    }
                }
                None
            }
        };
        match item {
            Some(Outgoing::Frame(h, p)) => {
                if write_frame(&mut w, h, &p).await.is_err() {
                    break;
                }
            }
            Some(Outgoing::Shutdown) | None => break,
        }
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, w.shutdown()).await;
}

async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    h: Header,
    payload: &[u8],
) -> Result<(), YamuxError> {
    let mut buf = Vec::with_capacity(HEADER_LEN + payload.len());
    buf.extend_from_slice(&h.encode());
    buf.extend_from_slice(payload);
    match tokio::time::timeout(WRITE_TIMEOUT, async {
        w.write_all(&buf).await?;
        w.flush().await
    })
    .await
    {
        Ok(r) => r.map_err(YamuxError::Io),
        Err(_) => Err(YamuxError::Io(std::io::ErrorKind::TimedOut.into())),
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    shared: &Arc<Shared>,
    mut r: R,
    accept_tx: mpsc::Sender<Stream>,
) -> Result<(), YamuxError> {
    let mut hdr = [0u8; HEADER_LEN];
    loop {
        match r.read_exact(&mut hdr).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let h = Header::decode(&hdr).map_err(|e| YamuxError::Protocol(e.to_string()))?;
        match h.kind {
            TYPE_DATA | TYPE_WINDOW_UPDATE => {
                handle_stream_frame(shared, &mut r, &accept_tx, h).await?
            }
            TYPE_PING => {
                if h.has(FLAG_SYN) {
                    shared
                        .send(Header::new(TYPE_PING, FLAG_ACK, 0, h.length), Vec::new())
                        .await?;
                }
            }
            _ => {
                // GoAway: the host opens no more streams; existing ones keep working.
                shared.remote_go_away.store(true, Ordering::Relaxed);
            }
        }
    }
}

async fn discard<R: AsyncRead + Unpin>(r: &mut R, n: u32) -> Result<(), YamuxError> {
    let copied = tokio::io::copy(&mut r.take(u64::from(n)), &mut tokio::io::sink()).await?;
    if copied < u64::from(n) {
        return Err(YamuxError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(())
}

async fn handle_stream_frame<R: AsyncRead + Unpin>(
    shared: &Arc<Shared>,
    r: &mut R,
    accept_tx: &mpsc::Sender<Stream>,
    h: Header,
) -> Result<(), YamuxError> {
    let is_data = h.kind == TYPE_DATA;
    if is_data && h.length > INITIAL_WINDOW {
        // No stream ever has a larger receive window: reject before reading or allocating.
        return Err(YamuxError::Protocol(format!(
            "data frame of {} bytes exceeds the receive window",
            h.length
        )));
    }
    if h.has(FLAG_SYN) {
        open_inbound(shared, accept_tx, h.stream_id).await?;
    }
    let stream = shared.streams().get(&h.stream_id).cloned();
    let Some(s) = stream else {
        // Unknown or already-finished stream: drain its payload, as hashicorp does.
        if is_data {
            discard(r, h.length).await?;
        }
        return Ok(());
    };
    if is_data && h.length > 0 {
        let ok = {
            let st = s.lock();
            h.length <= st.recv_window
        };
        if !ok {
            return Err(YamuxError::Protocol(format!(
                "recv window exceeded on stream {}",
                h.stream_id
            )));
        }
        let mut payload = vec![0u8; h.length as usize];
        r.read_exact(&mut payload).await?;
        let mut st = s.lock();
        st.recv_window -= h.length;
        st.recv_buf.extend(payload);
        drop(st);
        s.readable.notify_waiters();
    } else if !is_data && h.length > 0 {
        let mut st = s.lock();
        st.send_window = st.send_window.saturating_add(h.length);
        drop(st);
        s.writable.notify_waiters();
    }
    if h.has(FLAG_RST) {
        s.lock().reset = true;
        shared.streams().remove(&h.stream_id);
        s.wake();
    } else if h.has(FLAG_FIN) {
        s.lock().remote_fin = true;
        s.readable.notify_waiters();
        shared.forget_if_done(&s);
    }
    Ok(())
}

async fn open_inbound(
    shared: &Arc<Shared>,
    accept_tx: &mpsc::Sender<Stream>,
    id: u32,
) -> Result<(), YamuxError> {
    if id == 0 || id.is_multiple_of(2) {
        return Err(YamuxError::Protocol(format!(
            "client opened stream with invalid id {id}"
        )));
    }
    let refuse = {
        let mut streams = shared.streams();
        if streams.contains_key(&id) {
            return Err(YamuxError::Protocol(format!("duplicate stream {id}")));
        }
        if streams.len() >= MAX_STREAMS {
            true
        } else {
            let st = StreamState {
                recv_window: INITIAL_WINDOW,
                send_window: INITIAL_WINDOW,
                ..Default::default()
            };
            streams.insert(
                id,
                Arc::new(StreamShared {
                    id,
                    state: Mutex::new(st),
                    readable: Notify::new(),
                    writable: Notify::new(),
                }),
            );
            false
        }
    };
    if refuse {
        return shared
            .send(Header::new(TYPE_WINDOW_UPDATE, FLAG_RST, id, 0), Vec::new())
            .await;
    }
    // Eager ACK: go-plugin's stdout/stderr streams are never written, so the ACK must not
    // wait for our first frame on the stream (spec §2.4 hazard 1).
    shared
        .send(Header::new(TYPE_WINDOW_UPDATE, FLAG_ACK, id, 0), Vec::new())
        .await?;
    let Some(inner) = shared.streams().get(&id).cloned() else {
        return Ok(());
    };
    let stream = Stream {
        inner,
        session: shared.clone(),
    };
    if accept_tx.try_send(stream).is_err() {
        shared.streams().remove(&id);
        shared
            .send(Header::new(TYPE_WINDOW_UPDATE, FLAG_RST, id, 0), Vec::new())
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    const BOUND: Duration = Duration::from_secs(2);

    async fn send(h: &mut DuplexStream, hdr: Header, payload: &[u8]) {
        h.write_all(&hdr.encode()).await.unwrap();
        h.write_all(payload).await.unwrap();
    }

    async fn recv(h: &mut DuplexStream) -> (Header, Vec<u8>) {
        let mut b = [0u8; HEADER_LEN];
        tokio::time::timeout(BOUND, h.read_exact(&mut b))
            .await
            .expect("frame within bound")
            .unwrap();
        let hdr = Header::decode(&b).unwrap();
        let mut p = vec![
            0u8;
            if hdr.kind == TYPE_DATA {
                hdr.length as usize
            } else {
                0
            }
        ];
        h.read_exact(&mut p).await.unwrap();
        (hdr, p)
    }

    fn pair() -> (Session, DuplexStream) {
        let (a, b) = tokio::io::duplex(1 << 20);
        (Session::server(a), b)
    }

    fn syn(id: u32) -> Header {
        Header::new(TYPE_WINDOW_UPDATE, FLAG_SYN, id, 0)
    }

    #[tokio::test]
    async fn fresh_streams_are_acked_eagerly_without_accept() {
        // Nobody calls accept(): the ACK must still come from the session itself.
        let (_s, mut host) = pair();
        for id in [1, 3, 5] {
            send(&mut host, syn(id), &[]).await;
        }
        for id in [1, 3, 5] {
            let (h, _) = recv(&mut host).await;
            assert_eq!(h, Header::new(TYPE_WINDOW_UPDATE, FLAG_ACK, id, 0));
        }
    }

    #[tokio::test]
    async fn ping_is_echoed_while_idle() {
        let (_s, mut host) = pair();
        send(
            &mut host,
            Header::new(TYPE_PING, FLAG_SYN, 0, 0xabcd_1234),
            &[],
        )
        .await;
        let (h, _) = recv(&mut host).await;
        assert_eq!(h, Header::new(TYPE_PING, FLAG_ACK, 0, 0xabcd_1234));
    }

    #[tokio::test]
    async fn data_round_trip_and_fin() {
        let (mut s, mut host) = pair();
        send(&mut host, syn(1), &[]).await;
        send(&mut host, Header::new(TYPE_DATA, 0, 1, 5), b"hello").await;
        send(
            &mut host,
            Header::new(TYPE_WINDOW_UPDATE, FLAG_FIN, 1, 0),
            &[],
        )
        .await;
        let st = s.accept().await.unwrap();
        assert_eq!(st.id(), 1);
        let mut buf = Vec::new();
        while st.read(&mut buf).await.unwrap() > 0 {}
        assert_eq!(buf, b"hello");
        st.write_all(b"world").await.unwrap();
        st.close().await;
        let (ack, _) = recv(&mut host).await;
        assert!(ack.has(FLAG_ACK));
        let (d, p) = recv(&mut host).await;
        assert_eq!(
            (d.kind, d.stream_id, p.as_slice()),
            (TYPE_DATA, 1, &b"world"[..])
        );
        let (fin, _) = recv(&mut host).await;
        assert_eq!(fin, Header::new(TYPE_WINDOW_UPDATE, FLAG_FIN, 1, 0));
    }

    #[tokio::test]
    async fn receive_window_is_granted_back_after_half_is_consumed() {
        let (mut s, mut host) = pair();
        send(&mut host, syn(1), &[]).await;
        let st = s.accept().await.unwrap();
        let _ack = recv(&mut host).await;
        // Fill the whole 256 KiB window.
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..4 {
            send(
                &mut host,
                Header::new(TYPE_DATA, 0, 1, chunk.len() as u32),
                &chunk,
            )
            .await;
        }
        let mut buf = Vec::new();
        while buf.len() < INITIAL_WINDOW as usize {
            st.read(&mut buf).await.unwrap();
        }
        let (wu, _) = recv(&mut host).await;
        assert_eq!(wu.kind, TYPE_WINDOW_UPDATE);
        assert_eq!(wu.stream_id, 1);
        assert!(wu.length >= INITIAL_WINDOW / 2, "delta {}", wu.length);
    }

    #[tokio::test]
    async fn data_beyond_window_ends_session_with_protocol_go_away() {
        let (mut s, mut host) = pair();
        send(&mut host, syn(1), &[]).await;
        let _st = s.accept().await.unwrap();
        let _ack = recv(&mut host).await;
        let chunk = vec![0u8; 200 * 1024];
        send(
            &mut host,
            Header::new(TYPE_DATA, 0, 1, chunk.len() as u32),
            &chunk,
        )
        .await;
        // Nobody read: only 56 KiB of window left.
        send(
            &mut host,
            Header::new(TYPE_DATA, 0, 1, chunk.len() as u32),
            &chunk,
        )
        .await;
        let (h, _) = recv(&mut host).await;
        assert_eq!(h, Header::new(TYPE_GO_AWAY, 0, 0, GO_AWAY_PROTOCOL_ERROR));
        assert!(s.accept().await.is_none());
    }

    #[tokio::test]
    async fn writer_blocks_until_window_update() {
        let (mut s, mut host) = pair();
        send(&mut host, syn(1), &[]).await;
        let st = s.accept().await.unwrap();
        let _ack = recv(&mut host).await;
        let data = vec![1u8; INITIAL_WINDOW as usize + 1000];
        let w = tokio::spawn({
            let st = st.clone();
            async move { st.write_all(&data).await }
        });
        let mut got = 0usize;
        while got < INITIAL_WINDOW as usize {
            let (h, p) = recv(&mut host).await;
            assert_eq!(h.kind, TYPE_DATA);
            got += p.len();
        }
        assert_eq!(got, INITIAL_WINDOW as usize);
        // No more data may arrive until we grant window.
        let mut b = [0u8; 1];
        assert!(
            tokio::time::timeout(Duration::from_millis(200), host.read_exact(&mut b))
                .await
                .is_err()
        );
        send(&mut host, Header::new(TYPE_WINDOW_UPDATE, 0, 1, 1000), &[]).await;
        let (h, p) = recv(&mut host).await;
        assert_eq!((h.kind, p.len()), (TYPE_DATA, 1000));
        w.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn hostile_headers_end_the_session_without_allocating() {
        for bad in [
            [1u8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], // version 1
            [0u8, 9, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], // type 9
            [0u8, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff], // 4 GiB data frame
            [0u8, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0], // SYN with a server (even) id
        ] {
            let (mut s, mut host) = pair();
            host.write_all(&bad).await.unwrap();
            let (h, _) = recv(&mut host).await;
            assert_eq!(h, Header::new(TYPE_GO_AWAY, 0, 0, GO_AWAY_PROTOCOL_ERROR));
            assert!(s.accept().await.is_none());
        }
    }

    #[tokio::test]
    async fn duplicate_syn_is_a_protocol_error_and_rst_is_seen_by_reader() {
        let (mut s, mut host) = pair();
        send(&mut host, syn(1), &[]).await;
        let st = s.accept().await.unwrap();
        let _ack = recv(&mut host).await;
        send(
            &mut host,
            Header::new(TYPE_WINDOW_UPDATE, FLAG_RST, 1, 0),
            &[],
        )
        .await;
        let mut buf = Vec::new();
        assert!(matches!(
            st.read(&mut buf).await,
            Err(YamuxError::StreamReset)
        ));
        send(&mut host, syn(3), &[]).await;
        send(&mut host, syn(3), &[]).await;
        let (a, _) = recv(&mut host).await;
        assert!(a.has(FLAG_ACK));
        let (g, _) = recv(&mut host).await;
        assert_eq!(g.kind, TYPE_GO_AWAY);
    }

    #[tokio::test]
    async fn session_eof_is_reported_to_streams_and_accept() {
        let (mut s, mut host) = pair();
        send(&mut host, syn(1), &[]).await;
        let st = s.accept().await.unwrap();
        drop(host);
        assert!(s.accept().await.is_none());
        let mut buf = Vec::new();
        assert!(matches!(
            st.read(&mut buf).await,
            Err(YamuxError::SessionClosed)
        ));
        assert!(st.write_all(b"x").await.is_err());
    }
}
