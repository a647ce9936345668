//! Schedules in time: parsing crontabs and timezones the way steward's scheduler evaluates them.

pub mod crontab;
