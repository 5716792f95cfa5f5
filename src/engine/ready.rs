//! Which nodes may start now, under a [`Schedule`]: nodes are released when what they wait
//! for is done (their upstream nodes, or the whole previous level), and released nodes are
//! handed out in a deterministic order, by level then id.
//!
//! Nodes are numbered by their position in [`Dag::order`], which lists the DAG level by
//! level with ids sorted within a level, so "smallest number first" is "by level, then id".

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use super::schedule::Schedule;
use crate::dag::Dag;
use crate::project::Project;

/// The release and hand-out state of one run's nodes.
pub struct ReadyQueue {
    schedule: Schedule,
    /// For each node, the positions of the nodes it has an edge to (one entry per edge).
    downstream: Vec<Vec<usize>>,
    /// For each node, its unfinished incoming edges (dependencies schedule).
    waiting_edges: Vec<usize>,
    /// The level of each node, and the positions of each level's nodes.
    level_of: Vec<usize>,
    levels: Vec<Vec<usize>>,
    /// Unfinished nodes per level, and the last released level (levels schedule).
    level_left: Vec<usize>,
    released_level: usize,
    /// Released since the last [`ReadyQueue::take_released`], in release order.
    released: Vec<usize>,
    /// Released, classified as runnable, not yet started; with the time each was released.
    ready: BTreeSet<usize>,
    ready_since: HashMap<usize, Instant>,
}

impl ReadyQueue {
    /// A queue for `dag` with its first nodes released (the nodes without incoming edges,
    /// which are the first level).
    pub fn new(project: &Project, dag: &Dag, schedule: Schedule) -> ReadyQueue {
        let position: HashMap<&str, usize> = dag
            .order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let downstream = dag
            .order
            .iter()
            .map(|id| {
                dag.nodes[id]
                    .outgoing
                    .iter()
                    .filter_map(|edge| position.get(project.edges[edge].to.as_str()).copied())
                    .collect()
            })
            .collect();
        let waiting_edges = dag
            .order
            .iter()
            .map(|id| dag.nodes[id].incoming.len())
            .collect();
        let levels: Vec<Vec<usize>> = dag
            .levels
            .iter()
            .map(|level| level.iter().map(|id| position[id.as_str()]).collect())
            .collect();
        let mut level_of = vec![0; dag.order.len()];
        for (l, level) in levels.iter().enumerate() {
            for &i in level {
                level_of[i] = l;
            }
        }
        let level_left = levels.iter().map(Vec::len).collect();
        let released = levels.first().cloned().unwrap_or_default();
        ReadyQueue {
            schedule,
            downstream,
            waiting_edges,
            level_of,
            levels,
            level_left,
            released_level: 0,
            released,
            ready: BTreeSet::new(),
            ready_since: HashMap::new(),
        }
    }

    /// The nodes released since the last call, smallest position first. In the levels
    /// schedule one call returns at most one level.
    pub fn take_released(&mut self) -> Vec<usize> {
        let mut released = std::mem::take(&mut self.released);
        released.sort_unstable();
        released
    }

    /// Mark released node `i` as waiting to start (not cached).
    pub fn push_ready(&mut self, i: usize) {
        self.ready.insert(i);
        self.ready_since.insert(i, Instant::now());
    }

    /// The next node to start, by level then id, with when it became ready.
    pub fn pop_ready(&mut self) -> Option<(usize, Instant)> {
        let i = self.ready.pop_first()?;
        let since = self.ready_since.remove(&i).unwrap_or_else(Instant::now);
        Some((i, since))
    }

