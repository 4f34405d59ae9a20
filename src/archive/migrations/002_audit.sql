-- The audit log (src/access/audit.ts), kept for good: Redis holds it RESULT_TTL_DAYS, the archiver copies
-- every entry here. `space` is the QUEUE_PREFIX; `id` the entry's Redis stream id, and `rev` the same as one
-- ordered integer (ms * 1,000,000 + sequence), so that an entry copied twice is written once.
CREATE TABLE wa_bulk_audit (
  space   text        NOT NULL,
  id      text        NOT NULL,
  rev     bigint      NOT NULL,
  at      timestamptz NOT NULL,
  actor   text        NOT NULL,
  action  text        NOT NULL,
  target  text,
  params  jsonb       NOT NULL DEFAULT '{}',
  outcome text        NOT NULL,
  ip      text,
  PRIMARY KEY (space, id)
);

-- "what happened since Monday", "what did this key do", "who paused this campaign".
CREATE INDEX wa_bulk_audit_rev ON wa_bulk_audit (space, rev);
CREATE INDEX wa_bulk_audit_actor ON wa_bulk_audit (space, actor, rev);
CREATE INDEX wa_bulk_audit_target ON wa_bulk_audit (space, target, rev);
