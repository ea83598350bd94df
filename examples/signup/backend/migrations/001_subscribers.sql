-- Subscribers: an address, and when it was confirmed (NULL until the mailed link is used).
CREATE TABLE subscribers (
    id           BIGSERIAL PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    confirmed_at TIMESTAMPTZ
);
