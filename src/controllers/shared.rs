//! One watch per kind, shared by every controller that needs it: a reflector store to read from and
//! a fan-out of every object the watch touched, deletions included.
//!
//! kube's own shared streams (`Writer::subscribe`) do not pass deletions on, so an object deleted
//! by hand would not re-trigger its owner until the next resync. Here the store is updated first
//! and only then the object is sent, so a reconcile that the event triggers reads a store that
//! already reflects it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt, future, stream};
use kube::runtime::reflector::{self, Store};
use kube::runtime::utils::Backoff;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

/// The delay before a failed watch retries: 250 ms doubling to 2 s (kube's default grows to 30 s,
/// which left the manager idle for up to half a minute after the API server came back). A watch
/// event resets it.
#[derive(Debug, Clone, Copy)]
pub struct WatchBackoff {
    next: Duration,
}

const WATCH_BACKOFF_FIRST: Duration = Duration::from_millis(250);
const WATCH_BACKOFF_MAX: Duration = Duration::from_secs(2);

impl Default for WatchBackoff {
    fn default() -> Self {
        Self { next: WATCH_BACKOFF_FIRST }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next;
        self.next = (self.next * 2).min(WATCH_BACKOFF_MAX);
        Some(delay)
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = WATCH_BACKOFF_FIRST;
    }
}

/// Enough for a full relist of a busy cluster between two polls of a controller; a receiver that
/// falls behind anyway loses triggers only, which the periodic resync makes up for.
const FANOUT_CAPACITY: usize = 4096;

pub struct SharedWatch<K: Resource<DynamicType = ()> + 'static> {
    pub store: Store<K>,
    sender: broadcast::Sender<Arc<K>>,
}

impl<K> SharedWatch<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    /// The watch and the future that drives it; subscribe before the future first runs.
    pub fn start(api: Api<K>, config: watcher::Config) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (store, writer) = reflector::store();
        let (sender, _) = broadcast::channel(FANOUT_CAPACITY);
        let fanout = sender.clone();
        // managedFields are large and never read from the cache: drop them to keep memory low.
        let events =
            watcher(api, config).backoff(WatchBackoff::default()).modify(|object| object.managed_fields_mut().clear());
        let driver = reflector::reflector(writer, events).touched_objects().for_each(move |touched| {
            match touched {
                // No receiver (a controller that is switched off) is not an error.
                Ok(object) => drop(fanout.send(Arc::new(object))),
                Err(error) => tracing::warn!(kind = %K::kind(&()), "watch failed, retrying: {error}"),
            }
            future::ready(())
        });
        (SharedWatch { store, sender }, driver)
    }

    /// Every object the watch touches from now on: applied, listed or deleted.
    pub fn subscribe(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        stream::unfold(self.sender.subscribe(), |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(object) => return Some((object, receiver)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(kind = %K::kind(&()), missed, "a controller fell behind its watch; the resync makes up for it");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }
}
