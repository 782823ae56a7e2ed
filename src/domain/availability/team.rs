//! Team links (issue #25): one booking link over several calendars, its *members*.
//!
//! * `collective`: a slot is offered when **every** member's own one-calendar answer offers it
//!   (each member's busy time, buffers and limits); a reservation blocks every member.
//! * `round_robin`: a slot is offered when **at least one** member's answer offers it; the
//!   reservation goes to one of the members offering it, chosen by [`assign`].
//! * `single` (the default): no members; the link's own calendar, as before.
//!
//! A member's answer is [`slots`] over the link's rules with the member's daily cap folded in
//! ([`TeamMember::rules`]), the member's own busy time and the member's own reservations through
//! the link ([`MemberView`]): every limit of the link (day, week, month, year, minutes) is
//! counted per member. [`team_slots`] is the intersection (collective) or the union (round
//! robin) of those answers, merged from the sorted answers; [`check_team_slot`] is the same
//! predicate for one slot, built on [`check_slot`] per member, so a reservation is accepted
//! exactly when availability lists the slot.
//!
//! A collective link with `slot_alignment: after_busy` judges each member against the busy
//! time of **every** member ([`shared_busy`]): its slot needs them all free anyway, and so its
//! slots also start right after any one member's busy time, as the alignment says, not only
//! where every member's own answer happens to start one.

use std::cmp::{max, min, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use thiserror::Error;

use super::engine::{check_slot, slots, slots_in, Frame, Refusal, SlotError};
use super::limits::DayCounts;
use super::schedule::{Period, SlotAlignment, MAX_BOOKINGS_PER_DAY};
use super::{Interval, LinkRules};
use crate::domain::ids::CalendarId;

/// The most members a team link may have.
pub const MAX_TEAM_MEMBERS: usize = 20;
/// A member's `weight`: 1..=100.
pub const MAX_WEIGHT: i64 = 100;

/// How a link's calendars make its slots (`scheduling`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Scheduling {
    /// The link's own calendar, no members (the default).
    #[default]
    Single,
    /// Every member must be free; the reservation blocks every member.
    Collective,
    /// One free member is enough; the reservation goes to one of them ([`assign`]).
    RoundRobin,
}

impl Scheduling {
    /// Every kind.
    pub const ALL: [Scheduling; 3] = [Scheduling::Single, Scheduling::Collective, Scheduling::RoundRobin];

    /// The wire and column name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Scheduling::Single => "single",
            Scheduling::Collective => "collective",
            Scheduling::RoundRobin => "round_robin",
        }
    }

    /// The kind named `text` ([`Self::as_str`]).
    #[must_use]
    pub fn parse(text: &str) -> Option<Scheduling> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A member's weight in a round-robin link: 1..=[`MAX_WEIGHT`]. A member of weight 3 is given
/// three reservations for each one of a member of weight 1 ([`assign`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Weight(u8);

impl Weight {
    /// Weight 1.
    pub const ONE: Weight = Weight(1);

    /// The weight `value`, when in 1..=[`MAX_WEIGHT`].
    #[must_use]
    pub fn new(value: i64) -> Option<Weight> {
        (1..=MAX_WEIGHT).contains(&value).then(|| Weight(u8::try_from(value).expect("1..=100 fits u8")))
    }

    /// The number.
    #[must_use]
    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

/// One member as given (a request body or a stored row), before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are the wire names
pub struct RawMember {
    pub calendar_id: CalendarId,
    pub weight: i64,
    pub max_bookings_per_day: Option<i64>,
}

/// One valid member of a team link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TeamMember {
    calendar_id: CalendarId,
    weight: Weight,
    max_bookings_per_day: Option<u32>,
}

impl TeamMember {
    /// The member's calendar.
    #[must_use]
    pub fn calendar_id(&self) -> CalendarId {
        self.calendar_id
    }

    /// The member's weight (round robin).
    #[must_use]
    pub fn weight(&self) -> Weight {
        self.weight
    }

    /// The member's own daily cap, when set (1..=[`MAX_BOOKINGS_PER_DAY`]).
    #[must_use]
    pub fn max_bookings_per_day(&self) -> Option<u32> {
        self.max_bookings_per_day
    }

