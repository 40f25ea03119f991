//! The local outage switch (`POST /_local/providers/{name}/outage`): makes a video
//! provider's emulator fail the way real providers do, to see failover work (R43).
//!
//! - `down`: every call of its API answers 503;
//! - `slow`: it accepts work and never finishes it (what it accepts while slow stays
//!   unfinished after it recovers, like a request lost inside a provider);
//! - `up`: it works again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Up,
    Down,
    Slow,
}

/// One emulator's switch.
#[derive(Debug, Default)]
pub struct Switch(AtomicU8);

impl Switch {
    pub fn set(&self, mode: Mode) {
        self.0.store(mode as u8, Ordering::SeqCst);
    }

    pub fn mode(&self) -> Mode {
        match self.0.load(Ordering::SeqCst) {
            1 => Mode::Down,
            2 => Mode::Slow,
            _ => Mode::Up,
        }
    }

    pub fn down(&self) -> bool {
        self.mode() == Mode::Down
    }

    pub fn slow(&self) -> bool {
        self.mode() == Mode::Slow
    }
}

/// The switches by provider name.
pub type Switches = Arc<Vec<(&'static str, Arc<Switch>)>>;

#[derive(Deserialize)]
struct Body {
    mode: Mode,
}

async fn set(
    State(switches): State<Switches>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(Body { mode }) = serde_json::from_slice(&body) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "body: {\"mode\": \"down\" | \"slow\" | \"up\"}",
        )
            .into_response();
    };
    match switches.iter().find(|(n, _)| *n == name) {
        Some((_, switch)) => {
            switch.set(mode);
            axum::Json(serde_json::json!({ "provider": name, "mode": body_mode(mode) }))
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such provider").into_response(),
    }
}

fn body_mode(mode: Mode) -> &'static str {
    match mode {
        Mode::Up => "up",
        Mode::Down => "down",
        Mode::Slow => "slow",
    }
}

pub fn router(switches: Switches) -> Router {
    Router::new()
        .route("/_local/providers/{name}/outage", post(set))
        .with_state(switches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_remembers_its_mode() {
        let s = Switch::default();
        assert_eq!(s.mode(), Mode::Up);
        s.set(Mode::Slow);
        assert!(s.slow() && !s.down());
        s.set(Mode::Down);
        assert!(s.down());
        s.set(Mode::Up);
        assert_eq!(s.mode(), Mode::Up);
    }
}
