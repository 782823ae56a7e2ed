//! config -> telemetry -> build the app -> serve until a signal.

use bookings::config::{Cli, Command};
use bookings::{auth, edge, startup, telemetry};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = Cli::parse();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if matches!(cli.command, None | Some(Command::Serve)) {
        bound_malloc_arenas();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime")
        .block_on(run(cli))
}

/// At most two glibc malloc arenas per CPU for `serve`, instead of glibc's eight per CPU.
///
/// glibc gives a thread that meets another in malloc an arena of its own, and memory freed in one
/// arena serves only the threads of that arena, so the server's resident memory grew with the
/// threads that ever allocated (tokio's workers, the blocking pool, a worker thread per SQLite
/// connection). `bench/notify.sh` (SQLite, 5,000 emails in one pass): peak RSS 65.6-67.7 MiB while
/// the heap itself (massif) never exceeded 19 MB; with 2 arenas per CPU 57.3-60.5 MiB, with 1 per
/// CPU 52.3-55.6 MiB. But 1 per CPU made writes dearer: `bench/http.sh` reserve on SQLite (20
/// connections, 2 CPUs) took 0.535-0.657 ms of server CPU per request against 0.526-0.604 ms with
/// glibc's default and 0.519-0.574 ms with 2 per CPU. mimalloc as the global allocator was tried
/// too: 112-128 MiB.
///
/// glibc reads the limit only from the environment when the process starts, and setting it from
/// inside (`mallopt`) takes unsafe code, which this workspace forbids: so `serve`, when
/// `MALLOC_ARENA_MAX` is not set, runs itself again with it (`exec`: the same process id,
/// arguments and environment). An operator's `MALLOC_ARENA_MAX`, or `GLIBC_TUNABLES` naming
/// `arena_max`, is left as it is (so is a process run under valgrind that sets it, which would not
/// follow the `exec`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn bound_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    let set = std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("arena_max"));
    if set {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let arenas = 2 * std::thread::available_parallelism().map_or(1, |n| n.get());
    let error =
        std::process::Command::new(&exe).arg0(arg0).args(args).env("MALLOC_ARENA_MAX", arenas.to_string()).exec();
    // Only reached when the exec failed: serve with glibc's default.
    eprintln!(
        "warning: could not start again with MALLOC_ARENA_MAX={arenas} ({error}); serving with glibc's default arenas"
    );
}

async fn run(cli: Cli) -> ExitCode {
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
