//! `patchbay serve`.

use anyhow::Context as _;
use patchbay_server::{AppState, ServerConfig};

use crate::config::ServeArgs;
use patchbay_server::sandbox::SandboxConfig;

use crate::{demo, master_key, store};

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.resolve()?;
    let store = store::open_migrated(&config.database_url).await?;
    let master = master_key::load(&config.master_key_file)?;
    let keyring = patchbay_server::load_keyring(store.as_ref(), &master).await?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let public_url = config
        .public_url
        .unwrap_or_else(|| format!("http://{local}"));

    let state = AppState::new(
        store.clone(),
        keyring,
        ServerConfig {
            public_url: public_url.clone(),
            admin_token: config.admin_token,
            provider_timeouts: patchbay_oauth::Timeouts {
                connect: config
                    .provider_timeout
                    .min(patchbay_oauth::Timeouts::default().connect),
                total: config.provider_timeout,
            },
            sandbox: SandboxConfig {
                access_token_ttl: config.sandbox_token_ttl,
                ..SandboxConfig::default()
            },
            refresh_interval: config.refresh_interval,
            credential_check_interval: config.credential_check_interval,
            webhooks: config.webhooks,
            workflows: config.workflows,
            connections: config.connections,
        },
    );
    let demo = match config.demo {
        true => {
            // Beside the master key file: the data directory by default.
            let keys_file = config.master_key_file.with_file_name(demo::KEYS_FILE);
            let keyring = state.engine.keyring();
            let demo = demo::seed(store.as_ref(), keyring, &public_url, &keys_file).await?;
            // The sandbox's developer console, as it were: its events go to the demo
            // project's webhook URL for the sandbox integration.
            state.sandbox.send_webhooks_to(Some(format!(
                "{public_url}/webhooks/{}/sandbox",
                demo.project_id
            )));
            Some(demo)
        }
        false => None,
    };
    let shutdown = shutdown_signal()?;
    tracing::info!(backend = store.backend().as_str(), %public_url, "Patchbay is ready");
    // Scripts and tests read the bound address from this line.
    println!("listening on http://{local}");
    if let Some(demo) = &demo {
        demo.announce(&public_url);
    }
    let refresher = state.engine.spawn_refresher();
    let reloader = state.engine.spawn_keyring_reloader(master);
    let webhook_sender = state.engine.spawn_webhook_sender();
    let worker = state.engine.spawn_worker();
    let usage_flusher = state.engine.spawn_usage_flusher();
    let grace = state.config.workflows.shutdown_grace;
    let served = patchbay_server::serve(listener, state, shutdown).await;
    refresher.abort();
    webhook_sender.abort();
    reloader.abort();
    // Runs in flight get a moment to finish; the rest go back to the queue.
    worker.shutdown(grace).await;
    // The shutdown signal has ended serving: the flusher adds its last counts and stops.
    let _ = usage_flusher.await;
    served.context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C). The handlers are registered when
/// this is called, not when the future is first polled: the server is called
/// before it announces its address, so a signal sent as soon as it answers
/// stops it gracefully instead of killing it.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}
