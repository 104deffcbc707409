//! Quorum calls (Hadoop's `QuorumCall` / `AsyncLoggerSet.waitForWriteQuorum`): send one request
//! to every JournalNode, return as soon as enough have succeeded, fail as soon as enough have
//! failed that success is impossible, or when the deadline passes. Requests still in flight
//! when the call returns keep running (a slow JournalNode still receives its edits).

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::error::{LoggerError, QjmError, quorum_exception};
use crate::majority::majority;

/// What a quorum call gathered: successes and failures, by JournalNode index.
#[derive(Debug)]
pub struct QuorumOutcome<T> {
    pub successes: Vec<(usize, T)>,
    pub exceptions: Vec<(usize, LoggerError)>,
}

/// How many successes a call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// A majority of the JournalNodes (writes, epochs, recovery, reads).
    Majority,
    /// Every JournalNode (format, hasSomeData).
    All,
}

/// Runs `calls` (one per JournalNode, named by `names`) and waits per `needed`.
pub async fn quorum_call<T, F>(
    operation: &str,
    names: &[String],
    calls: Vec<F>,
    needed: Needed,
    timeout: Duration,
) -> Result<QuorumOutcome<T>, QjmError>
where
    T: Send + std::fmt::Debug + 'static,
    F: Future<Output = Result<T, LoggerError>> + Send + 'static,
{
    let members = calls.len();
    let needed_successes = match needed {
        Needed::Majority => majority(members),
        Needed::All => members,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    for (index, call) in calls.into_iter().enumerate() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let result = call.await;
            let _ = tx.send((index, result));
        });
    }
    drop(tx);

    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut outcome = QuorumOutcome {
        successes: Vec::new(),
        exceptions: Vec::new(),
    };
    let mut progress = tokio::time::interval_at(
        tokio::time::Instant::now() + timeout.mul_f64(0.3),
        Duration::from_secs(1),
    );
    loop {
        if outcome.successes.len() >= needed_successes {
            return Ok(outcome);
        }
        if members - outcome.exceptions.len() < needed_successes {
            return Err(too_many_exceptions(
                names,
                needed_successes,
                members,
                &outcome,
            ));
        }
        tokio::select! {
            received = rx.recv() => match received {
                Some((index, Ok(value))) => outcome.successes.push((index, value)),
                Some((index, Err(err))) => outcome.exceptions.push((index, err)),
                None => return Err(too_many_exceptions(names, needed_successes, members, &outcome)),
            },
            _ = tokio::time::sleep_until(deadline) => {
                return Err(QjmError::Timeout { millis: timeout.as_millis() });
            }
            _ = progress.tick() => log_progress(operation, names, started, timeout, &outcome),
        }
    }
}

fn too_many_exceptions<T: std::fmt::Debug>(
    names: &[String],
    needed: usize,
    members: usize,
    outcome: &QuorumOutcome<T>,
) -> QjmError {
    let successes: Vec<(String, String)> = outcome
        .successes
        .iter()
        .map(|(i, v)| (names[*i].clone(), success_text(v)))
        .collect();
    let exceptions: Vec<(String, LoggerError)> = outcome
        .exceptions
        .iter()
        .map(|(i, e)| (names[*i].clone(), e.clone()))
        .collect();
    quorum_exception(
        &format!("Got too many exceptions to achieve quorum size {needed}/{members}"),
        &successes,
        &exceptions,
    )
}

/// Hadoop prints `null [success]` for calls without a result.
fn success_text<T: std::fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    if text == "()" {
        "null [success]".to_string()
    } else {
        text
    }
}

fn log_progress<T>(
    operation: &str,
    names: &[String],
    started: Instant,
    timeout: Duration,
    outcome: &QuorumOutcome<T>,
) {
    let waited = started.elapsed().as_millis();
    let succeeded: Vec<&str> = outcome
        .successes
        .iter()
        .map(|(i, _)| names[*i].as_str())
        .collect();
    let failed: Vec<String> = outcome
        .exceptions
        .iter()
        .map(|(i, e)| format!("{}: {e}", names[*i]))
        .collect();
    let so_far = if succeeded.is_empty() && failed.is_empty() {
        ". No responses yet.".to_string()
    } else {
        format!(
            ". Succeeded so far: [{}]. Exceptions so far: [{}]",
            succeeded.join(","),
            failed.join(", ")
        )
    };
    let message = format!(
        "Waited {waited} ms (timeout={} ms) for a response for {operation}{so_far}",
        timeout.as_millis()
    );
    if waited as f64 > timeout.as_millis() as f64 * 0.7 {
        tracing::warn!("{message}");
    } else {
        tracing::info!("{message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_like::ready;

    mod futures_like {
        use super::*;
        pub fn ready<T: Send + 'static>(
            delay_ms: u64,
            result: Result<T, LoggerError>,
        ) -> std::pin::Pin<Box<dyn Future<Output = Result<T, LoggerError>> + Send>> {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                result
            })
        }
    }

    fn names() -> Vec<String> {
        vec![
            "127.0.0.1:1".into(),
            "127.0.0.1:2".into(),
            "127.0.0.1:3".into(),
        ]
    }

    fn remote(msg: &str) -> LoggerError {
        LoggerError::Remote {
            class: "IOException".into(),
            message: msg.into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn returns_as_soon_as_a_majority_succeeds() {
        let calls = vec![ready(10, Ok(1)), ready(20, Ok(2)), ready(10_000, Ok(3))];
        let started = tokio::time::Instant::now();
        let outcome = quorum_call(
            "op",
            &names(),
            calls,
            Needed::Majority,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert_eq!(outcome.successes.len(), 2);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn fails_as_soon_as_a_majority_is_impossible_with_hadoops_text() {
        let calls = vec![
            ready(10, Err(remote("boom one"))),
            ready(20, Ok(())),
            ready(30, Err(remote("boom three"))),
        ];
        let err = quorum_call(
            "op",
            &names(),
            calls,
            Needed::Majority,
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Got too many exceptions to achieve quorum size 2/3. 1 successful responses:\n127.0.0.1:2: null [success]\n2 exceptions thrown:\n127.0.0.1:1: boom one\n127.0.0.1:3: boom three"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_with_hadoops_text() {
        let calls = vec![
            ready(10, Ok(())),
            ready(50_000, Ok(())),
            ready(50_000, Ok(())),
        ];
        let err = quorum_call(
            "op",
            &names(),
            calls,
            Needed::Majority,
            Duration::from_millis(20_000),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Timed out waiting 20000ms for a quorum of nodes to respond."
        );
    }

    #[tokio::test(start_paused = true)]
    async fn all_means_all() {
        let calls = vec![
            ready(10, Ok(())),
            ready(20, Ok(())),
            ready(30, Err(remote("down"))),
        ];
        let err = quorum_call(
            "format",
            &names(),
            calls,
            Needed::All,
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Got too many exceptions to achieve quorum size 3/3."),
            "{err}"
        );
        let calls = vec![ready(10, Ok(())), ready(20, Ok(())), ready(30, Ok(()))];
        let outcome = quorum_call(
            "format",
            &names(),
            calls,
            Needed::All,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert_eq!(outcome.successes.len(), 3);
    }
}
