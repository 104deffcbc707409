//! Action lists as text, their parser and printer, and replaying one on a fresh ensemble.

use super::chooser::{Chooser, Rules};
use super::*;

// Action lists as text: one action per line, `#` starts a comment, and the first line that
// is not blank or a comment names the ensemble:
//
//     # found by seed 42
//     ensemble voters=3 observers=0 window=5 election-queue=1
//     elect 1->2
//     persist 2 all
//     deliver 3->1
//     tick 12
//     crash 2 kept 1
//     heal
//     boot 2
//     check

impl std::fmt::Display for Ensemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ensemble voters={} observers={} window={} election-queue=",
            self.voters, self.observers, self.window
        )?;
        match self.election_queue {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "unbounded"),
        }
    }
}

impl std::fmt::Display for SimAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            SimAction::Deliver { from, to } => write!(f, "deliver {from}->{to}"),
            SimAction::Elect { from, to } => write!(f, "elect {from}->{to}"),
            SimAction::Lose { from, to } => write!(f, "lose {from}->{to}"),
            SimAction::Persist {
                id,
                writes: Writes::All,
            } => write!(f, "persist {id} all"),
            SimAction::Persist {
                id,
                writes: Writes::First(n),
            } => write!(f, "persist {id} first {n}"),
            SimAction::Tick { ms } => write!(f, "tick {ms}"),
            SimAction::Propose => write!(f, "propose"),
            SimAction::Sync { id } => write!(f, "sync {id}"),
            SimAction::Crash { id, kept } => write!(f, "crash {id} kept {kept}"),
            SimAction::Boot { id } => write!(f, "boot {id}"),
            SimAction::Break { learner, leader } => write!(f, "break {learner}->{leader}"),
            SimAction::Isolate { id, ms } => write!(f, "isolate {id} for {ms}"),
            SimAction::Heal => write!(f, "heal"),
            SimAction::Check => write!(f, "check"),
        }
    }
}

/// A line of an action list that does not parse, or an action a replay cannot apply.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {what}: `{text}`{context}")]
pub(super) struct ScriptError {
    line: usize,
    text: String,
    what: String,
    /// What led to a replay's refusal (empty for a parse error).
    context: String,
}

/// An action list: the ensemble it runs on and its actions, each with its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Script {
    ensemble: Ensemble,
    actions: Vec<(usize, SimAction)>,
}

impl Script {
    pub(super) fn parse(text: &str) -> Result<Script, ScriptError> {
        let mut ensemble = None;
        let mut actions = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let error = |Unparsed(what)| ScriptError {
                line: i + 1,
                text: line.to_string(),
                what,
                context: String::new(),
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            match ensemble {
                None => ensemble = Some(parse_ensemble(&words).map_err(error)?),
                Some(_) => actions.push((i + 1, parse_action(&words).map_err(error)?)),
            }
        }
        let ensemble = ensemble.ok_or_else(|| ScriptError {
            line: text.lines().count().max(1),
            text: String::new(),
            what: "no `ensemble` line".to_string(),
            context: String::new(),
        })?;
        Ok(Script { ensemble, actions })
    }

    /// The list `sim` applied so far, after `comments` (one `#` line each).
    pub(super) fn print(sim: &Sim, comments: &[String]) -> String {
        let mut out = String::new();
        for line in comments.iter().flat_map(|c| c.split('\n')) {
            match line {
                "" => out.push_str("#\n"),
                line => out.push_str(&format!("# {line}\n")),
            }
        }
        out.push_str(&format!("{}\n", sim.ensemble));
        for action in &sim.actions {
            out.push_str(&format!("{action}\n"));
        }
        out
    }