    /// The rules the member's answer is computed with: the link's, with the lower of the link's
    /// `max_bookings_per_day` and the member's.
    #[must_use]
    pub fn rules(&self, link: &LinkRules) -> LinkRules {
        LinkRules {
            duration: link.duration,
            buffer: link.buffer,
            tz: link.tz,
            hours: link.hours.clone(),
            schedule: link.schedule.clone().with_day_cap(self.max_bookings_per_day),
        }
    }

    /// The member as raw values again.
    #[must_use]
    pub fn to_raw(&self) -> RawMember {
        RawMember {
            calendar_id: self.calendar_id,
            weight: i64::from(self.weight.get()),
            max_bookings_per_day: self.max_bookings_per_day.map(i64::from),
        }
    }
}

/// A link's scheduling and its members, valid: `single` has none; `collective` and
/// `round_robin` have 1..=[`MAX_TEAM_MEMBERS`], no calendar twice, in the order given (the
/// order [`MemberSet`] indexes and [`assign`]'s last tie-break follow).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Team {
    scheduling: Scheduling,
    members: Vec<TeamMember>,
}

/// Why a team was rejected. Messages name the member (they are meant as 400 bodies); member
/// indexes are 0-based, as in `members[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TeamError {
    /// Members given to a `single` link.
    #[error("members must be empty when scheduling is single, got {got}")]
    MembersOfSingle {
        /// How many were given.
        got: usize,
    },
    /// No members, or more than [`MAX_TEAM_MEMBERS`], for a team link.
    #[error("members must hold between 1 and {max} calendars when scheduling is {scheduling}, got {got}")]
    MemberCount {
        /// The scheduling's wire name.
        scheduling: &'static str,
        /// [`MAX_TEAM_MEMBERS`].
        max: usize,
        /// How many were given.
        got: usize,
    },
    /// A member's number outside its range.
    #[error("members[{index}].{field} must be between {min} and {max}, got {got}")]
    OutOfRange {
        /// 0-based position in the list as given.
        index: usize,
        /// The wire name, e.g. `weight`.
        field: &'static str,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
        /// The value given.
        got: i64,
    },
    /// The same calendar twice.
    #[error("members[{index}].calendar_id: calendar {calendar_id} is given more than once (also members[{first}])")]
    DuplicateCalendar {
        /// 0-based position of the repeat.
        index: usize,
        /// 0-based position of its first appearance.
        first: usize,
        /// The repeated calendar.
        calendar_id: CalendarId,
    },
}

impl Team {
    /// Validates a scheduling and its members; the first problem found is reported: the count,
    /// then member by member its weight, its `max_bookings_per_day` and its calendar.
    ///
    /// # Errors
    ///
    /// [`TeamError`] naming the member and the field.
    pub fn parse(scheduling: Scheduling, raw: &[RawMember]) -> Result<Team, TeamError> {
        if scheduling == Scheduling::Single {
            if !raw.is_empty() {
                return Err(TeamError::MembersOfSingle { got: raw.len() });
            }
            return Ok(Team::default());
        }
        if raw.is_empty() || raw.len() > MAX_TEAM_MEMBERS {
            return Err(TeamError::MemberCount {
                scheduling: scheduling.as_str(),
                max: MAX_TEAM_MEMBERS,
                got: raw.len(),
            });
        }
        let mut members: Vec<TeamMember> = Vec::with_capacity(raw.len());
        for (index, m) in raw.iter().enumerate() {
            let weight = Weight::new(m.weight).ok_or(TeamError::OutOfRange {
                index,
                field: "weight",
                min: 1,
                max: MAX_WEIGHT,
                got: m.weight,
            })?;
            let max_bookings_per_day = match m.max_bookings_per_day {
                None => None,
                Some(v) if (1..=MAX_BOOKINGS_PER_DAY).contains(&v) => Some(u32::try_from(v).expect("range fits u32")),
                Some(got) => {
                    return Err(TeamError::OutOfRange {
                        index,
                        field: "max_bookings_per_day",
                        min: 1,
                        max: MAX_BOOKINGS_PER_DAY,
                        got,
                    })
                }
            };
            // At most 20 members: a linear search is the cheapest.
            if let Some(first) = members.iter().position(|x| x.calendar_id == m.calendar_id) {
                return Err(TeamError::DuplicateCalendar { index, first, calendar_id: m.calendar_id });
            }
            members.push(TeamMember { calendar_id: m.calendar_id, weight, max_bookings_per_day });
        }
        Ok(Team { scheduling, members })
    }

