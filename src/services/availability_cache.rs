//! What `getBookingAvailability` reads, kept for a short while: a link's parsed settings and its
//! calendar's busy time over the window any availability request can ask about. Availability is
//! public and read far more often than a calendar changes, and every request otherwise costs two
//! queries and a parse of the link's working hours.
//!
//! Correctness does not rest on it: `reserveBookingSlot` never reads the cache, it re-checks the
//! slot under the calendar's row lock. What the cache may do is show a slot that was taken (the
//! reservation then answers 409) or hide one that was freed, and only when another server process
//! wrote it, for at most the time to live (`AVAILABILITY_CACHE`, 0 turns the cache off). Writes
//! through this process invalidate at once: every writer of calendar events or links calls
//! [`AvailabilityCache::invalidate_calendar`] / [`AvailabilityCache::invalidate_link`] after its
//! commit, and a load that overlapped such a write of what it loaded is not kept ([`Ticket`]:
//! per key, so a busy server's writes to other calendars do not stop this one's loads from
//! being kept).
//!
//! On PostgreSQL those invalidations also reach the other instances sharing the database: the
//! cache tells its [`ChangeSignal`] (after the commit, without waiting), and the other
//! instances' listeners drop that calendar's busy time and links ([`AvailabilityCache::drop_calendars`];
//! the rendered answers tied to them go with them). While a listener is not listening the cache
//! is suspended (serves and keeps nothing), and it is emptied when it listens again
//! (`crate::store::availability_signal`).

use crate::domain::availability::Interval;
use crate::domain::booking_link::LinkSettings;
use crate::domain::ids::CalendarId;
use crate::domain::input::LinkToken;
use crate::store::availability_signal::{ChangeSignal, ChangeSink};
use chrono::{DateTime, Utc};
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// At most this many links and this many calendars are kept; beyond it, the least used go (the
/// next requests reload what they need).
pub const MAX_ENTRIES: usize = 10_000;

/// A link as availability needs it.
#[derive(Debug)]
pub struct CachedLink {
    pub token: LinkToken,
    pub calendar_id: CalendarId,
    pub settings: LinkSettings,
    /// How the link's calendars make its slots, and its members (issue #25's team links).
    pub scheduling: crate::domain::availability::Scheduling,
    pub team: crate::domain::availability::Team,
    /// The link's `updated_at` these settings were read at (a write decided with them checks
    /// the link is still at it).
    pub version: DateTime<Utc>,
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

/// A value and when its load began.
pub struct Loaded<T> {
    pub value: Arc<T>,
    pub loaded: Instant,
}

impl<T> Clone for Loaded<T> {
    fn clone(&self) -> Self {
        Self { value: self.value.clone(), loaded: self.loaded }
    }
}

/// Expires an entry its time to live after its load began (not after it was stored): what was
/// read from the database is never served older than that.
pub struct ExpireFromLoad(pub Duration);

impl<K, T> moka::Expiry<K, Loaded<T>> for ExpireFromLoad {
    fn expire_after_create(&self, _key: &K, value: &Loaded<T>, created_at: Instant) -> Option<Duration> {
        Some(self.0.saturating_sub(created_at.saturating_duration_since(value.loaded)))
    }
}

/// A bounded map whose entries expire their time to live after their load began.
pub struct TtlMap<K, T> {
    entries: moka::sync::Cache<K, Loaded<T>>,
}

impl<K: Eq + Hash + Send + Sync + 'static, T: Send + Sync + 'static> TtlMap<K, T> {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity as u64)
                .expire_after(ExpireFromLoad(ttl))
                .build(),
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<Arc<T>>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.entries.get(key).map(|entry| entry.value)
    }

    pub fn put(&self, key: K, value: Arc<T>, loaded: Instant) {
        self.entries.insert(key, Loaded { value, loaded });
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.entries.invalidate(key);
    }

    /// Removes every entry whose value `drop` picks.
    pub fn remove_where(&self, drop: impl Fn(&T) -> bool) {
        for (key, entry) in self.entries.iter() {
            if drop(&entry.value) {
                self.entries.invalidate(key.as_ref());
            }
        }
    }

    pub fn clear(&self) {
        self.entries.invalidate_all();
    }

    /// How many entries are kept, once pending evictions are done.
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A ticket taken before loading from the database: the load is kept only if no write
/// invalidated what it loaded (its link, its calendar) in between.
#[derive(Clone, Copy)]
pub struct Ticket {
    /// The last invalidation's number when the load began.
    seen: u64,
    started: Instant,
}

