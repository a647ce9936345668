//! One run of an alert or report schedule at one fire time, as Superset runs it but executed
//! by steward: the policy re-checked now, the alert query run as its user, the content fetched
//! as the run-as user through Superset's REST API (so Superset's permissions and row-level
//! security apply), delivery by e-mail and webhook, and Superset's states recorded in its own
//! execution log. The pure parts (state machine, validator, wording, re-check) do no IO; the
//! run itself ([`run`]) drives the adapters.

pub mod email;
pub mod facts;
pub mod local_scheduler;
pub mod notice;
pub mod recheck;
pub mod run;
pub mod state;
pub mod validator;
pub mod webhook;
