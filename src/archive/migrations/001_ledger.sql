-- wa-bulk's long-term ledger: one row per message, the record the Redis ledger keeps hot
-- (src/scripts/includes/message-record.lua names its fields). `space` is the QUEUE_PREFIX, so several
-- fleets (one per business or team) can share one database without their request_ids meeting.
CREATE TABLE wa_bulk_messages (
  space               text        NOT NULL,
  request_id          text        NOT NULL,
  campaign            text        NOT NULL,
  recipient           text        NOT NULL,
  seq                 bigint,               -- its place in its campaign's enqueue order
  status              text        NOT NULL, -- pending | sent | dead | skipped
  message_id          text,
  error_code          integer,
  http_status         integer,
  reason              text,
  error               text,
  attempts            integer     NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  delivery_status     text,
  delivery_rank       smallint    NOT NULL DEFAULT 0,
  delivery_at         timestamptz,
  delivery_error_code integer,
  delivery_error      text,
  loss_step           text,
  loss_source         text,
  -- The Redis stream entry the row was last written from, as ms * 1,000,000 + sequence: an older
  -- snapshot archived late never overwrites a newer one.
  rev                 bigint      NOT NULL,
  archived_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space, request_id)
);

-- Delivery callbacks carry only EngageLab's message_id.
CREATE INDEX wa_bulk_messages_message_id ON wa_bulk_messages (message_id) WHERE message_id IS NOT NULL;
-- export and status of a campaign, in enqueue order.
CREATE INDEX wa_bulk_messages_campaign ON wa_bulk_messages (space, campaign, seq);
-- "every message to this number last March".
CREATE INDEX wa_bulk_messages_recipient ON wa_bulk_messages (recipient, created_at);
-- "dead letters by code per week".
CREATE INDEX wa_bulk_messages_dead ON wa_bulk_messages (updated_at, error_code) WHERE status = 'dead';

-- The campaigns the archive holds, for listing them once Redis has let them go.
CREATE TABLE wa_bulk_campaigns (
  space      text        NOT NULL,
  campaign   text        NOT NULL,
  first_at   timestamptz NOT NULL,
  last_at    timestamptz NOT NULL,
  PRIMARY KEY (space, campaign)
);
