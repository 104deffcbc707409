//! Seeded random schedules: the rules of the faults, the chooser that draws each action
//! from the generator, and the tests that run thousands of schedules.

use super::actions::Script;
use super::*;

/// What a panic said.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic with no message".to_string())
}

/// The seeds of a random-schedule test: `HDFS_HA_SEED` alone when it is set, else
/// `ZAB_TEST_SCHEDULES` (or `default`) consecutive seeds from a fresh start.
fn schedules(default: u64) -> Vec<u64> {
    let n = std::env::var("ZAB_TEST_SCHEDULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let base = SeededRng::from_entropy().next_u64();
    seeded::seeds((0..n).map(|i| base.wrapping_add(i)))
}

/// How a schedule injects faults.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rules {
    /// Servers of any kind down at once.
    servers: usize,
    /// Voters among them.
    voters: usize,
    /// A reboot step restarts one of the servers that are down (not only a randomly
    /// picked server that happens to be down, which left each of six servers down for a
    /// third of a schedule).
    reboot_any_dead: bool,
}

impl Rules {
    /// Any minority of voters, and every observer: more voters down would only stall.
    pub(super) fn minority(voters: usize, observers: usize) -> Rules {
        Rules {
            servers: (voters - 1) / 2 + observers,
            voters: (voters - 1) / 2,
            reboot_any_dead: true,
        }
    }
}

/// Draws a schedule: what happens next, given what the ensemble looks like now. The only
/// code that touches the generator. Each action is applied before the next is drawn (the
/// second delivery of a burst depends on what the first one made the peer send).
pub(super) struct Chooser {
    pub(super) rng: SeededRng,
    rules: Rules,
}

impl Chooser {
    pub(super) fn new(seed: u64, rules: Rules) -> Chooser {
        Chooser {
            rng: SeededRng::new(seed),
            rules,
        }
    }

    /// One random fault-injecting step: one action (a burst: up to four), or none when the
    /// fault drawn has nothing to act on.
    pub(super) fn step(&mut self, sim: &mut Sim) {
        let limits = self.rules;
        let ids: Vec<Sid> = sim.servers.keys().copied().collect();
        let pick = ids[self.rng.index(ids.len())];
        let action = match self.rng.below(1000) {
            0..=349 => Some(self.delivery(sim).unwrap_or_else(|| self.tick())),
            350..=499 => Some(self.election_delivery(sim).unwrap_or_else(|| self.tick())),
            500..=679 => {
                let all = self.rng.chance(0.7);
                let s = &sim.servers[&pick];
                if s.in_flight.is_empty() || s.peer.is_none() {
                    None
                } else if all {
                    Some(SimAction::Persist {
                        id: pick,
                        writes: Writes::All,
                    })
                } else {
                    let n = self.rng.between(1, s.in_flight.len() as u64) as usize;
                    Some(SimAction::Persist {
                        id: pick,
                        writes: Writes::First(n),
                    })
                }
            }
            680..=799 => Some(self.tick()),
            800..=959 => sim.leader().map(|_| SimAction::Propose),
            960..=979 => {
                let serving: Vec<Sid> = sim
                    .servers
                    .iter()
                    .filter(|(_, s)| s.peer.as_ref().is_some_and(|p| p.serving().is_some()))
                    .map(|(id, _)| *id)
                    .collect();
                (!serving.is_empty()).then(|| SimAction::Sync {
                    id: serving[self.rng.index(serving.len())],
                })
            }
            980..=983 => {
                let down = sim.servers.values().filter(|s| s.peer.is_none()).count();
                let voters_down = sim.config.voters.iter().filter(|v| !sim.alive(**v)).count();
                let voter = sim.config.voters.contains(&pick);
                (sim.alive(pick)
                    && down < limits.servers
                    && (!voter || voters_down < limits.voters))
                    .then(|| self.crash(sim, pick))
            }
            984..=989 => {
                let dead: Vec<Sid> = ids.iter().copied().filter(|i| !sim.alive(*i)).collect();
                if limits.reboot_any_dead && !dead.is_empty() {
                    let id = dead[self.rng.index(dead.len())];
                    Some(SimAction::Boot { id })
                } else {
                    (!sim.alive(pick)).then_some(SimAction::Boot { id: pick })
                }
            }
            990..=992 => {
                let conns: Vec<(Sid, Sid)> = sim.conns.iter().copied().collect();
                (!conns.is_empty()).then(|| {
                    let (learner, leader) = conns[self.rng.index(conns.len())];
                    SimAction::Break { learner, leader }
                })
            }
            993..=995 => sim.isolated.is_empty().then(|| SimAction::Isolate {
                id: pick,
                ms: self.rng.between(200, 2999),
            }),
            _ => {
                // Reordering across links: deliver a burst from one link.
                for _ in 0..self.rng.between(1, 4) {
                    if let Some(action) = self.delivery(sim) {
                        apply_chosen(sim, &action);
                    }
                }
                None
            }
        };
        if let Some(action) = action {
            apply_chosen(sim, &action);
        }
    }

