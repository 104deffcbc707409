//! `HealthMonitor`: Hadoop's health monitor of the local NameNode as a state machine with no
//! I/O. Connection results, check results, the health stream's news and timers go in
//! ([`HealthInput`]); connects, checks, timers and the states to report come out
//! ([`HealthAction`]).
//!
//! Rules (reference §3.3), plus one of ours:
//! - while connected, every `ha.health-monitor.check-interval.ms` a check asks for the service
//!   status and then its health; a `HealthCheckFailedException` means SERVICE_UNHEALTHY (and the
//!   checks go on), any other failure drops the connection: SERVICE_NOT_RESPONDING, and a
//!   reconnect after `ha.health-monitor.sleep-after-disconnect.ms`;
//! - a failed connect means SERVICE_NOT_RESPONDING and another try after
//!   `ha.health-monitor.connect-retry-interval.ms`;
//! - states are reported only when they change; every status a check returns is reported;
//! - ours: while connected the monitor also holds the NameNode's health stream open; when that
//!   connection breaks (the NameNode process died) the service is NOT_RESPONDING at once rather
//!   than at the next check, and a change the stream announces is checked at once.

use std::fmt;
use std::time::Duration;

const LOG: &str = "org.apache.hadoop.ha.HealthMonitor";

/// The health of the local service (Hadoop's `HealthMonitor.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    Initializing,
    ServiceHealthy,
    ServiceNotResponding,
    ServiceUnhealthy,
    HealthMonitorFailed,
}

impl fmt::Display for HealthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthState::Initializing => "INITIALIZING",
            HealthState::ServiceHealthy => "SERVICE_HEALTHY",
            HealthState::ServiceNotResponding => "SERVICE_NOT_RESPONDING",
            HealthState::ServiceUnhealthy => "SERVICE_UNHEALTHY",
            HealthState::HealthMonitorFailed => "HEALTH_MONITOR_FAILED",
        })
    }
}

/// A service's HA state as it reports it (`HAServiceState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    Initializing,
    Active,
    Standby,
    Observer,
    Stopping,
}

impl fmt::Display for ServiceState {
    /// Hadoop's lowercase names (`active`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceState::Initializing => "initializing",
            ServiceState::Active => "active",
            ServiceState::Standby => "standby",
            ServiceState::Observer => "observer",
            ServiceState::Stopping => "stopping",
        })
    }
}

/// How one check went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The status, then a passed health check.
    Healthy(ServiceState),
    /// The service answered that it is not healthy (`HealthCheckFailedException`), with the
    /// status it reported first, if it got that far.
    Unhealthy {
        status: Option<ServiceState>,
        message: String,
    },
    /// No answer (connection refused or broken, timeout, …).
    Failed(String),
}

/// A timer the monitor asked for; only the latest counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthTimer(pub u64);

/// An input to the monitor. `conn` names the connection a result belongs to; results of an
/// older connection are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthInput {
    Start,
    Connected {
        conn: u64,
    },
    ConnectFailed {
        conn: u64,
        error: String,
    },
    Checked {
        conn: u64,
        outcome: CheckOutcome,
    },
    /// The health stream announced a change of state or health.
    StreamChanged {
        conn: u64,
    },
    /// The health stream broke or ended.
    StreamBroken {
        conn: u64,
        error: String,
    },
    Timer(HealthTimer),
}

/// An output of the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthAction {
    /// Connect to the service (bounded by the RPC timeout); answer with `Connected` or
    /// `ConnectFailed`.
    Connect {
        conn: u64,
    },
    /// Open the health stream on this connection.
    WatchStream {
        conn: u64,
    },
    /// Run one check: `getServiceStatus`, then `monitorHealth`; answer with `Checked`.
    Check {
        conn: u64,
    },
    /// Drop the connection (and its stream).
    Disconnect {
        conn: u64,
    },
    Schedule {
        timer: HealthTimer,
        after: Duration,
    },
    /// The health state changed.
    Entered(HealthState),
    /// A check returned this status.
    ServiceStatus(ServiceState),
}

