//! Polling a future and a companion of it in one task, with the wake-ups
//! they give each other answered in place.
//!
//! When one future wakes the other while the task is being polled (a
//! request handed to a connection, an answer handed back), the runtime
//! would otherwise see its task woken while running and queue it again as a
//! yield: tokio then wakes an idle worker thread to share the queue, and
//! the task may move to it, a futex wake-up and a migration per hand-over.
//! Here such a wake-up is noted and answered by polling both again at once.
//! Wake-ups from outside (a socket turning readable) wake the task as usual.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// Rounds of polling in place before yielding to the runtime anyway: a
/// future out of cooperative budget wakes itself at once, and only the
/// runtime renews the budget.
const ROUNDS: usize = 16;

/// Polls `main` until it completes, and `beside` after each poll of it.
pub async fn poll_with<F: Future>(main: F, mut beside: impl FnMut(&mut Context<'_>)) -> F::Output {
    let mut main = pin!(main);
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(Arc::clone(&wakes));
    poll_fn(|cx| {
        wakes.polling_for(cx.waker());
        let mut inner = Context::from_waker(&waker);
        for _ in 0..ROUNDS {
            wakes.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(output) = main.as_mut().poll(&mut inner) {
                wakes.polling.store(false, Ordering::SeqCst);
                return Poll::Ready(output);
            }
            beside(&mut inner);
            if !wakes.woken.load(Ordering::SeqCst) {
                break;
            }
        }
        wakes.polling.store(false, Ordering::SeqCst);
        // Woken in the last round, or from another thread since the last
        // check: the runtime polls again.
        if wakes.woken.load(Ordering::SeqCst) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    })
    .await
}

/// The waker both futures are given.
#[derive(Default)]
struct Wakes {
    /// The task's own waker, for wake-ups while it is not being polled.
    task: Mutex<Option<Waker>>,
    polling: AtomicBool,
    woken: AtomicBool,
}

impl Wakes {
    fn polling_for(&self, task: &Waker) {
        let mut kept = self.task.lock().unwrap_or_else(|p| p.into_inner());
        if !kept.as_ref().is_some_and(|kept| kept.will_wake(task)) {
            *kept = Some(task.clone());
        }
        drop(kept);
        self.polling.store(true, Ordering::SeqCst);
    }
}

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Stored before `polling` is read, and `poll_with` clears `polling`
        // before reading `woken`: one side or the other sees the wake-up.
        self.woken.store(true, Ordering::SeqCst);
        if !self.polling.load(Ordering::SeqCst)
            && let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
        {
            task.wake_by_ref();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::poll_with;

    #[tokio::test]
    async fn a_companion_s_answer_reaches_the_main_future() {
        let (send, receive) = tokio::sync::oneshot::channel::<u32>();
        let mut send = Some(send);
        let mut receive = std::pin::pin!(receive);
        let answer = poll_with(async move { receive.as_mut().await.unwrap() }, |_| {
            if let Some(send) = send.take() {
                send.send(7).unwrap();
            }
        });
        assert_eq!(answer.await, 7);
    }

    #[tokio::test]
    async fn wake_ups_from_other_tasks_still_arrive() {
        let (send, receive) = tokio::sync::oneshot::channel::<u32>();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            send.send(3).unwrap();
        });
        let answer = poll_with(async move { receive.await.unwrap() }, |_| {});
        assert_eq!(answer.await, 3);
    }

    #[tokio::test]
    async fn a_future_that_always_wakes_itself_still_yields() {
        let mut polls = 0;
        let output = poll_with(
            std::future::poll_fn(|cx| {
                polls += 1;
                if polls == 100 {
                    return std::task::Poll::Ready(polls);
                }
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }),
            |_| {},
        );
        assert_eq!(output.await, 100);
    }
}
