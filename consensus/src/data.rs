//! The answers of one project on dense integer ids.
//!
//! Task, worker and label strings are interned once into `u32` ids **in lexicographic order**
//! of their names, so every result depends only on the set of answers, never on the order of
//! input rows. Answers are kept twice, as compressed sparse rows: by task (for the E-step and
//! votes) and by worker (for the M-step and reliability), both sorted by `(task, worker, label)`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::{Error, Result};

/// A task, worker or label id: the rank of its name in lexicographic order.
pub type Id = u32;

/// One project's answers (and gold answers) on dense ids. Immutable once built.
#[derive(Debug, Clone)]
pub struct Answers {
    tasks: Vec<String>,
    workers: Vec<String>,
    labels: Vec<String>,
    /// `gold[t]`: the true label of gold task `t`.
    gold: Vec<Option<Id>>,
    task_start: Vec<u32>,
    task_worker: Vec<Id>,
    task_label: Vec<Id>,
    worker_start: Vec<u32>,
    worker_task: Vec<Id>,
    worker_label: Vec<Id>,
}

/// Interns names as they arrive (first-seen ids); `finish` renumbers them in lexicographic
/// order.
#[derive(Debug, Default, Clone)]
struct Interner {
    ids: HashMap<String, Id>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: &str) -> Id {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as Id;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    fn contains(&self, name: &str) -> bool {
        self.ids.contains_key(name)
    }

    /// (names sorted, remap[first-seen id] = rank).
    fn finish(self) -> (Vec<String>, Vec<Id>) {
        let mut order: Vec<Id> = (0..self.names.len() as Id).collect();
        order.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut remap = vec![0; order.len()];
        for (rank, &old) in order.iter().enumerate() {
            remap[old as usize] = rank as Id;
        }
        let mut names = self.names;
        let mut sorted = Vec::with_capacity(names.len());
        for &old in &order {
            sorted.push(std::mem::take(&mut names[old as usize]));
        }
        (sorted, remap)
    }
}

/// Collects string answers, then [`AnswersBuilder::build`] renumbers and indexes them.
#[derive(Debug, Default, Clone)]
pub struct AnswersBuilder {
    tasks: Interner,
    workers: Interner,
    labels: Interner,
    rows: Vec<(Id, Id, Id)>,
    gold: Vec<(Id, Id)>,
    label_set: Option<Vec<String>>,
}

impl AnswersBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares the project's label set: labels outside it are refused by `build`, and labels
    /// in it count even if nobody answered them (they shape the confusion matrices).
    pub fn label_set<I, S>(mut self, labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.label_set = Some(labels.into_iter().map(Into::into).collect());
        self
    }

    /// Adds one answer.
    pub fn answer(
        &mut self,
        task: impl AsRef<str>,
        worker: impl AsRef<str>,
        label: impl AsRef<str>,
    ) {
        let t = self.tasks.id(task.as_ref());
        let w = self.workers.id(worker.as_ref());
        let l = self.labels.id(label.as_ref());
        self.rows.push((t, w, l));
    }

    /// Adds one gold (known) answer.
    pub fn gold(&mut self, task: impl AsRef<str>, true_label: impl AsRef<str>) {
        let t = self.tasks.id(task.as_ref());
        let l = self.labels.id(true_label.as_ref());
        self.gold.push((t, l));
    }

    /// Number of answers collected so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no answer was collected.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renumbers the names (lexicographic ids) and builds the indexes.
    pub fn build(mut self) -> Result<Answers> {
        if let Some(set) = self.label_set.take() {
            let declared: BTreeSet<&str> = set.iter().map(String::as_str).collect();
            if let Some(bad) = self
                .labels
                .names
                .iter()
                .find(|l| !declared.contains(l.as_str()))
            {
                return Err(Error::UnknownLabel { label: bad.clone() });
            }
            for l in declared {
                if !self.labels.contains(l) {
                    self.labels.id(l);
                }
            }
        }
        let (tasks, tr) = self.tasks.finish();
        let (workers, wr) = self.workers.finish();
        let (labels, lr) = self.labels.finish();
        let mut gold: BTreeMap<Id, Id> = BTreeMap::new();
        for &(t, l) in &self.gold {
            let (t, l) = (tr[t as usize], lr[l as usize]);
            if let Some(prev) = gold.insert(t, l)
                && prev != l
            {
                return Err(Error::ConflictingGold {
                    task: tasks[t as usize].clone(),
                });
            }
        }
        let triples: Vec<(Id, Id, Id)> = self
            .rows
            .iter()
            .map(|&(t, w, l)| (tr[t as usize], wr[w as usize], lr[l as usize]))
            .collect();
        let mut gold_vec = vec![None; tasks.len()];
        for (t, l) in gold {
            gold_vec[t as usize] = Some(l);
        }
        Answers::from_dense(tasks, workers, labels, triples, gold_vec)
    }
}