/// The monitor's intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConf {
    /// `ha.health-monitor.check-interval.ms`.
    pub check_interval: Duration,
    /// `ha.health-monitor.connect-retry-interval.ms`.
    pub connect_retry_interval: Duration,
    /// `ha.health-monitor.sleep-after-disconnect.ms`.
    pub sleep_after_disconnect: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Connecting {
        conn: u64,
    },
    Connected {
        conn: u64,
        checking: bool,
        check_again: bool,
    },
    /// Waiting to reconnect.
    Disconnected,
}

/// The monitor. See the module documentation.
#[derive(Debug)]
pub struct HealthMonitor {
    conf: HealthConf,
    /// `NameNode at host/ip:port`, for log lines.
    target: String,
    state: HealthState,
    phase: Phase,
    next_conn: u64,
    timer: u64,
    actions: Vec<HealthAction>,
}

impl HealthMonitor {
    pub fn new(conf: HealthConf, target: String) -> HealthMonitor {
        HealthMonitor {
            conf,
            target,
            state: HealthState::Initializing,
            phase: Phase::Idle,
            next_conn: 1,
            timer: 0,
            actions: Vec::new(),
        }
    }

    pub fn state(&self) -> HealthState {
        self.state
    }

    pub fn step(&mut self, input: HealthInput) -> Vec<HealthAction> {
        match input {
            HealthInput::Start => {
                if self.phase == Phase::Idle {
                    self.connect();
                }
            }
            HealthInput::Connected { conn } => {
                if self.phase == (Phase::Connecting { conn }) {
                    self.phase = Phase::Connected {
                        conn,
                        checking: true,
                        check_again: false,
                    };
                    self.actions.push(HealthAction::WatchStream { conn });
                    self.actions.push(HealthAction::Check { conn });
                }
            }
            HealthInput::ConnectFailed { conn, error } => {
                if self.phase == (Phase::Connecting { conn }) {
                    tracing::warn!(
                        target: LOG,
                        "Could not connect to local service at {}: {error}",
                        self.target
                    );
                    self.phase = Phase::Disconnected;
                    self.enter(HealthState::ServiceNotResponding);
                    self.schedule(self.conf.connect_retry_interval);
                }
            }
            HealthInput::Checked { conn, outcome } => self.on_checked(conn, outcome),
            HealthInput::StreamChanged { conn } => {
                if let Phase::Connected {
                    conn: c, checking, ..
                } = self.phase
                    && c == conn
                {
                    if checking {
                        self.phase = Phase::Connected {
                            conn,
                            checking,
                            check_again: true,
                        };
                    } else {
                        self.check_now(conn);
                    }
                }
            }
            HealthInput::StreamBroken { conn, error } => {
                if matches!(self.phase, Phase::Connected { conn: c, .. } if c == conn) {
                    self.transport_failure(conn, &error);
                }
            }
            HealthInput::Timer(HealthTimer(generation)) => {
                if generation == self.timer {
                    match self.phase {
                        Phase::Disconnected => self.connect(),
                        Phase::Connected {
                            conn,
                            checking: false,
                            ..
                        } => self.check_now(conn),
                        _ => {}
                    }
                }
            }
        }
        std::mem::take(&mut self.actions)
    }

    fn connect(&mut self) {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.phase = Phase::Connecting { conn };
        self.actions.push(HealthAction::Connect { conn });
    }

    fn check_now(&mut self, conn: u64) {
        // A check now replaces the scheduled one.
        self.timer += 1;
        self.phase = Phase::Connected {
            conn,
            checking: true,
            check_again: false,
        };
        self.actions.push(HealthAction::Check { conn });
    }

