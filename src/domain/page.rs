//! Keyset pagination: how many items an answer may hold, and an opaque cursor that says where
//! the next answer goes on. A cursor names the last item shown by its sort key (an instant) and
//! its unique key, so items inserted meanwhile never shift a page: every item that exists for
//! the whole walk is shown exactly once.

use base64::Engine;
use chrono::{DateTime, Utc};

/// No list answer holds more than this many items.
pub const MAX_ITEMS: u64 = 1000;

/// Which list a cursor belongs to: a cursor of one list is refused by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    CalendarEvents,
    BookingLinks,
    Notifications,
}

impl ListKind {
    fn tag(self) -> &'static str {
        match self {
            ListKind::CalendarEvents => "ce1",
            ListKind::BookingLinks => "bl1",
            ListKind::Notifications => "nt1",
        }
    }
}

/// The last item an answer showed: its sort instant and its unique key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub kind: ListKind,
    pub at: DateTime<Utc>,
    pub key: String,
}

impl Cursor {
    pub fn new(kind: ListKind, at: DateTime<Utc>, key: impl Into<String>) -> Self {
        Self { kind, at, key: key.into() }
    }

    /// The opaque wire form (URL-safe base64, no padding).
    pub fn encode(&self) -> String {
        let plain =
            format!("{}|{}|{}|{}", self.kind.tag(), self.at.timestamp(), self.at.timestamp_subsec_nanos(), self.key);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain)
    }

    /// A cursor this server made for `kind`, or why not.
    pub fn parse(kind: ListKind, wire: &str) -> Result<Self, String> {
        let bad = || "cursor is not one this list answered; start again without it".to_string();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(wire).map_err(|_| bad())?;
        let plain = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = plain.splitn(4, '|');
        let (Some(tag), Some(secs), Some(nanos), Some(key)) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if tag != kind.tag() || key.is_empty() {
            return Err(bad());
        }
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        let nanos: u32 = nanos.parse().map_err(|_| bad())?;
        let at = DateTime::<Utc>::from_timestamp(secs, nanos).filter(|_| nanos < 1_000_000_000).ok_or_else(bad)?;
        Ok(Self { kind, at, key: key.to_string() })
    }
}

/// What one answer of a list may hold and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// `limit` (default `default`, at most [`MAX_ITEMS`]) and the cursor of a previous answer.
    pub fn parse(kind: ListKind, limit: Option<i64>, cursor: Option<&str>, default: u64) -> Result<Self, String> {
        let limit = match limit {
            None => default.min(MAX_ITEMS),
            Some(n) if n >= 1 && n as u64 <= MAX_ITEMS => n as u64,
            Some(n) => return Err(format!("limit must be between 1 and {MAX_ITEMS}, not {n}")),
        };
        let after = cursor.map(|c| Cursor::parse(kind, c)).transpose()?;
        Ok(Self { limit, after })
    }

    /// The whole list up to the cap, from the start (the seed lists, which take no cursor).
    pub fn first(limit: u64) -> Self {
        Self { limit: limit.min(MAX_ITEMS), after: None }
    }

    /// How many rows to ask the database for: one more than the page, to learn whether more follow.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }
}

/// One answer of a list: its items, whether more matched than it holds, and where to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub truncated: bool,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Cuts rows fetched with [`PageRequest::fetch`] to the page; `cursor_of` names an item.
    pub fn cut(mut rows: Vec<T>, request: &PageRequest, cursor_of: impl Fn(&T) -> Option<Cursor>) -> Self {
        let truncated = rows.len() as u64 > request.limit;
        rows.truncate(request.limit as usize);
        let next = if truncated { rows.last().and_then(cursor_of) } else { None };
        Page { items: rows, truncated, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), truncated: self.truncated, next: self.next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_cursor_round_trips_and_is_bound_to_its_list() {
        let at = Utc.with_ymd_and_hms(2030, 1, 7, 9, 0, 0).unwrap() + chrono::Duration::nanoseconds(123_456_789);
        let c = Cursor::new(ListKind::CalendarEvents, at, "4b72d209-debd-45e1-93cc-7640bf7d39bf");
        let wire = c.encode();
        assert!(wire.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'), "{wire}");
        assert_eq!(Cursor::parse(ListKind::CalendarEvents, &wire), Ok(c));
        assert!(Cursor::parse(ListKind::BookingLinks, &wire).is_err());
        // A key may hold the separator.
        let c = Cursor::new(ListKind::BookingLinks, at, "a|b");
        assert_eq!(Cursor::parse(ListKind::BookingLinks, &c.encode()), Ok(c));
    }

    #[test]
    fn anything_else_is_refused() {
        for wire in ["", "!!!", "abc", "Y2UxfDF8Mnw", "Y2UxfHh8MHxr", "Y2UxfDF8OTk5OTk5OTk5OXxr"] {
            assert!(Cursor::parse(ListKind::CalendarEvents, wire).is_err(), "{wire}");
        }
    }

    #[test]
    fn limits_are_bounded_and_pages_are_cut() {
        assert_eq!(PageRequest::parse(ListKind::Notifications, None, None, 100).unwrap().limit, 100);
        assert_eq!(PageRequest::parse(ListKind::Notifications, None, None, 5000).unwrap().limit, MAX_ITEMS);
        assert!(PageRequest::parse(ListKind::Notifications, Some(0), None, 100).is_err());
        assert!(PageRequest::parse(ListKind::Notifications, Some(1001), None, 100).is_err());
        let req = PageRequest::first(2);
        let at = Utc.with_ymd_and_hms(2030, 1, 7, 9, 0, 0).unwrap();
        let cursor = |n: &i32| Some(Cursor::new(ListKind::Notifications, at, n.to_string()));
        let page = Page::cut(vec![1, 2, 3], &req, cursor);
        assert_eq!((page.items.as_slice(), page.truncated), (&[1, 2][..], true));
        assert_eq!(page.next.unwrap().key, "2");
        let page = Page::cut(vec![1, 2], &req, cursor);
        assert_eq!((page.truncated, page.next), (false, None));
    }
}
