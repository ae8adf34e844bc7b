//! A memo of `include` results for one render: every template of a chart includes the same
//! metadata partials with the same context, and rendering them again was a third of the template work.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use handlebars::Context;

/// What `include` rendered with one of the render's chart contexts, shared by the templates of
/// one render (on every thread): the same partial with the same context gives the same text, and
/// the metadata partials are included by every template. Keyed by partial and context address,
/// which is only sound while those contexts live: [`IncludeMemo::scope`] bounds it to one render.
pub struct IncludeMemo {
    roots: Vec<usize>,
    rendered: Mutex<HashMap<(String, usize), String>>,
}

thread_local! {
    static MEMO: RefCell<Option<Arc<IncludeMemo>>> = const { RefCell::new(None) };
}

impl IncludeMemo {
    /// A memo for one render whose chart contexts are `roots`.
    pub fn new<'c>(roots: impl IntoIterator<Item = &'c Context>) -> Self {
        let roots = roots.into_iter().map(|c| std::ptr::from_ref(c.data()) as usize).collect();
        IncludeMemo { roots, rendered: Default::default() }
    }

    /// Runs `f` (rendering templates of this render) with the memo in use on this thread.
    pub fn scope<T>(self: &Arc<Self>, f: impl FnOnce() -> T) -> T {
        let previous = MEMO.with(|m| m.replace(Some(self.clone())));
        let result = f();
        MEMO.with(|m| *m.borrow_mut() = previous);
        result
    }

    pub(super) fn get(key: &(String, usize)) -> Option<String> {
        MEMO.with(|m| {
            let memo = m.borrow();
            let memo = memo.as_ref().filter(|memo| memo.roots.contains(&key.1))?;
            memo.rendered.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
        })
    }

    pub(super) fn put(key: (String, usize), rendered: &str) {
        MEMO.with(|m| {
            if let Some(memo) = m.borrow().as_ref().filter(|memo| memo.roots.contains(&key.1)) {
                memo.rendered.lock().unwrap_or_else(PoisonError::into_inner).insert(key, rendered.to_owned());
            }
        })
    }
}
