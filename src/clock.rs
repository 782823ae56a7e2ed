//! The one source of "now". Tests and demos can shift it (`CLOCK_OFFSET_SECONDS`, development
//! and test only: `Settings::validate` refuses it in production).

use chrono::{DateTime, Duration, SubsecRound, Utc};

#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    offset: Duration,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    pub fn shifted(seconds: i64) -> Self {
        Self { offset: Duration::seconds(seconds) }
    }

    /// Now, to the microsecond: what both databases keep, so a value returned on creation
    /// equals the one read back later.
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + self.offset).trunc_subsecs(6)
    }
}
