/* Schema migrations. Append new ones at the end with the next number; never
 * edit one that has shipped. Timestamps are RFC 3339 UTC text. */
#include "migrations.h"

const struct migration store_migrations[] = {
{ 1, "foundation",
"CREATE TABLE projects ("
"  id INTEGER PRIMARY KEY,"
"  name TEXT NOT NULL UNIQUE,"
"  created_at TEXT NOT NULL);"
"CREATE TABLE environments ("
"  id INTEGER PRIMARY KEY,"
"  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  name TEXT NOT NULL,"
"  rank INTEGER NOT NULL,"
"  production INTEGER NOT NULL DEFAULT 0,"
"  created_at TEXT NOT NULL,"
"  UNIQUE (project_id, name));"
"CREATE TABLE components ("
"  id INTEGER PRIMARY KEY,"
"  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  name TEXT NOT NULL,"
"  type TEXT NOT NULL,"
"  repo TEXT NOT NULL,"
"  branch TEXT NOT NULL,"
"  path TEXT NOT NULL DEFAULT '',"
"  dockerfile TEXT,"
"  buildpack TEXT,"
"  auto_build INTEGER NOT NULL DEFAULT 0,"
"  auto_deploy INTEGER NOT NULL DEFAULT 0,"
"  schedule TEXT,"
"  timezone TEXT,"
"  webhook_key TEXT NOT NULL UNIQUE,"   /* public part of the webhook URL */
"  webhook_secret BLOB NOT NULL,"
"  created_at TEXT NOT NULL,"
"  UNIQUE (project_id, name));"
"CREATE TABLE tokens ("
"  id INTEGER PRIMARY KEY,"
"  name TEXT NOT NULL,"
"  role TEXT NOT NULL CHECK (role IN ('admin','developer','viewer')),"
"  project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,"
"  hash BLOB NOT NULL UNIQUE,"
"  created_at TEXT NOT NULL,"
"  revoked_at TEXT);"
"CREATE TABLE jobs ("
"  id INTEGER PRIMARY KEY,"
"  kind TEXT NOT NULL,"
"  status TEXT NOT NULL CHECK (status IN"
"    ('queued','running','succeeded','failed','cancelled','interrupted')),"
"  payload TEXT NOT NULL DEFAULT '{}',"
"  reason TEXT,"
"  attempts INTEGER NOT NULL DEFAULT 0,"
"  cancel_requested INTEGER NOT NULL DEFAULT 0,"
"  project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,"
"  created_by TEXT,"
"  created_at TEXT NOT NULL,"
"  started_at TEXT,"
"  finished_at TEXT);"
"CREATE INDEX jobs_queued ON jobs(status, kind, id);"
"CREATE TABLE job_logs ("
"  id INTEGER PRIMARY KEY,"
"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
"  ts TEXT NOT NULL,"
"  text TEXT NOT NULL);"
"CREATE INDEX job_logs_job ON job_logs(job_id, id);"
"CREATE TABLE audit ("
"  id INTEGER PRIMARY KEY,"
"  ts TEXT NOT NULL,"
"  actor TEXT NOT NULL,"
"  role TEXT NOT NULL,"
"  action TEXT NOT NULL,"
"  object TEXT NOT NULL,"
"  project TEXT,"
"  status INTEGER NOT NULL,"
"  result TEXT NOT NULL);"
"CREATE INDEX audit_project ON audit(project, id);"
},
{ 2, "vault",
/* The master key id the data is encrypted with now (one row). */
"CREATE TABLE vault_meta ("
"  id INTEGER PRIMARY KEY CHECK (id = 1),"
"  master_key_id TEXT NOT NULL,"
"  created_at TEXT NOT NULL,"
"  rotated_at TEXT);"
/* One data key per key scope, wrapped by the master key. AUTOINCREMENT:
 * sealed values name their data key by id, which must never be reused. */
"CREATE TABLE vault_data_keys ("
"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
"  scope TEXT NOT NULL UNIQUE,"
"  master_key_id TEXT NOT NULL,"
"  wrapped BLOB NOT NULL,"
"  created_at TEXT NOT NULL,"
"  rewrapped_at TEXT);"
},
{ 3, "config",
/* The configuration version of each component: bumped by every change
 * (one set of several keys, or one unset, is one change). Deployments
 * record which version they carried. */
"CREATE TABLE config_versions ("
"  component_id INTEGER PRIMARY KEY REFERENCES components(id) ON DELETE CASCADE,"
"  version INTEGER NOT NULL);"
/* Every version of every configuration value. env_id NULL: component-wide
 * (environment-independent); else that environment's own value. The
 * current value of a key is its row with the highest version; deleted = 1
 * marks an unset (value NULL). value is sealed by the vault, its associated
 * data bound to project, component, scope, key, version, kind, secret flag
 * and mount path (src/core/config.c). */
"CREATE TABLE config_values ("
"  id INTEGER PRIMARY KEY,"
"  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,"
"  env_id INTEGER REFERENCES environments(id) ON DELETE CASCADE,"
"  key TEXT NOT NULL,"
"  version INTEGER NOT NULL,"
"  kind TEXT NOT NULL CHECK (kind IN ('env','file')),"
"  secret INTEGER NOT NULL DEFAULT 0,"
"  mount_path TEXT,"
"  value BLOB,"
"  deleted INTEGER NOT NULL DEFAULT 0,"
"  updated_at TEXT NOT NULL,"
"  updated_by TEXT NOT NULL);"
"CREATE UNIQUE INDEX config_values_key ON config_values"
"  (component_id, IFNULL(env_id, 0), key, version);"
/* Immutable configuration snapshots that deployments carry. kind
 * 'independent': the component-wide values (env_id NULL); 'joined': an
 * independent snapshot (base_id) joined with one environment's own values.
 * Entries are sealed one by one, bound to their snapshot, position and the
 * entry count (src/core/snapshot.c). AUTOINCREMENT: ids are in the
 * associated data and must never be reused. */
"CREATE TABLE config_snapshots ("
"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
"  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,"
"  env_id INTEGER REFERENCES environments(id) ON DELETE CASCADE,"
"  kind TEXT NOT NULL CHECK (kind IN ('independent','joined')),"
"  base_id INTEGER REFERENCES config_snapshots(id),"
"  config_version INTEGER NOT NULL,"
"  entries INTEGER NOT NULL,"
"  created_at TEXT NOT NULL);"
"CREATE TABLE config_snapshot_entries ("
"  snapshot_id INTEGER NOT NULL REFERENCES config_snapshots(id) ON DELETE CASCADE,"
"  idx INTEGER NOT NULL,"
"  key TEXT NOT NULL,"
"  kind TEXT NOT NULL CHECK (kind IN ('env','file')),"
"  secret INTEGER NOT NULL,"
"  mount_path TEXT,"
"  scope TEXT NOT NULL,"
"  version INTEGER NOT NULL,"
"  value BLOB NOT NULL,"
"  PRIMARY KEY (snapshot_id, idx));"
},
{ 4, "builds",
/* One row per build of a component. status mirrors the build's job but is
 * the build's own story: it is what users see. commit_sha is the resolved
 * commit (NULL until checkout resolved it); requested what was asked for
 * (a sha, or NULL for the branch head). descriptor and endpoints are JSON. */
"CREATE TABLE builds ("
"  id INTEGER PRIMARY KEY,"
"  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,"
"  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,"
"  requested TEXT,"
"  commit_sha TEXT,"
"  commit_time INTEGER,"
"  status TEXT NOT NULL CHECK (status IN"
"    ('queued','running','succeeded','failed','cancelled')),"
"  trigger TEXT NOT NULL CHECK (trigger IN ('manual','webhook','poll')),"
"  triggered_by TEXT NOT NULL,"
"  digest TEXT,"
"  image TEXT,"
"  error TEXT,"
"  descriptor TEXT,"
"  endpoints TEXT,"
"  created_at TEXT NOT NULL,"
"  started_at TEXT,"
"  finished_at TEXT);"
"CREATE INDEX builds_component ON builds(component_id, id);"
"CREATE INDEX builds_commit ON builds(component_id, commit_sha, status);"
/* The steps of a build, in order, created with the build. */
"CREATE TABLE build_steps ("
"  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,"
"  idx INTEGER NOT NULL,"
"  name TEXT NOT NULL,"
"  status TEXT NOT NULL CHECK (status IN"
"    ('pending','running','succeeded','failed','cancelled','skipped')),"
"  detail TEXT,"
"  started_at TEXT,"
"  finished_at TEXT,"
"  PRIMARY KEY (build_id, idx));"
/* Step logs, one row per line, so a follower reads after the last id. */
"CREATE TABLE build_logs ("
"  id INTEGER PRIMARY KEY,"
"  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,"
"  step TEXT NOT NULL,"
"  ts TEXT NOT NULL,"
"  text TEXT NOT NULL);"
"CREATE INDEX build_logs_build ON build_logs(build_id, id);"
/* Every webhook delivery, verified or not, and what it caused. */
"CREATE TABLE webhook_deliveries ("
"  id INTEGER PRIMARY KEY,"
"  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,"
"  received_at TEXT NOT NULL,"
"  provider TEXT NOT NULL,"
"  event TEXT,"
"  delivery_id TEXT,"
"  verified INTEGER NOT NULL,"
"  status INTEGER NOT NULL,"
"  result TEXT NOT NULL,"
"  build_id INTEGER REFERENCES builds(id) ON DELETE SET NULL);"
"CREATE INDEX webhook_deliveries_component ON webhook_deliveries(component_id, id);"
/* Replays are found by delivery id (checked inside the write transaction
 * that records the delivery, so two racing copies queue one build). */
"CREATE INDEX webhook_deliveries_id ON webhook_deliveries(component_id, delivery_id);"
/* Polling, for repositories that cannot send webhooks: 0 is off. */
"ALTER TABLE components ADD COLUMN poll_interval INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE components ADD COLUMN poll_head TEXT;"
"ALTER TABLE components ADD COLUMN polled_at INTEGER;"
},
{ 5, "deployments",
/* Immutable deployments: only status, started_at, finished_at and error
 * ever change after the insert. */
"CREATE TABLE deployments ("
"  id INTEGER PRIMARY KEY,"
"  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,"
"  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,"
"  seq INTEGER NOT NULL,"
"  build_id INTEGER NOT NULL REFERENCES builds(id),"
"  commit_sha TEXT NOT NULL,"
"  digest TEXT NOT NULL,"
"  image TEXT NOT NULL,"
"  descriptor TEXT NOT NULL,"          /* the build's descriptor, as JSON */
"  snapshot_id INTEGER NOT NULL REFERENCES config_snapshots(id),"  /* joined */
"  independent_snapshot_id INTEGER NOT NULL REFERENCES config_snapshots(id),"
"  config_version INTEGER NOT NULL,"
"  cause TEXT NOT NULL CHECK (cause IN"
"    ('deploy','auto-deploy','promote','config','rollback')),"
"  promoted_from INTEGER REFERENCES deployments(id),"
"  status TEXT NOT NULL CHECK (status IN"
"    ('pending','rolling-out','active','failed','superseded','undeployed')),"
"  created_by TEXT NOT NULL,"
"  created_at TEXT NOT NULL,"
"  started_at TEXT,"
"  finished_at TEXT,"
"  error TEXT,"
"  UNIQUE (component_id, environment_id, seq));"
"CREATE INDEX deployments_env ON deployments(component_id, environment_id, id);"
"CREATE INDEX deployments_status ON deployments(status);"
/* The rollout log of a deployment: what the engine did and every probe
 * answer that decided something. */
"CREATE TABLE deployment_events ("
"  id INTEGER PRIMARY KEY,"
"  deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,"
"  ts TEXT NOT NULL,"
"  text TEXT NOT NULL);"
"CREATE INDEX deployment_events_dep ON deployment_events(deployment_id, id);"
},
/* Task executions (src/core/execution.c, docs/tasks.md). The indexes serve the
 * list (newest first per component, optionally per environment or only the
 * running ones), the 30-day count (a covering range scan per component),
 * retention (by trigger time) and the scheduler (one row per cron slot). */
{ 6, "executions",
"ALTER TABLE components ADD COLUMN task_timeout INTEGER NOT NULL DEFAULT 3600;"
"ALTER TABLE components ADD COLUMN task_concurrency TEXT NOT NULL DEFAULT 'forbid'"
"  CHECK (task_concurrency IN ('forbid','allow','replace'));"
"CREATE TABLE executions ("
"  id INTEGER PRIMARY KEY,"
"  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,"
"  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,"
"  deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,"
"  commit_sha TEXT NOT NULL,"
"  trigger TEXT NOT NULL CHECK (trigger IN ('schedule','manual')),"
"  triggered_by TEXT NOT NULL,"
"  triggered_at TEXT NOT NULL,"
"  scheduled_for INTEGER,"              /* the cron slot (epoch seconds) */
"  args TEXT NOT NULL DEFAULT '[]',"
"  status TEXT NOT NULL CHECK (status IN ('pending','running','succeeded','failed',"
"    'timed-out','cancelled','skipped','interrupted')),"
"  exit_code INTEGER,"
"  timeout_s INTEGER NOT NULL,"
"  container TEXT,"
"  started_at TEXT,"
"  finished_at TEXT,"
"  reason TEXT,"
"  cancel_requested INTEGER NOT NULL DEFAULT 0,"
"  log_bytes INTEGER NOT NULL DEFAULT 0);"
"CREATE INDEX executions_comp ON executions(component_id, id);"
"CREATE INDEX executions_comp_env ON executions(component_id, environment_id, id);"
"CREATE INDEX executions_open ON executions(component_id, environment_id, id)"
"  WHERE status IN ('pending','running');"
"CREATE INDEX executions_count ON executions(component_id, triggered_at, environment_id, status);"
"CREATE INDEX executions_time ON executions(triggered_at);"
"CREATE UNIQUE INDEX executions_slot ON executions(component_id, environment_id, scheduled_for)"
"  WHERE scheduled_for IS NOT NULL;"
"CREATE TABLE execution_logs ("
"  id INTEGER PRIMARY KEY,"
"  execution_id INTEGER NOT NULL REFERENCES executions(id) ON DELETE CASCADE,"
"  ts TEXT NOT NULL,"
"  line TEXT NOT NULL);"
"CREATE INDEX execution_logs_exec ON execution_logs(execution_id, id);"
/* Executions pruned by retention while still inside the 30-day window:
 * only what the count needs, so that it stays exact. */
"CREATE TABLE execution_tally ("
"  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,"
"  environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,"
"  triggered_at TEXT NOT NULL);"
"CREATE INDEX execution_tally_comp ON execution_tally(component_id, triggered_at, environment_id);"
/* The last cron slot the scheduler handled per component and environment. */
"CREATE TABLE task_schedules ("
"  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,"
"  environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,"
"  last_slot INTEGER NOT NULL,"
"  PRIMARY KEY (component_id, environment_id)) WITHOUT ROWID;"
},
{ 7, "git_credentials",
/* Credentials for a component's private repository, sealed in the vault:
 * an HTTPS token (with a user name) or an SSH private key (with an
 * optional passphrase and a pinned host key fingerprint). */
"CREATE TABLE git_credentials ("
"  component_id INTEGER PRIMARY KEY REFERENCES components(id) ON DELETE CASCADE,"
"  kind TEXT NOT NULL CHECK (kind IN ('https','ssh')),"
"  username TEXT,"
"  secret BLOB NOT NULL,"
"  passphrase BLOB,"
"  host_fingerprint TEXT,"
"  updated_by TEXT NOT NULL,"
"  updated_at TEXT NOT NULL);"
},
{ 8, "scans",
/* The scan report of a build (one per build: the scan step runs once), with
 * its counts by severity kept in columns for lists and summaries. */
"CREATE TABLE scans ("
"  build_id INTEGER PRIMARY KEY REFERENCES builds(id) ON DELETE CASCADE,"
"  passed INTEGER NOT NULL,"
"  fail_on TEXT NOT NULL,"
"  critical INTEGER NOT NULL,"
"  high INTEGER NOT NULL,"
"  medium INTEGER NOT NULL,"
"  low INTEGER NOT NULL,"
"  unknown INTEGER NOT NULL,"
"  suppressed INTEGER NOT NULL,"
"  report TEXT NOT NULL,"              /* the whole report, as JSON */
"  created_at TEXT NOT NULL);"
/* Per-component scan policy; a component without a row fails on CRITICAL. */
"CREATE TABLE scan_policies ("
"  component_id INTEGER PRIMARY KEY REFERENCES components(id) ON DELETE CASCADE,"
"  fail_on TEXT NOT NULL CHECK (fail_on IN ('critical','high','medium','low','never')));"
},
{ 9, "sessions",
/* Web console sessions: an API token exchanged once for a cookie. Only the
 * BLAKE2b hash of the cookie's value is kept; the session lives no longer
 * than its token (deleted with it, refused once it is revoked). */
"CREATE TABLE sessions ("
"  id INTEGER PRIMARY KEY,"
"  hash BLOB NOT NULL UNIQUE,"
"  token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,"
"  csrf TEXT NOT NULL,"
"  created_at TEXT NOT NULL,"
"  expires_at TEXT NOT NULL,"
"  expires_ms INTEGER NOT NULL);"
"CREATE INDEX sessions_token ON sessions(token_id);"
},
{ 10, "named_values",
/* A project's connections (to outside resources) and configuration groups:
 * named sets of keys with one value per environment, sealed in the vault
 * (core/named_values.h). No history: a set replaces the key's value. */
"CREATE TABLE named_values ("
"  id INTEGER PRIMARY KEY,"
"  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  kind TEXT NOT NULL CHECK (kind IN ('connection','config_group')),"
"  name TEXT NOT NULL,"
"  env_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,"
"  key TEXT NOT NULL,"
"  secret INTEGER NOT NULL,"
"  value BLOB NOT NULL,"
"  updated_at TEXT NOT NULL,"
"  updated_by TEXT NOT NULL,"
"  UNIQUE (project_id, kind, name, env_id, key));"
},
{ 11, "promotion_rules",
/* An admin's reason for a promotion that skips the next environment of the
 * line (NULL for every other deployment). */
"ALTER TABLE deployments ADD COLUMN skip_reason TEXT;"
},
{ 12, "approvals",
/* An environment whose changes wait for approval (no row: none needed). */
"CREATE TABLE environment_approvals ("
"  environment_id INTEGER PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,"
"  approvers TEXT NOT NULL,"            /* JSON array of role names or token names */
"  approvals INTEGER NOT NULL CHECK (approvals BETWEEN 1 AND 10),"
"  ttl_s INTEGER NOT NULL CHECK (ttl_s > 0),"
"  updated_by TEXT NOT NULL,"
"  updated_at TEXT NOT NULL);"
/* A change held back until approved: payload says what to make (the
 * resolved deployment, or a configuration change whose values are in
 * sealed, by the vault); approvers and approvals_needed are the policy's
 * when it was asked for. */
"CREATE TABLE approval_requests ("
"  id INTEGER PRIMARY KEY,"
"  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,"
"  environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,"
"  action TEXT NOT NULL CHECK (action IN ('deploy','promote','rollback','config.set','config.unset')),"
"  summary TEXT NOT NULL,"
"  payload TEXT NOT NULL,"
"  sealed BLOB,"
"  approvers TEXT NOT NULL,"
"  approvals_needed INTEGER NOT NULL,"
"  requested_by TEXT NOT NULL,"
"  requested_by_token INTEGER NOT NULL,"
"  requested_role TEXT NOT NULL,"
"  requested_scope INTEGER,"
"  status TEXT NOT NULL CHECK (status IN"
"    ('pending','approving','approved','rejected','expired','invalidated','failed')),"
"  created_at TEXT NOT NULL,"
"  expires_at TEXT NOT NULL,"
"  decided_at TEXT,"
"  reason TEXT,"
"  deployment_id INTEGER REFERENCES deployments(id) ON DELETE SET NULL);"
"CREATE INDEX approval_requests_open ON approval_requests(project_id, id) WHERE status = 'pending';"
"CREATE TABLE approval_votes ("
"  request_id INTEGER NOT NULL REFERENCES approval_requests(id) ON DELETE CASCADE,"
"  token_id INTEGER NOT NULL,"
"  name TEXT NOT NULL,"
"  decision TEXT NOT NULL CHECK (decision IN ('approve','reject')),"
"  comment TEXT,"
"  at TEXT NOT NULL,"
"  PRIMARY KEY (request_id, token_id));"
},
{ 13, "build_base",
/* The base image a build's FROM resolved to: name, tag, registry, digest
 * and the upstream it was cached from (JSON), or NULL when not looked up. */
"ALTER TABLE builds ADD COLUMN base TEXT;"
},
{ 14, "notifications",
/* A project's outgoing webhooks: events is a JSON array of event names,
 * secret the HMAC key, sealed by the vault. */
"CREATE TABLE notification_hooks ("
"  id INTEGER PRIMARY KEY,"
"  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  name TEXT NOT NULL,"
"  url TEXT NOT NULL,"
"  events TEXT NOT NULL,"
"  format TEXT NOT NULL CHECK (format IN ('json','slack')),"
"  secret BLOB NOT NULL,"
"  created_by TEXT NOT NULL,"
"  created_at TEXT NOT NULL,"
"  UNIQUE (project_id, name));"
/* One event for one hook: the body as sent (signed at each try), due at
 * next_at_ms while pending or retrying. */
"CREATE TABLE notification_deliveries ("
"  id INTEGER PRIMARY KEY,"
"  hook_id INTEGER NOT NULL REFERENCES notification_hooks(id) ON DELETE CASCADE,"
"  event TEXT NOT NULL,"
"  event_id TEXT NOT NULL,"
"  subject TEXT NOT NULL,"
"  body TEXT NOT NULL,"
"  status TEXT NOT NULL CHECK (status IN ('pending','sending','retrying','delivered','failed')),"
"  attempts INTEGER NOT NULL DEFAULT 0,"
"  next_at_ms INTEGER NOT NULL,"
"  last_status INTEGER,"
"  last_error TEXT,"
"  created_at TEXT NOT NULL,"
"  finished_at TEXT);"
"CREATE INDEX notification_due ON notification_deliveries(next_at_ms)"
"  WHERE status IN ('pending','retrying');"
"CREATE INDEX notification_by_hook ON notification_deliveries(hook_id, id);"
"CREATE TABLE notification_attempts ("
"  delivery_id INTEGER NOT NULL REFERENCES notification_deliveries(id) ON DELETE CASCADE,"
"  n INTEGER NOT NULL,"
"  at TEXT NOT NULL,"
"  http_status INTEGER,"
"  error TEXT,"
"  duration_ms INTEGER NOT NULL,"
"  PRIMARY KEY (delivery_id, n));"
},
{ 15, "gateway_traffic",
/* What the gateway measured per deployment and minute (epoch seconds of
 * its start): requests, 5xx answers, and the latency histogram (counts per
 * bucket, comma-separated; core/traffic.h names the buckets). */
"CREATE TABLE gateway_traffic ("
"  deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,"
"  minute INTEGER NOT NULL,"
"  requests INTEGER NOT NULL,"
"  errors INTEGER NOT NULL,"
"  bins TEXT NOT NULL,"
"  max_ms INTEGER NOT NULL,"
"  PRIMARY KEY (deployment_id, minute));"
"CREATE INDEX gateway_traffic_minute ON gateway_traffic(minute);"
},
{ 16, "rollout_policies",
/* A component's canary steps and analysis thresholds (JSON, as
 * core/rollout_policy.h reads it); no row: plain rolling updates. */
"CREATE TABLE rollout_policies ("
"  component_id INTEGER PRIMARY KEY REFERENCES components(id) ON DELETE CASCADE,"
"  policy TEXT NOT NULL,"
"  updated_by TEXT NOT NULL,"
"  updated_at TEXT NOT NULL);"
/* What broke a rollout's thresholds (JSON), for a rolled-back deployment. */
"ALTER TABLE deployments ADD COLUMN rollback TEXT;"
/* A deployment may end 'rolled-back'. SQLite cannot alter a CHECK
 * constraint; widening one changes no stored row, so the table's schema
 * text is edited in place (SQLite's documented way for such changes,
 * lang_altertable.html section 7), then the schema is read again. */
"PRAGMA writable_schema=ON;"
"UPDATE sqlite_schema SET sql = replace(sql, '''superseded'',''undeployed'')',"
"  '''superseded'',''undeployed'',''rolled-back'')') WHERE type = 'table' AND name = 'deployments';"
"PRAGMA writable_schema=RESET;"
},
{ 17, "queued_caps",
/* The cap on queued work per project and kind (ferryd --max-queued-jobs)
 * counts a project's queued jobs of a kind, and its pending executions,
 * at every submit: only the rows waiting are in these indexes. */
"CREATE INDEX jobs_project_queued ON jobs(project_id, kind) WHERE status = 'queued';"
"CREATE INDEX executions_project_pending ON executions(project_id) WHERE status = 'pending';"
},
};

const int store_migrations_count =
	(int)(sizeof(store_migrations) / sizeof(store_migrations[0]));