    fn on_checked(&mut self, conn: u64, outcome: CheckOutcome) {
        let Phase::Connected {
            conn: c,
            check_again,
            ..
        } = self.phase
        else {
            return;
        };
        if c != conn {
            return;
        }
        self.phase = Phase::Connected {
            conn,
            checking: false,
            check_again: false,
        };
        let next = if check_again {
            Duration::ZERO
        } else {
            self.conf.check_interval
        };
        match outcome {
            CheckOutcome::Healthy(status) => {
                self.actions.push(HealthAction::ServiceStatus(status));
                self.enter(HealthState::ServiceHealthy);
                self.schedule(next);
            }
            CheckOutcome::Unhealthy { status, message } => {
                if let Some(status) = status {
                    self.actions.push(HealthAction::ServiceStatus(status));
                }
                tracing::warn!(
                    target: LOG,
                    "Service health check failed for {}: {message}",
                    self.target
                );
                self.enter(HealthState::ServiceUnhealthy);
                self.schedule(next);
            }
            CheckOutcome::Failed(error) => self.transport_failure(conn, &error),
        }
    }

    fn transport_failure(&mut self, conn: u64, error: &str) {
        tracing::warn!(
            target: LOG,
            "Transport-level exception trying to monitor health of {}: {error}",
            self.target
        );
        self.actions.push(HealthAction::Disconnect { conn });
        self.phase = Phase::Disconnected;
        self.enter(HealthState::ServiceNotResponding);
        self.schedule(self.conf.sleep_after_disconnect);
    }

    fn schedule(&mut self, after: Duration) {
        self.timer += 1;
        self.actions.push(HealthAction::Schedule {
            timer: HealthTimer(self.timer),
            after,
        });
    }

