//! Scheduling: addresses queue per domain; up to `--per-host` sessions per domain take them in
//! turn and linger briefly for more; `--sessions` bounds the sessions open at once, and
//! [`HostLimits`] the sessions to each MX host. The catch-all answers are cached here too.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailvet_core::report::MailboxEvidence;
use mailvet_core::smtp::{Mailbox, holds_for_the_hosts};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::time::{Instant, timeout_at};

use super::{Inner, MailHost, lock};
use crate::metrics::Metrics;

/// How long a domain's catch-all answer is reused. Catch-all settings change rarely; an hour
/// keeps a long list from asking the same server the same question again and again.
pub const CATCH_ALL_TTL: Duration = Duration::from_secs(3600);
/// The most domains whose catch-all answer is remembered.
const CATCH_ALL_ENTRIES: usize = 100_000;
/// How long a session with nothing to do waits for another address of its domain before QUIT.
pub(super) const LINGER: Duration = Duration::from_millis(100);

impl Inner {
    /// Queues `job` for its domain, waking an idle session or starting one within the limit.
    pub(super) fn submit(self: &Arc<Self>, job: Job) {
        let key = job.mailbox.domain().to_owned();
        let mut queues = lock(&self.queues);
        let queue = queues.entry(key.clone()).or_default();
        queue.jobs.push_back(job);
        if queue.idle > 0 {
            queue.notify.notify_one();
        }
        if queue.jobs.len() > queue.idle && queue.sessions < self.config.per_host {
            queue.sessions += 1;
            let worker = Worker {
                inner: Arc::clone(self),
                notify: Arc::clone(&queue.notify),
                key,
            };
            let running = Running::start(&self.tasks);
            tokio::spawn(async move {
                worker.run().await;
                drop(running);
            });
        }
    }

    pub(super) fn cached_catch_all(&self, domain: &str) -> Option<bool> {
        let cache = lock(&self.catch_all);
        let &(answer, at) = cache.get(domain)?;
        (at.elapsed() < CATCH_ALL_TTL).then_some(answer)
    }

    pub(super) fn remember_catch_all(&self, domain: &str, answer: bool) {
        let mut cache = lock(&self.catch_all);
        if cache.len() >= CATCH_ALL_ENTRIES {
            cache.retain(|_, (_, at)| at.elapsed() < CATCH_ALL_TTL);
            if cache.len() >= CATCH_ALL_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(domain.to_owned(), (answer, Instant::now()));
    }
}

/// The addresses of one domain waiting for a session, and the sessions serving them.
#[derive(Default)]
pub(super) struct Queue {
    jobs: VecDeque<Job>,
    sessions: usize,
    /// Sessions waiting for another address before they QUIT.
    idle: usize,
    notify: Arc<Notify>,
}

pub(super) struct Job {
    pub(super) mailbox: Mailbox,
    pub(super) hosts: Arc<[MailHost]>,
    pub(super) deadline: Instant,
    pub(super) reply: oneshot::Sender<MailboxEvidence>,
    /// Sent back once already (a server that took no more recipients, a connection lost).
    pub(super) retried: bool,
}

impl Job {
    pub(super) fn answer(self, evidence: MailboxEvidence) {
        // The caller may have stopped waiting at its deadline: nobody to tell.
        let _ = self.reply.send(evidence);
    }

    pub(super) fn wanted(&self) -> bool {
        !self.reply.is_closed()
    }
}

/// The sessions still open and the QUITs still waiting for their reply.
#[derive(Debug, Default)]
pub(super) struct Tasks {
    pub(super) running: AtomicUsize,
    pub(super) done: Notify,
}

/// Counts a task as running until dropped.
pub(super) struct Running(Arc<Tasks>);

impl Running {
    pub(super) fn start(tasks: &Arc<Tasks>) -> Running {
        tasks.running.fetch_add(1, Ordering::Relaxed);
        Running(Arc::clone(tasks))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.0.done.notify_waiters();
        }
    }
}