    /// Runs the list on a fresh ensemble. An invariant that breaks panics, as in any
    /// schedule; an action that does not apply is an error naming its line.
    pub(super) fn replay(&self, label: &str) -> Result<Sim, ScriptError> {
        let mut sim = Sim::new(label, self.ensemble);
        for (line, action) in &self.actions {
            sim.apply(action)
                .map_err(|NotApplicable(why)| ScriptError {
                    line: *line,
                    text: action.to_string(),
                    what: format!("does not apply ({why})"),
                    context: format!(
                        "\nthe peer no longer does what it did when the list was recorded; \
                         last events:\n{}",
                        sim.trace
                            .iter()
                            .rev()
                            .take(12)
                            .rev()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                })?;
        }
        Ok(sim)
    }
}

/// Why a line of an action list does not parse.
#[derive(Debug)]
struct Unparsed(String);

fn parse_ensemble(words: &[&str]) -> Result<Ensemble, Unparsed> {
    let usage = "expected `ensemble voters=N observers=N window=N election-queue=N|unbounded`";
    let ["ensemble", voters, observers, window, queue] = words else {
        return Err(Unparsed(usage.to_string()));
    };
    let field = |word: &str, key: &str| -> Result<String, Unparsed> {
        word.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::to_string)
            .ok_or_else(|| Unparsed(format!("expected `{key}=`, {usage}")))
    };
    let voters: usize = number(&field(voters, "voters")?, "voters")?;
    if voters == 0 {
        return Err(Unparsed("an ensemble needs a voter".to_string()));
    }
    let observers = number(&field(observers, "observers")?, "observers")?;
    let window = number(&field(window, "window")?, "window")?;
    let election_queue = match field(queue, "election-queue")?.as_str() {
        "unbounded" => None,
        n => Some(number(n, "election-queue")?),
    };
    Ok(Ensemble {
        voters,
        observers,
        window,
        election_queue,
    })
}

fn parse_action(words: &[&str]) -> Result<SimAction, Unparsed> {
    Ok(match words {
        ["deliver", link] => {
            let (from, to) = parse_link(link)?;
            SimAction::Deliver { from, to }
        }
        ["elect", link] => {
            let (from, to) = parse_link(link)?;
            SimAction::Elect { from, to }
        }
        ["lose", link] => {
            let (from, to) = parse_link(link)?;
            SimAction::Lose { from, to }
        }
        ["persist", id, "all"] => SimAction::Persist {
            id: number(id, "server id")?,
            writes: Writes::All,
        },
        ["persist", id, "first", n] => SimAction::Persist {
            id: number(id, "server id")?,
            writes: Writes::First(number(n, "count of writes")?),
        },
        ["tick", ms] => SimAction::Tick {
            ms: number(ms, "milliseconds")?,
        },
        ["propose"] => SimAction::Propose,
        ["sync", id] => SimAction::Sync {
            id: number(id, "server id")?,
        },
        ["crash", id, "kept", kept] => SimAction::Crash {
            id: number(id, "server id")?,
            kept: number(kept, "count of writes")?,
        },
        ["boot", id] => SimAction::Boot {
            id: number(id, "server id")?,
        },
        ["break", link] => {
            let (learner, leader) = parse_link(link)?;
            SimAction::Break { learner, leader }
        }
        ["isolate", id, "for", ms] => SimAction::Isolate {
            id: number(id, "server id")?,
            ms: number(ms, "milliseconds")?,
        },
        ["heal"] => SimAction::Heal,
        ["check"] => SimAction::Check,
        _ => {
            return Err(Unparsed(
                "expected one of `deliver A->B`, `elect A->B`, `lose A->B`, \
                        `persist ID all`, `persist ID first N`, `tick MS`, `propose`, \
                        `sync ID`, `crash ID kept N`, `boot ID`, `break LEARNER->LEADER`, \
                        `isolate ID for MS`, `heal`, `check`"
                    .to_string(),
            ));
        }
    })
}

fn parse_link(word: &str) -> Result<(Sid, Sid), Unparsed> {
    let (from, to) = word
        .split_once("->")
        .ok_or_else(|| Unparsed(format!("expected FROM->TO, not {word:?}")))?;
    Ok((number(from, "server id")?, number(to, "server id")?))
}

fn number<T: std::str::FromStr>(word: &str, what: &str) -> Result<T, Unparsed> {
    word.parse()
        .map_err(|_| Unparsed(format!("expected a {what}, not {word:?}")))
}

