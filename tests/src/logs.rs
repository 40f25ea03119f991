//! The process's log lines, captured, for the tests that check what logs contain (R37).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Every log line the process wrote, for the tests that check what logs contain (R37).
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

pub(crate) fn logs() -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        // The production subscriber and filter, writing into memory.
        shared::edge::telemetry::init_with_writer(
            shared::edge::telemetry::filter(&shared::adapters::env::Env::process()),
            logs.clone(),
        );
        logs
    })
}

/// All log output so far, one JSON object per line.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&logs().0.lock().map(|v| v.clone()).unwrap_or_default()).into_owned()
}
