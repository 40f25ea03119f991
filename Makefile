# The two commands. Both install what they need (a pinned Python virtualenv for the
# local AWS endpoint and the template linter) on first use.

.PHONY: dev check test package deploy bench cost

## Runs the whole service locally on http://127.0.0.1:3000 (PORT=… to change).
dev:
	@bash scripts/dev.sh

## While working: format, lints, unit tests and the tests that need no local stack (about a minute warm).
check:
	@bash scripts/check.sh

## Runs every test: formatting, lints, unit and end-to-end tests, template lint, API fuzzing.
test:
	@bash scripts/test.sh

## Builds every function for Lambda (arm64, release) with cargo-lambda, zipped; prints their sizes.
package:
	@bash scripts/package.sh

## Builds with SAM (cargo-lambda) and deploys, asking for the parameters (see README, Deploying).
deploy:
	@bash scripts/deploy.sh

## Measures init (against a bare lambda_runtime function), sizes, requests per flow and delivery lag.
bench:
	@python3 scripts/bench.py

## Prints the AWS cost per 1,000 videos and per million signed-in requests, from measured counts.
cost:
	@python3 scripts/cost.py