impl Ticket {
    /// When the load began: what it read is as old as this.
    pub fn started(&self) -> Instant {
        self.started
    }
}

/// How many counters the keys share (by hash): a key's loads are refused when another key of
/// its counter was invalidated meanwhile, never kept when their own was.
const STRIPES: usize = 1024;

/// When each key was last invalidated, as the number of that invalidation: a load that began
/// after it may be kept. Keys share [`STRIPES`] counters, so the record takes no memory per key
/// and a write elsewhere seldom refuses a load. Under a write load spread over many calendars a
/// single counter for all keys refused nearly every load (`reserveBookingSlot` on PostgreSQL
/// read its link again for one reservation in two: docs/benchmarks.md, session 14).
struct Invalidations {
    hasher: std::hash::RandomState,
    /// The number of the last invalidation.
    last: AtomicU64,
    /// The number of the last invalidation of everything.
    everything: AtomicU64,
    stripes: Box<[AtomicU64]>,
}

/// What an invalidation names: a link or a calendar.
#[derive(Hash)]
enum Key<'a> {
    Link(&'a LinkToken),
    Calendar(CalendarId),
}

impl Invalidations {
    fn new() -> Self {
        Self {
            hasher: std::hash::RandomState::new(),
            last: AtomicU64::new(0),
            everything: AtomicU64::new(0),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn stripe(&self, key: &Key<'_>) -> &AtomicU64 {
        use std::hash::BuildHasher;
        &self.stripes[(self.hasher.hash_one(key) % STRIPES as u64) as usize]
    }

    fn ticket(&self) -> Ticket {
        Ticket { seen: self.last.load(Ordering::Acquire), started: Instant::now() }
    }

    /// Records an invalidation of `keys` (before their entries go).
    fn invalidate(&self, keys: &[Key<'_>]) {
        let number = self.last.fetch_add(1, Ordering::AcqRel) + 1;
        for key in keys {
            self.stripe(key).fetch_max(number, Ordering::AcqRel);
        }
    }

    fn invalidate_everything(&self) {
        let number = self.last.fetch_add(1, Ordering::AcqRel) + 1;
        self.everything.fetch_max(number, Ordering::AcqRel);
    }

    /// Whether none of `keys` was invalidated since `ticket` was taken.
    fn unchanged_since(&self, ticket: Ticket, keys: &[Key<'_>]) -> bool {
        self.everything.load(Ordering::Acquire) <= ticket.seen
            && keys.iter().all(|key| self.stripe(key).load(Ordering::Acquire) <= ticket.seen)
    }
}

pub struct AvailabilityCache {
    ttl: Duration,
    invalidations: Invalidations,
    links: TtlMap<LinkToken, CachedLink>,
    busy: TtlMap<CalendarId, BusyWindow>,
    /// Tells the other instances of a committed change (PostgreSQL); unset: one process.
    signal: OnceLock<Arc<dyn ChangeSignal>>,
    /// Set while the other instances' changes cannot reach this one (the listener is down).
    suspended: AtomicBool,
}

impl AvailabilityCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            invalidations: Invalidations::new(),
            links: TtlMap::new(MAX_ENTRIES, ttl),
            busy: TtlMap::new(MAX_ENTRIES, ttl),
            signal: OnceLock::new(),
            suspended: AtomicBool::new(false),
        }
    }

    /// Where committed changes are told from now on (set once, at start).
    pub fn set_signal(&self, signal: Arc<dyn ChangeSignal>) {
        let _ = self.signal.set(signal);
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && !self.suspended.load(Ordering::Acquire)
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn ticket(&self) -> Ticket {
        self.invalidations.ticket()
    }

    /// Whether neither the link `token` nor the calendar `calendar_id` was invalidated since
    /// `ticket` was taken (and the cache is on): what was loaded of them since may be kept.
    pub fn current(&self, ticket: Ticket, token: &LinkToken, calendar_id: CalendarId) -> bool {
        self.enabled() && self.invalidations.unchanged_since(ticket, &[Key::Link(token), Key::Calendar(calendar_id)])
    }

    fn calendar_current(&self, ticket: Ticket, calendar_id: CalendarId) -> bool {
        self.enabled() && self.invalidations.unchanged_since(ticket, &[Key::Calendar(calendar_id)])
    }

    pub fn link(&self, token: &LinkToken) -> Option<Arc<CachedLink>> {
        self.enabled().then(|| self.links.get(token)).flatten()
    }

    /// Keeps a link loaded since `ticket` was taken (its age counts from then).
    pub fn put_link(&self, ticket: Ticket, link: Arc<CachedLink>) {
        let current = || self.current(ticket, &link.token, link.calendar_id);
        if current() {
            self.links.put(link.token.clone(), link.clone(), ticket.started);
            // An invalidation between the check and the put found nothing to remove.
            if !current() {
                self.links.remove(&link.token);
            }
        }
    }

    pub fn busy(&self, calendar_id: CalendarId) -> Option<Arc<BusyWindow>> {
        self.enabled().then(|| self.busy.get(&calendar_id)).flatten()
    }

    pub fn put_busy(&self, ticket: Ticket, calendar_id: CalendarId, window: Arc<BusyWindow>) {
        if self.calendar_current(ticket, calendar_id) {
            self.busy.put(calendar_id, window, ticket.started);
            // An invalidation between the check and the put found nothing to remove.
            if !self.calendar_current(ticket, calendar_id) {
                self.busy.remove(&calendar_id);
            }
        }
    }

    /// After a committed change to a calendar's events (told to the other instances).
    pub fn invalidate_calendar(&self, calendar_id: CalendarId) {
        self.invalidations.invalidate(&[Key::Calendar(calendar_id)]);
        self.busy.remove(&calendar_id);
        self.tell(calendar_id);
    }

    /// After a committed change to a link, here only (its calendar's invalidation tells the
    /// others: see [`Self::invalidate_link_of`]).
    pub fn invalidate_link(&self, token: &LinkToken) {
        self.invalidations.invalidate(&[Key::Link(token)]);
        self.links.remove(token);
    }

    /// After a committed change to a link of `calendar_id` (told to the other instances, which
    /// drop that calendar's links).
    pub fn invalidate_link_of(&self, token: &LinkToken, calendar_id: CalendarId) {
        self.invalidate_link(token);
        self.tell(calendar_id);
    }

    fn tell(&self, calendar_id: CalendarId) {
        if let Some(signal) = self.signal.get() {
            signal.calendar_changed(calendar_id);
        }
    }

    /// Whether invalidating the link `other_token` or the calendar `other_calendar` refuses loads
    /// of `token` and `calendar_id` too (the keys share [`STRIPES`] counters): tests that show a
    /// write elsewhere refusing nothing pick keys that do not share one.
    #[cfg(test)]
    pub(crate) fn shares_a_counter(
        &self,
        (token, calendar_id): (&LinkToken, CalendarId),
        (other_token, other_calendar): (&LinkToken, CalendarId),
    ) -> bool {
        let counter = |key: Key<'_>| self.invalidations.stripe(&key) as *const AtomicU64;
        let mine = [counter(Key::Link(token)), counter(Key::Calendar(calendar_id))];
        [counter(Key::Link(other_token)), counter(Key::Calendar(other_calendar))].iter().any(|c| mine.contains(c))
    }

    /// Another instance changed these calendars: their busy time and links go (and with them
    /// the rendered answers tied to them); loads under way are not kept.
    pub fn drop_calendars(&self, calendars: &[CalendarId]) {
        // A link's load is checked against its calendar too, so its links' loads are refused.
        let keys: Vec<Key<'_>> = calendars.iter().map(|c| Key::Calendar(*c)).collect();
        self.invalidations.invalidate(&keys);
        for calendar in calendars {
            self.busy.remove(calendar);
        }
        self.links.remove_where(|link| calendars.contains(&link.calendar_id));
    }

    /// Everything goes; `suspended`: nothing is served or kept until called again with `false`.
    pub fn drop_all(&self, suspended: bool) {
        self.suspended.store(suspended, Ordering::Release);
        self.invalidations.invalidate_everything();
        self.busy.clear();
        self.links.clear();
    }
}

impl ChangeSink for AvailabilityCache {
    fn calendars_changed(&self, calendars: &[CalendarId]) {
        self.drop_calendars(calendars);
    }

    fn notices_missed(&self, listening: bool) {
        self.drop_all(!listening);
    }
}

#[cfg(test)]
pub(crate) mod tests {
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

    /// A link of 30-minute slots in Europe/Berlin with the default hours, as the cache keeps it.
    pub(crate) fn cached_link(raw: &str, calendar_id: CalendarId) -> Arc<CachedLink> {
        let settings = crate::domain::booking_link::LinkSettings::parse(
            30,
            0,
            "Europe/Berlin",
            crate::domain::availability::WorkingHours::default(),
            true,
            Default::default(),
        )
        .unwrap();
        Arc::new(CachedLink {
            token: LinkToken::parse(raw).unwrap(),
            calendar_id,
            settings,
            scheduling: Default::default(),
            team: Default::default(),
            version: Utc::now(),
        })
    }

    #[test]
    fn a_load_overlapping_an_invalidation_of_what_it_loaded_is_not_kept() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let id = CalendarId::new();
        let ticket = cache.ticket();
        cache.invalidate_calendar(id);
        cache.put_busy(ticket, id, window());
        assert!(cache.busy(id).is_none());
        cache.put_busy(cache.ticket(), id, window());
        assert!(cache.busy(id).is_some());
        cache.invalidate_calendar(id);
        assert!(cache.busy(id).is_none());

        // A link's load: refused after a write to the link or to its calendar.
        let token = LinkToken::parse("a").unwrap();
        let ticket = cache.ticket();
        cache.invalidate_link(&token);
        cache.put_link(ticket, cached_link("a", id));
        assert!(cache.link(&token).is_none());
        let ticket = cache.ticket();
        cache.drop_calendars(&[id]);
        cache.put_link(ticket, cached_link("a", id));
        assert!(cache.link(&token).is_none());
        cache.put_link(cache.ticket(), cached_link("a", id));
        assert!(cache.link(&token).is_some());
    }

    #[test]
    fn writes_to_other_calendars_and_links_do_not_stop_a_load_from_being_kept() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let (id, token) = (CalendarId::new(), LinkToken::parse("a").unwrap());
        // Another link and calendar whose counters are not this link's and calendar's (keys
        // sharing one are refused with it: see `STRIPES`).
        let (other_link, other_calendar) = (0..)
            .map(|n| (LinkToken::parse(&format!("other{n}")).unwrap(), CalendarId::new()))
            .find(|(t, c)| !cache.shares_a_counter((&token, id), (t, *c)))
            .unwrap();
        let ticket = cache.ticket();
        cache.invalidate_calendar(other_calendar);
        cache.invalidate_link(&other_link);
        cache.put_busy(ticket, id, window());
        cache.put_link(ticket, cached_link("a", id));
        assert!(cache.busy(id).is_some() && cache.link(&token).is_some());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_keeps_nothing() {
        let cache = AvailabilityCache::new(Duration::from_millis(30));
        let id = CalendarId::new();
        cache.put_busy(cache.ticket(), id, window());
        assert!(cache.busy(id).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.busy(id).is_none());

        let off = AvailabilityCache::new(Duration::ZERO);
        off.put_busy(off.ticket(), id, window());
        assert!(off.busy(id).is_none());
    }

    #[test]
    fn another_instances_change_drops_the_calendar_and_its_links_and_a_gap_everything() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let (mine, other) = (CalendarId::new(), CalendarId::new());
        for (raw, calendar) in [("a", mine), ("b", other)] {
            cache.put_link(cache.ticket(), cached_link(raw, calendar));
            cache.put_busy(cache.ticket(), calendar, window());
        }
        let ticket = cache.ticket();
        cache.drop_calendars(&[mine]);
        assert!(cache.busy(mine).is_none() && cache.link(&LinkToken::parse("a").unwrap()).is_none());
        assert!(cache.busy(other).is_some() && cache.link(&LinkToken::parse("b").unwrap()).is_some());
        let a = LinkToken::parse("a").unwrap();
        assert!(!cache.current(ticket, &a, mine), "a load under way is not kept");
        cache.put_busy(ticket, mine, window());
        assert!(cache.busy(mine).is_none(), "a load under way is not kept");

        cache.drop_all(true);
        assert!(cache.busy(other).is_none());
        cache.put_busy(cache.ticket(), other, window());
        assert!(cache.busy(other).is_none(), "suspended: nothing kept");
        cache.drop_all(false);
        cache.put_busy(cache.ticket(), other, window());
        assert!(cache.busy(other).is_some());
    }

    #[test]
    fn the_number_of_entries_is_bounded() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        for _ in 0..MAX_ENTRIES + 5 {
            cache.put_busy(cache.ticket(), CalendarId::new(), window());
        }
        assert!(cache.busy.len() <= MAX_ENTRIES as u64);
    }
}
