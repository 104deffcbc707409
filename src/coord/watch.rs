//! The watch manager: one-shot data watches (getData, exists — also on a missing node),
//! one-shot child watches (getChildren), persistent watches and persistent recursive
//! watches (addWatch), per watcher (a connection).
//!
//! Invariants: a one-shot watch fires at most once and is gone after firing; a watcher gets at
//! most one event per change however many of its watches match; persistent watches stay until
//! removed or the watcher goes; recursive watches never see NodeChildrenChanged.

use std::collections::{HashMap, HashSet};

use super::tree::{Change, EventType};

/// Who gets the event: a connection id.
pub type WatcherId = u64;

/// `WatcherType` in checkWatches/removeWatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherType {
    Children = 1,
    Data = 2,
    Any = 3,
}

impl WatcherType {
    pub fn from_i32(v: i32) -> Option<WatcherType> {
        match v {
            1 => Some(WatcherType::Children),
            2 => Some(WatcherType::Data),
            3 => Some(WatcherType::Any),
            _ => None,
        }
    }
}

/// Event types a watcher can be sent beyond the node events (`Watcher.Event.EventType`).
pub const DATA_WATCH_REMOVED: i32 = 5;
pub const CHILD_WATCH_REMOVED: i32 = 6;
pub const PERSISTENT_WATCH_REMOVED: i32 = 7;

#[derive(Debug, Default, Clone)]
struct Table {
    by_path: HashMap<String, HashSet<WatcherId>>,
    by_watcher: HashMap<WatcherId, HashSet<String>>,
}

impl Table {
    fn add(&mut self, path: &str, w: WatcherId) {
        self.by_path.entry(path.to_string()).or_default().insert(w);
        self.by_watcher
            .entry(w)
            .or_default()
            .insert(path.to_string());
    }

    fn remove(&mut self, path: &str, w: WatcherId) -> bool {
        let removed = match self.by_path.get_mut(path) {
            Some(set) => {
                let r = set.remove(&w);
                if set.is_empty() {
                    self.by_path.remove(path);
                }
                r
            }
            None => false,
        };
        if let Some(paths) = self.by_watcher.get_mut(&w) {
            paths.remove(path);
            if paths.is_empty() {
                self.by_watcher.remove(&w);
            }
        }
        removed
    }

    fn contains(&self, path: &str, w: WatcherId) -> bool {
        self.by_path.get(path).is_some_and(|s| s.contains(&w))
    }

    /// Removes and returns every watcher of `path`.
    fn take(&mut self, path: &str) -> Vec<WatcherId> {
        let Some(set) = self.by_path.remove(path) else {
            return Vec::new();
        };
        for w in &set {
            if let Some(paths) = self.by_watcher.get_mut(w) {
                paths.remove(path);
                if paths.is_empty() {
                    self.by_watcher.remove(w);
                }
            }
        }
        set.into_iter().collect()
    }

    fn get(&self, path: &str) -> impl Iterator<Item = WatcherId> + '_ {
        self.by_path.get(path).into_iter().flatten().copied()
    }

    fn drop_watcher(&mut self, w: WatcherId) {
        if let Some(paths) = self.by_watcher.remove(&w) {
            for p in paths {
                if let Some(set) = self.by_path.get_mut(&p) {
                    set.remove(&w);
                    if set.is_empty() {
                        self.by_path.remove(&p);
                    }
                }
            }
        }
    }

    fn count(&self) -> usize {
        self.by_path.values().map(HashSet::len).sum()
    }
}

/// A notification to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub watcher: WatcherId,
    pub path: String,
    pub event: EventType,
}

#[derive(Debug, Default, Clone)]
pub struct WatchManager {
    data: Table,
    child: Table,
    persistent: Table,
    recursive: Table,
}

