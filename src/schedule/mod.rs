//! Schedules in time: parsing crontabs and timezones the way steward's scheduler evaluates them,
//! the exact smallest gap between a schedule's fire times, which fire times are due, and the
//! Job of one run. Pure: the embedded scheduler that acts on them is `crate::execute::local_scheduler`.

mod calendar;
pub mod crontab;
mod day_times;
pub mod due;
pub mod fire_clock;
pub mod job;
pub mod min_gap;
mod run;
mod transitions;
