"""One call's walk through a plan: a small executor per node kind."""
