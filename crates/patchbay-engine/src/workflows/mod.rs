//! Workflows: runs for exactly one credential, their steps, the durable
//! queue that carries asynchronous runs, and schedules.

pub(crate) mod calls;
mod context;
pub mod enabled;
pub mod executor;
pub mod replay;
pub mod runs;
pub mod schedule;
pub mod worker;

pub use context::{WorkflowSettings, Workflows};
