//! Watch responses: a chunked stream of JSON events (ADDED/MODIFIED/DELETED/BOOKMARK/ERROR),
//! one per line, from a resourceVersion, with optional bookmarks and a timeout.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::negotiate::Output;
use super::params::{ListQuery, RvMatch};
use super::table;
use super::Shared;
use crate::errors::ApiError;
use crate::registry::cacher::{CachedEvent, Subscription};
use crate::registry::watch::{translate, translate_cached, Predicate, ADDED, BOOKMARK, ERROR};
use crate::registry::ListParams;
use crate::resources::ResourceInfo;
use crate::storage::Revision;

/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(30);

/// What a watch stream needs to render events.
struct Renderer {
    info: Arc<ResourceInfo>,
    output: Output,
    include: String,
    headers_sent: bool,
}

impl Renderer {
    fn render(&mut self, kind: &str, obj: &Value) -> Bytes {
        let object = match self.output {
            Output::Object => table::with_type(&self.info, obj),
            Output::Metadata => table::partial_metadata(obj),
            Output::Table => {
                let headers = !self.headers_sent;
                self.headers_sent = true;
                let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(json!(""));
                table::table(&self.info, std::slice::from_ref(obj), json!({ "resourceVersion": rv }), &self.include, headers)
            }
        };
        line(kind, object)
    }

    fn bookmark(&self, rev: Revision) -> Bytes {
        let obj = json!({
            "kind": self.info.kind,
            "apiVersion": self.info.api_version(),
            "metadata": { "resourceVersion": rev.to_string() },
        });
        line(BOOKMARK, obj)
    }
}

