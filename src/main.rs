//! config -> telemetry -> build the app -> serve until a signal.

use bookings::config::{Cli, Command};
use bookings::{auth, edge, startup, telemetry};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = telemetry::init(cli.settings.log_format, cli.settings.otlp_endpoint.as_deref());
    if let Err(err) = cli.settings.validate() {
        eprintln!("error: {err}");
        telemetry.shutdown();
        return ExitCode::from(2);
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.settings).await,
        Command::Migrate => migrate(&cli.settings).await,
        Command::Token(args) => auth::sign(
            &cli.settings.jwt.keys(),
            &cli.settings.data_dir,
            startup::clock_from(&cli.settings),
            &args.request(),
        )
        .map(|token| {
            println!("{token}");
        }),
    };
    // The batch exporter's last spans go out before the process ends.
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(settings: &bookings::config::Settings) -> anyhow::Result<()> {
    startup::connect_and_migrate(settings).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn serve(settings: &bookings::config::Settings) -> anyhow::Result<()> {
    tracing::info!(settings = ?settings, "starting");
    let state = startup::build_state(settings).await?;
    let bound = edge::bind(settings, state).await?;
    let base = format!("http://{}:{}", settings.bind.ip(), bound.port);
    tracing::info!(
        api = %format!("{base}/v1"),
        docs = %format!("{base}/docs"),
        contract = %format!("{base}/openapi.json"),
        "listening; get a token with `bookings token --sub <uuid>` (same settings as serve)"
    );
    let notify_loop = (settings.notify.interval_seconds > 0)
        .then(|| startup::spawn_notify_loop(bound.state(), Duration::from_secs(settings.notify.interval_seconds)));
    bound.serve(shutdown_signal(), Duration::from_secs(20)).await?;
    if let Some(task) = notify_loop {
        task.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
