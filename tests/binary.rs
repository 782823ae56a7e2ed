//! The binary as a user runs it: `serve` with nothing but a data directory, `token`, JSON logs
//! that carry an incoming traceparent's trace id, and a shifted clock refused in production.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_bookings");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `serve` on the embedded database in `dir` with `log_format`, its stderr lines sent to the
/// receiver; answers once `/healthz` does. The base URL, the process, its lines.
fn serve_logging(
    dir: &std::path::Path,
    log_format: &str,
) -> (String, std::process::Child, std::sync::mpsc::Receiver<String>) {
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve"])
        .env("DATA_DIR", dir)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("LOG_FORMAT", log_format)
        .env("APP_ENV", "development")
        .env_remove("NO_COLOR")
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
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (base, child, rx)
}

#[test]
fn serve_token_and_trace_ids_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (base, mut child, rx) = serve_logging(dir.path(), "json");
    let client = reqwest::blocking::Client::new();
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

/// Text lines to a pipe (a file, a log collector) are plain: no terminal escape codes.
#[test]
fn text_logs_to_a_pipe_carry_no_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut child, rx) = serve_logging(dir.path(), "text");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("/healthz")) && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l.contains("/healthz") && l.contains("INFO")),
        "no access line; saw:\n{}",
        seen.join("\n")
    );
    assert!(seen.iter().all(|l| !l.contains('\u{1b}')), "escape codes in:\n{}", seen.join("\n"));
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

/// Runs `serve` on a free port with `dir` as its data directory and waits (up to 30 s) for it to
/// exit; a server still running then is killed and the test fails.
fn serve_expecting_exit(dir: &std::path::Path) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["serve"])
        .env("DATA_DIR", dir)
        .env("BIND_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("APP_ENV", "development")
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("serve kept running; stderr:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_short_or_corrupt_secret_file_stops_serve_and_is_left_alone() {
    let cases: [(&str, &[u8]); 4] = [
        ("short", b"too-short-a-secret\n"),
        ("empty", b""),
        (
            "not text",
            &[
                0xff, 0xfe, 0x00, 0x81, 0x9f, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x7f, 0x00, 0x00, 0xff, 0xfe,
                0x00, 0x81, 0x9f, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x7f, 0x00, 0x00, 0x01, 0x02, 0x03,
            ],
        ),
        ("control characters", b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
    ];
    for (what, contents) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt-secret");
        std::fs::write(&path, contents).unwrap();

        let out = serve_expecting_exit(dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: serve started anyway:\n{stderr}");
        assert!(
            stderr.contains("JWT secret file") && stderr.contains(&path.display().to_string()),
            "{what}:\n{stderr}"
        );
        assert!(stderr.contains("JWT_SECRET"), "{what}: the message says how to fix it:\n{stderr}");
        assert!(!stderr.contains("generated a new JWT signing secret"), "{what}:\n{stderr}");
        assert_eq!(std::fs::read(&path).unwrap(), contents, "{what}: the file was changed");

        // `token` refuses it too, rather than signing with a key the server never sees.
        let out =
            Command::new(BIN).args(["token"]).env("DATA_DIR", dir.path()).env_remove("JWT_SECRET").output().unwrap();
        assert!(!out.status.success(), "{what}: token signed anyway");
        assert!(String::from_utf8_lossy(&out.stderr).contains("JWT secret file"), "{what}");
        assert_eq!(std::fs::read(&path).unwrap(), contents, "{what}: the file was changed");
        // Nothing else was left in the data directory (no temporary secret files).
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(names.iter().all(|n| !n.to_string_lossy().contains(".jwt-secret.")), "{what}: {names:?}");
    }
}

#[test]
fn token_ttl_is_bounded_and_errors_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let token = |args: &[&str]| {
        Command::new(BIN)
            .arg("token")
            .args(args)
            .env("DATA_DIR", dir.path())
            .env_remove("JWT_SECRET")
            .env_remove("JWT_MAX_TTL")
            .output()
            .unwrap()
    };
    let claims = |out: &std::process::Output| -> serde_json::Value {
        use base64::Engine;
        let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let payload = token.split('.').nth(1).expect("a JWT");
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };

    // So large that `now + ttl` overflowed into a negative exp.
    for huge in ["106751991167300d", "9223372036854775807", "99999999999999999999999d"] {
        let out = token(&["--ttl", huge]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{huge}: a token was printed: {}", String::from_utf8_lossy(&out.stdout));
        assert!(out.stdout.is_empty(), "{huge}");
        assert!(stderr.contains("--ttl"), "{huge}: {stderr}");
        assert!(!stderr.contains("panicked"), "{huge}: {stderr}");
    }
    // Longer than the maximum (a year by default): the message names the setting.
    let out = token(&["--ttl", "400d"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--ttl 400d") && stderr.contains("365d") && stderr.contains("JWT_MAX_TTL"), "{stderr}");
    for bad in ["0", "5 parsecs", "soon"] {
        let out = token(&["--ttl", bad]);
        assert!(!out.status.success(), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--ttl"), "{bad}");
    }

    // Within the bound, exp is now + ttl.
    let out = token(&["--ttl", "30d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let c = claims(&out);
    let now = chrono::Utc::now().timestamp();
    let exp = c["exp"].as_i64().unwrap();
    assert!((exp - (now + 30 * 86_400)).abs() < 60, "{c}");
    // The bound is JWT_MAX_TTL.
    let out = token(&["--ttl", "400d", "--jwt-max-ttl", "500d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(claims(&out)["exp"].as_i64().unwrap() > now + 399 * 86_400);
}

/// `serve` bounds glibc's malloc arenas (src/main.rs, `bound_malloc_arenas`): started without
/// `MALLOC_ARENA_MAX`, the process serving (the same process id) has it, two per CPU; an
/// operator's own value is kept.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn serve_bounds_the_malloc_arenas_unless_the_operator_did() {
    let arenas = (2 * std::thread::available_parallelism().map_or(1, |n| n.get())).to_string();
    for (given, expected) in [(None, arenas.as_str()), (Some("3"), "3")] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(BIN);
        command
            .args(["serve"])
            .env("DATA_DIR", dir.path())
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("APP_ENV", "development")
            .env_remove("DATABASE_URL")
            .env_remove("JWT_SECRET")
            .env_remove("GLIBC_TUNABLES")
            .env_remove("MALLOC_ARENA_MAX")
            .stderr(Stdio::null());
        if let Some(value) = given {
            command.env("MALLOC_ARENA_MAX", value);
        }
        let mut child = command.spawn().unwrap();
        let client = reqwest::blocking::Client::new();
        let started = Instant::now();
        while client.get(format!("http://127.0.0.1:{port}/healthz")).send().is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
        let arenas: Vec<&[u8]> = environ.split(|b| *b == 0).filter(|v| v.starts_with(b"MALLOC_ARENA_MAX=")).collect();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(arenas, [format!("MALLOC_ARENA_MAX={expected}").as_bytes()], "given {given:?}");
    }
}
