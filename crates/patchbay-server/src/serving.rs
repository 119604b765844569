//! The accept loop: HTTP/1 and HTTP/2 connections served with hyper under
//! limits a public server needs and `axum::serve` does not set — a deadline
//! for a request's headers, a cap on open connections — and a graceful
//! shutdown that lets requests in flight finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::dispatch::Dispatch;
use crate::request_limits::MAX_HEADER_COUNT;
use crate::state::AppState;

/// Serves the application on `listener` until `shutdown` completes, then
/// stops accepting connections, ends event streams and background tasks, and
/// waits for requests in flight to finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config.connections;
    let stopping = state.engine.shutdown().clone();
    let service = Dispatch::new(state);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Above the count the server answers itself (with a JSON 431), so
        // that hyper's bare 431 is left for truly abusive requests. Kept
        // close to it: beyond 100, hyper allocates room for this many fields
        // on every request it reads.
        .max_headers(MAX_HEADER_COUNT + MAX_HEADER_COUNT / 4);
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&connections).acquire_owned() => permit,
        };
        let Ok(permit) = permit else { break };
        let (stream, _) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: the listener itself is fine.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Responses, proxied ones above all, are written in several small
        // pieces (headers, then body chunks as they arrive); Nagle's
        // algorithm would hold each piece back until the previous one is
        // acknowledged.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let service = service.for_connection();
        let affinity = service.affinity().clone();
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = affinity.serve(connection).await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    stopping.cancel();
    graceful.shutdown().await;
    Ok(())
}
