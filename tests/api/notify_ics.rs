//! Reading the iCalendar part of a received email: find it, decode it, unfold it.

use base64::Engine;
use std::collections::BTreeMap;

/// The text/calendar part of a raw MIME message, decoded.
pub fn extract(raw: &str) -> Option<String> {
    let at = raw.find("Content-Type: text/calendar")?;
    let part = &raw[at..];
    let headers_end = part.find("\r\n\r\n")?;
    let headers = &part[..headers_end];
    let body_start = headers_end + 4;
    let body_end = part[body_start..].find("\r\n--").map(|i| body_start + i).unwrap_or(part.len());
    let body = &part[body_start..body_end];
    if headers.to_ascii_lowercase().contains("content-transfer-encoding: base64") {
        let compact: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD.decode(compact).ok()?;
        String::from_utf8(bytes).ok()
    } else if headers.to_ascii_lowercase().contains("quoted-printable") {
        Some(decode_qp(body))
    } else {
        Some(body.to_string())
    }
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Property name (with parameters) -> value, of an unfolded document; checks its frame.
pub fn parse(ics: &str) -> BTreeMap<String, String> {
    assert!(ics.contains("\r\n"), "CRLF line endings");
    let unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "");
    let lines: Vec<&str> = unfolded.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"));
    assert!(lines.contains(&"BEGIN:VEVENT") && lines.contains(&"END:VEVENT"));
    let mut props = BTreeMap::new();
    let mut in_event = false;
    for line in lines {
        match line {
            "BEGIN:VEVENT" => in_event = true,
            "END:VEVENT" => in_event = false,
            _ => {}
        }
        let (name, value) = line.split_once(':').expect("name:value");
        if in_event || name == "METHOD" || name == "VERSION" {
            props.insert(name.to_string(), value.to_string());
        }
    }
    props
}