impl Answers {
    /// Builds from dense ids. `tasks`, `workers` and `labels` name the ids (the caller promises
    /// they are distinct; lexicographic order is what makes tie-breaking by id lexicographic);
    /// `answers` are `(task, worker, label)`; `gold[t]` is the true label of gold task `t`.
    pub fn from_dense(
        tasks: Vec<String>,
        workers: Vec<String>,
        labels: Vec<String>,
        mut answers: Vec<(Id, Id, Id)>,
        mut gold: Vec<Option<Id>>,
    ) -> Result<Self> {
        let (nt, nw, nl) = (tasks.len(), workers.len(), labels.len());
        if answers.len() >= u32::MAX as usize {
            return Err(Error::InvalidConfig("too many answers".into()));
        }
        if gold.len() > nt {
            return Err(Error::InvalidConfig("gold longer than tasks".into()));
        }
        gold.resize(nt, None);
        for &(t, w, l) in &answers {
            if t as usize >= nt || w as usize >= nw || l as usize >= nl {
                return Err(Error::InvalidConfig(format!(
                    "answer ({t}, {w}, {l}) outside {nt} tasks, {nw} workers, {nl} labels"
                )));
            }
        }
        if gold.iter().flatten().any(|&l| l as usize >= nl) {
            return Err(Error::InvalidConfig(
                "gold label outside the label set".into(),
            ));
        }
        answers.sort_unstable();
        let mut task_start = vec![0u32; nt + 1];
        for &(t, _, _) in &answers {
            task_start[t as usize + 1] += 1;
        }
        for i in 0..nt {
            task_start[i + 1] += task_start[i];
        }
        let task_worker = answers.iter().map(|a| a.1).collect();
        let task_label = answers.iter().map(|a| a.2).collect();
        // By worker: a counting sort keeps the (task, label) order inside each worker.
        let mut worker_start = vec![0u32; nw + 1];
        for &(_, w, _) in &answers {
            worker_start[w as usize + 1] += 1;
        }
        for i in 0..nw {
            worker_start[i + 1] += worker_start[i];
        }
        let mut fill = worker_start.clone();
        let mut worker_task = vec![0; answers.len()];
        let mut worker_label = vec![0; answers.len()];
        for &(t, w, l) in &answers {
            let at = fill[w as usize] as usize;
            worker_task[at] = t;
            worker_label[at] = l;
            fill[w as usize] += 1;
        }
        Ok(Self {
            tasks,
            workers,
            labels,
            gold,
            task_start,
            task_worker,
            task_label,
            worker_start,
            worker_task,
            worker_label,
        })
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }
    /// Number of workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }
    /// Number of labels (K).
    pub fn n_labels(&self) -> usize {
        self.labels.len()
    }
    /// Number of answers.
    pub fn n_answers(&self) -> usize {
        self.task_worker.len()
    }
    /// Task names by id.
    pub fn tasks(&self) -> &[String] {
        &self.tasks
    }
    /// Worker names by id.
    pub fn workers(&self) -> &[String] {
        &self.workers
    }
    /// Label names by id.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }
    /// The id of a label name.
    pub fn label_id(&self, name: &str) -> Option<Id> {
        self.labels
            .binary_search_by(|l| l.as_str().cmp(name))
            .ok()
            .map(|i| i as Id)
    }
    /// The id of a task name.
    pub fn task_id(&self, name: &str) -> Option<Id> {
        self.tasks
            .binary_search_by(|l| l.as_str().cmp(name))
            .ok()
            .map(|i| i as Id)
    }
    /// The id of a worker name.
    pub fn worker_id(&self, name: &str) -> Option<Id> {
        self.workers
            .binary_search_by(|l| l.as_str().cmp(name))
            .ok()
            .map(|i| i as Id)
    }
    /// The gold label of every task (`None`: not a gold task).
    pub fn gold(&self) -> &[Option<Id>] {
        &self.gold
    }
    /// Number of gold tasks.
    pub fn n_gold(&self) -> usize {
        self.gold.iter().flatten().count()
    }

    /// `(workers, labels)` of task `t`'s answers, sorted by worker.
    pub fn task_answers(&self, t: Id) -> (&[Id], &[Id]) {
        let (a, b) = (
            self.task_start[t as usize] as usize,
            self.task_start[t as usize + 1] as usize,
        );
        (&self.task_worker[a..b], &self.task_label[a..b])
    }

    /// `(tasks, labels)` of worker `w`'s answers, sorted by task.
    pub fn worker_answers(&self, w: Id) -> (&[Id], &[Id]) {
        let (a, b) = (
            self.worker_start[w as usize] as usize,
            self.worker_start[w as usize + 1] as usize,
        );
        (&self.worker_task[a..b], &self.worker_label[a..b])
    }

    /// The same answers without those of the workers for which `drop(w)` is true (ids and
    /// names are kept, so results stay comparable).
    pub fn without_workers(&self, drop: impl Fn(Id) -> bool) -> Answers {
        let mut triples = Vec::with_capacity(self.n_answers());
        for t in 0..self.n_tasks() as Id {
            let (ws, ls) = self.task_answers(t);
            for (&w, &l) in ws.iter().zip(ls) {
                if !drop(w) {
                    triples.push((t, w, l));
                }
            }
        }
        // Ids were valid before: from_dense cannot fail on a subset.
        match Answers::from_dense(
            self.tasks.clone(),
            self.workers.clone(),
            self.labels.clone(),
            triples,
            self.gold.clone(),
        ) {
            Ok(a) => a,
            Err(_) => unreachable!("a subset of valid answers is valid"),
        }
    }
}