/// The sessions to each MX host, bounded by `--per-host`.
#[derive(Debug)]
pub(super) struct HostLimits {
    pub(super) per_host: usize,
    pub(super) hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A session's place in its host's limit; forgets the host when it is the last.
#[derive(Debug)]
pub(super) struct HostPermit {
    limits: Arc<HostLimits>,
    host: String,
    semaphore: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl HostLimits {
    pub(super) async fn acquire(
        self: &Arc<Self>,
        host: &str,
        metrics: &Metrics,
    ) -> Option<HostPermit> {
        let semaphore = {
            let mut hosts = lock(&self.hosts);
            Arc::clone(
                hosts
                    .entry(host.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_host))),
            )
        };
        let permit = match Arc::clone(&semaphore).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                metrics.host_wait();
                Arc::clone(&semaphore).acquire_owned().await.ok()?
            }
        };
        Some(HostPermit {
            limits: Arc::clone(self),
            host: host.to_owned(),
            semaphore,
            permit: Some(permit),
        })
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        self.permit.take();
        let mut hosts = lock(&self.limits.hosts);
        // Held by the map and by this permit only: nobody else uses or waits for the host.
        if Arc::strong_count(&self.semaphore) == 2 {
            hosts.remove(&self.host);
        }
    }
}

/// Serves the queue of one domain, one session after another.
pub(super) struct Worker {
    pub(super) inner: Arc<Inner>,
    notify: Arc<Notify>,
    key: String,
}

impl Worker {
    async fn run(self) {
        let mut carry = None;
        loop {
            let job = match carry.take() {
                Some(job) => job,
                None => match self.take() {
                    Some(job) => job,
                    None => return,
                },
            };
            carry = self.session(job).await;
        }
    }

    /// The next address; when there is none, this session ends, counted out under the lock.
    fn take(&self) -> Option<Job> {
        let mut queues = lock(&self.inner.queues);
        let queue = queues.get_mut(&self.key)?;
        if let Some(job) = queue.jobs.pop_front() {
            return Some(job);
        }
        queue.sessions -= 1;
        if queue.sessions == 0 {
            queues.remove(&self.key);
        }
        None
    }

    /// The next address for a session that asked about `recipients` already: `first`, else one
    /// from the queue, unless the session has asked enough. Addresses whose time ran out while
    /// they waited are answered on the way.
    pub(super) async fn next_job(&self, first: &mut Option<Job>, recipients: usize) -> Option<Job> {
        loop {
            let job = match first.take() {
                Some(job) => job,
                None if recipients >= self.inner.config.rcpt_per_session => return None,
                None => self.next_or_linger().await?,
            };
            if Instant::now() >= job.deadline {
                // No step left to take.
                job.answer(MailboxEvidence::Timeout { host: None });
            } else if job.wanted() {
                return Some(job);
            }
        }
    }

    /// The next address, waiting up to [`LINGER`] for one, unless every session place is taken:
    /// another domain may be waiting for this one's.
    async fn next_or_linger(&self) -> Option<Job> {
        {
            let mut queues = lock(&self.inner.queues);
            let queue = queues.get_mut(&self.key)?;
            if let Some(job) = queue.jobs.pop_front() {
                return Some(job);
            }
            if self.inner.sessions.available_permits() == 0 {
                return None;
            }
            queue.idle += 1;
        }
        let _ = tokio::time::timeout(LINGER, self.notify.notified()).await;
        let mut queues = lock(&self.inner.queues);
        let queue = queues.get_mut(&self.key)?;
        queue.idle -= 1;
        queue.jobs.pop_front()
    }

    /// One session, for `job` and whoever comes after it. Returns a job to ask again in a new
    /// session.
    async fn session(&self, job: Job) -> Option<Job> {
        if !job.wanted() {
            return None;
        }
        let sessions = Arc::clone(&self.inner.sessions);
        let Ok(Ok(_global)) = timeout_at(job.deadline, sessions.acquire_owned()).await else {
            job.answer(MailboxEvidence::Timeout { host: None });
            return None;
        };
        match self.inner.open(&job.hosts, job.deadline).await {
            Ok(open) => self.converse(open, job).await,
            Err(evidence) => {
                self.answer_all(job, evidence);
                None
            }
        }
    }

    /// Answers `job`, and every address waiting for the same hosts when the answer is not about
    /// one address (the core says which: [`holds_for_the_hosts`]).
    pub(super) fn answer_all(&self, job: Job, evidence: MailboxEvidence) {
        let mut others = VecDeque::new();
        if holds_for_the_hosts(&evidence) {
            let mut queues = lock(&self.inner.queues);
            if let Some(queue) = queues.get_mut(&self.key) {
                let (same, rest) = std::mem::take(&mut queue.jobs)
                    .into_iter()
                    .partition(|j: &Job| j.hosts == job.hosts);
                queue.jobs = rest;
                others = same;
            }
        }
        for other in others {
            other.answer(evidence.clone());
        }
        job.answer(evidence);
    }
}
