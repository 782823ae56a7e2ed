//! What `getBookingAvailability` reads, kept for a short while: a link's parsed settings and its
//! calendar's busy time over the window any availability request can ask about. Availability is
//! public and read far more often than a calendar changes, and every request otherwise costs two
//! queries and a parse of the link's working hours.
//!
//! Correctness does not rest on it: `reserveBookingSlot` never reads the cache, it re-checks the
//! slot under the calendar's row lock. What the cache may do is show a slot that was taken (the
//! reservation then answers 409) or hide one that was freed, and only when another server process
//! wrote it, for at most the time to live (`AVAILABILITY_CACHE_MS`, 0 turns the cache off). Writes
//! through this process invalidate at once: every writer of calendar events or links calls
//! [`AvailabilityCache::invalidate_calendar`] / [`AvailabilityCache::invalidate_link`] after its
//! commit, and a load that overlapped such a write is not kept (a generation counter).

use crate::domain::availability::Interval;
use crate::domain::booking_link::LinkSettings;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// At most this many links and this many calendars are kept; beyond it, expired entries go and,
/// if that is not enough, everything (the next requests reload what they need).
pub const MAX_ENTRIES: usize = 10_000;
/// At most this many rendered answers, each at most [`MAX_ANSWER_BYTES`] (64 MiB in all).
pub const MAX_ANSWERS: usize = 1_000;
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What an availability answer depends on besides the link and its calendar's busy time: the
/// token and the range (instants, however they were written).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerKey {
    pub token: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A rendered `getBookingAvailability` answer and the cache entries it was computed from: it is
/// served only while both are still the current ones.
struct Answer {
    link: Arc<CachedLink>,
    busy: Arc<BusyWindow>,
    body: bytes::Bytes,
}

/// A link as availability needs it.
#[derive(Debug)]
pub struct CachedLink {
    pub token: String,
    pub calendar_id: Uuid,
    pub settings: LinkSettings,
}

/// A calendar's busy time: every live event overlapping `[from, to)`, ordered by start.
#[derive(Debug)]
pub struct BusyWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub spans: Vec<Interval>,
}

impl BusyWindow {
    /// The spans that can overlap `[from, to)`, if this window covers it.
    pub fn covering(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<&[Interval]> {
        if from < self.from || to > self.to {
            return None;
        }
        let upper = self.spans.partition_point(|s| s.start < to);
        Some(&self.spans[..upper])
    }
}

struct Entry<T> {
    value: Arc<T>,
    loaded: Instant,
}

struct Map<K, T> {
    entries: Mutex<HashMap<K, Entry<T>>>,
    capacity: usize,
}

impl<K: Eq + Hash, T> Map<K, T> {
    fn new(capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity }
    }

    fn get<Q>(&self, key: &Q, ttl: Duration) -> Option<Arc<T>>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        (entry.loaded.elapsed() < ttl).then(|| entry.value.clone())
    }

    fn put(&self, key: K, value: Arc<T>, loaded: Instant, ttl: Duration) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= self.capacity {
            entries.retain(|_, e| e.loaded.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, Entry { value, loaded });
    }

    fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

/// A ticket taken before loading from the database: the load is kept only if no write
/// invalidated anything in between.
#[derive(Clone, Copy)]
pub struct Ticket {
    generation: u64,
    started: Instant,
}

pub struct AvailabilityCache {
    ttl: Duration,
    generation: AtomicU64,
    links: Map<String, CachedLink>,
    busy: Map<Uuid, BusyWindow>,
    answers: Map<AnswerKey, Answer>,
}

