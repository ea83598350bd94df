"""signup: a newsletter sign-up API (Flask) that also serves its single-page app."""
