//! Schedules: each `schedule` workflow runs at every occurrence of its cron
//! expression, once per account that has it enabled.
