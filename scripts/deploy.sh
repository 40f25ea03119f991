#!/usr/bin/env bash
# `make deploy`: `sam build` (which builds each function with cargo-lambda, from the
# template's `BuildMethod: rust-cargolambda`) then `sam deploy --guided`, which asks
# for the parameters: GoogleClientId, MailFrom, SupportEmail, PublicApiUrl,
# AllowedOrigin, FalUserId, the SSM parameter names of the secrets (HashSecretParameter,
# FalKeyParameter, ReplicateApiTokenParameter, ReplicateWebhookSecretParameter,
# CreemApiKeyParameter, CreemWebhookSecretParameter), VideoModels, BillingProducts,
# CheckoutSuccessUrl, SiteDomainName, SiteCertificateArn, LibraryFilterIndexes (README,
# "Adding an index"); then uploads the website (needs
# the AWS CLI). Needs the AWS SAM CLI and AWS
# credentials; the secrets must exist in Parameter Store first (README, Deploying).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v sam >/dev/null || { echo "the AWS SAM CLI is needed: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html" >&2; exit 1; }
export PATH="$(bash scripts/lambda-tools.sh):$PATH"
sam build --template-file infra/template.yaml --beta-features
sam deploy --guided --capabilities CAPABILITY_IAM

# The website: built here (its policy text from POLICY_FILE, by default the one beside
# the project), its runtime config.json written from the stack's own parameters, then
# uploaded to the private site bucket and CloudFront's cache invalidated.
command -v aws >/dev/null || { echo "the AWS CLI is needed to upload the website" >&2; exit 1; }
bash scripts/web-tools.sh
# Assigned, then exported: `export X="$(…)"` would hide a failure of the command.
POLICY_FILE="$(bash scripts/policy-file.sh)"
export POLICY_FILE
npm --prefix web run --silent build
stack="${STACK_NAME:-$(sed -n 's/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml 2>/dev/null | head -1)}"
stack="${stack:-sam-app}"
output() { aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text; }
parameter() { aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Parameters[?ParameterKey=='$1'].ParameterValue" --output text; }
bucket="$(output SiteFilesBucket)"
distribution="$(output SiteDistributionId)"
python3 - "$(parameter PublicApiUrl)" "$(parameter GoogleClientId)" > web/dist/config.json <<'PY'
import json, sys
print(json.dumps({"api_base": sys.argv[1], "google": {"client_id": sys.argv[2], "mode": "gis"}}))
PY
# Hashed assets are immutable; everything else is asked for anew.
aws s3 sync web/dist/assets "s3://$bucket/assets" --delete --cache-control "public, max-age=31536000, immutable"
aws s3 sync web/dist "s3://$bucket" --delete --exclude "assets/*" --cache-control "no-cache"
aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/*" >/dev/null
echo "website: $(output SiteUrl)"
