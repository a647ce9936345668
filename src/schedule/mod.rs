//! Schedules in time: parsing crontabs and timezones the way steward's scheduler evaluates them,
//! and the exact smallest gap between a schedule's fire times.

mod calendar;
pub mod crontab;
mod day_times;
pub mod min_gap;
mod run;
mod transitions;
