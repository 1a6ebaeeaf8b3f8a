-- labelmint-consensus: projects' labeling settings, tasks, gold answers, submissions, decisions
-- (append-only), worker stats and the Dawid-Skene model (warm starts), approvals made.
-- Money is NUMERIC (base units of the project's currency); probabilities are DOUBLE PRECISION.

CREATE TABLE consensus_projects (
    project_id       NUMERIC(20, 0) PRIMARY KEY CHECK (project_id >= 0),
    labels           TEXT[] NOT NULL CHECK (cardinality(labels) >= 2),
    method           TEXT NOT NULL CHECK (method IN ('mv', 'wv', 'ds')),
    threshold        DOUBLE PRECISION NOT NULL CHECK (threshold > 0 AND threshold <= 1),
    min_overlap      INTEGER NOT NULL CHECK (min_overlap >= 1),
    max_overlap      INTEGER NOT NULL CHECK (max_overlap >= min_overlap),
    price            NUMERIC(39, 0) NOT NULL CHECK (price > 0),
    max_gold_error   DOUBLE PRECISION NOT NULL CHECK (max_gold_error >= 0 AND max_gold_error <= 1),
    min_gold_answers INTEGER NOT NULL CHECK (min_gold_answers >= 1),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE consensus_tasks (
    project_id NUMERIC(20, 0) NOT NULL REFERENCES consensus_projects,
    task       TEXT NOT NULL,
    -- open: waiting for min_overlap judgments; needs_more: back in the queue; decided and
    -- unresolved are final for payment; gold: a known-answer task, never paid.
    state      TEXT NOT NULL DEFAULT 'open'
               CHECK (state IN ('open', 'needs_more', 'decided', 'unresolved', 'gold')),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, task)
);
CREATE INDEX consensus_tasks_pending ON consensus_tasks (project_id)
    WHERE state IN ('open', 'needs_more');

CREATE TABLE consensus_gold (
    project_id NUMERIC(20, 0) NOT NULL,
    task       TEXT NOT NULL,
    true_label TEXT NOT NULL,
    PRIMARY KEY (project_id, task),
    FOREIGN KEY (project_id, task) REFERENCES consensus_tasks
);

CREATE TABLE consensus_submissions (
    id             BIGSERIAL PRIMARY KEY,
    project_id     NUMERIC(20, 0) NOT NULL,
    task           TEXT NOT NULL,
    worker         TEXT NOT NULL,
    payout_address TEXT NOT NULL,
    label          TEXT NOT NULL,
    submitted_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set when the worker is flagged by gold while this submission is unpaid: never used, never paid.
    excluded       BOOLEAN NOT NULL DEFAULT false,
    UNIQUE (project_id, task, worker),
    FOREIGN KEY (project_id, task) REFERENCES consensus_tasks
);
CREATE INDEX consensus_submissions_worker ON consensus_submissions (project_id, worker);

-- Append-only: one row per change of a task's decision. decision_id is deterministic
-- (project, task, method, submissions used, label, state); kind 'reestimate' rows are later
-- re-estimates of an already decided task (they never change its payments).
CREATE TABLE consensus_decisions (
    seq            BIGSERIAL PRIMARY KEY,
    decision_id    TEXT NOT NULL,
    project_id     NUMERIC(20, 0) NOT NULL,
    task           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('decision', 'reestimate')),
    method         TEXT NOT NULL,
    label          TEXT,
    confidence     DOUBLE PRECISION NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('needs_more', 'decided', 'unresolved', 'gold')),
    submission_ids BIGINT[] NOT NULL,
    -- The explanation: the posterior of every label (project label order) and the model used.
    posterior      DOUBLE PRECISION[] NOT NULL,
    model_version  BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (project_id, task) REFERENCES consensus_tasks
);
CREATE INDEX consensus_decisions_latest ON consensus_decisions (project_id, task, seq DESC);
CREATE INDEX consensus_decisions_id ON consensus_decisions (decision_id);

CREATE FUNCTION consensus_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER consensus_decisions_append_only BEFORE UPDATE OR DELETE ON consensus_decisions
    FOR EACH ROW EXECUTE FUNCTION consensus_append_only();

CREATE TABLE consensus_worker_stats (
    project_id   NUMERIC(20, 0) NOT NULL REFERENCES consensus_projects,
    worker       TEXT NOT NULL,
    answers      INTEGER NOT NULL,
    gold_answers INTEGER NOT NULL,
    gold_errors  INTEGER NOT NULL,
    flagged      BOOLEAN NOT NULL,
    -- Estimated accuracy (weighted vote weight source; Dawid-Skene: sum_k prior_k * confusion_kk).
    accuracy     DOUBLE PRECISION,
    -- Dawid-Skene confusion matrix, row-major K*K (rows: true label), project label order.
    confusion    DOUBLE PRECISION[],
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, worker)
);

CREATE TABLE consensus_models (
    project_id     NUMERIC(20, 0) PRIMARY KEY REFERENCES consensus_projects,
    version        BIGINT NOT NULL,
    method         TEXT NOT NULL,
    priors         DOUBLE PRECISION[],
    iterations     INTEGER NOT NULL,
    converged      BOOLEAN NOT NULL,
    log_likelihood DOUBLE PRECISION,
    estimated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What was handed to the ledger (whose approve_earning is itself idempotent by submission key):
-- a crash between the ledger call and this row only makes the next run call it again.
CREATE TABLE consensus_approvals (
    submission_id BIGINT PRIMARY KEY REFERENCES consensus_submissions,
    decision_id   TEXT NOT NULL,
    earning_id    BIGINT NOT NULL,
    approved_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
