//! The local AWS endpoint: moto's server mode, from the project's own virtualenv
//! (created by `scripts/python-tools.sh` with pinned versions).
//!
//! The server runs in a small Python wrapper (`local/moto_server.py`) that exits when
//! its standard input closes, so it ends with the process that started it, even one
//! that is killed; or it is forked by that wrapper's zygote, and exits when the
//! connection that asked for it closes.
//!
//! It serves one request at a time. moto checks a write's conditions and applies it
//! in two moves, without a lock, so two concurrent requests could both pass a
//! condition that only one may pass; DynamoDB never allows that, and the code relies
//! on it (one debit per credit, one account per address). Served one at a time (and
//! so over HTTP/1.0, one connection per request), the local endpoint keeps
//! DynamoDB's promise. Queue consumers therefore poll without long waits.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error("could not prepare the Python tools: {0}")]
    Tools(String),
    #[error("could not start the local AWS endpoint: {0}")]
    Start(String),
}

/// moto's server, one endpoint per process or forked by a zygote (see the file).
const SERVER: &str = include_str!("../moto_server.py");

/// Set (by `scripts/test.sh`) to the Unix socket of a running zygote of endpoints: each
/// end-to-end test then gets its endpoint forked from one that has imported moto once,
/// instead of starting Python anew (a second of CPU per test).
pub const ZYGOTE_VAR: &str = "SORA_MOTO_ZYGOTE";

pub struct Moto {
    pub endpoint: String,
    _life: Option<Life>,
}

/// What keeps a started endpoint alive: it ends when this is dropped.
enum Life {
    /// Our own child, killed on drop (and ending itself when its stdin closes).
    Process(#[allow(dead_code)] Child),
    /// The connection to the zygote's fork, which exits when the connection closes.
    Forked(#[allow(dead_code)] tokio::net::UnixStream),
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The virtualenv's python, creating the virtualenv first if needed.
pub async fn python() -> Result<PathBuf, MotoError> {
    if let Ok(p) = std::env::var("SORA_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let script = workspace_root().join("scripts/python-tools.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(|e| MotoError::Tools(format!("{}: {e}", script.display())))?;
    if !out.status.success() {
        return Err(MotoError::Tools(format!("{} failed", script.display())));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    ))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl Moto {
    /// Uses the endpoint at `existing` if one answers there, else starts one on `port`
    /// (a free port if `None`).
    pub async fn find_or_start(
        existing: Option<String>,
        port: Option<u16>,
    ) -> Result<Self, MotoError> {
        if let Some(url) = existing {
            if answers(&url).await {
                return Ok(Self {
                    endpoint: url,
                    _life: None,
                });
            }
            return Err(MotoError::Start(format!("nothing answers at {url}")));
        }
        Self::start(port.unwrap_or_else(free_port)).await
    }

    pub async fn start(port: u16) -> Result<Self, MotoError> {
        if let Ok(path) = std::env::var(ZYGOTE_VAR) {
            match Self::from_zygote(&path, port).await {
                Ok(moto) => return Ok(moto),
                // A zygote that is gone is no reason to fail: start one the slow way.
                Err(e) => tracing::warn!(error = %e, "no endpoint from the zygote"),
            }
        }
        let python = python().await?;
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(SERVER)
            .arg("serve")
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| MotoError::Start(format!("{}: {e}", python.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or(MotoError::Start("no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await;
        if !matches!(ready, Ok(Ok(Some(ref l))) if l == "ready") {
            return Err(MotoError::Start(format!(
                "moto did not start on port {port}"
            )));
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !answers(&endpoint).await {
            if Instant::now() > deadline {
                return Err(MotoError::Start(format!(
                    "moto does not answer on port {port}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            endpoint,
            _life: Some(Life::Process(child)),
        })
    }

    /// An endpoint forked by the zygote listening on `path`.
    pub async fn from_zygote(path: &str, port: u16) -> Result<Self, MotoError> {
        use tokio::io::AsyncWriteExt;
        let failed = |e: std::io::Error| MotoError::Start(format!("zygote at {path}: {e}"));
        let mut conn = tokio::net::UnixStream::connect(path)
            .await
            .map_err(failed)?;
        conn.write_all(format!("{port}\n").as_bytes())
            .await
            .map_err(failed)?;
        // The answer is one line; read it byte by byte so nothing past it is buffered
        // away from the connection that keeps the endpoint alive.
        let mut line = Vec::new();
        let read = async {
            let mut byte = [0u8; 1];
            loop {
                match tokio::io::AsyncReadExt::read(&mut conn, &mut byte).await? {
                    0 => break,
                    _ if byte[0] == b'\n' => break,
                    _ => line.push(byte[0]),
                }
            }
            Ok::<_, std::io::Error>(())
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .map_err(|_| MotoError::Start(format!("zygote at {path} did not answer")))?
            .map_err(failed)?;
        let answer = String::from_utf8_lossy(&line);
        let port = answer
            .strip_prefix("ready ")
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| MotoError::Start(format!("zygote at {path} answered {answer:?}")))?;
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            _life: Some(Life::Forked(conn)),
        })
    }
}

async fn answers(endpoint: &str) -> bool {
    reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .is_ok_and(|r| r.status().is_success())
}
