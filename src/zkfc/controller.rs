//! `Zkfc`: the decisions of Hadoop's `ZKFailoverController`, with no I/O. It owns the
//! [`Elector`] and turns health states, service statuses, cede requests and the answers of the
//! local NameNode into elector events and actions for the driver.
//!
//! Rules (reference §3.4):
//! - electability follows the health state: SERVICE_HEALTHY joins the election (unless the
//!   NameNode is an observer); INITIALIZING quits without fencing; SERVICE_UNHEALTHY and
//!   SERVICE_NOT_RESPONDING quit and leave the breadcrumb so that the next active fences us;
//!   HEALTH_MONITOR_FAILED is fatal;
//! - a pending cede (or the delay after a state mismatch) keeps us out of the election until it
//!   ends, rechecking then;
//! - `cedeActive(ms)` makes the local NameNode standby first, then quits — without fencing when
//!   the standby transition worked, so the successor need not fence — and stays out for `ms`;
//!   `ms <= 0` ends a cede at once;
//! - if the NameNode reports a state other than the one we put it in on two consecutive checks
//!   (someone used `haadmin --forcemanual`), we quit the election marking fencing necessary and
//!   stay out for a second; an observer leaves the election for good;
//! - like Hadoop's locks: while the elector or a cede is in the middle of something, health,
//!   status and cede inputs wait their turn.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::elector::{
    AppError, ClientId, Elector, ElectorAction, ElectorConf, ElectorEvent, ElectorState,
    ElectorTimer, SessionId, ZkRequest,
};
use super::fence::FenceError;
use super::health::{HealthState, ServiceState};
use super::rpc::CallError;

const LOG: &str = "org.apache.hadoop.ha.ZKFailoverController";

/// How long a node whose NameNode changed state behind our back stays out of the election.
pub const DELAY_AFTER_BAD_STATE: Duration = Duration::from_millis(1000);

/// A timer the core asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZkfcTimer {
    Elector(ElectorTimer),
    /// `scheduleRecheck`: look at electability again.
    Recheck,
}

/// An input to the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkfcInput {
    /// A ZooKeeper result, watch or session event for the elector.
    Elector(ElectorEvent),
    /// The health monitor entered a new state.
    HealthChanged(HealthState),
    /// A health check returned this status of the local NameNode.
    ServiceStatus(ServiceState),
    /// The answer to [`ZkfcAction::TransitionToActive`].
    LocalActive(Result<(), CallError>),
    /// The answer to [`ZkfcAction::TransitionToStandby`].
    LocalStandby(Result<(), CallError>),
    /// The answer to [`ZkfcAction::FenceOldActive`].
    Fenced(Result<(), FenceError>),
    /// `cedeActive(millis)`, request `id`.
    Cede {
        id: u64,
        millis: i64,
    },
    /// The answer to [`ZkfcAction::CedeToStandby`].
    CedeStandby {
        id: u64,
        result: Result<(), CallError>,
    },
    Timer(ZkfcTimer),
}

/// An output of the core, for the driver to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkfcAction {
    Zk(ZkRequest),
    Schedule {
        timer: ZkfcTimer,
        after: Duration,
    },
    /// `transitionToActive(REQUEST_BY_ZKFC)` on the local NameNode, with the new-active RPC
    /// timeout; answer with `LocalActive`.
    TransitionToActive,
    /// `transitionToStandby(REQUEST_BY_ZKFC)` on the local NameNode, with the graceful-fence
    /// timeout; answer with `LocalStandby`.
    TransitionToStandby,
    /// The same for a cede; answer with `CedeStandby`.
    CedeToStandby {
        id: u64,
    },
    /// Fence the NameNode this breadcrumb names: graceful fence first, then the fencers;
    /// answer with `Fenced`.
    FenceOldActive(Vec<u8>),
    /// The outcome of an attempt to become active, for a graceful failover waiting on it.
    ActiveAttempt {
        succeeded: bool,
        status: String,
    },
    /// The cede request `id` is done; answer the caller.
    CedeDone {
        id: u64,
    },
    /// The controller cannot go on.
    Fatal(String),
}