    /// How the link's calendars make its slots.
    #[must_use]
    pub fn scheduling(&self) -> Scheduling {
        self.scheduling
    }

    /// The members, in the order given (empty for `single`).
    #[must_use]
    pub fn members(&self) -> &[TeamMember] {
        &self.members
    }

    /// The members as raw values again; `parse(t.scheduling(), &t.to_raw()) == Ok(t)`.
    #[must_use]
    pub fn to_raw(&self) -> Vec<RawMember> {
        self.members.iter().map(TeamMember::to_raw).collect()
    }
}

/// A set of member indexes (positions in the link's `members`), as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MemberSet(u32);

const _: () = assert!(MAX_TEAM_MEMBERS <= MemberSet::CAPACITY);

impl MemberSet {
    /// The most members a set can name (indexes `0..CAPACITY`).
    pub const CAPACITY: usize = 32;
    /// Nobody.
    pub const EMPTY: MemberSet = MemberSet(0);

    /// Members `0..n`.
    ///
    /// # Panics
    ///
    /// When `n` is more than [`Self::CAPACITY`].
    #[must_use]
    pub fn first(n: usize) -> MemberSet {
        assert!(n <= Self::CAPACITY, "at most {} members", Self::CAPACITY);
        MemberSet(if n == Self::CAPACITY { u32::MAX } else { (1u32 << n) - 1 })
    }

    /// Adds member `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not below [`Self::CAPACITY`].
    pub fn insert(&mut self, i: usize) {
        assert!(i < Self::CAPACITY, "member index {i} out of range");
        self.0 |= 1 << i;
    }

    /// Whether member `i` is in.
    #[must_use]
    pub fn contains(self, i: usize) -> bool {
        i < Self::CAPACITY && self.0 & (1 << i) != 0
    }

    /// How many members are in.
    #[must_use]
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether nobody is in.
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The member indexes, lowest first.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(i)
        })
    }
}

impl FromIterator<usize> for MemberSet {
    fn from_iter<I: IntoIterator<Item = usize>>(indexes: I) -> MemberSet {
        let mut set = MemberSet::EMPTY;
        for i in indexes {
            set.insert(i);
        }
        set
    }
}

/// What one member's answer is computed from.
#[derive(Debug, Clone, Copy)]
pub struct MemberView<'a> {
    /// The member's rules ([`TeamMember::rules`]).
    pub rules: &'a LinkRules,
    /// The member's busy time (any order, may overlap).
    pub busy: &'a [Interval],
    /// The member's live reservations through this link per local date ([`DayCounts`]).
    pub booked: &'a DayCounts,
}

/// A slot a team link offers, and which members offer it (collective: all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamSlot {
    /// The slot.
    pub slot: Interval,
    /// The members whose answer holds it (indexes into the members given).
    pub free: MemberSet,
}

/// The slots a link offers inside `range` with `members` (in the link's order): for
/// `collective` (and `single`, with its one calendar as the one member), the slots **every**
/// member's answer ([`slots`] with the member's view) holds, `free` being all of them; for
/// `round_robin` the slots **any** member's answer holds, `free` being exactly those members.
/// Sorted by start (then end), no duplicates. No members: no slots.
///
/// Cost: one [`slots`] per member, the windows resolved once for the members whose rules have
/// the first one's zone, hours and overrides (a team link's members do), and a merge of their
/// sorted answers, O(k) per slot of the answers (k members). A collective link stops at the
/// first member with nothing to offer and asks each later member only about the span where
/// the earlier ones offer something.
///
/// # Panics
///
/// When more than [`MemberSet::CAPACITY`] members are given.
#[must_use]
pub fn team_slots(kind: Scheduling, members: &[MemberView<'_>], range: Interval, now: DateTime<Utc>) -> Vec<TeamSlot> {
    assert!(members.len() <= MemberSet::CAPACITY, "at most {} members", MemberSet::CAPACITY);
    let Some(first) = members.first() else { return Vec::new() };
    let answers = Answers { first: first.rules, frame: Frame::new(first.rules, range, now), now };
    let shared = shared_busy(kind, members);
    let views = shared.as_deref().map(|busy| with_busy(members, busy));
    let members = views.as_deref().unwrap_or(members);
    match kind {
        Scheduling::Single | Scheduling::Collective => every_member(&answers, members, range),
        Scheduling::RoundRobin => any_member(&answers, members, range),
    }
}

/// For a collective link whose slots start after busy time (`slot_alignment: after_busy`):
/// every member's busy time together, to judge each member against. A collective slot needs
/// every member free, so that offers the same slots where the grid is concerned, and starts
/// slots after any member's busy time (each member's own answer only starts them after its
/// own). `None` otherwise.
fn shared_busy(kind: Scheduling, members: &[MemberView<'_>]) -> Option<Vec<Interval>> {
    let first = members.first()?;
    let after_busy = first.rules.schedule.slot_alignment() == SlotAlignment::AfterBusy;
    (kind == Scheduling::Collective && members.len() > 1 && after_busy)
        .then(|| members.iter().flat_map(|m| m.busy.iter().copied()).collect())
}

/// `members`, each with `busy` as its busy time.
fn with_busy<'a>(members: &[MemberView<'a>], busy: &'a [Interval]) -> Vec<MemberView<'a>> {
    members.iter().map(|m| MemberView { busy, ..*m }).collect()
}

/// The members' answers, with the windows of the first member's rules resolved once.
struct Answers<'a> {
    first: &'a LinkRules,
    /// The first member's frame for the whole range asked.
    frame: Frame,
    now: DateTime<Utc>,
}

