//! eventing-manager: a Kyma lifecycle module manager for Eventing and NATS.

pub mod api;
pub mod chart;
