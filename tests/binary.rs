//! The binary as a user runs it: `serve` with nothing but a data directory, `token`, JSON logs
//! that carry an incoming traceparent's trace id, and a shifted clock refused in production.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_bookings");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn serve_token_and_trace_ids_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve"])
        .env("DATA_DIR", dir.path())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("LOG_FORMAT", "json")
        .env("APP_ENV", "development")
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let client = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The embedded database and the generated secret live in the data directory.
    assert!(dir.path().join("bookings.db").exists());
    let secret = dir.path().join("jwt-secret");
    assert!(secret.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // `token` reads the same settings, so the server accepts what it signs.
    let out = Command::new(BIN)
        .args(["token", "--sub", "4b72d209-debd-45e1-93cc-7640bf7d39bf"])
        .env("DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let r = client
        .post(format!("{base}/v1/calendars"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({"name": "From the binary"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_string();

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    let found = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if line.contains(trace_id) && line.contains(&request_id) && line.contains("createCalendar") {
                    break true;
                }
                seen.push(line);
            }
            Err(_) if Instant::now() > deadline => break false,
            Err(_) => {}
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "no log line with the trace id and request id; saw:\n{}", seen.join("\n"));
    // Secrets stay out of the logs.
    let secret_text = std::fs::read_to_string(&secret).unwrap();
    assert!(seen.iter().all(|l| !l.contains(secret_text.trim())));
}

#[test]
fn a_shifted_clock_is_refused_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve"])
        .env("DATA_DIR", dir.path())
        .env("APP_ENV", "production")
        .env("CLOCK_OFFSET_SECONDS", "3600")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CLOCK_OFFSET_SECONDS"), "{stderr}");
}