#[test]
fn an_action_list_prints_parses_and_replays_the_same_run() {
    let seed = seeded::seed();
    seeded::announce(seed);
    let ensemble = Ensemble::for_seed(seed, 5, 1);
    let mut sim = Sim::new(format!("seed {seed}"), ensemble);
    let mut chooser = Chooser::new(seed, Rules::minority(5, 1));
    for _ in 0..1500 {
        chooser.step(&mut sim);
    }
    chooser.settle(&mut sim);
    let text = Script::print(&sim, &[format!("seed {seed}")]);
    let script = Script::parse(&text).expect("a printed list parses");
    assert_eq!(script.ensemble, ensemble);
    let actions: Vec<SimAction> = script.actions.iter().map(|(_, a)| a.clone()).collect();
    assert_eq!(actions, sim.actions);
    // The comment is line 1 and the ensemble line 2.
    assert_eq!(script.actions.first().map(|(line, _)| *line), Some(3));
    let replayed = script.replay("replayed").expect("every action applies");
    assert_eq!(
        replayed.trace, sim.trace,
        "the replay is the same run, event for event"
    );
    assert_eq!(replayed.committed, sim.committed);
    assert_eq!(Script::print(&replayed, &[format!("seed {seed}")]), text);
}

#[test]
fn every_action_prints_as_it_is_written() {
    let text = "\
ensemble voters=3 observers=1 window=7 election-queue=unbounded
deliver 1->2
elect 3->1
lose 2->3
persist 2 all
persist 3 first 2
tick 15
propose
sync 4
crash 1 kept 0
boot 1
break 4->3
isolate 2 for 800
heal
check
";
    let script = Script::parse(text).expect("parses");
    assert_eq!(
        script.ensemble,
        Ensemble {
            voters: 3,
            observers: 1,
            window: 7,
            election_queue: None
        }
    );
    let mut printed = format!("{}\n", script.ensemble);
    for (_, action) in &script.actions {
        printed.push_str(&format!("{action}\n"));
    }
    assert_eq!(printed, text);
    assert_eq!(
        script.actions[4],
        (
            6,
            SimAction::Persist {
                id: 3,
                writes: Writes::First(2)
            }
        )
    );
}

#[test]
fn a_bad_action_list_names_the_line() {
    let head = "ensemble voters=3 observers=0 window=5 election-queue=1";
    for (text, line, what) in [
        (format!("{head}\ndeliver 1-2\n"), 2, "expected FROM->TO"),
        (
            format!("# a comment\n\n{head}\npropose # fine\ntick\n"),
            5,
            "expected one of",
        ),
        (
            format!("{head}\ncrash x kept 1\n"),
            2,
            "expected a server id, not \"x\"",
        ),
        (format!("{head}\npersist 2 some\n"), 2, "expected one of"),
        (
            "ensemble voters=3 observers=0 window=5\n".to_string(),
            1,
            "expected `ensemble",
        ),
        (
            "ensemble voters=3 observers=0 size=5 election-queue=1\n".to_string(),
            1,
            "expected `window=`",
        ),
        (
            "ensemble voters=0 observers=0 window=5 election-queue=1\n".to_string(),
            1,
            "needs a voter",
        ),
        ("# only a comment\n".to_string(), 1, "no `ensemble` line"),
    ] {
        let error = Script::parse(&text).expect_err(&text);
        assert_eq!(error.line, line, "{text:?}: {error}");
        assert!(error.to_string().contains(what), "{text:?}: {error}");
        assert!(
            error.to_string().starts_with(&format!("line {line}: ")),
            "{error}"
        );
    }
    // A list that parses but asks for what the ensemble cannot do stops at that line.
    for (text, line, what) in [
        (format!("{head}\nheal\nboot 1\n"), 3, "server 1 is up"),
        (
            format!("{head}\ndeliver 1->2\n"),
            2,
            "no peer message is queued from 1 to 2",
        ),
        (format!("{head}\npropose\n"), 2, "no leader is established"),
        (
            format!("{head}\ncrash 9 kept 0\n"),
            2,
            "there is no server 9",
        ),
    ] {
        let script = Script::parse(&text).expect("parses");
        let Err(error) = script.replay("bad list") else {
            panic!("{text:?} replayed");
        };
        assert_eq!(error.line, line, "{text:?}: {error}");
        assert!(error.to_string().contains(what), "{text:?}: {error}");
    }
}
