//! eventing-manager: a Kyma lifecycle module manager for Eventing and NATS.

pub mod api;
pub mod apply;
pub mod chart;
pub mod client;
pub mod control;
pub mod controllers;
pub mod health;
pub mod leader;
pub mod metrics;
pub mod naming;
pub mod quantity;
pub mod telemetry;
pub mod text;