fn line(kind: &str, object: Value) -> Bytes {
    let mut bytes = serde_json::to_vec(&json!({ "type": kind, "object": object })).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// Serves a watch of one resource in a namespace (or all).
pub async fn serve(state: Shared, info: Arc<ResourceInfo>, ns: Option<String>, q: ListQuery, output: Output, pred: Predicate) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let timeout = q
        .timeout_seconds
        .map(Duration::from_secs)
        .unwrap_or_else(|| Duration::from_secs(rand::rng().random_range(1800..3600)));
    let renderer = Renderer { info: info.clone(), output, include: q.include_object.clone(), headers_sent: false };
    tokio::spawn(async move {
        let _ = tokio::time::timeout(timeout, pump(state, info, ns, q, pred, renderer, tx)).await;
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>);
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("transfer-encoding", "chunked")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Sends the initial events (if any), then storage changes, until the client goes away.
async fn pump(
    state: Shared,
    info: Arc<ResourceInfo>,
    ns: Option<String>,
    q: ListQuery,
    pred: Predicate,
    mut renderer: Renderer,
    tx: mpsc::Sender<Bytes>,
) {
    let mut from = match q.rv {
        RvMatch::Exact(r) | RvMatch::NotOlderThan(r) => r,
        RvMatch::Latest | RvMatch::Any => {
            if q.send_initial_events == Some(false) {
                match state.store.current_revision().await {
                    Ok(r) => r,
                    Err(e) => return send_error(&tx, &e).await,
                }
            } else {
                match initial_events(&state, &info, ns.as_deref(), &pred, &mut renderer, &tx).await {
                    Ok(r) => r,
                    Err(e) => return send_error(&tx, &e).await,
                }
            }
        }
    };
    if q.send_initial_events == Some(true) && q.bookmarks {
        let mut b = renderer.bookmark(from).to_vec();
        // Mark the end of the initial events as upstream's streaming lists do.
        if let Ok(mut v) = serde_json::from_slice::<Value>(&b) {
            v["object"]["metadata"]["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
            b = serde_json::to_vec(&v).unwrap_or_default();
            b.push(b'\n');
        }
        if tx.send(Bytes::from(b)).await.is_err() {
            return;
        }
    }
    let mut ticker = tokio::time::interval(BOOKMARK_EVERY);
    ticker.tick().await;
    if let Some(sub) = state.cachers.subscribe(&info.key_prefix(), from).await {
        let pred = in_namespace(pred, ns);
        return follow_cache(sub, &info, &pred, &mut renderer, &tx, from, q.bookmarks, &mut ticker).await;
    }
    let prefix = info.list_prefix(ns.as_deref());
    let mut events = match state.store.storage().watch(&prefix, from).await {
        Ok(s) => s,
        Err(e) => return send_error(&tx, &ApiError::from_storage(&info, "", e)).await,
    };
    loop {
        tokio::select! {
            ev = events.next() => {
                let Some(ev) = ev else { return };
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => return send_error(&tx, &ApiError::from_storage(&info, "", e)).await,
                };
                from = ev.kv.mod_revision;
                match translate(&info, &ev, &pred) {
                    Ok(Some((kind, obj))) => {
                        if tx.send(renderer.render(kind, &obj)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => return send_error(&tx, &e).await,
                }
            }
            _ = ticker.tick(), if q.bookmarks => {
                if tx.send(renderer.bookmark(from)).await.is_err() {
                    return;
                }
            }
            _ = tx.closed() => return,
        }
    }
}

/// Narrows a predicate to one namespace (the watch cache holds every namespace).
fn in_namespace(pred: Predicate, ns: Option<String>) -> Predicate {
    match ns {
        None => pred,
        Some(ns) => Arc::new(move |o: &Value| {
            o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns.as_str()) && pred(o)
        }),
    }
}

/// Streams a watch from the watch cache: the replayed window, then live events.
#[allow(clippy::too_many_arguments)]
async fn follow_cache(
    sub: Subscription,
    info: &ResourceInfo,
    pred: &Predicate,
    renderer: &mut Renderer,
    tx: &mpsc::Sender<Bytes>,
    mut from: Revision,
    bookmarks: bool,
    ticker: &mut tokio::time::Interval,
) {
    for ev in &sub.replay {
        if !send_cached(ev, info, pred, renderer, tx, &mut from).await {
            return;
        }
    }
    let mut live = sub.live;
    loop {
        tokio::select! {
            ev = live.recv() => match ev {
                Ok(ev) => {
                    if !send_cached(&ev, info, pred, renderer, tx, &mut from).await {
                        return;
                    }
                }
                // Too slow or the cache restarted: close; the client resumes from `from`.
                Err(_) => return,
            },
            _ = ticker.tick(), if bookmarks => {
                if tx.send(renderer.bookmark(from)).await.is_err() {
                    return;
                }
            }
            _ = tx.closed() => return,
        }
    }
}

/// Sends one cached event if it is new and matches; false when the client is gone.
async fn send_cached(
    ev: &CachedEvent,
    info: &ResourceInfo,
    pred: &Predicate,
    renderer: &mut Renderer,
    tx: &mpsc::Sender<Bytes>,
    from: &mut Revision,
) -> bool {
    if ev.revision <= *from {
        return true;
    }
    *from = ev.revision;
    match translate_cached(info, ev, pred) {
        Some((kind, obj)) => tx.send(renderer.render(kind, &obj)).await.is_ok(),
        None => true,
    }
}

/// Lists the current state as ADDED events and returns the snapshot revision.
async fn initial_events(
    state: &Shared,
    info: &ResourceInfo,
    ns: Option<&str>,
    pred: &Predicate,
    renderer: &mut Renderer,
    tx: &mpsc::Sender<Bytes>,
) -> Result<Revision, ApiError> {
    let page = state.store.list(info, ns, &ListParams::default()).await?;
    for obj in page.items.iter().filter(|o| pred(o)) {
        if tx.send(renderer.render(ADDED, obj)).await.is_err() {
            break;
        }
    }
    Ok(page.revision)
}

async fn send_error(tx: &mpsc::Sender<Bytes>, err: &ApiError) {
    let _ = tx.send(line(ERROR, err.status())).await;
}