impl Answers<'_> {
    /// `m`'s answer for `range` (the range asked, or a range within it).
    fn of(&self, m: &MemberView<'_>, range: Interval) -> Vec<Interval> {
        let (a, b) = (self.first, m.rules);
        let alike = std::ptr::eq(a, b)
            || (a.tz == b.tz && a.hours == b.hours && a.schedule.date_overrides() == b.schedule.date_overrides());
        if alike {
            slots_in(&self.frame, m.rules, range, m.busy, m.booked, self.now)
        } else {
            slots(m.rules, range, m.busy, m.booked, self.now)
        }
    }
}

/// The intersection of the members' answers.
fn every_member(answers_of: &Answers<'_>, members: &[MemberView<'_>], range: Interval) -> Vec<TeamSlot> {
    let mut range = range;
    let mut answers = Vec::with_capacity(members.len());
    for m in members {
        let answer = answers_of.of(m, range);
        let (Some(first), Some(last)) = (answer.first(), answer.last()) else { return Vec::new() };
        // A slot every member offers lies within this answer's span (the slots of a narrower
        // range are those of the wider one that fit in it: rule 8 only filters).
        range = Interval { start: max(range.start, first.start), end: min(range.end, last.end) };
        answers.push(answer);
    }
    let Some((head, rest)) = answers.split_first() else { return Vec::new() };
    let all = MemberSet::first(members.len());
    let mut at = vec![0usize; rest.len()];
    let mut out = Vec::new();
    'slots: for s in head {
        for (answer, i) in rest.iter().zip(at.iter_mut()) {
            while answer.get(*i).is_some_and(|x| x < s) {
                *i += 1;
            }
            match answer.get(*i) {
                None => break 'slots,
                Some(x) if x != s => continue 'slots,
                Some(_) => {}
            }
        }
        out.push(TeamSlot { slot: *s, free: all });
    }
    out
}

/// The union of the members' answers, each slot with the members offering it.
fn any_member(answers_of: &Answers<'_>, members: &[MemberView<'_>], range: Interval) -> Vec<TeamSlot> {
    let answers: Vec<Vec<Interval>> = members.iter().map(|m| answers_of.of(m, range)).collect();
    let mut at = vec![0usize; answers.len()];
    let mut out = Vec::with_capacity(answers.iter().map(Vec::len).max().unwrap_or(0));
    loop {
        // The earliest slot at the members' heads, and the members whose head it is.
        let mut next: Option<&Interval> = None;
        let mut free = 0u32;
        for (m, (answer, &i)) in answers.iter().zip(&at).enumerate() {
            let Some(s) = answer.get(i) else { continue };
            match next.map(|n| s.cmp(n)) {
                Some(Ordering::Greater) => {}
                Some(Ordering::Equal) => free |= 1 << m,
                _ => {
                    next = Some(s);
                    free = 1 << m;
                }
            }
        }
        let Some(&slot) = next else { return out };
        let free = MemberSet(free);
        for m in free.iter() {
            at[m] += 1;
        }
        out.push(TeamSlot { slot, free });
    }
}

