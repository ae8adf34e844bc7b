//! The chart's work spread over the calling thread and a small helper pool: compiling templates and
//! rendering and parsing them are short, independent jobs, and a render is worth one more core.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Threads one render or compile may use: the jobs are short, more threads cost more than they save.
const THREADS: usize = 2;

/// `f` applied to every item, on the calling thread and the helper pool; the results keep the
/// items' order.
pub fn map_in_order<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(index) else { break done };
            done.push((index, f(item)));
        }
    };
    let mut results = match helper_pool().filter(|pool| items.len() > pool.current_num_threads()) {
        None => work(),
        Some(pool) => {
            let helped = Mutex::new(Vec::new());
            let mut results = pool.in_place_scope(|scope| {
                for _ in 0..pool.current_num_threads() {
                    scope.spawn(|_| {
                        let done = work();
                        helped.lock().unwrap_or_else(PoisonError::into_inner).extend(done);
                    });
                }
                work()
            });
            results.extend(helped.into_inner().unwrap_or_else(PoisonError::into_inner));
            results
        }
    };
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// The threads that help the calling one: [`THREADS`] less one, fewer on a smaller machine, none on
/// one core or when threads cannot be started. Kept for the life of the process: starting threads
/// for every render would cost as much as they save.
fn helper_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let helpers = cores.min(THREADS).saturating_sub(1);
        (helpers > 0)
            .then(|| {
                rayon::ThreadPoolBuilder::new().num_threads(helpers).thread_name(|i| format!("chart-{i}")).build().ok()
            })
            .flatten()
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        for len in [0, 1, 2, 3, 100] {
            let items: Vec<usize> = (0..len).collect();
            assert_eq!(map_in_order(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