/// What the core is configured with.
#[derive(Debug, Clone)]
pub struct ZkfcCoreConf {
    pub elector: ElectorConf,
    /// The local NameNode as Hadoop names it in logs (`NameNode at host/ip:port`).
    pub local: String,
    /// The local NameNode's `ActiveNodeInfo`, as written to ZooKeeper.
    pub local_data: Vec<u8>,
}

/// The core. See the module documentation.
#[derive(Debug)]
pub struct Zkfc {
    elector: Elector,
    local: String,
    local_data: Vec<u8>,
    last_health: HealthState,
    /// The state we believe we put the local NameNode in.
    service_state: ServiceState,
    /// No joining the election before this (a cede, or a state mismatch).
    delay_until: Option<Instant>,
    mismatch_count: u32,
    quit_on_bad_state: bool,
    fatal: Option<String>,
    /// A cede whose local standby transition is under way.
    cede: Option<(u64, i64)>,
    /// Cede requests to answer once the elector is idle again.
    cede_replies: Vec<u64>,
    deferred: VecDeque<ZkfcInput>,
    now: Instant,
    actions: Vec<ZkfcAction>,
}

impl Zkfc {
    /// A core whose elector uses `initial`, a session the driver opened at startup.
    pub fn new(conf: ZkfcCoreConf, initial: Option<(ClientId, SessionId)>, now: Instant) -> Zkfc {
        Zkfc {
            elector: Elector::new(conf.elector, initial),
            local: conf.local,
            local_data: conf.local_data,
            last_health: HealthState::Initializing,
            service_state: ServiceState::Initializing,
            delay_until: None,
            mismatch_count: 0,
            quit_on_bad_state: false,
            fatal: None,
            cede: None,
            cede_replies: Vec::new(),
            deferred: VecDeque::new(),
            now,
            actions: Vec::new(),
        }
    }

    pub fn last_health(&self) -> HealthState {
        self.last_health
    }

    pub fn service_state(&self) -> ServiceState {
        self.service_state
    }

    pub fn elector(&self) -> &Elector {
        &self.elector
    }

    pub fn elector_state(&self) -> ElectorState {
        self.elector.state()
    }

