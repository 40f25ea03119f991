# The two commands. Both install what they need (a pinned Python virtualenv for the
# local AWS endpoint and the template linter) on first use.

.PHONY: dev test

## Runs the whole service locally on http://127.0.0.1:3000 (PORT=… to change).
dev:
	@bash scripts/dev.sh

## Runs every test: formatting, lints, unit and end-to-end tests, template lint, API fuzzing.
test:
	@bash scripts/test.sh