/// How decisive a refusal is when members disagree: "not offered" (400) first, then "full"
/// (409), then "busy" (409).
fn decisiveness(r: Refusal) -> u8 {
    match r {
        Refusal::NotOffered => 0,
        Refusal::DateFull => 1,
        Refusal::Busy => 2,
    }
}

/// Ok with the members that would take a reservation of `slot`: exactly when [`team_slots`]
/// lists it (for a range holding it), with the same `free` members. Each member is checked
/// with [`check_slot`] and its view.
///
/// # Errors
///
/// `collective` (and `single`): when any member refuses; `round_robin`: when every member
/// refuses. The error is one refusing member's, the most decisive by [`SlotError::refusal`]:
/// [`Refusal::NotOffered`] before [`Refusal::DateFull`] before [`Refusal::Busy`], and among
/// equals the first member's (lowest index). No members: [`SlotError::OutsideWorkingHours`]
/// (no calendar has hours).
///
/// # Panics
///
/// When more than [`MemberSet::CAPACITY`] members are given.
pub fn check_team_slot(
    kind: Scheduling,
    members: &[MemberView<'_>],
    slot: Interval,
    now: DateTime<Utc>,
) -> Result<MemberSet, SlotError> {
    assert!(members.len() <= MemberSet::CAPACITY, "at most {} members", MemberSet::CAPACITY);
    let shared = shared_busy(kind, members);
    let views = shared.as_deref().map(|busy| with_busy(members, busy));
    let members = views.as_deref().unwrap_or(members);
    let every = kind != Scheduling::RoundRobin;
    let mut free = MemberSet::EMPTY;
    let mut refused: Option<SlotError> = None;
    for (i, m) in members.iter().enumerate() {
        match check_slot(m.rules, slot, m.busy, m.booked, now) {
            Ok(()) => free.insert(i),
            Err(e) => {
                let rank = decisiveness(e.refusal());
                // Nothing is more decisive, and a collective link is refused already.
                if every && rank == 0 {
                    return Err(e);
                }
                if refused.as_ref().is_none_or(|r| rank < decisiveness(r.refusal())) {
                    refused = Some(e);
                }
            }
        }
    }
    match refused {
        Some(e) if every || free.is_empty() => Err(e),
        _ if free.is_empty() => Err(SlotError::OutsideWorkingHours),
        _ => Ok(free),
    }
}

/// A member free for a round-robin slot, as [`assign`] weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The member's index in the link's `members`.
    pub member: usize,
    /// The member's weight.
    pub weight: Weight,
    /// The member's live reservations through the link in the current period
    /// ([`current_period`]).
    pub booked_in_period: u32,
    /// When the member was last given a reservation through the link (`None`: never).
    pub last_booked: Option<DateTime<Utc>>,
}

/// Whether `a` is given the reservation before `b` ([`assign`]'s rule).
fn precedes(a: &Candidate, b: &Candidate) -> Ordering {
    // a.booked / a.weight against b.booked / b.weight, cross-multiplied (exact, no floats).
    let lhs = u64::from(a.booked_in_period) * u64::from(b.weight.get());
    let rhs = u64::from(b.booked_in_period) * u64::from(a.weight.get());
    // `None` (never booked) sorts first, then the earliest.
    lhs.cmp(&rhs).then(a.last_booked.cmp(&b.last_booked)).then(a.member.cmp(&b.member))
}

/// The member a round-robin reservation goes to, among the `candidates` (the members free for
/// the slot; `None` when there are none). The rule:
///
/// 1. the fewest reservations in the current period for its weight: the lowest
///    `booked_in_period / weight` (a member of weight 3 takes three for each one of a member of
///    weight 1; everyone is given one before anyone is given a second);
/// 2. then the longest since last booked (never booked first);
/// 3. then the first in the link's `members` (the lowest index), so the choice is always the
///    same for the same inputs, whatever the order of `candidates`.
///
/// Returns that candidate's `member`.
#[must_use]
pub fn assign(candidates: &[Candidate]) -> Option<usize> {
    candidates.iter().min_by(|a, b| precedes(a, b)).map(|c| c.member)
}

/// The current period of [`assign`]'s rule: the local dates `[first, next)` of the calendar
/// month holding `now` in the link's zone (dates as [`LinkRules::date_of`] gives them). Count
/// each member's live reservations through the link whose start's local date lies in it.
#[must_use]
pub fn current_period(rules: &LinkRules, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    Period::Month.around(rules.date_of(now), rules.schedule.week_start())
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