    fn enter(&mut self, state: HealthState) {
        if state != self.state {
            tracing::info!(target: LOG, "Entering state {state}");
            self.state = state;
            self.actions.push(HealthAction::Entered(state));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthAction as A;
    use HealthInput as I;

    fn monitor() -> HealthMonitor {
        HealthMonitor::new(
            HealthConf {
                check_interval: Duration::from_millis(1000),
                connect_retry_interval: Duration::from_millis(700),
                sleep_after_disconnect: Duration::from_millis(500),
            },
            "NameNode at nn1/127.0.0.1:8020".into(),
        )
    }

    fn schedule(n: u64, ms: u64) -> A {
        A::Schedule {
            timer: HealthTimer(n),
            after: Duration::from_millis(ms),
        }
    }

    #[test]
    fn healthy_then_unhealthy_then_healthy_again() {
        let mut m = monitor();
        assert_eq!(m.step(I::Start), vec![A::Connect { conn: 1 }]);
        assert_eq!(
            m.step(I::Connected { conn: 1 }),
            vec![A::WatchStream { conn: 1 }, A::Check { conn: 1 }]
        );
        assert_eq!(
            m.step(I::Checked {
                conn: 1,
                outcome: CheckOutcome::Healthy(ServiceState::Standby)
            }),
            vec![
                A::ServiceStatus(ServiceState::Standby),
                A::Entered(HealthState::ServiceHealthy),
                schedule(1, 1000)
            ]
        );
        assert_eq!(m.step(I::Timer(HealthTimer(1))), vec![A::Check { conn: 1 }]);
        // Still healthy: the status is reported again, the state is not.
        assert_eq!(
            m.step(I::Checked {
                conn: 1,
                outcome: CheckOutcome::Healthy(ServiceState::Active)
            }),
            vec![A::ServiceStatus(ServiceState::Active), schedule(3, 1000)]
        );
        m.step(I::Timer(HealthTimer(3)));
        assert_eq!(
            m.step(I::Checked {
                conn: 1,
                outcome: CheckOutcome::Unhealthy {
                    status: Some(ServiceState::Active),
                    message: "The NameNode has no resources available".into()
                }
            }),
            vec![
                A::ServiceStatus(ServiceState::Active),
                A::Entered(HealthState::ServiceUnhealthy),
                schedule(5, 1000)
            ]
        );
        m.step(I::Timer(HealthTimer(5)));
        let actions = m.step(I::Checked {
            conn: 1,
            outcome: CheckOutcome::Healthy(ServiceState::Active),
        });
        assert!(actions.contains(&A::Entered(HealthState::ServiceHealthy)));
    }

    #[test]
    fn unreachable_means_not_responding_and_retries() {
        let mut m = monitor();
        m.step(I::Start);
        assert_eq!(
            m.step(I::ConnectFailed {
                conn: 1,
                error: "Connection refused".into()
            }),
            vec![
                A::Entered(HealthState::ServiceNotResponding),
                schedule(1, 700)
            ]
        );
        assert_eq!(
            m.step(I::Timer(HealthTimer(1))),
            vec![A::Connect { conn: 2 }]
        );
        // A late answer for the first attempt is ignored.
        assert_eq!(m.step(I::Connected { conn: 1 }), vec![]);
        assert_eq!(
            m.step(I::ConnectFailed {
                conn: 2,
                error: "again".into()
            }),
            vec![schedule(2, 700)]
        );
    }

    #[test]
    fn a_failed_check_drops_the_connection() {
        let mut m = monitor();
        m.step(I::Start);
        m.step(I::Connected { conn: 1 });
        m.step(I::Checked {
            conn: 1,
            outcome: CheckOutcome::Healthy(ServiceState::Standby),
        });
        m.step(I::Timer(HealthTimer(1)));
        assert_eq!(
            m.step(I::Checked {
                conn: 1,
                outcome: CheckOutcome::Failed("Connection reset".into())
            }),
            vec![
                A::Disconnect { conn: 1 },
                A::Entered(HealthState::ServiceNotResponding),
                schedule(3, 500)
            ]
        );
        assert_eq!(
            m.step(I::Timer(HealthTimer(3))),
            vec![A::Connect { conn: 2 }]
        );
    }

    #[test]
    fn a_broken_stream_is_noticed_without_waiting_for_the_check() {
        let mut m = monitor();
        m.step(I::Start);
        m.step(I::Connected { conn: 1 });
        m.step(I::Checked {
            conn: 1,
            outcome: CheckOutcome::Healthy(ServiceState::Active),
        });
        // The check is 1 s away; the NameNode dies now.
        assert_eq!(
            m.step(I::StreamBroken {
                conn: 1,
                error: "connection closed".into()
            }),
            vec![
                A::Disconnect { conn: 1 },
                A::Entered(HealthState::ServiceNotResponding),
                schedule(2, 500)
            ]
        );
        // The old check timer no longer counts.
        assert_eq!(m.step(I::Timer(HealthTimer(1))), vec![]);
        // Nor a stale stream of an old connection.
        m.step(I::Timer(HealthTimer(2)));
        assert_eq!(
            m.step(I::StreamBroken {
                conn: 1,
                error: "late".into()
            }),
            vec![]
        );
    }

    #[test]
    fn a_change_on_the_stream_is_checked_at_once() {
        let mut m = monitor();
        m.step(I::Start);
        m.step(I::Connected { conn: 1 });
        // A change while the first check is under way: check again right after it.
        assert_eq!(m.step(I::StreamChanged { conn: 1 }), vec![]);
        assert_eq!(
            m.step(I::Checked {
                conn: 1,
                outcome: CheckOutcome::Healthy(ServiceState::Standby)
            }),
            vec![
                A::ServiceStatus(ServiceState::Standby),
                A::Entered(HealthState::ServiceHealthy),
                schedule(1, 0)
            ]
        );
        m.step(I::Timer(HealthTimer(1)));
        m.step(I::Checked {
            conn: 1,
            outcome: CheckOutcome::Healthy(ServiceState::Standby),
        });
        // Between checks: at once, and the scheduled check is replaced.
        assert_eq!(
            m.step(I::StreamChanged { conn: 1 }),
            vec![A::Check { conn: 1 }]
        );
        assert_eq!(m.step(I::Timer(HealthTimer(2))), vec![]);
    }
}
