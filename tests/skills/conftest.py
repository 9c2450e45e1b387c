"""Skills run against real git repos: the same fixtures as tests/repos."""

from tests.repos.conftest import api_repo, repo_settings, run_ctx, workspaces  # noqa: F401  (pytest fixtures)
