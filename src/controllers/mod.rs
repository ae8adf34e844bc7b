//! The controllers: one shared reconcile pipeline ([`pipeline`]) and one module per kind.

mod backoff;
pub mod children;
mod conditions;
mod context;
pub mod crds;
mod credentials;
mod error;
pub mod eventing;
pub mod kyma;
pub mod module_template;
pub mod nats;
pub mod pipeline;
mod run;
mod seniority;
mod shared;
mod snapshot;
pub mod storage;

pub use context::{Config, Context, KymaMode};
pub use error::ReconcileError;
pub use run::{Uninstalling, run};
