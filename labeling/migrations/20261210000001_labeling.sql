-- labelmint-labeling: task sets per project, tasks (ordinary and gold), reservations, answers
-- and skips, Telegram links, worker payout settings and withdrawal requests.
-- Times are unix milliseconds (BIGINT) from the service's injected clock, so tests move time
-- without sleeping. Money is NUMERIC (base units of the project's currency), never floats.
-- History table: _sqlx_migrations_labeling.

-- One task set per project (the project is the ledger's; its consensus settings are the
-- engine's consensus_projects row, written with it).
CREATE TABLE labeling_task_sets (
    project_id       NUMERIC(20, 0) PRIMARY KEY CHECK (project_id >= 0),
    -- 'classification' (the schema leaves room for other task types).
    task_type        TEXT NOT NULL DEFAULT 'classification' CHECK (task_type IN ('classification')),
    labels           TEXT[] NOT NULL CHECK (cardinality(labels) >= 2),
    -- Answers wanted per ordinary task before the engine decides it, and the cap when it asks
    -- for more.
    overlap          INTEGER NOT NULL CHECK (overlap >= 1),
    max_overlap      INTEGER NOT NULL CHECK (max_overlap >= overlap),
    -- Paid per accepted answer (base units of the project's currency).
    price            NUMERIC(39, 0) NOT NULL CHECK (price > 0),
    -- The platform fee the escrow charges on releases (basis points): each reservation holds
    -- price + ceil(price * fee_bps / 10000) of the budget.
    fee_bps          INTEGER NOT NULL DEFAULT 0 CHECK (fee_bps BETWEEN 0 AND 2000),
    -- Gold tasks are offered at this rate (per mille of next-task answers).
    gold_per_mille   INTEGER NOT NULL DEFAULT 0 CHECK (gold_per_mille BETWEEN 0 AND 1000),
    reservation_ms   BIGINT NOT NULL CHECK (reservation_ms BETWEEN 1000 AND 86400000),
    -- The budget: what the ledger said the project may still approve (refreshed after each
    -- consensus pass, when no decided answer is waiting for its approval), and what the
    -- funded answer slots of open tasks hold of it (cost each). committed <= budget_left
    -- whenever slots are funded (the only writer of both, under this row's lock).
    budget_left      NUMERIC(39, 0) NOT NULL DEFAULT 0 CHECK (budget_left >= 0),
    committed        NUMERIC(40, 0) NOT NULL DEFAULT 0 CHECK (committed >= 0),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Tasks. id: random 53-bit (opaque: upload order and gold-ness do not show in it); name: the
-- client's own id (unique per project, the engine's task key). answers counts the answers
-- (not skips) received; wanted grows when the engine asks for more; funded is how many answer
-- slots the budget pays for (reservations: answers + live < least(wanted, funded)).
CREATE TABLE labeling_tasks (
    id          BIGINT PRIMARY KEY CHECK (id > 0),
    project_id  NUMERIC(20, 0) NOT NULL REFERENCES labeling_task_sets,
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    payload     JSONB NOT NULL,
    priority    INTEGER NOT NULL DEFAULT 0,
    gold        BOOLEAN NOT NULL DEFAULT false,
    answers     INTEGER NOT NULL DEFAULT 0 CHECK (answers >= 0),
    wanted      INTEGER NOT NULL CHECK (wanted >= 1),
    funded      INTEGER NOT NULL DEFAULT 0 CHECK (funded >= 0),
    -- A hint that keeps full tasks out of the offer index (the count under the row lock is
    -- the rule): false once answers + live reservations reach least(wanted, funded); true
    -- again when a reservation ends without an answer, or wanted / funded grow. A task whose
    -- earliest live reservation may have expired (soonest_expiry_ms <= now) is looked at too.
    offerable   BOOLEAN NOT NULL DEFAULT false,
    soonest_expiry_ms BIGINT,
    -- open: offered; closed: decided or unresolved by the engine (gold tasks stay open).
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (project_id, name),
    CHECK (gold OR (answers <= wanted AND answers <= funded AND funded <= wanted))
);
CREATE INDEX labeling_tasks_offer ON labeling_tasks (project_id, gold, priority DESC, id)
    WHERE state = 'open' AND offerable;
CREATE INDEX labeling_tasks_expiring ON labeling_tasks (project_id, soonest_expiry_ms)
    WHERE state = 'open' AND NOT offerable;
CREATE INDEX labeling_tasks_unfunded ON labeling_tasks (project_id, priority DESC, id)
    WHERE state = 'open' AND NOT gold AND funded < wanted;

-- Reservations: live until expires_ms (then the task is back in the pool, whatever the
-- state column still says), or ended by an answer, a skip or a release.
CREATE TABLE labeling_reservations (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id     BIGINT NOT NULL REFERENCES labeling_tasks,
    project_id  NUMERIC(20, 0) NOT NULL,
    worker      TEXT NOT NULL,
    -- The price it may earn (0 for gold tasks); the budget is held by the task's funded slot.
    cost        NUMERIC(39, 0) NOT NULL CHECK (cost >= 0),
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL CHECK (expires_ms > created_ms),
    state       TEXT NOT NULL DEFAULT 'live'
                CHECK (state IN ('live', 'answered', 'skipped', 'released', 'expired')),
    ended_ms    BIGINT
);
CREATE INDEX labeling_reservations_task ON labeling_reservations (task_id) WHERE state = 'live';
CREATE INDEX labeling_reservations_worker ON labeling_reservations (project_id, worker)
    WHERE state = 'live';
CREATE INDEX labeling_reservations_expiry ON labeling_reservations (project_id, expires_ms)
    WHERE state = 'live';

-- A worker's one answer (or skip) per task: never twice (the unique key).
CREATE TABLE labeling_answers (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id        BIGINT NOT NULL REFERENCES labeling_tasks,
    project_id     NUMERIC(20, 0) NOT NULL,
    worker         TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('answer', 'skip')),
    label          TEXT,
    reservation_id BIGINT NOT NULL REFERENCES labeling_reservations,
    -- The engine's consensus_submissions id (answers only).
    submission_id  BIGINT,
    -- The reservation's cost (informative: the task's funded slots hold the budget).
    cost           NUMERIC(39, 0) NOT NULL DEFAULT 0,
    created_ms     BIGINT NOT NULL,
    UNIQUE (task_id, worker),
    CHECK ((kind = 'answer') = (label IS NOT NULL AND submission_id IS NOT NULL))
);
CREATE INDEX labeling_answers_worker ON labeling_answers (project_id, worker);

-- Telegram users who linked a wallet (the bot writes these after verifying initData and a
-- ton_proof); the wallet is the worker's id and payout address.
CREATE TABLE labeling_telegram_links (
    telegram_id BIGINT PRIMARY KEY CHECK (telegram_id > 0),
    wallet      TEXT NOT NULL CHECK (wallet ~ '^0:[0-9a-f]{64}$'),
    linked_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX labeling_telegram_links_wallet ON labeling_telegram_links (wallet);

-- The smallest payout per currency (fees stay a small share of a transfer).
CREATE TABLE labeling_payout_minimums (
    currency    TEXT PRIMARY KEY,
    minimum     NUMERIC(39, 0) NOT NULL CHECK (minimum > 0)
);

-- A worker's automatic payout threshold per currency (at or above it, every settlement pays).
CREATE TABLE labeling_payout_thresholds (
    worker      TEXT NOT NULL,
    currency    TEXT NOT NULL,
    threshold   NUMERIC(39, 0) NOT NULL CHECK (threshold > 0),
    PRIMARY KEY (worker, currency)
);

-- Withdrawal requests: 'open' until a settlement took the earnings that were approved when it
-- was made (the settler's form_batch_of with due_earnings), then 'done'.
CREATE TABLE labeling_withdrawals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker      TEXT NOT NULL,
    currency    TEXT NOT NULL,
    amount      NUMERIC(39, 0) NOT NULL CHECK (amount > 0),
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done')),
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX labeling_withdrawals_one_open ON labeling_withdrawals (worker, currency)
    WHERE state = 'open';
