//! The retry cache (Hadoop's `RetryCache`): the answer to each mutating client call, by the
//! call's (client id, call id), for `dfs.namenode.retrycache.expirytime.millis`. A call retried
//! after a timeout or a failover gets the first answer instead of running twice (a retried
//! create does not fail with "already exists"). The standby fills it from the call ids carried
//! by the edit ops it tails, so that the answer survives a failover.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::namespace::FileStatus;
use super::ops::CallId;

/// What a completed call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedAnswer {
    Bool(bool),
    /// A create or append: the file as it was answered (`None` when the answer came from an
    /// edit op, where the caller looks the file up).
    File(Option<FileStatus>),
}

#[derive(Debug)]
enum Entry {
    /// The call is running; retries wait for it.
    InProgress(Arc<Notify>),
    Done(CachedAnswer),
}

/// What a new call should do.
#[derive(Debug)]
pub enum Begin {
    /// Run it.
    Run,
    /// Answered before: answer the same.
    Answered(CachedAnswer),
    /// Running now: wait, then look again.
    Wait(Arc<Notify>),
}

#[derive(Debug)]
pub struct RetryCache {
    entries: HashMap<CallId, Entry>,
    /// When each completed entry was added, oldest first.
    added: VecDeque<(Instant, CallId)>,
    expiry: Duration,
}

impl RetryCache {
    pub fn new(expiry: Duration) -> Self {
        RetryCache {
            entries: HashMap::new(),
            added: VecDeque::new(),
            expiry,
        }
    }

    /// Starts call `id` at `now`.
    pub fn begin(&mut self, id: &CallId, now: Instant) -> Begin {
        self.expire(now);
        match self.entries.get(id) {
            Some(Entry::Done(answer)) => Begin::Answered(answer.clone()),
            Some(Entry::InProgress(notify)) => Begin::Wait(notify.clone()),
            None => {
                self.entries
                    .insert(id.clone(), Entry::InProgress(Arc::new(Notify::new())));
                Begin::Run
            }
        }
    }

    /// Ends call `id`: its answer, or `None` when it failed (a retry runs it again).
    pub fn complete(&mut self, id: &CallId, answer: Option<CachedAnswer>, now: Instant) {
        let previous = match answer {
            Some(answer) => {
                self.added.push_back((now, id.clone()));
                self.entries.insert(id.clone(), Entry::Done(answer))
            }
            None => self.entries.remove(id),
        };
        if let Some(Entry::InProgress(notify)) = previous {
            notify.notify_waiters();
        }
    }

    /// Records an answer learned from an edit op (standby tailing).
    pub fn record(&mut self, id: CallId, answer: CachedAnswer, now: Instant) {
        self.added.push_back((now, id.clone()));
        self.entries.insert(id, Entry::Done(answer));
        self.expire(now);
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.added.front() {
            if now.duration_since(*at) < self.expiry {
                break;
            }
            let (_, id) = self.added.pop_front().expect("front exists");
            if matches!(self.entries.get(&id), Some(Entry::Done(_))) {
                self.entries.remove(&id);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i32) -> CallId {
        CallId {
            client_id: vec![7; 16],
            call_id: n,
        }
    }

    #[test]
    fn a_retry_gets_the_first_answer_until_it_expires() {
        let t0 = Instant::now();
        let mut cache = RetryCache::new(Duration::from_secs(600));
        assert!(matches!(cache.begin(&id(1), t0), Begin::Run));
        assert!(matches!(cache.begin(&id(1), t0), Begin::Wait(_)));
        cache.complete(&id(1), Some(CachedAnswer::Bool(true)), t0);
        assert!(matches!(
            cache.begin(&id(1), t0),
            Begin::Answered(CachedAnswer::Bool(true))
        ));
        let later = t0 + Duration::from_secs(601);
        assert!(matches!(cache.begin(&id(1), later), Begin::Run));
    }

    #[test]
    fn a_failed_call_runs_again() {
        let t0 = Instant::now();
        let mut cache = RetryCache::new(Duration::from_secs(600));
        assert!(matches!(cache.begin(&id(2), t0), Begin::Run));
        cache.complete(&id(2), None, t0);
        assert!(matches!(cache.begin(&id(2), t0), Begin::Run));
    }

    #[test]
    fn answers_from_edit_ops_are_served() {
        let t0 = Instant::now();
        let mut cache = RetryCache::new(Duration::from_secs(600));
        cache.record(id(3), CachedAnswer::File(None), t0);
        assert!(matches!(
            cache.begin(&id(3), t0),
            Begin::Answered(CachedAnswer::File(None))
        ));
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn waiters_are_woken_when_the_call_completes() {
        let t0 = Instant::now();
        let cache = Arc::new(std::sync::Mutex::new(RetryCache::new(Duration::from_secs(
            600,
        ))));
        assert!(matches!(
            cache.lock().unwrap().begin(&id(4), t0),
            Begin::Run
        ));
        let Begin::Wait(notify) = cache.lock().unwrap().begin(&id(4), t0) else {
            panic!("expected to wait");
        };
        let waiting = notify.notified();
        let c = cache.clone();
        tokio::spawn(async move {
            c.lock()
                .unwrap()
                .complete(&id(4), Some(CachedAnswer::Bool(false)), t0);
        });
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap();
    }
}
