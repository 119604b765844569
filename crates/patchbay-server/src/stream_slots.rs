//! How many event streams each user holds open on this replica, so that one
//! user (or one leaked token) cannot hold the server's connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

type User = (Uuid, String);

#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<User, usize>>,
}

/// One open stream; its slot is given back when it is dropped.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    user: User,
}

impl StreamSlots {
    /// A slot for one more stream of the user, unless they hold `max`.
    pub fn take(
        self: &Arc<Self>,
        project_id: Uuid,
        user_id: &str,
        max: usize,
    ) -> Option<StreamSlot> {
        let user = (project_id, user_id.to_owned());
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(user.clone()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            slots: Arc::clone(self),
            user,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}
