-- What a receiver matches a message by (its custom_args, as enqueued) and whether its recipient answered it
-- (the first reply's time), kept as long as the rest of the record. Both are written once: a later
-- snapshot never clears them.
ALTER TABLE wa_bulk_messages ADD COLUMN custom_args jsonb;
ALTER TABLE wa_bulk_messages ADD COLUMN replied_at timestamptz;
