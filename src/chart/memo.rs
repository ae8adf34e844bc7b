//! A memo of `include` results for one render: every template of a chart includes the same
//! metadata partials with the same context, and rendering them again was a third of the template work.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use handlebars::Context;

/// What `include` rendered with one of the render's chart contexts, shared by the templates of
/// one render (on every thread): the same partial with the same context gives the same text, and
/// the metadata partials are included by every template. A context is known by its address, which
/// is only sound while those contexts live: [`IncludeMemo::scope`] bounds it to one render.
pub struct IncludeMemo {
    roots: Vec<usize>,
    /// Partial name → rendered text, one map per entry of `roots`.
    rendered: Vec<Mutex<HashMap<String, String>>>,
}

thread_local! {
    static MEMO: RefCell<Option<Arc<IncludeMemo>>> = const { RefCell::new(None) };
}

fn address(context: &Context) -> usize {
    std::ptr::from_ref(context.data()) as usize
}

impl IncludeMemo {
    /// A memo for one render whose chart contexts are `roots`.
    pub fn new<'c>(roots: impl IntoIterator<Item = &'c Context>) -> Self {
        let roots: Vec<usize> = roots.into_iter().map(address).collect();
        let rendered = roots.iter().map(|_| Mutex::default()).collect();
        IncludeMemo { roots, rendered }
    }

    /// Runs `f` (rendering templates of this render) with the memo in use on this thread.
    pub fn scope<T>(self: &Arc<Self>, f: impl FnOnce() -> T) -> T {
        let previous = MEMO.with(|m| m.replace(Some(self.clone())));
        let result = f();
        MEMO.with(|m| *m.borrow_mut() = previous);
        result
    }

    /// Runs `f` with the map of `context`, when it is one of the render's chart contexts.
    fn with_map<T>(context: &Context, f: impl FnOnce(&mut HashMap<String, String>) -> T) -> Option<T> {
        MEMO.with(|m| {
            let memo = m.borrow();
            let memo = memo.as_ref()?;
            let index = memo.roots.iter().position(|root| *root == address(context))?;
            Some(f(&mut memo.rendered[index].lock().unwrap_or_else(PoisonError::into_inner)))
        })
    }

    pub(super) fn get(context: &Context, partial: &str) -> Option<String> {
        Self::with_map(context, |map| map.get(partial).cloned()).flatten()
    }

    pub(super) fn put(context: &Context, partial: &str, rendered: &str) {
        Self::with_map(context, |map| map.insert(partial.to_owned(), rendered.to_owned()));
    }
}
