//! End-to-end tests through the local stack. Each test names the requirement it proves.

mod auth_email;
mod auth_google;
mod bad_input;
mod billing;
mod chaos;
mod cold_start;
mod contract;
mod generate_step;
mod infra;
mod lambda_events;
mod logs;
mod money;
mod operator;
mod policies;
mod privacy;
mod purge;
mod sessions;
mod sweep;
mod vendor_clients;
mod videos_costs;
mod videos_credits;
mod videos_delivery;
mod videos_flow;
mod videos_outputs;
mod videos_replays;
mod videos_webhook;