    /// A peer message from a random link that has one.
    fn delivery(&mut self, sim: &Sim) -> Option<SimAction> {
        let links = sim.peer_links();
        if links.is_empty() {
            return None;
        }
        let (from, to) = links[self.rng.index(links.len())];
        Some(SimAction::Deliver { from, to })
    }

    /// A random link with a notification queued.
    fn election_link(&mut self, sim: &Sim) -> Option<(Sid, Sid)> {
        let links = sim.election_links();
        if links.is_empty() {
            return None;
        }
        Some(links[self.rng.index(links.len())])
    }

    /// A notification from a random link that has one, lost one time in twenty.
    fn election_delivery(&mut self, sim: &Sim) -> Option<SimAction> {
        let (from, to) = self.election_link(sim)?;
        Some(if self.rng.chance(0.05) {
            SimAction::Lose { from, to }
        } else {
            SimAction::Elect { from, to }
        })
    }

    fn tick(&mut self) -> SimAction {
        SimAction::Tick {
            ms: self.rng.between(5, 19),
        }
    }

    /// `id` crashes with a random prefix of its in-flight writes reaching the disk.
    fn crash(&mut self, sim: &Sim, id: Sid) -> SimAction {
        let in_flight = sim.servers[&id].in_flight.len();
        let kept = if in_flight == 0 {
            0
        } else {
            self.rng.index(in_flight + 1)
        };
        SimAction::Crash { id, kept }
    }

    /// Heals every fault (isolations end, servers that are down boot), then
    /// [`Chooser::converge`].
    pub(super) fn settle(&mut self, sim: &mut Sim) {
        apply_chosen(sim, &SimAction::Heal);
        let down: Vec<Sid> = sim
            .servers
            .keys()
            .copied()
            .filter(|id| !sim.alive(*id))
            .collect();
        for id in down {
            apply_chosen(sim, &SimAction::Boot { id });
        }
        self.converge(sim);
    }

    /// Runs fault-free (everything persists, every message arrives, in random order) until
    /// every live server serves the same history, then checks it.
    pub(super) fn converge(&mut self, sim: &mut Sim) {
        let ids: Vec<Sid> = sim.servers.keys().copied().collect();
        for round in 0..20_000 {
            for id in &ids {
                let s = &sim.servers[id];
                if !s.in_flight.is_empty() && s.peer.is_some() {
                    let persist = SimAction::Persist {
                        id: *id,
                        writes: Writes::All,
                    };
                    apply_chosen(sim, &persist);
                }
            }
            while let Some(action) = self.delivery(sim) {
                apply_chosen(sim, &action);
            }
            while let Some((from, to)) = self.election_link(sim) {
                apply_chosen(sim, &SimAction::Elect { from, to });
            }
            let tick = self.tick();
            apply_chosen(sim, &tick);
            if round % 50 == 49 && sim.leader().is_some() {
                apply_chosen(sim, &SimAction::Propose);
            }
            if sim.converged() {
                break;
            }
        }
        apply_chosen(sim, &SimAction::Check);
    }

    /// A random minority of voters crashes.
    fn crash_minority(&mut self, sim: &mut Sim) {
        let voters = sim.config.voters.len();
        let mut minority: Vec<Sid> = sim.config.voters.iter().copied().collect();
        while minority.len() > (voters - 1) / 2 {
            let i = self.rng.index(minority.len());
            minority.remove(i);
        }
        for id in minority {
            let action = self.crash(sim, id);
            apply_chosen(sim, &action);
        }
    }
}

/// A chosen action always applies: the chooser only picks what the ensemble can do.
pub(super) fn apply_chosen(sim: &mut Sim, action: &SimAction) {
    if let Err(NotApplicable(why)) = sim.apply(action) {
        panic!(
            "{}: chose {action:?}, which does not apply: {why}",
            sim.label
        );
    }
}

fn run_schedule(seed: u64, voters: usize, observers: usize, steps: usize) {
    run_schedule_with(
        seed,
        Ensemble::for_seed(seed, voters, observers),
        steps,
        Rules::minority(voters, observers),
    );
}

