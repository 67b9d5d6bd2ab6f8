//! Logging set-up: tracing to stderr, level from `RUST_LOG` (default info).

/// Initialises the global tracing subscriber once per process.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
