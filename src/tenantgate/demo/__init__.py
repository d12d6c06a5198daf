"""The demo: seeded data and a runner that starts every app on the port base."""