    pub fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }

    fn busy(&self) -> bool {
        self.cede.is_some() || self.elector.is_busy()
    }

    /// Feeds one input at time `now`; returns what to do, in order.
    pub fn step(&mut self, now: Instant, input: ZkfcInput) -> Vec<ZkfcAction> {
        self.now = now;
        self.handle(input);
        while !self.busy() && self.fatal.is_none() {
            match self.deferred.pop_front() {
                Some(input) => self.handle(input),
                None => break,
            }
        }
        if !self.busy() {
            for id in std::mem::take(&mut self.cede_replies) {
                self.actions.push(ZkfcAction::CedeDone { id });
            }
        }
        std::mem::take(&mut self.actions)
    }

    fn handle(&mut self, input: ZkfcInput) {
        if self.fatal.is_some() {
            return;
        }
        match input {
            // Answers the elector or a cede is waiting for go straight in.
            ZkfcInput::LocalActive(result) => self.on_local_active(result),
            ZkfcInput::LocalStandby(result) => self.on_local_standby(result),
            ZkfcInput::Fenced(result) => {
                if let Err(cause) = &result {
                    self.actions.push(ZkfcAction::ActiveAttempt {
                        succeeded: false,
                        status: format!("Unable to fence old active: {cause}"),
                    });
                }
                self.elector_step(ElectorEvent::Fenced(result.map_err(AppError::Fence)));
            }
            ZkfcInput::CedeStandby { id, result } => self.on_cede_standby(id, result),
            // ZooKeeper traffic waits only for a cede; the elector orders it itself.
            ZkfcInput::Elector(event) if self.cede.is_none() => self.elector_step(event),
            ZkfcInput::Timer(ZkfcTimer::Elector(timer)) if self.cede.is_none() => {
                self.elector_step(ElectorEvent::Timer(timer))
            }
            input if self.busy() => self.defer(input),
            ZkfcInput::Elector(event) => self.elector_step(event),
            ZkfcInput::Timer(ZkfcTimer::Elector(timer)) => {
                self.elector_step(ElectorEvent::Timer(timer))
            }
            ZkfcInput::HealthChanged(state) => {
                tracing::info!(target: LOG, "Local service {} entered state: {state}", self.local);
                self.last_health = state;
                self.recheck_electability();
            }
            ZkfcInput::ServiceStatus(state) => self.verify_changed_service_state(state),
            ZkfcInput::Cede { id, millis } => self.cede_active(id, millis),
            ZkfcInput::Timer(ZkfcTimer::Recheck) => self.recheck_electability(),
        }
    }

    fn elector_step(&mut self, event: ElectorEvent) {
        for action in self.elector.step(event) {
            match action {
                ElectorAction::Zk(request) => self.actions.push(ZkfcAction::Zk(request)),
                ElectorAction::Schedule { timer, after } => {
                    self.actions.push(ZkfcAction::Schedule {
                        timer: ZkfcTimer::Elector(timer),
                        after,
                    })
                }
                ElectorAction::BecomeActive => {
                    tracing::info!(target: LOG, "Trying to make {} active...", self.local);
                    self.actions.push(ZkfcAction::TransitionToActive);
                }
                ElectorAction::BecomeStandby => {
                    tracing::info!(
                        target: LOG,
                        "ZK Election indicated that {} should become standby",
                        self.local
                    );
                    self.actions.push(ZkfcAction::TransitionToStandby);
                }
                ElectorAction::EnterNeutralMode => {}
                ElectorAction::FenceOldActive(data) => {
                    self.actions.push(ZkfcAction::FenceOldActive(data))
                }
                ElectorAction::Fatal(message) => self.fatal_error(message),
            }
        }
    }

    fn on_local_active(&mut self, result: Result<(), CallError>) {
        match result {
            Ok(()) => {
                let status = format!("Successfully transitioned {} to active state", self.local);
                tracing::info!(target: LOG, "{status}");
                self.service_state = ServiceState::Active;
                self.actions.push(ZkfcAction::ActiveAttempt {
                    succeeded: true,
                    status,
                });
                self.elector_step(ElectorEvent::AppActive(Ok(())));
            }
            Err(cause) => {
                let status = format!("Couldn't make {} active", self.local);
                tracing::error!(target: LOG, "{status}: {cause}");
                self.actions.push(ZkfcAction::ActiveAttempt {
                    succeeded: false,
                    status: format!("{status}\n{cause}"),
                });
                self.elector_step(ElectorEvent::AppActive(Err(AppError::Transition(cause))));
            }
        }
    }

    fn on_local_standby(&mut self, result: Result<(), CallError>) {
        match result {
            Ok(()) => tracing::info!(
                target: LOG,
                "Successfully transitioned {} to standby state",
                self.local
            ),
            Err(cause) => tracing::error!(
                target: LOG,
                "Couldn't transition {} to standby state: {cause}",
                self.local
            ),
        }
        self.service_state = ServiceState::Standby;
        self.elector_step(ElectorEvent::AppStandby);
    }

    fn fatal_error(&mut self, message: String) {
        tracing::error!(target: LOG, "Fatal error occurred:{message}");
        self.fatal = Some(message.clone());
        self.actions.push(ZkfcAction::Fatal(message));
    }

    /// Hadoop's `recheckElectability`.
    fn recheck_electability(&mut self) {
        let healthy = self.last_health == HealthState::ServiceHealthy;
        if let Some(until) = self.delay_until
            && until > self.now
        {
            let remaining = until - self.now;
            if healthy {
                tracing::info!(
                    target: LOG,
                    "Would have joined master election, but this node is prohibited from doing so for {} more ms",
                    remaining.as_millis()
                );
            }
            self.actions.push(ZkfcAction::Schedule {
                timer: ZkfcTimer::Recheck,
                after: remaining,
            });
            return;
        }
        match self.last_health {
            HealthState::ServiceHealthy => {
                if self.service_state != ServiceState::Observer {
                    self.elector_step(ElectorEvent::Join(self.local_data.clone()));
                }
                self.quit_on_bad_state = false;
            }
            HealthState::Initializing => {
                tracing::info!(
                    target: LOG,
                    "Ensuring that {} does not participate in active master election",
                    self.local
                );
                self.elector_step(ElectorEvent::Quit { need_fence: false });
                self.service_state = ServiceState::Initializing;
            }
            HealthState::ServiceUnhealthy | HealthState::ServiceNotResponding => {
                tracing::info!(
                    target: LOG,
                    "Quitting master election for {} and marking that fencing is necessary",
                    self.local
                );
                self.elector_step(ElectorEvent::Quit { need_fence: true });
                self.service_state = ServiceState::Initializing;
            }
            HealthState::HealthMonitorFailed => self.fatal_error("Health monitor failed!".into()),
        }
    }

    /// Hadoop's `verifyChangedServiceState`.
    fn verify_changed_service_state(&mut self, changed: ServiceState) {
        if self.service_state == ServiceState::Initializing {
            if self.quit_on_bad_state {
                tracing::debug!(target: LOG, "rechecking for electability from bad state");
                self.recheck_electability();
            }
            return;
        }
        if changed == ServiceState::Observer {
            self.elector_step(ElectorEvent::Quit { need_fence: true });
            self.service_state = ServiceState::Observer;
            return;
        }
        if changed == self.service_state {
            self.mismatch_count = 0;
            return;
        }
        if self.mismatch_count == 0 {
            // Look once more: this may be a transition under way.
            self.mismatch_count += 1;
            return;
        }
        tracing::error!(
            target: LOG,
            "Local service {} has changed the serviceState to {changed}. Expected was {}. Quitting election marking fencing necessary.",
            self.local,
            self.service_state
        );
        self.delay_until = Some(self.now + DELAY_AFTER_BAD_STATE);
        self.elector_step(ElectorEvent::Quit { need_fence: true });
        self.quit_on_bad_state = true;
        self.mismatch_count = 0;
        self.service_state = ServiceState::Initializing;
    }

    /// Keeps `input` for when the elector is idle. Only the newest service status waits: in
    /// Hadoop the health monitor's thread blocks on the lock with one report in hand, so a
    /// long fence leaves one stale report, not one per check interval (two stale reports in
    /// a row would look like someone changed the NameNode's state behind our back).
    fn defer(&mut self, input: ZkfcInput) {
        if matches!(input, ZkfcInput::ServiceStatus(_)) {
            self.deferred
                .retain(|waiting| !matches!(waiting, ZkfcInput::ServiceStatus(_)));
        }
        self.deferred.push_back(input);
    }

    fn cede_active(&mut self, id: u64, millis: i64) {
        if millis <= 0 {
            self.delay_until = None;
            self.recheck_electability();
            self.cede_replies.push(id);
            return;
        }
        self.cede = Some((id, millis));
        self.actions.push(ZkfcAction::CedeToStandby { id });
    }

    fn on_cede_standby(&mut self, id: u64, result: Result<(), CallError>) {
        let Some((cede_id, millis)) = self.cede else {
            return;
        };
        if cede_id != id {
            return;
        }
        let need_fence = match result {
            Ok(()) => {
                tracing::info!(target: LOG, "Successfully ensured local node is in standby mode");
                false
            }
            Err(cause) => {
                tracing::warn!(target: LOG, "Unable to transition local node to standby: {cause}");
                tracing::warn!(
                    target: LOG,
                    "Quitting election but indicating that fencing is necessary"
                );
                true
            }
        };
        self.delay_until = Some(self.now + Duration::from_millis(millis as u64));
        self.cede = None;
        self.elector_step(ElectorEvent::Quit { need_fence });
        self.service_state = ServiceState::Initializing;
        // Hadoop rechecks once the quit is done, then answers.
        self.deferred
            .push_front(ZkfcInput::Timer(ZkfcTimer::Recheck));
        self.cede_replies.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ZkfcAction as A;
    use ZkfcInput as I;

    const C: ClientId = 1;
    const MINE: SessionId = SessionId(0x100);
    const DATA: &[u8] = b"nn1";

    fn core(now: Instant) -> Zkfc {
        Zkfc::new(
            ZkfcCoreConf {
                elector: ElectorConf {
                    parent_znode: "/hadoop-ha/ns1".into(),
                    max_retries: 3,
                },
                local: "NameNode at nn1/127.0.0.1:8020".into(),
                local_data: DATA.to_vec(),
            },
            Some((C, MINE)),
            now,
        )
    }

    fn zk(request: ZkRequest) -> A {
        A::Zk(request)
    }

    fn create() -> A {
        zk(ZkRequest::CreateLock {
            client: C,
            data: DATA.to_vec(),
        })
    }

    fn el(event: ElectorEvent) -> I {
        I::Elector(event)
    }

    /// Healthy, wins the lock with no breadcrumb, and becomes active.
    fn become_active(z: &mut Zkfc, t: Instant) {
        assert_eq!(
            z.step(t, I::HealthChanged(HealthState::ServiceHealthy)),
            vec![create()]
        );
        z.step(
            t,
            el(ElectorEvent::LockCreated {
                client: C,
                result: Ok(()),
            }),
        );
        z.step(
            t,
            el(ElectorEvent::BreadcrumbRead {
                client: C,
                result: Err(super::super::elector::ZkCode::NoNode),
            }),
        );
        assert_eq!(
            z.step(
                t,
                el(ElectorEvent::BreadcrumbWritten {
                    client: C,
                    result: Ok(())
                })
            ),
            vec![A::TransitionToActive]
        );
        assert_eq!(
            z.step(t, I::LocalActive(Ok(()))),
            vec![
                A::ActiveAttempt {
                    succeeded: true,
                    status:
                        "Successfully transitioned NameNode at nn1/127.0.0.1:8020 to active state"
                            .into()
                },
                zk(ZkRequest::WatchLock { client: C })
            ]
        );
        z.step(
            t,
            el(ElectorEvent::LockStat {
                client: C,
                result: Ok(MINE),
            }),
        );
        assert_eq!(z.service_state(), ServiceState::Active);
        assert_eq!(z.elector_state(), ElectorState::Active);
    }

    #[test]
    fn electability_follows_health() {
        let t = Instant::now();
        let mut z = core(t);
        become_active(&mut z, t);
        // Unhealthy: quit, leaving the breadcrumb for the next active to fence us.
        assert_eq!(
            z.step(t, I::HealthChanged(HealthState::ServiceUnhealthy)),
            vec![zk(ZkRequest::Close { client: C })]
        );
        assert_eq!(z.service_state(), ServiceState::Initializing);
        // Healthy again: join with a new session.
        assert_eq!(
            z.step(t, I::HealthChanged(HealthState::ServiceHealthy)),
            vec![zk(ZkRequest::Connect { client: 2 })]
        );
        // Monitor failure is fatal.
        assert_eq!(
            z.step(
                t,
                el(ElectorEvent::Connected {
                    client: 2,
                    session: SessionId(0x300)
                })
            ),
            vec![zk(ZkRequest::CreateLock {
                client: 2,
                data: DATA.to_vec()
            })]
        );
        assert_eq!(
            z.step(t, I::HealthChanged(HealthState::HealthMonitorFailed)),
            vec![A::Fatal("Health monitor failed!".into())]
        );
        assert_eq!(z.fatal(), Some("Health monitor failed!"));
    }

    #[test]
    fn initializing_quits_without_fencing() {
        let t = Instant::now();
        let mut z = core(t);
        become_active(&mut z, t);
        assert_eq!(
            z.step(t, I::HealthChanged(HealthState::Initializing)),
            vec![zk(ZkRequest::GetBreadcrumb { client: C })]
        );
    }

    #[test]
    fn cede_makes_the_node_standby_quits_gracefully_and_stays_out() {
        let t = Instant::now();
        let mut z = core(t);
        become_active(&mut z, t);
        assert_eq!(
            z.step(
                t,
                I::Cede {
                    id: 7,
                    millis: 3000
                }
            ),
            vec![A::CedeToStandby { id: 7 }]
        );
        // Health news waits for the cede.
        assert_eq!(
            z.step(t, I::HealthChanged(HealthState::ServiceHealthy)),
            vec![]
        );
        // The standby transition worked: delete our breadcrumb, then close the session.
        assert_eq!(
            z.step(
                t,
                I::CedeStandby {
                    id: 7,
                    result: Ok(())
                }
            ),
            vec![zk(ZkRequest::GetBreadcrumb { client: C })]
        );
        assert_eq!(
            z.step(
                t,
                el(ElectorEvent::BreadcrumbRead {
                    client: C,
                    result: Ok((DATA.to_vec(), 1))
                })
            ),
            vec![zk(ZkRequest::DeleteBreadcrumb {
                client: C,
                version: 1
            })]
        );
        let t1 = t + Duration::from_millis(10);
        assert_eq!(
            z.step(
                t1,
                el(ElectorEvent::BreadcrumbDeleted {
                    client: C,
                    result: Ok(())
                })
            ),
            vec![
                zk(ZkRequest::Close { client: C }),
                // The recheck and the deferred health news both find the delay pending.
                A::Schedule {
                    timer: ZkfcTimer::Recheck,
                    after: Duration::from_millis(2990)
                },
                A::Schedule {
                    timer: ZkfcTimer::Recheck,
                    after: Duration::from_millis(2990)
                },
                A::CedeDone { id: 7 }
            ]
        );
        // After the delay: rejoin with a new session.
        let t2 = t + Duration::from_millis(3000);
        assert_eq!(
            z.step(t2, I::Timer(ZkfcTimer::Recheck)),
            vec![zk(ZkRequest::Connect { client: 2 })]
        );
    }

    #[test]
    fn cede_whose_standby_fails_quits_marking_fencing_necessary() {
        let t = Instant::now();
        let mut z = core(t);
        become_active(&mut z, t);
        z.step(
            t,
            I::Cede {
                id: 1,
                millis: 1000,
            },
        );
        let actions = z.step(
            t,
            I::CedeStandby {
                id: 1,
                result: Err(CallError::Unreachable("timed out".into())),
            },
        );
        assert_eq!(actions[0], zk(ZkRequest::Close { client: C }));
        assert_eq!(actions.last(), Some(&A::CedeDone { id: 1 }));
    }

    #[test]
    fn cede_of_zero_rejoins_at_once() {
        let t = Instant::now();
        let mut z = core(t);
        z.step(t, I::HealthChanged(HealthState::ServiceHealthy));
        z.step(
            t,
            el(ElectorEvent::LockCreated {
                client: C,
                result: Err(super::super::elector::ZkCode::NodeExists),
            }),
        );
        z.step(t, I::LocalStandby(Ok(())));
        z.step(
            t,
            el(ElectorEvent::LockStat {
                client: C,
                result: Ok(SessionId(0x999)),
            }),
        );
        z.step(
            t,
            I::Cede {
                id: 1,
                millis: 5000,
            },
        );
        let actions = z.step(
            t,
            I::CedeStandby {
                id: 1,
                result: Ok(()),
            },
        );
        assert_eq!(actions[0], zk(ZkRequest::Close { client: C }));
        // As in Hadoop, the answer comes once the new session is open.
        assert_eq!(
            z.step(t, I::Cede { id: 2, millis: -1 }),
            vec![zk(ZkRequest::Connect { client: 2 })]
        );
        assert_eq!(
            z.step(
                t,
                el(ElectorEvent::Connected {
                    client: 2,
                    session: SessionId(0x300)
                })
            ),
            vec![
                zk(ZkRequest::CreateLock {
                    client: 2,
                    data: DATA.to_vec()
                }),
                A::CedeDone { id: 2 }
            ]
        );
    }

    #[test]
    fn a_state_changed_behind_our_back_twice_quits_with_fencing() {
        let t = Instant::now();
        let mut z = core(t);
        become_active(&mut z, t);
        assert_eq!(z.step(t, I::ServiceStatus(ServiceState::Active)), vec![]);
        // Once may be a transition under way.
        assert_eq!(z.step(t, I::ServiceStatus(ServiceState::Standby)), vec![]);
        assert_eq!(
            z.step(t, I::ServiceStatus(ServiceState::Standby)),
            vec![zk(ZkRequest::Close { client: C })]
        );
        assert_eq!(z.service_state(), ServiceState::Initializing);
        // Next healthy status: recheck, but the one-second delay holds.
        let actions = z.step(
            t + Duration::from_millis(400),
            I::ServiceStatus(ServiceState::Standby),
        );
        assert_eq!(
            actions,
            vec![A::Schedule {
                timer: ZkfcTimer::Recheck,
                after: Duration::from_millis(600)
            }]
        );
        assert_eq!(
            z.step(
                t + Duration::from_millis(1000),
                I::Timer(ZkfcTimer::Recheck)
            ),
            vec![zk(ZkRequest::Connect { client: 2 })]
        );
    }

    #[test]
    fn stale_reports_from_a_long_fence_count_once() {
        let t = Instant::now();
        let mut z = core(t);
        z.step(t, I::ServiceStatus(ServiceState::Standby));
        z.step(t, I::HealthChanged(HealthState::ServiceHealthy));
        z.step(
            t,
            el(ElectorEvent::LockCreated {
                client: C,
                result: Ok(()),
            }),
        );
        // While the old active is fenced, checks every second report standby: they wait.
        for _ in 0..3 {
            assert_eq!(z.step(t, I::ServiceStatus(ServiceState::Standby)), vec![]);
        }
        z.step(
            t,
            el(ElectorEvent::BreadcrumbRead {
                client: C,
                result: Err(super::super::elector::ZkCode::NoNode),
            }),
        );
        z.step(
            t,
            el(ElectorEvent::BreadcrumbWritten {
                client: C,
                result: Ok(()),
            }),
        );
        z.step(t, I::LocalActive(Ok(())));
        z.step(
            t,
            el(ElectorEvent::LockStat {
                client: C,
                result: Ok(MINE),
            }),
        );
        // One stale report is one mismatch; the next fresh one settles it.
        assert_eq!(z.step(t, I::ServiceStatus(ServiceState::Active)), vec![]);
        assert_eq!(z.elector_state(), ElectorState::Active);
        assert_eq!(z.service_state(), ServiceState::Active);
    }

    #[test]
    fn failing_to_become_active_is_recorded_for_graceful_failover() {
        let t = Instant::now();
        let mut z = core(t);
        z.step(t, I::HealthChanged(HealthState::ServiceHealthy));
        z.step(
            t,
            el(ElectorEvent::LockCreated {
                client: C,
                result: Ok(()),
            }),
        );
        z.step(
            t,
            el(ElectorEvent::BreadcrumbRead {
                client: C,
                result: Ok((b"nn2".to_vec(), 3)),
            }),
        );
        let actions = z.step(
            t,
            I::Fenced(Err(FenceError::Failed("NameNode at nn2".into()))),
        );
        assert_eq!(
            actions[0],
            A::ActiveAttempt {
                succeeded: false,
                status: "Unable to fence old active: Unable to fence NameNode at nn2".into()
            }
        );
        assert_eq!(actions[1], zk(ZkRequest::Close { client: C }));
    }
}