fn run_schedule_with(seed: u64, ensemble: Ensemble, steps: usize, rules: Rules) {
    let mut sim = Sim::new(format!("seed {seed}"), ensemble);
    let mut chooser = Chooser::new(seed, rules);
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_chosen(&mut sim, &mut chooser, steps);
    }));
    if let Err(panic) = run {
        let comments = [
            format!("found by seed {seed}: {steps} steps, {rules:?}"),
            format!(
                "failed: {}",
                panic_message(panic.as_ref()).lines().next().unwrap_or("")
            ),
        ];
        match keep_failed_list(&std::env::temp_dir(), seed, &sim, &comments) {
            Ok(path) => eprintln!(
                "seed {seed}: the {} actions that led to the failure are in {}; \
                 keep it as a regression under tests/data/zab/",
                sim.actions.len(),
                path.display()
            ),
            Err(e) => eprintln!("seed {seed}: cannot write the failed action list: {e}"),
        }
        std::panic::resume_unwind(panic);
    }
}

/// Writes the actions `sim` applied into `dir`, named after the seed that chose them.
fn keep_failed_list(
    dir: &std::path::Path,
    seed: u64,
    sim: &Sim,
    comments: &[String],
) -> std::io::Result<std::path::PathBuf> {
    let path = dir.join(format!("zab-sim-seed-{seed}.txt"));
    std::fs::write(&path, Script::print(sim, comments))?;
    Ok(path)
}

/// `steps` chosen steps, the heal, then a minority of voters down for good.
fn run_chosen(sim: &mut Sim, chooser: &mut Chooser, steps: usize) {
    for _ in 0..steps {
        chooser.step(sim);
    }
    if std::env::var("ZAB_TEST_TRACE").is_ok() {
        for line in &sim.trace {
            println!("{line}");
        }
    }
    chooser.settle(sim);
    // DESIGN.md invariant 4, quorum part: with any minority of voters crashed for good
    // (keeping only what their disks hold), the rest elect a leader that holds every
    // committed txn (checked as it establishes) and converge on it.
    chooser.crash_minority(sim);
    chooser.converge(sim);
    println!(
        "  {} txns committed, {} leaders established, epochs {:?}",
        sim.committed.len(),
        sim.leaders.len(),
        sim.leaders.keys().collect::<Vec<_>>()
    );
}

fn run_many(name: &str, voters: usize, observers: usize, steps: usize, default: u64) {
    let steps = std::env::var("ZAB_TEST_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(steps);
    for seed in schedules(default) {
        print!("{name}: ");
        seeded::announce(seed);
        let result = std::panic::catch_unwind(|| run_schedule(seed, voters, observers, steps));
        if let Err(e) = result {
            eprintln!(
                "{name}: FAILED with seed {seed}; replay with {}={seed}",
                seeded::SEED_VAR
            );
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn three_voters_survive_crashes_partitions_and_lost_messages() {
    run_many("3 voters", 3, 0, 3000, 300);
}

#[test]
fn five_voters_and_an_observer_survive_crashes_partitions_and_lost_messages() {
    run_many("5 voters + 1 observer", 5, 1, 3000, 100);
}

#[test]
fn a_quiet_ensemble_elects_the_most_recent_server_and_commits() {
    let mut sim = Sim::new("seed 1", Ensemble::new(3, 0, 100));
    let mut chooser = Chooser::new(1, Rules::minority(3, 0));
    chooser.settle(&mut sim);
    for _ in 0..10 {
        apply_chosen(&mut sim, &SimAction::Propose);
    }
    chooser.settle(&mut sim);
    let leader = sim.leader().expect("leader");
    assert_eq!(leader, 3, "equal histories: the highest sid leads");
    assert!(sim.committed.len() >= 10);
    // The leader crashes; the next leader keeps every committed txn.
    let crash = chooser.crash(&sim, leader);
    apply_chosen(&mut sim, &crash);
    chooser.settle(&mut sim);
}

#[test]
fn a_failed_schedule_leaves_the_list_that_replays_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sim = Sim::new("seed 7", Ensemble::for_seed(7, 3, 0));
    let mut chooser = Chooser::new(7, Rules::minority(3, 0));
    for _ in 0..200 {
        chooser.step(&mut sim);
    }
    let comments = [
        "found by seed 7".to_string(),
        "failed: two\nlines".to_string(),
    ];
    let path = keep_failed_list(dir.path(), 7, &sim, &comments).expect("written");
    assert!(path.ends_with("zab-sim-seed-7.txt"), "{}", path.display());
    let text = std::fs::read_to_string(&path).expect("read back");
    assert!(text.starts_with("# found by seed 7\n# failed: two\n# lines\nensemble "));
    let replayed = Script::parse(&text)
        .expect("parses")
        .replay("kept list")
        .expect("applies");
    assert_eq!(replayed.trace, sim.trace);
}