impl WatchManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// getData / exists with watch=true.
    pub fn add_data(&mut self, path: &str, w: WatcherId) {
        self.data.add(path, w);
    }

    /// getChildren with watch=true.
    pub fn add_child(&mut self, path: &str, w: WatcherId) {
        self.child.add(path, w);
    }

    /// addWatch mode 0 (persistent) or 1 (persistent recursive).
    pub fn add_persistent(&mut self, path: &str, w: WatcherId, recursive: bool) {
        if recursive {
            self.persistent.remove(path, w);
            self.recursive.add(path, w);
        } else {
            self.recursive.remove(path, w);
            self.persistent.add(path, w);
        }
    }

    /// The notifications for one applied change, consuming the one-shot watches that fire.
    pub fn trigger(&mut self, change: &Change) -> Vec<Fired> {
        let path = change.path.as_str();
        let mut who: Vec<WatcherId> = Vec::new();
        match change.event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                who.extend(self.data.take(path));
            }
            EventType::NodeDeleted => {
                who.extend(self.data.take(path));
                who.extend(self.child.take(path));
            }
            EventType::NodeChildrenChanged => {
                who.extend(self.child.take(path));
            }
        }
        who.extend(self.persistent.get(path));
        if change.event != EventType::NodeChildrenChanged {
            // The node itself and every ancestor with a recursive watch.
            let mut p = path;
            loop {
                who.extend(self.recursive.get(p));
                if p == "/" {
                    break;
                }
                p = super::tree::split(p).0;
            }
        }
        let mut seen = HashSet::new();
        who.into_iter()
            .filter(|w| seen.insert(*w))
            .map(|watcher| Fired {
                watcher,
                path: path.to_string(),
                event: change.event,
            })
            .collect()
    }

    /// checkWatches: whether `w` has a watch of this type on `path`.
    pub fn has(&self, path: &str, kind: WatcherType, w: WatcherId) -> bool {
        let data = self.data.contains(path, w);
        let child = self.child.contains(path, w);
        let persistent = self.persistent.contains(path, w) || self.recursive.contains(path, w);
        match kind {
            WatcherType::Data => data || persistent,
            WatcherType::Children => child || persistent,
            WatcherType::Any => data || child || persistent,
        }
    }

    /// removeWatches: the removal events to send (type 5, 6 or 7), empty when nothing matched.
    pub fn remove(&mut self, path: &str, kind: WatcherType, w: WatcherId) -> Vec<i32> {
        let mut events = Vec::new();
        if matches!(kind, WatcherType::Data | WatcherType::Any) && self.data.remove(path, w) {
            events.push(DATA_WATCH_REMOVED);
        }
        if matches!(kind, WatcherType::Children | WatcherType::Any) && self.child.remove(path, w) {
            events.push(CHILD_WATCH_REMOVED);
        }
        let p = self.persistent.remove(path, w);
        let r = self.recursive.remove(path, w);
        if p || r {
            events.push(PERSISTENT_WATCH_REMOVED);
        }
        events
    }

    /// Forgets a watcher entirely (its connection closed).
    pub fn drop_watcher(&mut self, w: WatcherId) {
        self.data.drop_watcher(w);
        self.child.drop_watcher(w);
        self.persistent.drop_watcher(w);
        self.recursive.drop_watcher(w);
    }

    /// The tables ZooKeeper keeps in its *data* watch manager (getData/exists watches and the
    /// persistent ones): `wchs`, `wchc` and `wchp` report only these.
    fn data_side(&self) -> [&Table; 3] {
        [&self.data, &self.persistent, &self.recursive]
    }

    /// `wchs`: (watchers, paths, watches) of the data side, as ZooKeeper reports them.
    pub fn summary(&self) -> (usize, usize, usize) {
        let mut watchers = HashSet::new();
        let mut paths = HashSet::new();
        let mut total = 0;
        for t in self.data_side() {
            total += t.count();
            watchers.extend(t.by_watcher.keys().copied());
            paths.extend(t.by_path.keys().cloned());
        }
        (watchers.len(), paths.len(), total)
    }

    /// Every watch (mntr's `zk_watch_count`: data and child managers together).
    pub fn count(&self) -> usize {
        self.data.count() + self.child.count() + self.persistent.count() + self.recursive.count()
    }

    /// `wchc`: paths each watcher watches on the data side.
    pub fn by_watcher(&self) -> Vec<(WatcherId, Vec<String>)> {
        let mut map: HashMap<WatcherId, HashSet<String>> = HashMap::new();
        for t in self.data_side() {
            for (w, paths) in &t.by_watcher {
                map.entry(*w).or_default().extend(paths.iter().cloned());
            }
        }
        let mut out: Vec<_> = map
            .into_iter()
            .map(|(w, p)| {
                let mut p: Vec<String> = p.into_iter().collect();
                p.sort();
                (w, p)
            })
            .collect();
        out.sort();
        out
    }

    /// `wchp`: data-side watchers of each path.
    pub fn by_path(&self) -> Vec<(String, Vec<WatcherId>)> {
        let mut map: HashMap<String, HashSet<WatcherId>> = HashMap::new();
        for t in self.data_side() {
            for (p, ws) in &t.by_path {
                map.entry(p.clone()).or_default().extend(ws.iter().copied());
            }
        }
        let mut out: Vec<_> = map
            .into_iter()
            .map(|(p, w)| {
                let mut w: Vec<WatcherId> = w.into_iter().collect();
                w.sort();
                (p, w)
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, event: EventType) -> Change {
        Change {
            path: path.into(),
            event,
        }
    }

    fn fired(watcher: WatcherId, path: &str, event: EventType) -> Fired {
        Fired {
            watcher,
            path: path.into(),
            event,
        }
    }

    #[test]
    fn one_shot_watches_fire_once() {
        let mut m = WatchManager::new();
        m.add_data("/a", 1);
        m.add_data("/a", 1);
        m.add_data("/a", 2);
        let mut got = m.trigger(&change("/a", EventType::NodeDataChanged));
        got.sort_by_key(|f| f.watcher);
        assert_eq!(
            got,
            [
                fired(1, "/a", EventType::NodeDataChanged),
                fired(2, "/a", EventType::NodeDataChanged)
            ]
        );
        assert!(
            m.trigger(&change("/a", EventType::NodeDataChanged))
                .is_empty()
        );
        assert_eq!(m.count(), 0);
    }

    #[test]
    fn delete_fires_data_and_child_watches_once_per_watcher() {
        let mut m = WatchManager::new();
        m.add_data("/a", 1);
        m.add_child("/a", 1);
        m.add_child("/a", 2);
        m.add_child("/", 3);
        let mut got = m.trigger(&change("/a", EventType::NodeDeleted));
        got.sort_by_key(|f| f.watcher);
        assert_eq!(
            got,
            [
                fired(1, "/a", EventType::NodeDeleted),
                fired(2, "/a", EventType::NodeDeleted)
            ]
        );
        // A child watch does not fire on data changes.
        m.add_child("/b", 1);
        assert!(
            m.trigger(&change("/b", EventType::NodeDataChanged))
                .is_empty()
        );
        assert_eq!(
            m.trigger(&change("/", EventType::NodeChildrenChanged)),
            [fired(3, "/", EventType::NodeChildrenChanged)]
        );
    }

    #[test]
    fn persistent_watches_stay_and_recursive_ones_cover_descendants() {
        let mut m = WatchManager::new();
        m.add_persistent("/p", 1, false);
        m.add_persistent("/r", 2, true);
        for _ in 0..2 {
            assert_eq!(
                m.trigger(&change("/p", EventType::NodeDataChanged)),
                [fired(1, "/p", EventType::NodeDataChanged)]
            );
            assert_eq!(
                m.trigger(&change("/p", EventType::NodeChildrenChanged)),
                [fired(1, "/p", EventType::NodeChildrenChanged)]
            );
        }
        // Not for the persistent watch's descendants.
        assert!(
            m.trigger(&change("/p/x", EventType::NodeCreated))
                .is_empty()
        );
        assert_eq!(
            m.trigger(&change("/r/x/y", EventType::NodeCreated)),
            [fired(2, "/r/x/y", EventType::NodeCreated)]
        );
        assert!(
            m.trigger(&change("/r", EventType::NodeChildrenChanged))
                .is_empty()
        );
        assert!(m.trigger(&change("/rr", EventType::NodeCreated)).is_empty());
        assert!(m.has("/r", WatcherType::Data, 2));
        assert_eq!(
            m.remove("/r", WatcherType::Any, 2),
            [PERSISTENT_WATCH_REMOVED]
        );
        assert!(
            m.trigger(&change("/r/x", EventType::NodeDeleted))
                .is_empty()
        );
        // A recursive watch on / sees everything but child events.
        m.add_persistent("/", 3, true);
        assert_eq!(m.trigger(&change("/a/b", EventType::NodeDeleted)).len(), 1);
    }

    #[test]
    fn check_remove_and_drop() {
        let mut m = WatchManager::new();
        m.add_data("/a", 1);
        m.add_child("/a", 1);
        assert!(m.has("/a", WatcherType::Data, 1));
        assert!(!m.has("/a", WatcherType::Data, 2));
        // wchs counts the data side only, as ZooKeeper's does; mntr counts both.
        assert_eq!(m.summary(), (1, 1, 1));
        assert_eq!(m.count(), 2);
        assert_eq!(
            m.remove("/a", WatcherType::Children, 1),
            [CHILD_WATCH_REMOVED]
        );
        assert!(m.remove("/a", WatcherType::Children, 1).is_empty());
        m.add_data("/b", 1);
        m.add_data("/b", 2);
        assert_eq!(
            m.by_path(),
            [("/a".into(), vec![1]), ("/b".into(), vec![1, 2])]
        );
        m.drop_watcher(1);
        assert_eq!(m.by_watcher(), [(2, vec!["/b".to_string()])]);
        assert_eq!(m.summary(), (1, 1, 1));
    }
}
