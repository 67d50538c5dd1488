"""The generic core: nothing in it names a product."""

# The reserved path prefix of the admin API (DESIGN §4): vendor traffic never uses it, and no push may target it.
ADMIN_PREFIX = "/__otpsim"