    /// Whether a node waits to start.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Node `i` is done (completed, skipped, failed or cached): release what waited for it.
    pub fn finish(&mut self, i: usize) {
        match self.schedule {
            Schedule::Dependencies => {
                for &next in &self.downstream[i] {
                    self.waiting_edges[next] -= 1;
                    if self.waiting_edges[next] == 0 {
                        self.released.push(next);
                    }
                }
            }
            Schedule::Levels => {
                let level = self.level_of[i];
                self.level_left[level] -= 1;
                // A level whose nodes are all done releases the next one.
                while self.level_left[self.released_level] == 0
                    && self.released_level + 1 < self.levels.len()
                {
                    self.released_level += 1;
                    self.released
                        .extend(self.levels[self.released_level].iter().copied());
                }
            }
        }
    }

    /// The level of node `i` (0 for the first).
    pub fn level_of(&self, i: usize) -> usize {
        self.level_of[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::load_project;

    /// input → a, input → b → c → d, a → d (positions: input 0, a 1, b 2, c 3, d 4).
    fn diamond() -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("agent.tml"),
            "trident: \"0.1\"\nname: d\nnodes:\n  input: {type: input}\n  d: {type: output}\n\
             edges:\n  e1: {from: input, to: a}\n  e2: {from: input, to: b}\n\
             \x20 e3: {from: b, to: c}\n  e4: {from: c, to: d}\n  e5: {from: a, to: d}\n\
             tools:\n  a: {type: shell, command: 'true'}\n  b: {type: shell, command: 'true'}\n\
             \x20 c: {type: shell, command: 'true'}\n",
        )
        .unwrap();
        let project = load_project(dir.path()).unwrap();
        (dir, project)
    }

    fn order(dag: &Dag, positions: &[usize]) -> Vec<String> {
        positions.iter().map(|&i| dag.order[i].clone()).collect()
    }

    fn finish_next(queue: &mut ReadyQueue) {
        let (next, _) = queue.pop_ready().unwrap();
        queue.finish(next);
    }

    fn release_all(queue: &mut ReadyQueue) -> Vec<usize> {
        let released = queue.take_released();
        for &i in &released {
            queue.push_ready(i);
        }
        released
    }

    #[test]
    fn dependencies_release_a_node_when_its_own_inputs_are_done() {
        let (_dir, project) = diamond();
        let dag = Dag::build(&project).unwrap();
        assert_eq!(dag.order, ["input", "a", "b", "c", "d"]);
        let mut queue = ReadyQueue::new(&project, &dag, Schedule::Dependencies);
        assert_eq!(order(&dag, &release_all(&mut queue)), ["input"]);
        finish_next(&mut queue);
        assert_eq!(order(&dag, &release_all(&mut queue)), ["a", "b"]);
        let (first, _) = queue.pop_ready().unwrap();
        let (second, _) = queue.pop_ready().unwrap();
        assert_eq!(
            order(&dag, &[first, second]),
            ["a", "b"],
            "by level, then id"
        );
        // b done while a still runs: c may start at once.
        queue.finish(second);
        assert_eq!(order(&dag, &release_all(&mut queue)), ["c"]);
        finish_next(&mut queue);
        assert!(queue.take_released().is_empty(), "d also waits for a");
        queue.finish(first);
        assert_eq!(order(&dag, &release_all(&mut queue)), ["d"]);
    }

    #[test]
    fn levels_release_a_level_when_the_previous_one_is_done() {
        let (_dir, project) = diamond();
        let dag = Dag::build(&project).unwrap();
        let mut queue = ReadyQueue::new(&project, &dag, Schedule::Levels);
        assert_eq!(order(&dag, &release_all(&mut queue)), ["input"]);
        finish_next(&mut queue);
        assert_eq!(order(&dag, &release_all(&mut queue)), ["a", "b"]);
        let (a, _) = queue.pop_ready().unwrap();
        let (b, _) = queue.pop_ready().unwrap();
        queue.finish(b);
        assert!(
            queue.take_released().is_empty(),
            "c waits for a, of b's level"
        );
        queue.finish(a);
        assert_eq!(order(&dag, &release_all(&mut queue)), ["c"]);
        assert_eq!(queue.level_of(3), 2);
    }
}
