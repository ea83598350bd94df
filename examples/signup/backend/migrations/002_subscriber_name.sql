-- An optional display name, used in the confirmation mail's greeting.
ALTER TABLE subscribers ADD COLUMN name TEXT NOT NULL DEFAULT '';
