//! How many event streams each user, and each project's admin API, holds open
//! on this replica, so that one of them (or one leaked token or key) cannot
//! hold the server's connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// Who holds a stream open: a user (their own stream), or a project's admin
/// API (the project's stream, whichever key or session opened it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamHolder {
    User { project_id: Uuid, user_id: String },
    Project(Uuid),
}

#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<StreamHolder, usize>>,
}

/// One open stream; its slot is given back when it is dropped.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    holder: StreamHolder,
}

impl StreamSlots {
    /// A slot for one more stream of `holder`, unless it holds `max`.
    pub fn take(self: &Arc<Self>, holder: StreamHolder, max: usize) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(holder.clone()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            slots: Arc::clone(self),
            holder,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.holder) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.holder);
            }
        }
    }
}