impl AvailabilityCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generation: AtomicU64::new(0),
            links: Map::new(MAX_ENTRIES),
            busy: Map::new(MAX_ENTRIES),
            answers: Map::new(MAX_ANSWERS),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A rendered answer, if the link and busy time it was computed from are still current.
    pub fn answer(&self, key: &AnswerKey) -> Option<bytes::Bytes> {
        let answer = self.answers.get(key, self.ttl)?;
        let link = self.link(&key.token)?;
        let busy = self.busy(link.calendar_id)?;
        (Arc::ptr_eq(&link, &answer.link) && Arc::ptr_eq(&busy, &answer.busy)).then(|| answer.body.clone())
    }

    /// Keeps an answer rendered since `ticket` was taken, tied to the current link and busy time.
    pub fn put_answer(&self, ticket: Ticket, key: AnswerKey, body: bytes::Bytes) {
        if !self.current(ticket) || body.len() > MAX_ANSWER_BYTES {
            return;
        }
        let Some(link) = self.link(&key.token) else { return };
        let Some(busy) = self.busy(link.calendar_id) else { return };
        self.answers.put(key, Arc::new(Answer { link, busy, body }), ticket.started, self.ttl);
    }

    pub fn ticket(&self) -> Ticket {
        Ticket { generation: self.generation.load(Ordering::Acquire), started: Instant::now() }
    }

    fn current(&self, ticket: Ticket) -> bool {
        self.enabled() && self.generation.load(Ordering::Acquire) == ticket.generation
    }

    pub fn link(&self, token: &str) -> Option<Arc<CachedLink>> {
        self.enabled().then(|| self.links.get(token, self.ttl)).flatten()
    }

    /// Keeps a link loaded since `ticket` was taken (its age counts from then).
    pub fn put_link(&self, ticket: Ticket, link: Arc<CachedLink>) {
        if self.current(ticket) {
            self.links.put(link.token.clone(), link, ticket.started, self.ttl);
        }
    }

    pub fn busy(&self, calendar_id: Uuid) -> Option<Arc<BusyWindow>> {
        self.enabled().then(|| self.busy.get(&calendar_id, self.ttl)).flatten()
    }

    pub fn put_busy(&self, ticket: Ticket, calendar_id: Uuid, window: Arc<BusyWindow>) {
        if self.current(ticket) {
            self.busy.put(calendar_id, window, ticket.started, self.ttl);
        }
    }

    /// After a committed change to a calendar's events.
    pub fn invalidate_calendar(&self, calendar_id: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.busy.remove(&calendar_id);
    }

    /// After a committed change to a link.
    pub fn invalidate_link(&self, token: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.links.remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 7, h, 0, 0).unwrap()
    }

    fn window() -> Arc<BusyWindow> {
        Arc::new(BusyWindow {
            from: at(0),
            to: at(20),
            spans: vec![Interval { start: at(9), end: at(10) }, Interval { start: at(12), end: at(13) }],
        })
    }

    #[test]
    fn a_window_answers_only_for_ranges_it_covers() {
        let w = window();
        assert_eq!(w.covering(at(0), at(20)).map(<[_]>::len), Some(2));
        assert_eq!(w.covering(at(1), at(12)).map(<[_]>::len), Some(1), "spans starting at or after the end are cut");
        assert!(w.covering(at(0), at(21)).is_none());
    }

    #[test]
    fn a_load_overlapping_an_invalidation_is_not_kept() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let id = Uuid::new_v4();
        let ticket = cache.ticket();
        cache.invalidate_calendar(Uuid::new_v4());
        cache.put_busy(ticket, id, window());
        assert!(cache.busy(id).is_none());
        cache.put_busy(cache.ticket(), id, window());
        assert!(cache.busy(id).is_some());
        cache.invalidate_calendar(id);
        assert!(cache.busy(id).is_none());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_keeps_nothing() {
        let cache = AvailabilityCache::new(Duration::from_millis(30));
        let id = Uuid::new_v4();
        cache.put_busy(cache.ticket(), id, window());
        assert!(cache.busy(id).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.busy(id).is_none());

        let off = AvailabilityCache::new(Duration::ZERO);
        off.put_busy(off.ticket(), id, window());
        assert!(off.busy(id).is_none());
    }

    #[test]
    fn an_answer_lives_only_as_long_as_what_it_was_computed_from() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let calendar = Uuid::new_v4();
        let settings = crate::domain::booking_link::LinkSettings::parse(
            30,
            0,
            "Europe/Berlin",
            crate::domain::availability::WorkingHours::default(),
            true,
        )
        .unwrap();
        let link = Arc::new(CachedLink { token: "t".into(), calendar_id: calendar, settings });
        let key = AnswerKey { token: "t".into(), start: at(0), end: at(20) };
        let body = bytes::Bytes::from_static(b"{}");

        // Nothing to tie it to: not kept.
        cache.put_answer(cache.ticket(), key.clone(), body.clone());
        assert!(cache.answer(&key).is_none());

        cache.put_link(cache.ticket(), link.clone());
        cache.put_busy(cache.ticket(), calendar, window());
        cache.put_answer(cache.ticket(), key.clone(), body.clone());
        assert_eq!(cache.answer(&key), Some(body.clone()));

        // New busy time (a write through this process): the answer is gone with it.
        cache.invalidate_calendar(calendar);
        cache.put_busy(cache.ticket(), calendar, window());
        assert!(cache.answer(&key).is_none());

        // Rendered while a write happened: not kept.
        let ticket = cache.ticket();
        cache.invalidate_link("other");
        cache.put_answer(ticket, key.clone(), body.clone());
        assert!(cache.answer(&key).is_none());

        // Too big to keep.
        cache.put_answer(cache.ticket(), key.clone(), bytes::Bytes::from(vec![b' '; MAX_ANSWER_BYTES + 1]));
        assert!(cache.answer(&key).is_none());
    }

    #[test]
    fn the_number_of_entries_is_bounded() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        for _ in 0..MAX_ENTRIES + 5 {
            cache.put_busy(cache.ticket(), Uuid::new_v4(), window());
        }
        assert!(cache.busy.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
